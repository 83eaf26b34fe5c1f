#!/usr/bin/env python3
"""The conformance suite: runs repart-rs and the reference systemd-repart 262 on the same
inputs and compares the results byte for byte.

For each case (cases.py): build the input image once, copy it for each tool, run both with
the same flags, compare exit statuses, "No changes.", `sfdisk -d`, the raw protective MBR,
both GPT headers and entry arrays, the first 64 KiB of every partition, the whole image
content, the --json=short output field by field, and a dry run's table. Then run repart-rs again on its own
result: it must say "No changes." and leave the image byte-identical. The known, justified
differences (differences.py) are the only ones ignored.

Usage: run.py [--only NAME[,NAME...]] [--random N] [--seed N] [--jobs N] [--keep] [--bin PATH]
Environment: CONFORMANCE_SEED (the random cases' seed; default: today's UTC date),
CONFORMANCE_RANDOM (how many random cases), CONFORMANCE_ONLY, CONFORMANCE_KEEP=1.
Exit status: 0 when every case passed, 1 otherwise.
"""
import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures", "plan"))
sys.path.insert(0, HERE)

import cases  # noqa: E402
import differences  # noqa: E402
import gen  # noqa: E402
import image  # noqa: E402

ORACLE = os.path.join(TOP, "tests", "oracle", "run.sh")
TIMEOUT = 300
REF, OURS, INPUT = "ref.img", "ours.img", "input.img"
# Copies the second runs work on.
REF_AGAIN, OURS_AGAIN = "ref-again.img", "ours-again.img"


class Run:
    """One tool's run: exit status and output."""

    def __init__(self, argv, cwd, env=None):
        try:
            p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
            self.rc, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            self.rc, self.stdout, self.stderr = "timeout", e.stdout or "", "timed out after %d s" % TIMEOUT
        self.no_changes = "No changes." in self.stderr

    def error_line(self):
        return gen.error_line(self.stderr)


def sfdisk_dump(wd, name, ss):
    """`sfdisk -d` by the chroot's sfdisk, with the image's name taken out."""
    args = ["-d", name] if ss == 512 else ["--sector-size", str(ss), "-d", name]
    r = Run([ORACLE] + args, wd, env=dict(os.environ, REPART_ORACLE_CMD="sfdisk"))
    return "rc=%s\n%s" % (r.rc, r.stdout.replace(name, "IMG"))


def normalized_json(text, name):
    """--json=short output as a list of objects, the image name taken out of "node"."""
    try:
        objs = json.loads(text) if text.strip() else None
    except ValueError as e:
        return "unparsable JSON: %s" % e
    for o in objs or []:
        if isinstance(o, dict) and isinstance(o.get("node"), str):
            o["node"] = o["node"].replace(name, "IMG")
    return objs


def json_difference(ref, ours):
    if ref == ours:
        return None
    if not isinstance(ref, list) or not isinstance(ours, list):
        return "ref %s, ours %s" % (json.dumps(ref)[:200], json.dumps(ours)[:200])
    if len(ref) != len(ours):
        return "%d objects in ref, %d in ours" % (len(ref), len(ours))
    out = []
    for i, (a, b) in enumerate(zip(ref, ours)):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                out.append("[%d].%s ref %r ours %r" % (i, k, a.get(k, "<missing>"), b.get(k, "<missing>")))
    return "; ".join(out[:6]) + ("; ..." if len(out) > 6 else "")


