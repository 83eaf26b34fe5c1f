//! Numbers as systemd parses them: sizes (base 1024), integers with base prefixes, booleans.
//!
//! These parsers are shared by repart.d, the command line (`--size=`, `--grain-size=`,
//! `--sector-size=`, `--dry-run=`, ...) and the kernel command line, so they live here and are
//! public. They reproduce systemd's quirks, measured on systemd-repart 262: whitespace is
//! skipped the way `strtoull()` skips it, a leading `-` is refused, fractions are computed in
//! floating point and truncated, and so on (see the tests for every measured example).

use std::fmt;

/// Why a number was refused; systemd distinguishes the two (`EINVAL` and `ERANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number in the accepted syntax.
    Invalid,
    /// Syntactically fine, but negative or too large.
    OutOfRange,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::Invalid => "invalid number",
            NumberError::OutOfRange => "number out of range",
        })
    }
}

/// The accepted forms of a size, for error messages.
pub const SIZE_FORMS: &str = "a number with an optional B, K, M, G, T, P or E suffix, base 1024";

/// systemd's whitespace set (`WHITESPACE`), used when stripping values.
pub(crate) const WHITESPACE: &[u8] = b" \t\n\r";

/// Suffixes in the order they must appear; `""` (bytes, like `B`) may end the value.
const SIZE_UNITS: [(&[u8], u64); 8] = [
    (b"E", 1 << 60),
    (b"P", 1 << 50),
    (b"T", 1 << 40),
    (b"G", 1 << 30),
    (b"M", 1 << 20),
    (b"K", 1 << 10),
    (b"B", 1),
    (b"", 1),
];

/// Parses a size in bytes, base 1024, as systemd's `parse_size(…, 1024, …)` does.
///
/// A value is one or more components `NUMBER[.FRACTION][ ]SUFFIX` whose suffixes strictly
/// decrease (`1G512M`, `3M1K`, `1G 512`); the last one may omit the suffix (bytes). The
/// fraction is computed as a double and truncated after scaling (`1.5K` = 1536, `2.5` = 2).
pub fn parse_size(s: &str) -> Result<u64, NumberError> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut total: u64 = 0;
    let mut first_unit = 0;
    loop {
        pos += span(&bytes[pos..], WHITESPACE);
        let component_start = pos;
        let (value, end) = c_strtoull(bytes, pos, 10)?;
        if bytes.get(component_start) == Some(&b'-') {
            return Err(NumberError::OutOfRange);
        }
        pos = end;
        let mut fraction = 0.0f64;
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                let (digits, end) = c_strtoull(bytes, pos, 10)?;
                // Dividing once per digit, in floating point, is what makes `1.1K` 1126.
                #[allow(clippy::cast_precision_loss)]
                let mut f = digits as f64;
                for _ in pos..end {
                    f /= 10.0;
                }
                fraction = f;
                pos = end;
            }
        }
        pos += span(&bytes[pos..], WHITESPACE);
        let rest = &bytes[pos..];
        let (index, (suffix, factor)) = SIZE_UNITS
            .iter()
            .enumerate()
            .skip(first_unit)
            .find(|(_, (suffix, _))| rest.starts_with(suffix))
            .ok_or(NumberError::Invalid)?;
        // systemd's check, `l + (frac > 0) > ULLONG_MAX / factor`, including its wrap-around
        // at `l == ULLONG_MAX` (then the sum below wraps the same way as in C).
        if value.wrapping_add(u64::from(fraction > 0.0)) > u64::MAX / factor {
            return Err(NumberError::OutOfRange);
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let fraction_bytes = (fraction * *factor as f64) as u64;
        let part = value.wrapping_mul(*factor).wrapping_add(fraction_bytes);
        total = total.checked_add(part).ok_or(NumberError::OutOfRange)?;
        pos += suffix.len();
        first_unit = index + 1;
        if pos >= bytes.len() {
            return Ok(total);
        }
    }
}

/// Parses an unsigned 32-bit integer (`Weight=`, `PaddingWeight=`), see [`parse_u64`].
pub fn parse_u32(s: &str) -> Result<u32, NumberError> {
    u32::try_from(parse_u64(s)?).map_err(|_| NumberError::OutOfRange)
}

