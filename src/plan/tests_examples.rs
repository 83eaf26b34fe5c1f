//! The worked examples of core.md §7.9 (measured on systemd-repart 262), with their exact
//! tables: (entry number, start sector, size in sectors, label).

use super::tests_support::*;

#[test]
fn example_a_fresh_disk_manual_page() {
    let plan = plan_on(
        &disk(1024, vec![]),
        &[
            "50-root",
            "60-home",
            "70-swap:SizeMinBytes=64M:SizeMaxBytes=1G:Priority=1:Weight=333",
        ],
    );
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 898008, "root-x86-64"),
            (2, 900056, 898016, "home"),
            (3, 1798072, 299040, "swap"),
        ])
    );
    let p = &plan.partitions;
    assert_eq!(p[0].uuid, uuid("b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9"));
    assert_eq!(p[1].uuid, uuid("942ca261-2978-4d8a-8c08-e916c5bf9d3a"));
    assert_eq!(p[2].uuid, uuid("9a63a1e4-0407-4b1d-a6bc-3d4610a2991c"));
    assert_eq!(
        [p[0].attributes, p[1].attributes, p[2].attributes],
        [1 << 59, 1 << 59, 0]
    );
    assert_eq!(plan.disk_guid, uuid("88037571-2d10-4560-ad11-28550017e775"));
    assert!(plan.new_table && plan.changed);
}

#[test]
fn example_b_growing_with_padding() {
    let root = existing(0, "root", 2048, 2048 + 32768 - 1, "r1");
    let plan = plan_on(
        &disk(256, vec![root]),
        &[
            "10-root",
            "20-home:Weight=500:PaddingWeight=100",
            "30-swap:SizeMinBytes=20M:SizeMaxBytes=20M:PaddingMinBytes=1M",
        ],
    );
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 299488, "r1"),
            (2, 301536, 149752, "home"),
            (3, 481240, 40960, "swap"),
        ])
    );
    let p = &plan.partitions;
    assert_eq!(p[0].uuid, uuid("aaaaaaaa-0000-4000-8000-000000000001"));
    assert_eq!(p[0].attributes, 0, "existing attributes are untouched");
    assert_eq!(p[0].activity, super::Activity::Resize);
    assert_eq!(p[1].new_padding, 15335424);
    assert_eq!(p[2].new_padding, 1 << 20);
}

#[test]
fn example_c_foreign_then_fixed_sizes_packed_at_the_start() {
    let foreign = existing(0, "linux-generic", 2048, 2048 + 32768 - 1, "");
    let plan = plan_on(
        &disk(256, vec![foreign]),
        &[
            "10-home:SizeMinBytes=16M:SizeMaxBytes=16M",
            "20-srv:SizeMinBytes=16M:SizeMaxBytes=16M",
        ],
    );
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 32768, ""),
            (2, 34816, 32768, "home"),
            (3, 67584, 32768, "srv"),
        ])
    );
    // The rest of the area is reported as padding of the last partition.
    assert_eq!(plan.partitions[1].new_padding, 217034752);
    assert!(plan.partitions[2].foreign);
}

#[test]
fn example_d_slot_numbers_reuse_gaps_after_the_same_type() {
    let plan = plan_on(
        &disk(
            256,
            vec![
                existing(1, "home", 2048, 2048 + 32768 - 1, "h1"),
                existing(4, "root", 34816, 34816 + 32768 - 1, "r1"),
            ],
        ),
        &[
            "10-root:SizeMaxBytes=16M",
            "15-root-b:Type=root:SizeMinBytes=16M:SizeMaxBytes=16M",
            "20-home:SizeMaxBytes=16M",
            "30-srv:SizeMinBytes=16M:SizeMaxBytes=16M",
            "50-home-b:Type=home:SizeMinBytes=16M:SizeMaxBytes=16M",
        ],
    );
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 100352, 32768, "srv"),
            (2, 2048, 32768, "h1"),
            (3, 133120, 32768, "home"),
            (5, 34816, 32768, "r1"),
            (6, 67584, 32768, "root-x86-64"),
        ])
    );
    let p = &plan.partitions;
    assert_eq!(p[1].uuid, uuid("62afe8bf-2fba-448d-b069-987047ed28c3"));
    assert_eq!(p[3].uuid, uuid("70f81b1c-32c3-4304-86d1-66e5bc9e5d77"));
    assert_eq!(p[4].uuid, uuid("240177b0-e8cb-436e-b44a-6aaa67c11103"));
}

