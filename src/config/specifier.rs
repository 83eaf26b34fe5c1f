//! `%` specifiers in `Label=`, `VolumeLabel=`, `CopyBlocks=`, `CopyFiles=`,
//! `MakeDirectories=` and `MakeSymlinks=` (repart.d(5), "Specifiers").
//!
//! Behaviour measured on systemd-repart 262: `%%` is `%`; a `%` followed by an ASCII letter
//! or digit that is not a known specifier fails the whole expansion (v262 then warns and
//! ignores the setting); a `%` followed by anything else (`%-`, `%é`, a trailing `%`) is kept
//! literally. The result is limited in length (36 bytes for labels), and a longer result
//! fails the expansion too.

use std::fmt;

/// The values the specifiers expand to, gathered by the host module.
///
/// `None` means the value could not be determined, which fails any expansion that uses it
/// (v262: "Failed to expand specifiers", and the setting is ignored). For the os-release
/// fields, `None` means os-release itself is missing; a file without the field gives
/// `Some("")` (v262 expands a missing field to the empty string). With `--root=`, os-release
/// and machine-id are read below the root; the other values are the running system's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecifierContext {
    /// `%a`: the running system's architecture in systemd's naming (`x86-64`). Not changed
    /// by `--architecture=`.
    pub architecture: Option<String>,
    /// `%A`: `IMAGE_VERSION=` from os-release.
    pub image_version: Option<String>,
    /// `%b`: the boot ID, 32 lowercase hex digits without dashes.
    pub boot_id: Option<String>,
    /// `%B`: `BUILD_ID=` from os-release.
    pub build_id: Option<String>,
    /// `%H`: the host name.
    pub hostname: Option<String>,
    /// `%l`: the host name up to the first dot.
    pub short_hostname: Option<String>,
    /// `%m`: the machine ID, 32 lowercase hex digits.
    pub machine_id: Option<String>,
    /// `%M`: `IMAGE_ID=` from os-release.
    pub image_id: Option<String>,
    /// `%o`: `ID=` from os-release.
    pub os_id: Option<String>,
    /// `%q`: `PRETTY_HOSTNAME=` from /etc/machine-info; when `None`, `%q` falls back to the
    /// short host name, as systemd does.
    pub pretty_hostname: Option<String>,
    /// `%v`: the kernel release (`uname -r`).
    pub kernel_release: Option<String>,
    /// `%w`: `VERSION_ID=` from os-release.
    pub version_id: Option<String>,
    /// `%W`: `VARIANT_ID=` from os-release.
    pub variant_id: Option<String>,
    /// `%T`: `$TMPDIR`, `$TEMP` or `$TMP` (the first one that names an existing absolute
    /// directory), else `/tmp`.
    pub tmp_dir: Option<String>,
    /// `%V`: like `%T`, but defaulting to `/var/tmp`.
    pub var_tmp_dir: Option<String>,
}

/// Why an expansion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecifierError {
    /// `%X` with an ASCII letter or digit X that is not a specifier.
    Unknown(char),
    /// A known specifier whose value is not available.
    Unavailable(char),
    /// The expanded text is longer than allowed.
    TooLong { max: usize },
}

impl fmt::Display for SpecifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecifierError::Unknown(c) => write!(f, "unknown specifier %{c}"),
            SpecifierError::Unavailable(c) => write!(f, "the value of %{c} is not available"),
            SpecifierError::TooLong { max } => write!(f, "longer than {max} bytes once expanded"),
        }
    }
}

impl SpecifierContext {
    /// The value of specifier `c`: `Err(Unknown)` if there is no such specifier.
    fn lookup(&self, c: char) -> Result<&str, SpecifierError> {
        let value = match c {
            'a' => &self.architecture,
            'A' => &self.image_version,
            'b' => &self.boot_id,
            'B' => &self.build_id,
            'H' => &self.hostname,
            'l' => &self.short_hostname,
            'm' => &self.machine_id,
            'M' => &self.image_id,
            'o' => &self.os_id,
            'q' => match &self.pretty_hostname {
                Some(pretty) => return Ok(pretty),
                None => &self.short_hostname,
            },
            'v' => &self.kernel_release,
            'w' => &self.version_id,
            'W' => &self.variant_id,
            'T' => &self.tmp_dir,
            'V' => &self.var_tmp_dir,
            _ => return Err(SpecifierError::Unknown(c)),
        };
        value.as_deref().ok_or(SpecifierError::Unavailable(c))
    }
}

