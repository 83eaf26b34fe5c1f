//! 128-bit IDs in systemd's textual forms (`Type=`, `UUID=`, `--seed=`, machine-id).

use uuid::Uuid;

/// Parses 32 hex digits, either plain or with dashes in the 8-4-4-4-12 positions, in any
/// case, as systemd's `sd_id128_from_string` does. Braces and `urn:` forms are rejected.
pub fn parse(s: &str) -> Option<Uuid> {
    let bytes = s.as_bytes();
    let dashed = match bytes.len() {
        32 => false,
        36 => true,
        _ => return None,
    };
    let mut value: u128 = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if dashed && matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let digit = (c as char).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(Uuid::from_u128(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_systemd_forms_only() {
        let want = Uuid::from_u128(0xe2f1a58f2c2a4a4b9f3e7c1c0de5a5a1);
        assert_eq!(parse("e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1"), Some(want));
        assert_eq!(parse("E2F1A58F2C2A4A4B9F3E7C1C0DE5A5A1"), Some(want));
        assert_eq!(parse("{e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1}"), None);
        assert_eq!(parse("e2f1a58f2-c2a-4a4b-9f3e-7c1c0de5a5a1"), None);
        assert_eq!(parse("e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5ag"), None);
        assert_eq!(parse("+2f1a58f2c2a4a4b9f3e7c1c0de5a5a1"), None);
        assert_eq!(parse(""), None);
    }
}
