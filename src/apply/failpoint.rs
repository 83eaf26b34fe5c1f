//! Failpoints: in a build with the `failpoints` feature, `REPART_FAILPOINT=NAME` stops the
//! process right after the step NAME, as a power cut would (nothing after it reaches the
//! disk), and `REPART_FAILPOINT=torn:NAME` writes only the first half of that step's bytes
//! before stopping. `REPART_FAILPOINT=list` names every failpoint passed on stderr and goes
//! on. Crash tests use these; in normal builds they compile to nothing.

use crate::disk::Disk;
use crate::error::Result;

/// The exit status of a process stopped at a failpoint.
pub const EXIT_STATUS: i32 = 99;

/// Writes `bytes` at `offset` and syncs: one crash-relevant step named `name`.
pub fn write_step(disk: &Disk, name: &str, offset: u64, bytes: &[u8]) -> Result<()> {
    #[cfg(feature = "failpoints")]
    if setting().as_deref().and_then(|s| s.strip_prefix("torn:")) == Some(name) {
        disk.write_all_at(offset, &bytes[..bytes.len() / 2])?;
        disk.sync()?;
        stop(&format!("torn:{name}"));
    }
    disk.write_all_at(offset, bytes)?;
    disk.sync()?;
    reached(name);
    Ok(())
}

/// Marks that the step `name` is done (and durable): stops here if asked to.
#[cfg(feature = "failpoints")]
pub fn reached(name: &str) {
    match setting().as_deref() {
        Some("list") => eprintln!("failpoint: {name}"),
        Some(wanted) if wanted == name => stop(name),
        _ => {}
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn reached(_name: &str) {}

#[cfg(feature = "failpoints")]
fn setting() -> Option<String> {
    std::env::var("REPART_FAILPOINT").ok()
}

#[cfg(feature = "failpoints")]
fn stop(name: &str) -> ! {
    log::warn!("Stopping at failpoint {name}.");
    std::process::exit(EXIT_STATUS);
}