class Context:
    """Everything known about one case after both tools ran."""

    def __init__(self, case, wd, ref, ours):
        self.case = case
        self.wd = wd
        self.ss = case.get("sector_size", 512)
        self.ref, self.ours = ref, ours
        self.input_path = os.path.join(wd, INPUT)
        self.ref_path = os.path.join(wd, REF)
        self.ours_path = os.path.join(wd, OURS)
        self.has_input = os.path.exists(self.input_path)
        self.input = image.Gpt(self.input_path, self.ss) if self.has_input else None
        self.input_digest = image.content_digest(self.input_path) if self.has_input else None
        self.mismatches = {}
        self.content_runs = []
        # (reference, ours) second runs, when ours did something the second time.
        self.second_runs = None
        # (reference, ours) dry runs on copies of the input.
        self.dry_runs = None

    def ref_crashed(self):
        return (isinstance(self.ref.rc, int) and self.ref.rc < 0) or "Assertion" in self.ref.stderr

    def digest(self, path):
        return image.content_digest(path) if os.path.exists(path) else None

    def grown_by_size(self):
        """--size= grew the image: its table was resized at once (by both tools)."""
        return any(a.startswith("--size=") for a in self.case.get("args", [])) and self.has_input and \
            os.path.exists(self.ours_path) and os.path.getsize(self.ours_path) > os.path.getsize(self.input_path)

    def unchanged(self, path):
        """Problems if a failed run wrote to the image at path (or created it). Growing the
        file with --size= and moving the backup GPT to its new end happen before planning."""
        name = os.path.basename(path)
        if not self.has_input:
            return ["%s was created although the run failed" % name] if os.path.exists(path) else []
        if self.grown_by_size():
            return ["%s, resized although the run failed: %s" % (name, p)
                    for p in image.relocation_problems(self.input_path, path, self.ss)]
        if self.digest(path) != self.input_digest:
            return ["%s was written although the run failed" % name]
        return []


def compare(ctx):
    """The reference's result against ours: {key: detail} of every difference."""
    m = ctx.mismatches
    ref, ours = ctx.ref, ctx.ours
    if ref.rc != ours.rc:
        m["exit-status"] = "ref %s (%s), ours %s (%s)" % (ref.rc, ref.error_line(), ours.rc, ours.error_line())
    if ref.no_changes != ours.no_changes:
        m["no-changes"] = "\"No changes.\" printed by %s only" % ("ref" if ref.no_changes else "ours")
    rj, oj = normalized_json(ref.stdout, REF), normalized_json(ours.stdout, OURS)
    d = json_difference(rj, oj)
    if d:
        m["json"] = d
    exists = os.path.exists(ctx.ref_path), os.path.exists(ctx.ours_path)
    if exists != (True, True):
        if exists[0] != exists[1]:
            m["image-exists"] = "image exists: ref %s, ours %s" % exists
        return m
    a, b = sfdisk_dump(ctx.wd, REF, ctx.ss), sfdisk_dump(ctx.wd, OURS, ctx.ss)
    if a != b:
        la, lb = a.splitlines(), b.splitlines()
        diff = [("-" + x, "+" + y) for x, y in zip(la, lb) if x != y] + \
               [("-" + x, "") for x in la[len(lb):]] + [("", "+" + y) for y in lb[len(la):]]
        m["sfdisk"] = " | ".join("%s %s" % p for p in diff[:3])
    ga, gb = image.Gpt(ctx.ref_path, ctx.ss), image.Gpt(ctx.ours_path, ctx.ss)
    if ga.mbr != gb.mbr:
        m["mbr"] = "protective MBR differs at byte %d" % image.first_difference(ga.mbr, gb.mbr)
    for key in ("primary_header", "backup_header"):
        x, y = getattr(ga, key), getattr(gb, key)
        if x != y:
            m[key.replace("_", "-")] = image.describe_header_diff(x, y)
    es = (ga.primary or {}).get("entry_size", 128)
    for key in ("primary_entries", "backup_entries"):
        x, y = getattr(ga, key), getattr(gb, key)
        if x != y:
            m[key.replace("_", "-")] = image.describe_entries_diff(x, y, es)
    heads = []
    pa, pb = dict(ga.partitions()), dict(gb.partitions())
    for slot in sorted(set(pa) | set(pb)):
        ha = image.partition_head(ctx.ref_path, ctx.ss, pa[slot]) if slot in pa else b""
        hb = image.partition_head(ctx.ours_path, ctx.ss, pb[slot]) if slot in pb else b""
        if ha != hb:
            heads.append("slot %d at byte %d" % (slot, image.first_difference(ha, hb)))
    if heads:
        m["partition-head"] = ", ".join(heads)
    ctx.content_runs = image.content_differences(ctx.ref_path, ctx.ours_path)
    sizes = os.path.getsize(ctx.ref_path), os.path.getsize(ctx.ours_path)
    if sizes[0] != sizes[1]:
        m["content"] = "image size: ref %d, ours %d" % sizes
    elif ctx.content_runs:
        r = ctx.content_runs[0]
        m["content"] = "%d differing byte runs, the first at bytes %d..%d (%s)" % (
            len(ctx.content_runs), r[0], r[1], "ours zero" if r[2] else "ours non-zero")
    return m


