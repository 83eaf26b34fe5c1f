"""The conformance cases: every named case of the planner goldens (tests/fixtures/plan/gen.py,
which include the repart.d(5) examples), the end-to-end cases below (--empty= modes, --size=
growth, old signatures in space handed out, swap), and a seeded random generator built on
gen.py's.

A case is gen.py's dict (name, disk_size, sector_size, defs, existing, args, ...) with these
additions, all optional:
- empty: the --empty= mode (default "allow"); with "create" no input image is made;
- fill: [(byte offset, bytes)] written into the input image after its table;
- no_input: no image file at all before the run.
"""
import random

import gen
from gen import G, M, case, d, e

SWAP_MAGIC = b"SWAPSPACE2"
EXT4_MAGIC = b"\x53\xef"


def old_swap(offset):
    """An old swap signature (page size 4096) at a partition starting at offset."""
    return [(offset + 4096 - 10, SWAP_MAGIC), (offset + 1024, b"\x01\0\0\0")]


def old_ext4(offset):
    """An old ext4 superblock magic and some data in a partition starting at offset."""
    return [(offset + 1024 + 0x38, EXT4_MAGIC), (offset + 1024, b"\x00\x40\x00\x00")]


def end_to_end_cases():
    cs = []
    root, home = d("10-root.conf", "Type=root"), d("20-home.conf", "Type=home", "SizeMaxBytes=64M")
    swap = d("30-swap.conf", "Type=swap", "SizeMinBytes=16M", "SizeMaxBytes=16M")
    old = [e(0, "linux-generic", 2048, 65536, "old"), e(1, "var", 67584, 32768, "var")]
    old4k = [e(0, "linux-generic", 256, 8192, "old"), e(1, "var", 8448, 4096, "var")]
    # --empty= modes.
    cs.append(case("empty-force-old-table", 256 * M, [root, home, swap], old, empty="force",
                   fill=old_swap(2048 * 512) + old_ext4(67584 * 512)))
    cs.append(case("empty-force-old-table-4k", 256 * M, [root, home, swap], old4k, empty="force", sector_size=4096))
    cs.append(case("empty-force-blank", 256 * M, [root, home], empty="force"))
    cs.append(case("empty-require-blank", 256 * M, [root, home], empty="require"))
    cs.append(case("empty-require-old-table", 256 * M, [root, home], old, empty="require"))
    cs.append(case("empty-refuse-blank", 256 * M, [root, home], empty="refuse"))
    cs.append(case("empty-refuse-old-table", 256 * M, [root, home], old, empty="refuse"))
    cs.append(case("empty-create", 0, [root, home, swap], empty="create", no_input=True, args=["--size=256M"]))
    cs.append(case("empty-create-4k", 0, [root, home], empty="create", no_input=True, sector_size=4096,
                   args=["--size=256M"]))
    # --size= growth of images.
    cs.append(case("size-grow-existing", 64 * M, [root, home], [e(0, "root", 2048, 65536, "root")],
                   args=["--size=256M"]))
    cs.append(case("size-grow-existing-4k", 64 * M, [root, home], [e(0, "root", 256, 8192, "root")],
                   sector_size=4096, args=["--size=256M"]))
    cs.append(case("size-grow-blank", 1 * M, [root, home], args=["--size=200M"]))
    cs.append(case("size-grow-unaligned", 64 * M, [root], [e(0, "root", 2048, 32768, "root")],
                   args=["--size=100000001"]))
    cs.append(case("size-not-smaller", 128 * M, [root, home], [e(0, "root", 2048, 32768, "root")],
                   args=["--size=64M"]))
    cs.append(case("size-grow-no-changes", 64 * M, [d("10-root.conf", "Type=root", "SizeMaxBytes=16M")],
                   [e(0, "root", 2048, 32768, "root")], args=["--size=128M"]))
    # Disks grown under their table where nothing else changes (and where something does).
    cs.append(case("grown-nothing-to-do", 256 * M, [d("10-root.conf", "Type=root", "SizeMaxBytes=16M")],
                   [e(0, "root", 2048, 32768, "root")], initial_size=64 * M))
    cs.append(case("grown-nothing-to-do-4k", 256 * M, [d("10-root.conf", "Type=root", "SizeMaxBytes=16M")],
                   [e(0, "root", 256, 4096, "root")], initial_size=64 * M, sector_size=4096))
    cs.append(case("grown-by-one-sector", 64 * M + 512, [d("10-root.conf", "Type=root")],
                   [e(0, "root", 2048, 32768, "root")], initial_size=64 * M))
    # Space handed out that held old signatures: both tools must wipe them.
    fr = [d("10-root.conf", "Type=root", "SizeMaxBytes=32M"),
          d("20-home.conf", "Type=home", "FactoryReset=yes"),
          d("30-swap.conf", "Type=swap", "FactoryReset=yes", "SizeMaxBytes=16M")]
    fr_layout = [e(0, "root", 2048, 65536, "root"), e(1, "home", 67584, 65536, "home"),
                 e(2, "swap", 133120, 32768, "swap")]
    fr_fill = old_ext4(67584 * 512) + old_swap(133120 * 512)
    cs.append(case("factory-reset-old-signatures", 256 * M, fr, fr_layout, args=["--factory-reset=yes"],
                   fill=fr_fill))
    cs.append(case("factory-reset-old-signatures-off", 256 * M, fr, fr_layout, fill=fr_fill))
    cs.append(case("free-space-old-signatures", 256 * M, [root, home, swap], [e(0, "esp", 2048, 20480, "esp")],
                   fill=old_ext4(22528 * 512) + old_swap(100 * M) + old_ext4(200 * M)))
    # Swap partitions.
    cs.append(case("swap-4k", 256 * M, [root, swap], sector_size=4096))
    cs.append(case("swap-existing-kept", 256 * M, [root, swap], [e(0, "swap", 2048, 32768, "swap")],
                   fill=old_swap(2048 * 512)))
    cs.append(case("swap-labels", 256 * M, [d("10-swap.conf", "Type=swap", "Label=my-swap", "SizeMaxBytes=8M"),
                                            d("20-swap.conf", "Type=swap", "SizeMaxBytes=8M",
                                              "UUID=11111111-2222-4333-8444-555555555555"),
                                            d("30-swap.conf", "Type=swap", "SizeMaxBytes=8M", "UUID=null")]))
    cs.append(case("swap-tiny", 64 * M, [d("10-swap.conf", "Type=swap", "SizeMaxBytes=40K")]))
    return cs


