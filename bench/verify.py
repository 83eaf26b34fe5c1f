#!/usr/bin/env python3
"""Checks that one tool did the benchmark case's job, from the table it left (sfdisk -J).

Usage: verify.py JOB IMAGE [--input ORIGINAL] [--device DEV]
JOB: grow | first-boot | noop | add20. With --device, the kernel (sysfs) must know the
partitions the job changed at their new place and size, and none at a wrong one (a partition
it has lost is noted). Prints one line describing the result; exits 1 if the job was not
done, so that a tool which failed or did something else is never timed as if it had worked.
"""

import json
import os
import subprocess
import sys

SECTOR = 512
ROOT_X86_64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
SWAP = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"
HOME = "933AC7E1-2EB4-4F13-B844-0E14E2AEF915"
SRV = "3B8F8425-20E0-4F3B-907F-1A25A76F98E8"
MIB = (1 << 20) // SECTOR  # sectors per MiB


def table(path):
    out = subprocess.run(["sfdisk", "-J", path], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["partitiontable"]


def end(p):
    return p["start"] + p["size"] - 1


def edges(path):
    """The first and last MiB of a file: where both GPT copies and the protective MBR live."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        f.seek(-(1 << 20), os.SEEK_END)
        return head, f.read()


def check(job, t, original):
    parts = t["partitions"]
    last = t["lastlba"]
    if job == "grow":
        root = parts[1]
        ok = len(parts) == 2 and root["type"] == ROOT_X86_64 and end(root) >= last - MIB
        return ok, f"root {root['size'] * SECTOR / 2**30:.2f} GiB, ends at LBA {end(root)} of {last}"
    if job == "first-boot":
        types = [p["type"] for p in parts]
        ok = (
            len(parts) == 4
            and parts[1]["size"] == 8 * 1024 * MIB
            and SWAP in types
            and HOME in types
            and max(end(p) for p in parts) >= last - MIB
        )
        sizes = ", ".join(f"{p['size'] * SECTOR / 2**30:.2f}" for p in parts)
        return ok, f"{len(parts)} partitions, GiB: {sizes}"
    if job == "noop":
        ok = original is not None and edges(t["device"]) == edges(original)
        return ok, "table bytes unchanged" if ok else "the image changed"
    if job == "add20":
        new = [p for p in parts if p["type"] == SRV]
        ok = len(parts) == 120 and len(new) == 20 and all(p["size"] == 64 * MIB for p in new)
        return ok, f"{len(parts)} partitions, {len(new)} new of 64 MiB"
    raise SystemExit(f"verify.py: unknown job {job}")


# The partitions each job creates or changes: the kernel must know them at their new size.
CHANGED = {"grow": {2}, "first-boot": {2, 3, 4}, "noop": set(), "add20": set(range(101, 121))}


def kernel_view(dev, t, job):
    """Compares the kernel's partitions of DEV (sysfs) with the table: (ok, note)."""
    name = os.path.basename(dev)
    sys_dir = f"/sys/block/{name}"
    seen = {}
    for entry in os.listdir(sys_dir):
        part = os.path.join(sys_dir, entry, "partition")
        if entry.startswith(name) and os.path.exists(part):
            with open(part) as f:
                number = int(f.read())
            with open(os.path.join(sys_dir, entry, "start")) as f:
                start = int(f.read())
            with open(os.path.join(sys_dir, entry, "size")) as f:
                size = int(f.read())
            seen[number] = (start, size)
    want = {}
    for p in t["partitions"]:
        number = int(p["node"][len(dev) :].lstrip("p"))
        want[number] = (p["start"], p["size"])
    wrong = sorted(n for n in seen if want.get(n) != seen[n])
    missing = sorted(set(want) - set(seen))
    ok = not wrong and not (CHANGED[job] & set(missing))
    if not wrong and not missing:
        return ok, "kernel in sync"
    note = "kernel NOT in sync" if not ok else "kernel in sync for the changed partitions"
    if wrong:
        note += f"; wrong: {wrong}"
    if missing:
        note += f"; partitions the kernel lost: {missing}"
    return ok, note


def main():
    args = sys.argv[1:]
    original = device = None
    if "--input" in args:
        i = args.index("--input")
        original = args[i + 1]
        del args[i : i + 2]
    if "--device" in args:
        i = args.index("--device")
        device = args[i + 1]
        del args[i : i + 2]
    job, image = args
    t = table(image)
    ok, what = check(job, t, original)
    if device is not None:
        kernel_ok, note = kernel_view(device, t, job)
        what += ", " + note
        ok = ok and kernel_ok
    print(("ok: " if ok else "FAILED: ") + what)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
