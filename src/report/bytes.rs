//! Sizes the way systemd's `FORMAT_BYTES()` prints them.

/// Base-1024 units, largest first, as powers of two.
const UNITS: [(char, u32); 6] = [
    ('E', 60),
    ('P', 50),
    ('T', 40),
    ('G', 30),
    ('M', 20),
    ('K', 10),
];

/// `bytes` in the largest unit it reaches, with one decimal left out when it is 0: `0B`,
/// `512B`, `256K`, `64M`, `479.4M` (for 502779904), `1022.9M`.
///
/// The decimal is systemd's, not the exact truncated one: it is taken from the size in the
/// next smaller unit, already truncated (`(bytes >> 10*(k-1)) * 10 >> 10`), so 1153536 bytes
/// (1.1001 MiB) print as `1M` (measured on v262).
pub fn format_bytes(bytes: u64) -> String {
    for (suffix, shift) in UNITS {
        if bytes >> shift == 0 {
            continue;
        }
        let whole = bytes >> shift;
        // `bytes >> (shift - 10)` is below 2^54 here, so times 10 cannot overflow.
        let tenth = (((bytes >> (shift - 10)) * 10) >> 10) % 10;
        return if tenth > 0 {
            format!("{whole}.{tenth}{suffix}")
        } else {
            format!("{whole}{suffix}")
        };
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn matches_values_measured_on_v262() {
        let cases: [(u64, &str); 15] = [
            (0, "0B"),
            (1023, "1023B"),
            (1024, "1K"),
            (262144, "256K"),
            (1048576, "1M"),
            (1153536, "1M"),
            (67108864, "64M"),
            (502779904, "479.4M"),
            (1072672768, "1022.9M"),
            (267366400, "254.9M"),
            (200257536, "190.9M"),
            (233811968, "222.9M"),
            (250589184, "238.9M"),
            (1 << 40, "1T"),
            (u64::MAX, "15.9E"),
        ];
        for (bytes, text) in cases {
            assert_eq!(format_bytes(bytes), text, "{bytes}");
        }
    }
}