def our_own_checks(ctx, case_args):
    """What must hold for repart-rs whatever the reference did: a failed run writes nothing;
    a successful one leaves a valid table, and a second run on (a copy of) it says "No
    changes." and changes no byte. Where that second run does something, the reference's
    second run on its own result must do the same (ctx.second_runs records both)."""
    ours = ctx.ours
    if ours.rc == "timeout":
        return ["ours timed out"]
    if ours.rc != 0:
        return ctx.unchanged(ctx.ours_path)
    problems = ["ours: " + p for p in image.validity_problems(ctx.ours_path, ctx.ss)]
    args = second_run_args(ctx.case, case_args)
    again = second_run([BIN[0]] + args, ctx.wd, OURS, OURS_AGAIN)
    if again.rc == 0 and again.no_changes and not again.changed:
        return problems
    if ctx.ref.rc == 0 and os.path.exists(ctx.ref_path):
        ctx.second_runs = (second_run([ORACLE] + args, ctx.wd, REF, REF_AGAIN), again)
    return problems


def second_run(argv, wd, name, copy):
    """A run on a copy of an image; .changed tells whether it changed the copy's content."""
    subprocess.run(["cp", "--sparse=always", name, copy], cwd=wd, check=True)
    r = Run(argv + [copy], wd)
    r.changed = image.content_digest(os.path.join(wd, copy)) != image.content_digest(os.path.join(wd, name))
    return r


def base_args(case, empty=None):
    return ["--dry-run=no", "--empty=%s" % (empty or case.get("empty", "allow")),
            "--seed=%s" % case.get("seed", gen.SEED), "--definitions=defs", "--json=short"]


def second_run_args(case, case_args):
    """The first run's flags for a boot after it: no new factory reset request, and the
    table it wrote is no longer empty."""
    args = [a for a in case_args if a != "--factory-reset=yes"]
    return base_args(case, empty="allow") + args


BIN = [None]


def prepare(case, wd):
    os.makedirs(wd)
    gen.write_defs(case, wd)
    if case.get("no_input"):
        return
    gen.build_image(case, wd, INPUT)
    with open(os.path.join(wd, INPUT), "r+b") as f:
        for offset, data in case.get("fill", []):
            f.seek(offset)
            f.write(data)
    for name in (REF, OURS):
        subprocess.run(["cp", "--sparse=always", INPUT, name], cwd=wd, check=True)


def run_case(args):
    case, workroot, bin_path, keep = args
    BIN[0] = bin_path
    t0 = time.time()
    wd = os.path.join(workroot, case["name"])
    try:
        prepare(case, wd)
        cargs = gen.case_args(case)
        ref = Run([ORACLE] + base_args(case) + cargs + [REF], wd)
        ours = Run([bin_path] + base_args(case) + cargs + [OURS], wd)
        ctx = Context(case, wd, ref, ours)
        if ctx.has_input:
            ctx.dry_runs = dry_runs(case, cargs, wd, bin_path)
        status, known, problems = judge(ctx, cargs)
    except Exception as e:  # a broken case is a failure, never a skip
        status, known, problems = "FAIL", [], ["suite error: %s: %s" % (type(e).__name__, e)]
    if status != "FAIL" and not keep:
        shutil.rmtree(wd, ignore_errors=True)
    return case["name"], status, known, problems, time.time() - t0


# Dry runs work on copies of the input with names of the same length, so the tables line up.
DRY_REF, DRY_OURS = "dryr.img", "dryo.img"
# Dry runs print the table for a terminal this wide (no terminal: COLUMNS decides).
DRY_COLUMNS = "160"