#[test]
fn example_e_priority_dropping() {
    let specs = [
        "10-root:SizeMinBytes=20M",
        "20-home:SizeMinBytes=20M:Priority=1",
        "30-swap:SizeMinBytes=20M:Priority=2",
        "40-srv:SizeMinBytes=10M:Priority=2",
        "50-var:SizeMinBytes=4M:SizeMaxBytes=4M:Priority=-1",
    ];
    let plan = plan_on(&disk(64, vec![]), &specs);
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 60392, "root-x86-64"),
            (2, 62440, 60400, "home"),
            (3, 122840, 8192, "var"),
        ])
    );
    let dropped: Vec<bool> = plan.partitions.iter().map(|p| p.dropped).collect();
    assert_eq!(dropped, [false, false, true, true, false]);
    let plan = plan_on(&disk(40, vec![]), &specs);
    assert_eq!(
        table(&plan),
        rows(&[(1, 2048, 71640, "root-x86-64"), (2, 73688, 8192, "var")])
    );
    // Dropped partitions still took their UUID counters and labels.
    assert_eq!(plan.partitions[1].label, "home");
    let defs = defs(&specs);
    let shortfall = super::layout(&disk(20, vec![]), &defs, &options())
        .unwrap()
        .unwrap_err();
    assert_eq!(shortfall.minimal_size, 26231296);
    assert!(shortfall.disk_too_small());
}

#[test]
fn example_f_preceding_partition_is_sized_first() {
    let data = existing(0, "linux-generic", 2048, 2048 + 20001 - 1, "data");
    let plan = plan_on(
        &disk(128, vec![data]),
        &["05-var", "10-data:Type=linux-generic"],
    );
    assert_eq!(
        table(&plan),
        rows(&[(1, 2048, 130024, "data"), (2, 132072, 130032, "var")])
    );
}

#[test]
fn example_g_grain_size() {
    let specs = [
        "10:Type=root-verity-sig",
        "20:Type=home:SizeMinBytes=5000K:SizeMaxBytes=5000K",
        "30:Type=srv:SizeMinBytes=3M:SizeMaxBytes=3M:PaddingMinBytes=100K",
        "40:Type=var",
    ];
    let mut opts = options();
    opts.grain_size = Some(1 << 20);
    let plan = plan_with(&disk(64, vec![]), &specs, &opts);
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 32, "root-x86-64-verity-sig"),
            (2, 4096, 10240, "home"),
            (3, 14336, 6144, "srv"),
            (4, 22528, 106496, "var"),
        ])
    );
    assert_eq!(plan.partitions[0].attributes, 1 << 60);
    assert_eq!(plan.partitions[2].new_padding, 100 * 1024);
    let plan = plan_on(&disk(64, vec![]), &specs);
    let starts: Vec<(u64, u64)> = table(&plan).iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(
        starts,
        [(2048, 32), (2080, 10000), (12080, 6144), (18424, 112608)]
    );
}

#[test]
fn example_h_tiny_images() {
    let plan = plan_on(
        &disk_sectors(200, 34, vec![]),
        &["10-gen:Type=linux-generic:SizeMinBytes=4096"],
    );
    assert_eq!(table(&plan), rows(&[(1, 40, 120, "linux-generic")]));
    let plan = plan_on(
        &disk_sectors(8192, 34, vec![]),
        &["10-gen:Type=linux-generic:SizeMinBytes=4096"],
    );
    assert_eq!(table(&plan)[0].1, 40);
}

#[test]
fn example_i_ab_update_set() {
    let a = existing(0, "root", 2048, 2048 + 1048576 - 1, "root-A");
    let v = existing(1, "root-verity", 1050624, 1050624 + 131072 - 1, "verity-A");
    let specs = [
        "50-root:SizeMinBytes=512M:SizeMaxBytes=512M",
        "60-root-verity:SizeMinBytes=64M:SizeMaxBytes=64M",
        "70-root-b:Type=root:SizeMinBytes=512M:SizeMaxBytes=512M",
        "80-root-verity-b:Type=root-verity:SizeMinBytes=64M:SizeMaxBytes=64M",
    ];
    let plan = plan_on(&disk(2048, vec![a, v]), &specs);
    assert_eq!(
        table(&plan),
        rows(&[
            (1, 2048, 1048576, "root-A"),
            (2, 1050624, 131072, "verity-A"),
            (3, 1181696, 1048576, "root-x86-64"),
            (4, 2230272, 131072, "root-x86-64-verity"),
        ])
    );
    let p = &plan.partitions;
    assert_eq!(p[2].uuid, uuid("62afe8bf-2fba-448d-b069-987047ed28c3"));
    assert_eq!(p[3].uuid, uuid("7bcea9da-c8cd-4c86-bf05-0f34856d10e6"));
    assert_eq!([p[2].attributes, p[3].attributes], [1 << 59, 1 << 60]);
}
