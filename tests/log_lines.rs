//! The log of a real run, line for line against the reference systemd-repart 262 on copies of
//! the same image: the same words and partition numbers (0-based slots, as the table's PART
//! column), with two documented differences (docs/compat.md, "Log lines"): repart-rs zeroes
//! every range before it discards any, and it also reports the space a growing partition
//! gets ("space added to partition N"), which v262 does not erase.

mod common;

use std::path::Path;

use common::*;

/// The lines of `stderr` both tools print about writing, without mkswap's own output
/// (v262 runs mkswap on a loop device; we write the signature ourselves) and v262's
/// "Syncing ... contents" (it copies content we do not write).
fn apply_lines(stderr: &str) -> Vec<String> {
    const WORDS: [&str; 11] = [
        "Applying changes to ",
        "Wiped block device.",
        "Discarded entire block device.",
        "Successfully wiped ",
        "Successfully discarded ",
        "Formatting future partition ",
        "Successfully formatted future partition ",
        "Growing existing partition ",
        "Adding new partition ",
        "Writing new partition table.",
        "Partition table written.",
    ];
    stderr
        .lines()
        .filter(|l| WORDS.iter().any(|w| l.starts_with(w)))
        .filter(|l| !l.contains("space added to partition"))
        .map(str::to_owned)
        .collect()
}

/// The same lines in an order that ignores how wiping and discarding interleave.
fn sorted_erase_lines(lines: &[String]) -> Vec<String> {
    let mut erase: Vec<String> = lines
        .iter()
        .filter(|l| {
            [
                "Successfully wiped ",
                "Successfully discarded ",
                "Wiped block",
                "Discarded entire",
            ]
            .iter()
            .any(|w| l.starts_with(w))
        })
        .cloned()
        .collect();
    erase.sort();
    erase
}

/// Everything but the erase lines, in order.
fn ordered_lines(lines: &[String]) -> Vec<String> {
    let erase = sorted_erase_lines(lines);
    lines
        .iter()
        .filter(|l| !erase.contains(l))
        .cloned()
        .collect()
}

/// Runs ours and the reference on copies of `image` (named by their own names in the log,
/// which are then replaced by `DISK`) and compares their lines.
fn compare(s: &Scratch, defs: &Path, image: &Path, extra: &[&str]) -> Vec<String> {
    let ours = s.path("ours.img");
    let theirs = s.path("theirs.img");
    copy_sparse(image, &ours);
    copy_sparse(image, &theirs);
    let out = Agent::plain().run(&real_run_args(defs, &ours, extra));
    out.ok("ours");
    let args = real_run_args(defs, &theirs, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reference = oracle(&s.dir, &args);
    reference.ok("reference");
    let ours_lines: Vec<String> = apply_lines(&out.stderr)
        .into_iter()
        .map(|l| l.replace(&ours.display().to_string(), "DISK"))
        .collect();
    let their_lines: Vec<String> = apply_lines(&reference.stderr)
        .into_iter()
        .map(|l| l.replace(&theirs.display().to_string(), "DISK"))
        .collect();
    assert_eq!(
        ordered_lines(&ours_lines),
        ordered_lines(&their_lines),
        "ours:\n{}\nreference:\n{}",
        out.stderr,
        reference.stderr
    );
    assert_eq!(
        sorted_erase_lines(&ours_lines),
        sorted_erase_lines(&their_lines)
    );
    ours_lines
}

#[test]
fn a_first_boot_logs_what_v262_logs() {
    let s = Scratch::new("log-lines-first-boot");
    let defs = s.defs(
        "defs",
        &[
            ("10-root.conf", "[Partition]\nType=root\n"),
            ("20-home.conf", "[Partition]\nType=home\nSizeMaxBytes=16M\n"),
            (
                "30-swap.conf",
                "[Partition]\nType=swap\nSizeMinBytes=8M\nSizeMaxBytes=8M\n",
            ),
        ],
    );
    let image = s.image("disk.img", 128 * MIB);
    sh_input(
        "sfdisk",
        &["-q", "disk.img"],
        &s.dir,
        &[],
        &format!("label: gpt\nstart=2048, size=20480, type={ROOT_X86_64}, name=root-x86-64\n"),
    );
    let lines = compare(&s, &defs, &image, &[]);
    assert_eq!(
        lines.first().map(String::as_str),
        Some("Applying changes to DISK.")
    );
    for expected in [
        "Successfully wiped file system signatures from future partition 1.",
        "Successfully discarded data from future partition 2.",
        "Formatting future partition 2.",
        "Successfully formatted future partition 2.",
        "Growing existing partition 0.",
        "Adding new partition 1 to partition table.",
    ] {
        assert!(lines.iter().any(|l| l == expected), "{expected}: {lines:?}");
    }
}

#[test]
fn a_new_table_logs_what_v262_logs() {
    let s = Scratch::new("log-lines-new-table");
    let defs = s.defs(
        "defs",
        &[
            (
                "10-esp.conf",
                "[Partition]\nType=esp\nSizeMinBytes=8M\nSizeMaxBytes=8M\n",
            ),
            ("20-root.conf", "[Partition]\nType=root\n"),
        ],
    );
    let image = s.image("disk.img", 64 * MIB);
    let lines = compare(&s, &defs, &image, &["--empty=force"]);
    for expected in [
        "Wiped block device.",
        "Successfully wiped file system signatures from future partition 0.",
        "Adding new partition 0 to partition table.",
        "Adding new partition 1 to partition table.",
    ] {
        assert!(lines.iter().any(|l| l == expected), "{expected}: {lines:?}");
    }
}