/// Expands the specifiers in `text`; the result may be at most `max_len` bytes long.
pub fn expand(
    text: &str,
    ctx: &SpecifierContext,
    max_len: usize,
) -> Result<String, SpecifierError> {
    let too_long = SpecifierError::TooLong { max: max_len };
    let mut out = String::new();
    let push = |out: &mut String, s: &str| {
        if out.len() + s.len() > max_len {
            return Err(too_long);
        }
        out.push_str(s);
        Ok(())
    };
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            push(&mut out, c.encode_utf8(&mut [0; 4]))?;
            continue;
        }
        match chars.next() {
            None => push(&mut out, "%")?,
            Some('%') => push(&mut out, "%")?,
            Some(s) if s.is_ascii_alphanumeric() => push(&mut out, ctx.lookup(s)?)?,
            Some(other) => {
                push(&mut out, "%")?;
                push(&mut out, other.encode_utf8(&mut [0; 4]))?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values the oracle chroot had when the expectations below were measured.
    fn oracle() -> SpecifierContext {
        SpecifierContext {
            architecture: Some("x86-64".into()),
            image_version: Some(String::new()),
            boot_id: Some("aaa82c9baf3648fe8779e7a650076e09".into()),
            build_id: Some(String::new()),
            hostname: Some("vm".into()),
            short_hostname: Some("vm".into()),
            machine_id: Some("125f080026be45b283aa97959344d71c".into()),
            image_id: Some(String::new()),
            os_id: Some("debian".into()),
            pretty_hostname: None,
            kernel_release: Some("6.18.44-fc-v657".into()),
            version_id: Some(String::new()),
            variant_id: Some(String::new()),
            tmp_dir: Some("/tmp".into()),
            var_tmp_dir: Some("/var/tmp".into()),
        }
    }

    #[test]
    fn expansions_measured_on_v262() {
        let ctx = oracle();
        let cases = [
            ("%a", "x86-64"),
            ("%A", ""),
            ("%b", "aaa82c9baf3648fe8779e7a650076e09"),
            ("%B", ""),
            ("%H", "vm"),
            ("%l", "vm"),
            ("%m", "125f080026be45b283aa97959344d71c"),
            ("%M", ""),
            ("%o", "debian"),
            ("%q", "vm"),
            ("%v", "6.18.44-fc-v657"),
            ("%w", ""),
            ("%W", ""),
            ("%T", "/tmp"),
            ("%V", "/var/tmp"),
            ("%%", "%"),
            ("%%%", "%%"),
            ("%", "%"),
            ("a%", "a%"),
            ("%é", "%é"),
            ("%-", "%-"),
            ("%.", "%."),
            ("% x", "% x"),
            ("%_", "%_"),
            ("%[", "%["),
            ("%\u{1}", "%\u{1}"),
            ("x%Ay", "xy"),
            ("%A%A", ""),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &ctx, 36).as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "%x", "%t", "%U", "%n", "%C", "%E", "%g", "%G", "%h", "%i", "%j", "%p", "%P", "%s",
            "%S", "%u", "%y", "%Y", "%Z", "%0", "%1", "%9",
        ] {
            let c = bad.chars().nth(1).unwrap();
            assert_eq!(
                expand(bad, &ctx, 36),
                Err(SpecifierError::Unknown(c)),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_values_fail_and_pretty_hostname_falls_back() {
        let ctx = SpecifierContext::default();
        assert_eq!(
            expand("%m", &ctx, 36),
            Err(SpecifierError::Unavailable('m'))
        );
        assert_eq!(expand("plain", &ctx, 36).as_deref(), Ok("plain"));
        let ctx = SpecifierContext {
            short_hostname: Some("host".into()),
            pretty_hostname: Some("My Host".into()),
            ..SpecifierContext::default()
        };
        assert_eq!(expand("%q", &ctx, 36).as_deref(), Ok("My Host"));
    }

    /// v262 limits labels to 36 bytes of expanded UTF-8 (not 36 UTF-16 units): 18 'é' pass,
    /// 19 fail; 9 emoji pass, 10 fail; `%%` plus 35 letters expands to 36 bytes and passes.
    #[test]
    fn label_length_is_counted_in_bytes_after_expansion() {
        let ctx = oracle();
        assert!(expand(&"a".repeat(36), &ctx, 36).is_ok());
        assert_eq!(
            expand(&"a".repeat(37), &ctx, 36),
            Err(SpecifierError::TooLong { max: 36 })
        );
        assert!(expand(&"é".repeat(18), &ctx, 36).is_ok());
        assert!(expand(&"é".repeat(19), &ctx, 36).is_err());
        assert!(expand(&"😀".repeat(9), &ctx, 36).is_ok());
        assert!(expand(&"😀".repeat(10), &ctx, 36).is_err());
        assert!(expand(&format!("%%{}", "a".repeat(35)), &ctx, 36).is_ok());
        assert!(expand(&format!("%a{}", "a".repeat(34)), &ctx, 36).is_err());
        assert!(expand("%m%m", &ctx, 36).is_err());
    }
}
