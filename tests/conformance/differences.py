"""The known, justified differences between repart-rs and systemd-repart 262, each with its
reason and its entry in docs/compat.md. The suite ignores a mismatch only when a difference
here applies to the case and names that mismatch's key; each difference then checks what must
hold instead (verify), so an ignored comparison is replaced, never dropped.

Mismatch keys (run.py's compare): exit-status, no-changes, json, image-exists, sfdisk, mbr,
primary-header, backup-header, primary-entries, backup-entries, partition-head, content; and
second-run when repart-rs's second run on its own result did not say "No changes." or changed
the image.
"""
import os
import re

import image

ALL = frozenset(["exit-status", "no-changes", "json", "image-exists", "sfdisk", "mbr", "primary-header",
                 "backup-header", "primary-entries", "backup-entries", "partition-head", "content",
                 "dry-run-exit-status", "dry-run-output"])


class Difference:
    def __init__(self, id, compat, reason, applies, ignores, verify=lambda ctx: []):
        self.id = id
        self.compat = compat
        self.reason = reason
        self._applies = applies
        self._ignores = ignores
        self._verify = verify

    def applies(self, ctx):
        return self._applies(ctx)

    def ignores(self, ctx):
        """The mismatch keys this difference accounts for in this case."""
        return self._ignores(ctx) if callable(self._ignores) else self._ignores

    def verify(self, ctx):
        """What must hold instead of the ignored comparisons: a list of problems."""
        return self._verify(ctx)


# ---------------------------------------------------------------------------------------------
# (c) Content: v262 runs mkfs, copies files, encrypts; repart-rs refuses to create such
# partitions with "not supported yet" (ErrorKind::Unsupported, exit 1) and writes nothing.

# Formats repart-rs writes itself.
OWN_FORMATS = ("swap", "empty")
CONTENT_KEYS = ("CopyFiles", "CopyBlocks", "Encrypt", "Verity", "MakeDirectories", "MakeSymlinks",
                "AddValidateFS", "Subvolumes", "DefaultSubvolume", "Compression", "CompressionLevel")


def asks_for_content(case):
    """Whether a definition of the case asks for content repart-rs cannot write."""
    for d in case["defs"]:
        for k, v in d.get("keys", []):
            if k == "Format" and v not in OWN_FORMATS:
                return True
            if k in CONTENT_KEYS and not (k == "Encrypt" and v == "off"):
                return True
    return False


def content_refused(ctx):
    return asks_for_content(ctx.case) and ctx.ours.rc == 1 and "is not supported yet" in ctx.ours.stderr


def verify_refusal(ctx):
    # our_own_checks already checks that a failed run wrote nothing.
    lines = [line for line in ctx.ours.stderr.splitlines() if "is not supported yet" in line]
    if not any(".conf:" in line for line in lines):
        return ["the refusal does not name the file and line: %r" % lines]
    return []


CONTENT = Difference(
    "content-refused", "docs/compat.md item 21 (Content)",
    "v262 formats partitions with mkfs, copies files and blocks, sets up LUKS and dm-verity; "
    "repart-rs refuses to create a partition that asks for content with \"not supported yet\", "
    "naming file:line and key, exit 1, nothing written. The reference's result is not compared.",
    content_refused, ALL, verify_refusal)

# ---------------------------------------------------------------------------------------------
# (b) The reference aborts (assertion failures): ours is checked to be valid and consistent
# (our_own_checks: a valid table, and a second run that changes nothing), not compared.

REFERENCE_CRASH = Difference(
    "reference-crashed", "docs/compat.md items 14, 16, 17, 19",
    "v262 aborts on an assertion (priority dropping after a filled-in label or UUID, "
    "charge_size, shrinking an existing verity-sig partition, Format=empty with content); "
    "repart-rs produces a sensible result.",
    lambda ctx: ctx.ref_crashed(), ALL)

# ---------------------------------------------------------------------------------------------
# The reference fails cleanly where repart-rs does something sensible.


def ref_error(text):
    return lambda ctx: ctx.ref.rc == 1 and text in ctx.ref.stderr


ZERO_DISK_GUID = Difference(
    "zero-disk-guid", "docs/compat.md item 15 (All-zero disk GUID)",
    "v262 fails with \"Failed to set GPT disk label: Invalid argument\" on a table whose disk "
    "GUID is all zeros; repart-rs writes the derived disk GUID with the table.",
    ref_error("Failed to set GPT disk label: Invalid argument"), ALL,
    lambda ctx: [] if ctx.ours.rc == 0 else ["ours failed: %s" % ctx.ours.error_line()])