def dry_runs(case, cargs, wd, bin_path):
    """Both tools' --dry-run=yes on the input without --json=: (reference, ours), each with
    .changed (whether it changed its copy)."""
    args = ["--dry-run=yes", "--empty=%s" % case.get("empty", "allow"), "--seed=%s" % case.get("seed", gen.SEED),
            "--definitions=defs"] + cargs
    env = dict(os.environ, COLUMNS=DRY_COLUMNS)
    out = []
    for argv, name in (([ORACLE] + args, DRY_REF), ([bin_path] + args, DRY_OURS)):
        subprocess.run(["cp", "--sparse=always", INPUT, name], cwd=wd, check=True)
        r = Run(argv + [name], wd, env=env)
        r.stdout = r.stdout.replace(name, "dry.img")
        r.changed = image.content_digest(os.path.join(wd, name)) != image.content_digest(os.path.join(wd, INPUT))
        out.append(r)
    return tuple(out)


def compare_dry_runs(ctx):
    """Mismatch keys of the dry runs: dry-run-exit-status, dry-run-output (the table on stdout);
    and problems: a dry run of ours that wrote."""
    m, problems = {}, []
    if ctx.dry_runs is None:
        return m, problems
    ref, ours = ctx.dry_runs
    if ref.rc != ours.rc:
        m["dry-run-exit-status"] = "ref %s (%s), ours %s (%s)" % (ref.rc, ref.error_line(), ours.rc, ours.error_line())
    if ref.stdout != ours.stdout:
        la, lb = ref.stdout.splitlines(), ours.stdout.splitlines()
        diff = [(x, y) for x, y in zip(la, lb) if x != y] or [("%d lines" % len(la), "%d lines" % len(lb))]
        m["dry-run-output"] = "first difference: ref %r, ours %r" % (diff[0][0][:160], diff[0][1][:160])
    if ours.changed:
        problems.append("ours' dry run changed the image")
    return m, problems


def judge(ctx, cargs):
    """PASS, FAIL or REFERENCE-CRASHED, the known differences that applied, the problems."""
    m = compare(ctx)
    own = our_own_checks(ctx, cargs)
    dm, dry_problems = compare_dry_runs(ctx)
    m.update(dm)
    own += dry_problems
    applied = [k for k in differences.KNOWN if k.applies(ctx)]
    # A difference that replaces the whole comparison (a crash, a refusal) stands alone.
    whole = [k for k in applied if k.ignores(ctx) == differences.ALL]
    if whole:
        applied = whole[:1]
    ignored = set()
    problems = list(own)
    for k in applied:
        ignored |= k.ignores(ctx)
        problems += ["%s: %s" % (k.id, p) for p in k.verify(ctx)]
    problems += ["%s: %s" % (key, detail) for key, detail in sorted(m.items()) if key not in ignored]
    if ctx.second_runs and "second-run" not in ignored:
        ref2, ours2 = ctx.second_runs
        problems.append("second run: ours exit %s%s%s (%s); the reference's: exit %s%s%s" % (
            ours2.rc, ", \"No changes.\"" if ours2.no_changes else "", ", changed the image" if ours2.changed else "",
            ours2.error_line(), ref2.rc, ", \"No changes.\"" if ref2.no_changes else "",
            ", changed the image" if ref2.changed else ""))
    known = [k.id for k in applied]
    if problems:
        return "FAIL", known, problems
    if ctx.ref_crashed():
        return "REFERENCE-CRASHED", known, ["ref: %s; ours: exit %s%s" % (
            ctx.ref.error_line(), ctx.ours.rc,
            ", valid and idempotent" if ctx.ours.rc == 0 else " (%s), nothing written" % ctx.ours.error_line())]
    return "PASS", known, []


# The self-check: repart-rs with one byte of its result changed must fail the comparison.
# (case, byte offset to change): inside the first partition, inside the primary entry array.
SELF_CHECK = [("exA", (1 << 20) + 100), ("ss4k-fresh", 2 * 4096 + 60)]


