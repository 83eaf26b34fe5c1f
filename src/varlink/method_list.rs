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
use super::errno;
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
/// subscription when the caller is gone; an error only when a reply could not be sent.
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
    let list = match look(&paths, &filter) {
        Ok(list) => list,
        Err(e) => return failed(r, &e),
    };
    let Some((last, rest)) = list.split_last() else {
        return r.error("io.systemd.Repart.NoCandidateDevices", Object::new());
    };
    for c in rest {
        r.progress(c.fields())?;
    }
    r.finish(last.fields())
}

/// The candidates, tried a few times: a disk that goes away while sysfs is being read makes
/// one look fail.
fn look(paths: &SystemPaths, filter: &Filter) -> Result<Vec<Candidate>> {
    let mut tries = 1;
    loop {
        match devices::candidates(paths, filter) {
            Err(e) if tries < 3 => {
                log::debug!("{e}; looking again.");
                tries += 1;
            }
            result => return result,
        }
    }
}

/// The error reply for a listing that failed.
fn failed(r: &Replier, e: &crate::error::Error) -> Result<()> {
    log::error!("{e}");
    r.error("io.systemd.System", errno::system_error(e))
}

fn subscribe(r: &Replier, paths: &SystemPaths, filter: &Filter) -> Result<()> {
    // Listening starts before the first look, so nothing that happens in between is missed.
    let monitor = match Monitor::open(TICK) {
        Ok(monitor) => monitor,
        Err(e) => return failed(r, &e),
    };
    let mut known = match look(paths, filter) {
        Ok(list) => list,
        Err(e) => return failed(r, &e),
    };
    for c in &known {
        r.progress(added(c))?;
    }
    r.progress(Object::new().with("action", "ready"))?;
    let mut follow_ups = 0;
    loop {
        let seen = match monitor.next() {
            Ok(seen) => seen,
            Err(e) => return failed(r, &e),
        };
        let look = match seen {
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
            // A disk that goes away while it is being looked at makes the look fail: look
            // again at the next tick.
            let now = match devices::candidates(paths, filter) {
                Ok(now) => now,
                Err(e) => {
                    log::debug!("{e}; looking again.");
                    follow_ups = follow_ups.max(1);
                    continue;
                }
            };
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