TABLE_FULL = Difference(
    "table-full", "docs/compat.md item 18 (A full entry table)",
    "v262 fails in libfdisk with \"Numerical result out of range\" when no entry is free; "
    "repart-rs refuses before writing with \"no free entry\" (both exit 1, nothing written).",
    ref_error("Failed to add partition: Numerical result out of range"),
    frozenset(["exit-status", "content", "dry-run-exit-status", "dry-run-output"]),
    lambda ctx: [] if ctx.ours.rc == 1 and "no free entry" in ctx.ours.stderr else
    ["ours did not refuse with \"no free entry\": exit %s (%s)" % (ctx.ours.rc, ctx.ours.error_line())])

# ---------------------------------------------------------------------------------------------
# Until the report module is wired into the run (src/run/output.rs is still the stub that
# prints nothing), repart-rs prints no JSON. This stops applying by itself once it is.


# ---------------------------------------------------------------------------------------------
# Second runs that do something, exactly as the reference's second run on its own result.


def second_runs_alike(ctx):
    """Both second runs had the same outcome and left the same bytes."""
    if ctx.second_runs is None:
        return False
    ref2, ours2 = ctx.second_runs
    if (ref2.rc, ref2.no_changes, ref2.changed) != (ours2.rc, ours2.no_changes, ours2.changed):
        return False
    # The images after the second runs differ exactly as they did after the first, or only
    # in the random UUIDs both tools give a new partition whose derived UUID is taken.
    a, b = os.path.join(ctx.wd, "ref-again.img"), os.path.join(ctx.wd, "ours-again.img")
    runs = image.content_differences(a, b)
    return runs == ctx.content_runs or (not ctx.content_runs and not image.uuid_only_problems(a, b, ctx.ss, runs))


def has_arg(ctx, prefix):
    return any(a.startswith(prefix) for a in ctx.case.get("args", []))


DEFERRED_PENDING = Difference(
    "deferred-still-pending", "docs/compat.md item 29 (Second runs do what v262's second runs do)",
    "With --defer-partitions=, --defer-partitions-empty=yes or --defer-partitions-factory-reset=yes "
    "the deferred partitions are still to be created on the next run with the same flags: v262 "
    "rewrites the table (or grows what the deferred ones left free) instead of saying \"No "
    "changes.\"; repart-rs does exactly the same, byte for byte.",
    lambda ctx: has_arg(ctx, "--defer-partitions") and second_runs_alike(ctx) and ctx.second_runs[1].rc == 0,
    frozenset(["second-run"]))

V262_NOT_IDEMPOTENT = Difference(
    "v262-not-idempotent", "docs/compat.md item 29 (Second runs do what v262's second runs do)",
    "v262 does not always reach a fixed point in one run, and repart-rs plans as v262 does, so "
    "its second run does exactly what v262's second run does on v262's result: with a grain "
    "larger than the partitions' alignment (--grain-size=1M, or partitions at unaligned "
    "offsets) each existing partition is charged its size rounded up to the grain and the "
    "second run fails with \"Can't fit requested partitions into available free space\", or "
    "finds room it did not see before and grows partitions again; --size=auto computes the "
    "minimal size from the table as it now is and may grow the image once more.",
    lambda ctx: second_runs_alike(ctx) and not (has_arg(ctx, "--defer-partitions") and ctx.second_runs[1].rc == 0),
    frozenset(["second-run"]))

# ---------------------------------------------------------------------------------------------
# v262 refuses a disk only because it charges each existing partition its minimum rounded up
# to the grain, more than is physically there; repart-rs retries with the charges capped.

# What repart-rs logs when it used the capped-charge retry (src/run/mod.rs).
CAPPED_NOTE = "systemd-repart 262 refuses this disk"


def refused_for_space(run):
    return run.rc == 1 and "Can't fit requested partitions into available free space" in run.stderr


def planned_with_capped_charges(run):
    return run.rc == 0 and CAPPED_NOTE in run.stderr


def kept_in_place_problems(before, after):
    """Every partition of the table `before` is in `after` in the same slot, with the same
    type and first LBA and no smaller (the retry never moves or shrinks one)."""
    out = dict(after.partitions())
    problems = []
    for slot, p in before.partitions():
        q = out.get(slot)
        if q is None or (q["type"], q["first"]) != (p["type"], p["first"]) or q["last"] < p["last"]:
            problems.append("partition %d was moved, shrunk or removed" % (slot + 1))
    return problems