def self_check(bin_path, workroot):
    """Problems if the suite does not notice a result that differs by one byte."""
    problems = []
    for name, offset in SELF_CHECK:
        wrapper = os.path.join(workroot, "corrupting-repart-%s" % name)
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n\"%s\" \"$@\" || exit\nfor img; do :; done\n"
                    "printf X | dd of=\"$img\" bs=1 seek=%d conv=notrunc status=none\n" % (bin_path, offset))
        os.chmod(wrapper, 0o755)
        c = dict(cases.by_name(name), name="self-check-" + name)
        _, status, _, found, _ = run_case((c, workroot, wrapper, False))
        if status != "FAIL":
            problems.append("%s: a byte changed at offset %d went unnoticed (%s)" % (name, offset, status))
        else:
            shutil.rmtree(os.path.join(workroot, c["name"]), ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=os.environ.get("CONFORMANCE_ONLY"),
                    help="comma-separated case names (random-SEED replays one random case)")
    ap.add_argument("--random", type=int, default=int(os.environ.get("CONFORMANCE_RANDOM", "200")))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", default=os.environ.get("CONFORMANCE_KEEP") == "1",
                    help="keep every case's directory (failed ones are always kept)")
    ap.add_argument("--bin", default=os.path.join(TOP, "target", "release", "repart"))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--list-differences", action="store_true", help="print the known differences and exit")
    a = ap.parse_args()
    if a.list_differences:
        for k in differences.KNOWN:
            print("%s (%s):\n    %s\n" % (k.id, k.compat, k.reason))
        return 0
    seed = a.seed
    if seed is None:
        env = os.environ.get("CONFORMANCE_SEED")
        seed = int(env) if env else int(time.strftime("%Y%m%d", time.gmtime()))
    if not os.access(a.bin, os.X_OK):
        sys.exit("conformance: %s is missing (cargo build --release)" % a.bin)
    reference = os.path.join(os.environ.get("REPART_ORACLE", "/opt/repart-oracle"), "usr", "bin", "systemd-repart")
    if not os.access(reference, os.X_OK):
        sys.exit("conformance: the reference %s is missing (tests/oracle/setup.sh installs it)" % reference)
    if a.only:
        todo = []
        for name in a.only.split(","):
            c = cases.by_name(name)
            if c is None:
                sys.exit("conformance: no case named %s" % name)
            todo.append(c)
    else:
        todo = cases.named_cases() + cases.random_cases(seed, a.random)
    workroot = a.workdir or tempfile.mkdtemp(prefix="repart-conformance-")
    os.makedirs(workroot, exist_ok=True)
    print("conformance: %d cases (random seed %d: replay with CONFORMANCE_SEED=%d, one case with "
          "--only NAME), work directory %s" % (len(todo), seed, seed, workroot), flush=True)
    t0 = time.time()
    broken = self_check(a.bin, workroot)
    for p in broken:
        print("self-check FAILED: " + p)
    if broken:
        return 1
    print("self-check: a result one byte off fails the comparison", flush=True)
    counts = {}
    applied = {}
    failed = []
    with multiprocessing.Pool(a.jobs) as pool:
        for name, status, known, problems, secs in pool.imap_unordered(
                run_case, [(c, workroot, a.bin, a.keep) for c in todo]):
            counts[status] = counts.get(status, 0) + 1
            for k in known:
                applied[k] = applied.get(k, 0) + 1
            extra = " [known: %s]" % ", ".join(known) if known else ""
            print("%-18s %-44s %5.1f s%s" % (status, name, secs, extra), flush=True)
            for p in problems:
                print("    " + p, flush=True)
            if status == "FAIL":
                failed.append(name)
    total = time.time() - t0
    print("\nconformance: %d cases: %d passed, %d reference crashed, %d failed (%.0f s)" % (
        len(todo), counts.get("PASS", 0), counts.get("REFERENCE-CRASHED", 0), counts.get("FAIL", 0), total))
    if applied:
        print("known differences: %s" % ", ".join("%s %d" % kv for kv in sorted(applied.items())))
    if failed:
        print("failed: %s" % ",".join(sorted(failed)))
        print("replay: tests/conformance/run.py --only %s (directories kept in %s)" % (
            ",".join(sorted(failed)), workroot))
    else:
        if not a.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    # The plain closing line CI runners read.
    print("%d passed, %d failed" % (len(todo) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