def named_cases():
    return gen.named_cases() + end_to_end_cases()


# ---------------------------------------------------------------------------------------------
# Random cases: gen.py's generator, then end-to-end variations drawn from the same seed.

def random_case(seed):
    c = gen.random_case(seed)
    r = random.Random("conformance-%d" % seed)
    args = c["args"]
    ss = c["sector_size"]
    for dd in c["defs"]:
        if r.random() < 0.08:
            dd["keys"][0] = ("Type", "swap")
            dd["file"] = dd["file"].split("-")[0] + "-swap.conf"
        elif r.random() < 0.03:
            dd["keys"].append(("Format", r.choice(["ext4", "vfat", "empty"])))
    existing = c["existing"]
    k = r.random()
    if existing is not None and k < 0.06:
        c["empty"] = "force"
    elif existing is None and k < 0.09:
        c["empty"] = "require"
    elif existing is not None and k < 0.11:
        c["empty"] = "refuse"
    elif "initial_size" not in c and k < 0.2:
        grown = c["disk_size"] + gen.rand_size(r, 64 * 1024, 512 * M)
        args.append("--size=%d" % (grown // ss * ss if r.random() < 0.7 else grown))
    if existing and r.random() < 0.2:
        # Old signatures in the free space and in existing partitions.
        fill = []
        for p in existing:
            if r.random() < 0.5:
                kind = old_swap if r.random() < 0.5 else old_ext4
                # Only where the signature fits inside the partition.
                if all(off + len(data) <= (p["start"] + p["size"]) * ss for off, data in kind(p["start"] * ss)):
                    fill += kind(p["start"] * ss)
        c["fill"] = fill
    return c


def random_cases(base_seed, count):
    """count random cases whose seeds are drawn from base_seed; each case depends only on its
    own seed (its name is random-SEED), so one can be replayed alone."""
    r = random.Random(base_seed)
    seeds = []
    while len(seeds) < count:
        s = r.randrange(1000, 10 ** 7)
        if s not in seeds:
            seeds.append(s)
    return [random_case(s) for s in seeds]


def by_name(name):
    """A named case, or random-SEED."""
    if name.startswith("random-") and name[7:].isdigit():
        return random_case(int(name[7:]))
    for c in named_cases():
        if c["name"] == name:
            return c
    return None
