//! The planner's messages as the binary logs them: the same lines, in the same order, as the
//! reference systemd-repart 262 prints for the same image and definitions.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The lines of a log that report dropped priority levels.
fn drop_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("Can't fit partition ") || l.starts_with("Can't grow existing"))
        .collect()
}

/// A dry run of ours and of the reference, each on its own copy of `image`: (ours, reference).
fn dry_runs(s: &Scratch, defs: &Path, image: &Path) -> (Outcome, Outcome) {
    let args = |name: &str| -> Vec<String> {
        let copy = s.path(name);
        copy_sparse(image, &copy);
        vec![
            "--dry-run=yes".to_owned(),
            "--empty=allow".to_owned(),
            format!("--seed={SEED}"),
            format!("--definitions={}", defs.display()),
            copy.display().to_string(),
        ]
    };
    let ours = Agent::plain().run(&args("ours.img"));
    let ref_args = args("ref.img");
    let ref_args: Vec<&str> = ref_args.iter().map(String::as_str).collect();
    (ours, oracle(&s.dir, &ref_args))
}

/// An image of `mib` MiB with the partitions of `script` (sfdisk's input).
fn image_with(s: &Scratch, mib: u64, script: &str) -> PathBuf {
    let image = s.image("disk.img", mib * MIB);
    sh_input("sfdisk", &["-q", "disk.img"], &s.dir, &[], script);
    image
}

#[test]
fn dropped_new_partitions_are_named_by_their_file() {
    let s = Scratch::new("notes-drop");
    let defs = s.defs(
        "defs",
        &[
            ("10-root.conf", "[Partition]\nType=root\nSizeMinBytes=20M\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nSizeMinBytes=20M\nPriority=1\n",
            ),
            (
                "30-swap.conf",
                "[Partition]\nType=swap\nSizeMinBytes=20M\nPriority=2\n",
            ),
            (
                "40-srv.conf",
                "[Partition]\nType=srv\nSizeMinBytes=10M\nPriority=2\n",
            ),
        ],
    );
    let image = s.image("disk.img", 64 * MIB);
    let (ours, reference) = dry_runs(&s, &defs, &image);
    ours.ok("ours");
    reference.ok("reference");
    let swap = format!(
        "Can't fit partition {}/30-swap.conf of priority 2, dropping.",
        defs.display()
    );
    let srv = format!(
        "Can't fit partition {}/40-srv.conf of priority 2, dropping.",
        defs.display()
    );
    assert_eq!(drop_lines(&ours.stderr), [swap.as_str(), srv.as_str()]);
    assert_eq!(drop_lines(&ours.stderr), drop_lines(&reference.stderr));
}

#[test]
fn ignored_existing_partitions_are_named_by_their_label() {
    let s = Scratch::new("notes-ignore");
    let defs = s.defs(
        "defs",
        &[
            (
                "10-root.conf",
                "[Partition]\nType=root\nSizeMinBytes=100M\nPriority=1\n",
            ),
            ("20-home.conf", "[Partition]\nType=home\nSizeMinBytes=20M\n"),
        ],
    );
    let image = image_with(
        &s,
        128,
        &format!(
            "label: gpt\nstart=2048, size=40960, type={ROOT_X86_64}, name=root\n\
             start=43008, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=blocker\n"
        ),
    );
    let (ours, reference) = dry_runs(&s, &defs, &image);
    ours.ok("ours");
    reference.ok("reference");
    assert_eq!(
        drop_lines(&ours.stderr),
        ["Can't grow existing partition root of priority 1, ignoring."]
    );
    assert_eq!(drop_lines(&ours.stderr), drop_lines(&reference.stderr));
}

/// When nothing fits even after dropping, the messages come before the error.
#[test]
fn a_failed_fit_reports_what_it_dropped() {
    let s = Scratch::new("notes-fail");
    let defs = s.defs(
        "defs",
        &[
            ("10-root.conf", "[Partition]\nType=root\nSizeMinBytes=30M\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nSizeMinBytes=30M\nPriority=1\n",
            ),
        ],
    );
    let image = s.image("disk.img", 20 * MIB);
    let (ours, reference) = dry_runs(&s, &defs, &image);
    ours.expect(1, "ours");
    reference.expect(1, "reference");
    let home = format!(
        "Can't fit partition {}/20-home.conf of priority 1, dropping.",
        defs.display()
    );
    assert_eq!(drop_lines(&ours.stderr), [home.as_str()]);
    assert_eq!(drop_lines(&ours.stderr), drop_lines(&reference.stderr));
    let last = ours.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("can't fit"), "{}", ours.stderr);
}
