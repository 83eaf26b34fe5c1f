//! Partition device names, as libfdisk's `fdisk_partname()` forms them (v262 prints these in
//! the `node` field and in the bar's tree lines).

/// The node of partition `number` (1-based) on the disk `disk`: `<disk>p<N>` when the disk's
/// name ends in a digit (`/dev/loop2p1`, `/dev/nvme0n1p2`, `/tmp/disk0p1`), `<disk>-part<N>`
/// for the udev link directories and device-mapper names libfdisk treats that way,
/// `<disk><N>` otherwise (`/dev/sda1`, `/tmp/d.img1`).
///
/// libfdisk also probes the file system for `/dev/mapper/` names (trying `<disk><N>` and
/// `<disk>p<N>` first); this pure version takes the name it falls back to.
pub fn partition_node(disk: &str, number: usize) -> String {
    const PART_SUFFIX_DIRS: [&str; 3] = ["/dev/disk/by-id", "/dev/disk/by-path", "/dev/mapper"];
    if PART_SUFFIX_DIRS.iter().any(|d| disk.starts_with(d)) {
        return format!("{disk}-part{number}");
    }
    if disk.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{disk}p{number}")
    } else {
        format!("{disk}{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::partition_node;

    #[test]
    fn names_like_libfdisk() {
        assert_eq!(partition_node("/dev/loop2", 1), "/dev/loop2p1");
        assert_eq!(partition_node("/dev/nvme0n1", 12), "/dev/nvme0n1p12");
        assert_eq!(partition_node("/dev/mmcblk0", 3), "/dev/mmcblk0p3");
        assert_eq!(partition_node("/dev/sda", 4), "/dev/sda4");
        assert_eq!(partition_node("/dev/vda", 1), "/dev/vda1");
        assert_eq!(
            partition_node("/tmp/report/s3/f.img", 2),
            "/tmp/report/s3/f.img2"
        );
        assert_eq!(
            partition_node("/dev/disk/by-id/ata-X", 1),
            "/dev/disk/by-id/ata-X-part1"
        );
        assert_eq!(
            partition_node("/dev/mapper/vg-lv", 2),
            "/dev/mapper/vg-lv-part2"
        );
    }
}