def verify_capped_first_run(ctx):
    """Ours kept every input partition in place (our_own_checks adds: a valid table and a
    second run that changes nothing); with "No changes." the image is the input, byte for
    byte (but for the growth of --size= and the table moved with it); its dry run fits too."""
    problems = kept_in_place_problems(ctx.input, image.Gpt(ctx.ours_path, ctx.ss))
    if ctx.ours.no_changes:
        if ctx.grown_by_size():
            problems += ["ours: " + p for p in image.relocation_problems(ctx.input_path, ctx.ours_path, ctx.ss)]
        elif ctx.digest(ctx.ours_path) != ctx.input_digest:
            problems.append("ours said \"No changes.\" and changed the image")
    if ctx.dry_runs is not None and ctx.dry_runs[1].rc != 0:
        problems.append("ours' dry run exit %s" % ctx.dry_runs[1].rc)
    return problems


CAPPED_CHARGES = Difference(
    "capped-charges", "docs/compat.md item 29 (Second runs do what v262's second runs do)",
    "v262 charges each existing partition its minimum size and padding rounded up to the grain; "
    "a partition that does not end on the grain (an unaligned size or offset from another tool, "
    "or --grain-size= above the table's alignment, e.g. one ending at the last usable LBA) is "
    "charged more than is physically there, and v262 fails with \"Can't fit requested "
    "partitions\" on a disk that already holds everything. repart-rs then retries with each "
    "existing partition charged no more than its size plus the free bytes after it, and uses "
    "that plan when it fits (saying so); v262's result is a failure, so only ours is checked "
    "(which may still fail later, e.g. on a swap partition too small for mkswap).",
    lambda ctx: ctx.input is not None and refused_for_space(ctx.ref) and CAPPED_NOTE in ctx.ours.stderr,
    ALL, verify_capped_first_run)


def capped_second_run(ctx):
    if ctx.second_runs is None:
        return False
    ref2, ours2 = ctx.second_runs
    return refused_for_space(ref2) and planned_with_capped_charges(ours2)


def verify_capped_second_run(ctx):
    """Ours' second result is a valid table that keeps every partition of its first in place."""
    again = os.path.join(ctx.wd, "ours-again.img")
    problems = ["ours' second run: " + p for p in image.validity_problems(again, ctx.ss)]
    return problems + kept_in_place_problems(image.Gpt(ctx.ours_path, ctx.ss), image.Gpt(again, ctx.ss))


CAPPED_CHARGES_SECOND_RUN = Difference(
    "capped-charges-second-run", "docs/compat.md item 29 (Second runs do what v262's second runs do)",
    "Both first runs agree, but on that result v262's second run charges the now existing "
    "partitions their minimum rounded up to the grain and fails with \"Can't fit requested "
    "partitions\"; repart-rs's second run retries with the charges capped at what is "
    "physically there and plans (growing a partition into space the first run left).",
    capped_second_run, frozenset(["second-run"]), verify_capped_second_run)

# ---------------------------------------------------------------------------------------------
# Both tools pick a random partition UUID when the derived one is taken.


def gpt_only_in_uuids(ctx):
    return image.uuid_only_problems(ctx.ref_path, ctx.ours_path, ctx.ss, ctx.content_runs)


RANDOM_UUID = Difference(
    "random-uuid-on-collision", "docs/compat.md item 29 (Second runs do what v262's second runs do)",
    "When the UUID derived from the seed is already taken, v262 and repart-rs both pick a random "
    "one; the two tables differ in that UUID (and the CRCs over it) only.",
    lambda ctx: ctx.case.get("random_uuid") and ctx.ref.rc == 0 and ctx.ours.rc == 0,
    frozenset(["primary-entries", "backup-entries", "primary-header", "backup-header", "sfdisk", "content",
               "json", "dry-run-output"]),
    gpt_only_in_uuids)

# ---------------------------------------------------------------------------------------------
# (a) A grown disk where nothing else changes.


def grown_outside(ctx):
    """The input's backup GPT is not on the last LBA (the disk grew under the table)."""
    i = ctx.input
    return i is not None and i.primary is not None and i.primary["alternate_lba"] != i.sectors - 1


