//! `io.systemd.Repart.ListCandidateDevices`: one reply per candidate disk, or with
//! `subscribe` a stream that never ends: an `add` per disk, `ready`, then `add` and
//! `remove` as disks come, go or change (a disk that turns read-only, or empty under
//! `ignoreEmpty`, is removed).
//!
//! The stream follows the kernel's uevents; every block-disk event (and a lost-events
//! overflow) leads to a fresh look at sysfs, repeated for a few seconds after it so that
//! the links udev makes a moment later are reported too.

use std::time::Duration;

use crate::disk::SystemPaths;
use crate::error::Result;
use crate::json::Object;

use super::devices::{self, Candidate, Filter};
use super::params::{self, Field, Kind};
use super::reply::Replier;
use super::uevent::{Monitor, Seen};

/// The parameters, in v262's order (plain booleans: `null` is refused, as v262 does).
const FIELDS: &[Field] = &[
    Field {
        name: "ignoreRoot",
        kind: Kind::Bool,
        mandatory: false,
    },
    Field {
        name: "ignoreEmpty",
        kind: Kind::Bool,
        mandatory: false,
    },
    Field {
        name: "subscribe",
        kind: Kind::Bool,
        mandatory: false,
    },
];

/// How often a subscription checks that its caller is still there.
const TICK: Duration = Duration::from_secs(1);

/// How many ticks after an event sysfs and /dev/disk are looked at again.
const FOLLOW_UP_TICKS: u32 = 3;

/// Answers a `ListCandidateDevices` call. Returns when the call is answered, or for a
/// subscription when the caller is gone.
pub fn call(r: &Replier, parameters: &Object) -> Result<()> {
    if !r.more() {
        return r.error("org.varlink.service.ExpectedMore", Object::new());
    }
    if let Some(bad) = params::check(parameters, FIELDS) {
        return r.invalid_parameter(bad);
    }
    let flag = |name| params::boolean(parameters, name).unwrap_or(false);
    let paths = SystemPaths::default();
    let filter = Filter::new(&paths, flag("ignoreRoot"), flag("ignoreEmpty"));
    if flag("subscribe") {
        return subscribe(r, &paths, &filter);
    }
    let list = devices::candidates(&paths, &filter)?;
    let Some((last, rest)) = list.split_last() else {
        return r.error("io.systemd.Repart.NoCandidateDevices", Object::new());
    };
    for c in rest {
        r.progress(c.fields())?;
    }
    r.finish(last.fields())
}

fn subscribe(r: &Replier, paths: &SystemPaths, filter: &Filter) -> Result<()> {
    // Listening starts before the first look, so nothing that happens in between is missed.
    let monitor = Monitor::open(TICK)?;
    let mut known = devices::candidates(paths, filter)?;
    for c in &known {
        r.progress(added(c))?;
    }
    r.progress(Object::new().with("action", "ready"))?;
    let mut follow_ups = 0;
    loop {
        let look = match monitor.next()? {
            Seen::Event(e) if e.is_block_disk() => {
                follow_ups = FOLLOW_UP_TICKS;
                true
            }
            Seen::Event(_) => false,
            Seen::Lost => {
                log::info!("Kernel uevents were lost; looking at every disk again.");
                true
            }
            Seen::Nothing if follow_ups > 0 => {
                follow_ups -= 1;
                true
            }
            Seen::Nothing => false,
        };
        if r.connection().peer_gone() {
            return Ok(());
        }
        if look {
            let now = devices::candidates(paths, filter)?;
            let (gone, new) = devices::changes(&known, &now);
            for node in gone {
                r.progress(
                    Object::new()
                        .with("action", "remove")
                        .with("node", node.display().to_string()),
                )?;
            }
            for c in new {
                r.progress(added(c))?;
            }
            known = now;
        }
    }
}

/// An `add` notification: the action, then the record.
fn added(c: &Candidate) -> Object {
    let mut o = Object::new().with("action", "add");
    for (key, value) in c.fields().iter() {
        o.insert(key, value.clone());
    }
    o
}