/// Parses an unsigned integer as systemd's `safe_atou64()` does (`Flags=`): optional leading
/// whitespace, `0x` hex, `0o` octal, `0b` binary, a leading `0` for C octal, else decimal. A
/// minus sign is refused unless the value is zero.
pub fn parse_u64(s: &str) -> Result<u64, NumberError> {
    let bytes = s.as_bytes();
    let (start, base) = mangle_base(bytes);
    let (value, end) = c_strtoull(bytes, start, base)?;
    if end != bytes.len() {
        return Err(NumberError::Invalid);
    }
    if value != 0 && bytes.get(start) == Some(&b'-') {
        return Err(NumberError::OutOfRange);
    }
    Ok(value)
}

/// Parses a signed 32-bit integer as systemd's `safe_atoi32()` does (`Priority=`): the same
/// syntax as [`parse_u64`], with an optional sign.
pub fn parse_i32(s: &str) -> Result<i32, NumberError> {
    let bytes = s.as_bytes();
    let (start, base) = mangle_base(bytes);
    let (magnitude, negative, end) = c_strtoul_magnitude(bytes, start, base)?;
    if end != bytes.len() {
        return Err(NumberError::Invalid);
    }
    let value = if negative {
        0i128 - i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    i32::try_from(value).map_err(|_| NumberError::OutOfRange)
}

/// Parses a boolean as systemd's `parse_boolean()`: `1 yes y true t on` or
/// `0 no n false f off`, case-insensitive. Anything else, including the empty string, is
/// `None`.
pub fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const FALSE: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// How many leading bytes of `s` are in `set` (C's `strspn`).
fn span(s: &[u8], set: &[u8]) -> usize {
    s.iter().take_while(|c| set.contains(c)).count()
}

/// systemd's `mangle_base()` after skipping `WHITESPACE`: `0o`/`0b` prefixes select base 8
/// or 2 and are removed; otherwise base 0 (C rules) applies.
fn mangle_base(bytes: &[u8]) -> (usize, u32) {
    let start = span(bytes, WHITESPACE);
    let rest = &bytes[start..];
    if rest.len() >= 2 && rest[0] == b'0' {
        match rest[1] {
            b'o' | b'O' => return (start + 2, 8),
            b'b' | b'B' => return (start + 2, 2),
            _ => {}
        }
    }
    (start, 0)
}

/// C's `strtoull()` from `start`: returns the value (negated modulo 2^64 after a `-`) and
/// the end of the number. No digits is `Invalid`; a magnitude above `u64::MAX` is
/// `OutOfRange`.
fn c_strtoull(bytes: &[u8], start: usize, base: u32) -> Result<(u64, usize), NumberError> {
    let (magnitude, negative, end) = c_strtoul_magnitude(bytes, start, base)?;
    Ok((
        if negative {
            magnitude.wrapping_neg()
        } else {
            magnitude
        },
        end,
    ))
}

/// The common part of `strtoull()`/`strtol()`: C whitespace, a sign, a base prefix when the
/// base is 0 or 16, then digits. Returns the magnitude, the sign and the end.
fn c_strtoul_magnitude(
    bytes: &[u8],
    start: usize,
    base: u32,
) -> Result<(u64, bool, usize), NumberError> {
    let mut pos = start + span(&bytes[start..], b" \t\n\x0b\x0c\r");
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = bytes.get(pos) {
        negative = sign == b'-';
        pos += 1;
    }
    let mut base = base;
    let has_hex_prefix = bytes.get(pos) == Some(&b'0')
        && matches!(bytes.get(pos + 1), Some(b'x' | b'X'))
        && bytes
            .get(pos + 2)
            .is_some_and(|c| char::from(*c).is_ascii_hexdigit());
    if (base == 0 || base == 16) && has_hex_prefix {
        base = 16;
        pos += 2;
    } else if base == 0 {
        base = if bytes.get(pos) == Some(&b'0') { 8 } else { 10 };
    }
    let digits_start = pos;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(digit) = bytes.get(pos).and_then(|c| char::from(*c).to_digit(base)) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        pos += 1;
    }
    if pos == digits_start {
        return Err(NumberError::Invalid);
    }
    if overflow {
        return Err(NumberError::OutOfRange);
    }
    Ok((value, negative, pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberError::{Invalid, OutOfRange};

    /// Every value below was fed to systemd-repart 262 as `SizeMinBytes=`/`SizeMaxBytes=`
    /// and the parsed value read back from its "Rounded … size X →" notice.
    #[test]
    fn sizes_measured_on_v262() {
        let ok: &[(&str, u64)] = &[
            ("1", 1),
            ("4096", 4096),
            ("1K", 1024),
            ("1.5M", 1572864),
            ("1.0000001M", 1048576),
            ("2.5", 2),
            ("1.5B", 1),
            ("1.M", 1048576),
            ("1.K", 1024),
            ("1. K", 1024),
            ("1G512M", 1610612736),
            ("1G 512M", 1610612736),
            ("1G  512M", 1610612736),
            ("3M1K", 3146752),
            ("10 M", 10485760),
            ("1\tK", 1024),
            ("1.5 K", 1536),
            ("1B1", 2),
            ("1K1", 1025),
            ("1K1B1", 1026),
            ("1G512", 1073742336),
            ("1G0.5M", 1074266112),
            ("2.5K1.5B", 2561),
            ("1.25K3", 1283),
            ("0", 0),
            ("00", 0),
            ("010", 10),
            ("007K", 7168),
            ("09", 9),
            ("0.5", 0),
            ("+1", 1),
            ("+1M", 1048576),
            ("1 B", 1),
            ("1.1K", 1126),
            ("1.3K", 1331),
            ("1.7K", 1740),
            ("1.9999999999999999999K", 2048),
            ("1.00000000000000000001K", 1024),
            ("1.000000000000000000000000000001K", 1024),
            ("0.0000001E", 115292150460),
            ("1.1E", 1268213655067531680),
            ("7.9E", 9108079886394091136),
            ("5.999999999999999999E1", 6917529027641081857),
            ("15.0E", 15 << 60),
            ("15E1023P", (15 << 60) + (1023 << 50)),
            ("17179869183G", 17179869183 << 30),
            ("1E1P1T1G1M1K1B", 1154048505100108801),
            ("1E1P1T1G1M1K1B1", 1154048505100108802),
            ("18446744073709551615", u64::MAX),
            ("18446744073709551614", u64::MAX - 1),
            // strtoull() skips C whitespace (\v, \f) and then accepts a minus sign; the
            // check for '-' only looks past systemd's own WHITESPACE. Measured.
            ("\x0b-1", u64::MAX),
            ("1G\x0b512", 1073742336),
            ("1G\x0c512", 1073742336),
            ("\x0b1G", 1073741824),
        ];
        for (input, want) in ok {
            assert_eq!(parse_size(input), Ok(*want), "{input:?}");
        }
        let bad: &[(&str, NumberError)] = &[
            ("", Invalid),
            ("1k", Invalid),
            ("1KiB", Invalid),
            ("1e3", Invalid),
            ("0x10", Invalid),
            ("0x1", Invalid),
            (".5M", Invalid),
            ("1,5M", Invalid),
            ("-1", OutOfRange),
            ("16E", OutOfRange),
            ("15.5E", OutOfRange),
            ("17179869184G", OutOfRange),
            ("17179869183.1G", OutOfRange),
            ("15E1024P", OutOfRange),
            ("18446744073709551616", OutOfRange),
            ("1.99999999999999999999K", OutOfRange),
            ("1M 1M", Invalid),
            ("1M1M", Invalid),
            ("1K1M", Invalid),
            ("3M1K1K", Invalid),
            ("1 1", Invalid),
            ("1.5.5", Invalid),
            ("1.-5", OutOfRange),
            ("1. 5M", Invalid),
            ("1 .5M", Invalid),
            ("1G.5M", Invalid),
            ("+-1", Invalid),
            ("++1", Invalid),
            ("1.+5K", Invalid),
            ("B", Invalid),
            ("K", Invalid),
            ("1b", Invalid),
            ("1m", Invalid),
            ("1Mx", Invalid),
            ("1MB", Invalid),
            ("1.5KB", Invalid),
            ("1\\tK", Invalid),
            ("1\x0bK", Invalid),
            ("1K\x0b", Invalid),
            ("1K ", Invalid),
        ];
        for (input, want) in bad {
            assert_eq!(parse_size(input), Err(*want), "{input:?}");
        }
    }

    /// Measured on v262 through `Weight=` (value read back from the space distribution).
    #[test]
    fn unsigned_integers_measured_on_v262() {
        let ok: &[(&str, u32)] = &[
            ("10", 10),
            ("010", 8),
            ("0x10", 16),
            ("0X10", 16),
            ("0xA", 10),
            ("0xa", 10),
            ("0b101", 5),
            ("0B101", 5),
            ("0b0101", 5),
            ("0o17", 15),
            ("0O17", 15),
            ("0o010", 8),
            ("0O00017", 15),
            (" 5", 5),
            ("\x0b5", 5),
            ("+5", 5),
            (" +5", 5),
            ("+0x10", 16),
            ("-0", 0),
            ("-00", 0),
            ("-0x0", 0),
            ("0x0", 0),
            ("00", 0),
            ("0b 1", 1),
            ("0o 7", 7),
            ("0b+1", 1),
            ("0b-0", 0),
            ("1000000", 1000000),
            ("4294967295", u32::MAX),
        ];
        for (input, want) in ok {
            assert_eq!(parse_u32(input), Ok(*want), "{input:?}");
        }
        for input in ["-1", "\x0b-1", "4294967296", "0b-1", "0o-1", "-4294967295"] {
            assert_eq!(parse_u32(input), Err(OutOfRange), "{input:?}");
        }
        for input in [
            "", "x", "abc", "0x", "08", "1_000", "0b", "0o", "+-5", "5\x0b", "5 ", "0b2", "0o8",
            "0x+1", "0x 1", "0x-1", "-0b0", "0-1", "+0b101", "00x1",
        ] {
            assert_eq!(parse_u32(input), Err(Invalid), "{input:?}");
        }
    }

    /// Measured on v262 through `Flags=` (written attributes read back with sfdisk).
    #[test]
    fn flags_width_integers() {
        assert_eq!(parse_u64("0x1000000000000000"), Ok(1 << 60));
        assert_eq!(parse_u64("1152921504606846976"), Ok(1 << 60));
        assert_eq!(parse_u64("0o100000000000000000000"), Ok(1 << 60));
        assert_eq!(parse_u64("0100000000000000000000"), Ok(1 << 60));
        assert_eq!(parse_u64(&format!("0b1{}", "0".repeat(60))), Ok(1 << 60));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("\x0b-1"), Ok(u64::MAX));
        assert_eq!(parse_u64("-0"), Ok(0));
        assert_eq!(parse_u64("-1"), Err(OutOfRange));
        assert_eq!(parse_u64("0x10000000000000000"), Err(OutOfRange));
        assert_eq!(parse_u64(""), Err(Invalid));
    }

    /// Measured on v262 through `Priority=` (which partition priority dropping removed).
    #[test]
    fn signed_integers_measured_on_v262() {
        let ok: &[(&str, i32)] = &[
            ("2", 2),
            ("0", 0),
            ("-5", -5),
            ("0x10", 16),
            ("-0x10", -16),
            ("0b10", 2),
            ("-010", -8),
            ("010", 8),
            (" -3", -3),
            ("+3", 3),
            ("0o-1", -1),
            ("0b-1", -1),
            ("2147483647", i32::MAX),
            ("-2147483648", i32::MIN),
        ];
        for (input, want) in ok {
            assert_eq!(parse_i32(input), Ok(*want), "{input:?}");
        }
        assert_eq!(parse_i32("2147483648"), Err(OutOfRange));
        assert_eq!(parse_i32("-2147483649"), Err(OutOfRange));
        assert_eq!(parse_i32("-0b1"), Err(Invalid));
        assert_eq!(parse_i32(""), Err(Invalid));
        assert_eq!(parse_i32("x"), Err(Invalid));
    }

    /// Measured on v262 through `NoAuto=`.
    #[test]
    fn booleans_measured_on_v262() {
        for t in [
            "1", "yes", "y", "true", "t", "on", "YES", "On", "TrUe", "Y", "T", "ON", "oN",
        ] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "no", "n", "false", "f", "off", "N", "F", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "yess", "ye", " yes", "of"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }
}