def ref_left_backup(ctx):
    """The reference's image has its backup GPT short of the end."""
    g = image.Gpt(ctx.ref_path, ctx.ss)
    return g.primary is not None and g.primary["alternate_lba"] != g.sectors - 1


def ours_left_backup(ctx):
    g = image.Gpt(ctx.ours_path, ctx.ss)
    return g.primary is not None and g.primary["alternate_lba"] != g.sectors - 1


def verify_relocation(ctx):
    """v262 wrote nothing (but may have grown the file for --size=); ours is the input's table
    with the backup moved to the end, and nothing else written."""
    problems = []
    if image.chunks(ctx.ref_path) != image.chunks(ctx.input_path):
        problems.append("the reference wrote to the image")
    return problems + ["ours: " + p for p in image.relocation_problems(ctx.input_path, ctx.ours_path, ctx.ss)]


GROWN_REPAIR = Difference(
    "grown-disk-repair", "docs/compat.md items 2 (A misplaced backup GPT is repaired) and 31 (--size= on "
    "4096-byte sectors)",
    "When the disk has grown and nothing else changes, v262 prints \"No changes.\" and leaves "
    "the backup GPT where it was; repart-rs writes the same table with the backup moved to the "
    "end (saying it repairs it). The same happens with --size= on 4096-byte sectors: v262's "
    "resize after growing the file looks for the GPT at 512-byte sectors, finds none and "
    "leaves the table alone (with 512-byte sectors it resizes the table, as repart-rs does).",
    lambda ctx: ctx.ref.rc == ctx.ours.rc and (grown_outside(ctx) or ctx.grown_by_size()) and ref_left_backup(ctx)
    and not ours_left_backup(ctx),
    frozenset(["no-changes", "mbr", "primary-header", "backup-header", "backup-entries", "sfdisk", "content"]),
    verify_relocation)

# ---------------------------------------------------------------------------------------------
# repart-rs erases more than v262, never less, and never a kept partition's data.


def kept_extents(ctx):
    """Byte ranges the input's partitions had, for those that ours kept (same slot, UUID and
    start): their data must be untouched."""
    if ctx.input is None:
        return []
    out = dict(image.Gpt(ctx.ours_path, ctx.ss).partitions())
    kept = []
    for slot, p in ctx.input.partitions():
        q = out.get(slot)
        if q is not None and (q["uuid"], q["first"]) == (p["uuid"], p["first"]):
            kept.append((p["first"] * ctx.ss, (p["last"] + 1) * ctx.ss))
    return kept


def verify_erased_more(ctx):
    kept = kept_extents(ctx)
    for start, end, ours_zero in ctx.content_runs:
        if not ours_zero:
            return ["bytes %d..%d differ and ours are not zeros" % (start, end)]
        for a, b in kept:
            if start < b and a < end:
                return ["bytes %d..%d of a kept partition differ" % (max(start, a), min(end, b))]
    return []


ERASED_MORE = Difference(
    "erased-more", "docs/compat.md items 4, 5 and 23 (Deleted partitions are wiped; Grown space is "
    "checked for stale signatures; Erasing, as opposed to libblkid)",
    "repart-rs zeroes every place a signature can sit in the space it hands out (8 MiB at the "
    "start, 2 MiB at the end of new partitions and of the space a partition grows into, "
    "partitions deleted by a factory reset); v262 overwrites only the magic bytes libblkid "
    "finds, and leaves deleted partitions and grown space alone. Where the images differ, ours "
    "must hold zeros, outside the data of every partition kept from the input.",
    lambda ctx: ctx.ref.rc == 0 and ctx.ours.rc == 0 and ctx.content_runs and
    all(z for _, _, z in ctx.content_runs),
    frozenset(["content", "partition-head"]), verify_erased_more)

# ---------------------------------------------------------------------------------------------
# A swap partition too small for a swap signature.

SWAP_TOO_SMALL = Difference(
    "swap-too-small", "docs/compat.md item 30 (A swap partition smaller than 40 KiB)",
    "v262 runs mkswap on each new swap partition in turn after wiping and discarding, and fails "
    "(\"swap area needs to be at least 40 KiB\") when one is smaller than 40 KiB, leaving the "
    "earlier ones' swap signatures in what is still free space (on a grown disk the old backup "
    "GPT is discarded with the free space it lies in; with --empty=force the whole disk was "
    "wiped, old table included); repart-rs refuses such a plan before writing anything. Both "
    "exit 1 and neither writes a new table.",
    lambda ctx: ctx.ref.rc == 1 and "swap area needs to be at least 40 KiB" in ctx.ref.stderr and
    ctx.ours.rc == 1 and "mkswap needs at least 40960 bytes" in ctx.ours.stderr,
    lambda ctx: frozenset(["content", "partition-head"] +
                          (["backup-header", "backup-entries"] if grown_outside(ctx) else []) +
                          (["mbr", "primary-header", "primary-entries", "backup-header", "backup-entries", "sfdisk"]
                           if ctx.case.get("empty") == "force" else [])))

