//! Are we in the initrd?
//!
//! Measured on systemd-repart 262: `$SYSTEMD_IN_INITRD` decides when it holds a boolean
//! (`1`, `yes`, `0`, ...); when it is unset, empty or not a boolean, the answer is whether
//! `/etc/initrd-release` exists (any file type; a symlink is followed, like `access(F_OK)`).
//! The root file system type is not checked.

use super::{System, parse_bool};

/// The environment override.
pub const IN_INITRD_ENV: &str = "SYSTEMD_IN_INITRD";
/// The file every initrd carries.
pub const INITRD_RELEASE: &str = "/etc/initrd-release";

/// Whether the running system is an initrd.
pub fn in_initrd(sys: &System) -> bool {
    match sys.var(IN_INITRD_ENV).as_deref().and_then(parse_bool) {
        Some(answer) => answer,
        None => std::fs::metadata(sys.path(INITRD_RELEASE)).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_dir::TestDir;

    #[test]
    fn environment_overrides_when_boolean() {
        let plain = TestDir::new("initrd-no");
        let initrd = TestDir::new("initrd-yes");
        initrd.write(INITRD_RELEASE, "");
        for (env, want_plain, want_initrd) in [
            (None, false, true),
            (Some("1"), true, true),
            (Some("yes"), true, true),
            (Some("0"), false, false),
            (Some(""), false, true),
            (Some("bogus"), false, true),
        ] {
            let value = env.map(str::to_owned);
            let v1 = value.clone();
            let a = System::new(plain.path(), move |n| {
                (n == IN_INITRD_ENV).then(|| v1.clone()).flatten()
            });
            let b = System::new(initrd.path(), move |n| {
                (n == IN_INITRD_ENV).then(|| value.clone()).flatten()
            });
            assert_eq!(in_initrd(&a), want_plain, "{env:?} without initrd-release");
            assert_eq!(in_initrd(&b), want_initrd, "{env:?} with initrd-release");
        }
    }
}