# ---------------------------------------------------------------------------------------------
# Factory reset: v262 writes the deletion before it plans the rest.


def verify_reset_first(ctx):
    """The reference's table is the input's without the partitions it said it removed; ours
    failed (as the reference did afterwards) and wrote nothing."""
    removed = {int(n) for n in re.findall(r"Removing partition (\d+) for factory reset", ctx.ref.stderr)}
    i, r = ctx.input, image.Gpt(ctx.ref_path, ctx.ss)
    expected = {slot: p for slot, p in i.partitions() if slot not in removed}
    if dict(r.partitions()) != expected:
        return ["the reference's table is not the input's minus partitions %s" % sorted(removed)]
    return []


FACTORY_RESET_FIRST = Difference(
    "factory-reset-one-write", "docs/compat.md item 3 (Factory reset is one table write)",
    "v262 deletes the FactoryReset=yes partitions and writes that table before planning the "
    "rest; when the plan then fails (\"Can't fit requested partitions\"), the deletion stays. "
    "repart-rs plans deletion and re-creation together and, when the plan fails, writes "
    "nothing. Both exit 1.",
    lambda ctx: ctx.ref.rc == 1 and ctx.ours.rc == 1 and "Successfully deleted" in ctx.ref.stderr and
    ctx.input is not None,
    frozenset(["primary-entries", "backup-entries", "primary-header", "backup-header", "sfdisk", "content",
               "partition-head", "mbr"]),
    verify_reset_first)

# ---------------------------------------------------------------------------------------------
# Dry runs show what a real run of repart-rs writes.


def verify_dry_run(ctx):
    """Ours' dry run fails exactly when its real run does, or (failures found only while
    writing, like a swap partition too small for a signature) as the reference's dry run."""
    ref_dry, ours_dry = ctx.dry_runs
    if ours_dry.rc not in (ctx.ours.rc, ref_dry.rc):
        return ["ours' dry run exit %s, its real run exit %s" % (ours_dry.rc, ctx.ours.rc)]
    return []


DRY_RUN_SEES_MORE = Difference(
    "dry-run-sees-more", "docs/compat.md items 1 (Dry runs see a grown disk) and 6 (Factory reset in a "
    "dry run)",
    "On a grown disk v262's dry run does not move the backup GPT in memory and plans for the "
    "old size; with --factory-reset=yes it refuses the reset and shows the table without it. "
    "repart-rs's dry run plans exactly what its real run does (checked: same exit status).",
    lambda ctx: ctx.dry_runs is not None and (grown_outside(ctx) or has_arg(ctx, "--factory-reset=yes")),
    frozenset(["dry-run-output", "dry-run-exit-status"]), verify_dry_run)

DRY_RUN_SIZE = Difference(
    "dry-run-size", "docs/compat.md item 32 (--size= in a dry run)",
    "v262 grows the image file for --size= (and resizes its table) even with --dry-run=yes; "
    "repart-rs's dry run writes nothing and plans for the new size. On 4096-byte sectors v262's "
    "resize misses the table (item 31), so its dry run plans for the old size (and may find no "
    "room there).",
    lambda ctx: ctx.dry_runs is not None and has_arg(ctx, "--size=") and ctx.dry_runs[0].changed,
    lambda ctx: frozenset(["dry-run-output", "dry-run-exit-status"] if ctx.ss == 4096 else []), verify_dry_run)

KNOWN = [DRY_RUN_SEES_MORE, DRY_RUN_SIZE, GROWN_REPAIR, FACTORY_RESET_FIRST, ERASED_MORE, SWAP_TOO_SMALL, CONTENT, REFERENCE_CRASH, ZERO_DISK_GUID, TABLE_FULL, DEFERRED_PENDING,
         V262_NOT_IDEMPOTENT, RANDOM_UUID, CAPPED_CHARGES, CAPPED_CHARGES_SECOND_RUN]
