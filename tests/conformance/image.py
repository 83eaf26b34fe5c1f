"""Reading results back from image files: the GPT regions as raw bytes, the table decoded,
partition heads, content digests that ignore holes and mtimes, and a validity check.

Everything here reads the image bytes directly, so it sees exactly what was written.
"""
import binascii
import hashlib
import os
import struct

from gen import guid_from_disk

# Bytes of each partition compared (swap signatures and file system superblocks live here).
HEAD_BYTES = 64 * 1024
# Content digests and comparisons work on aligned chunks of this size; all-zero chunks count
# as holes, so a written zero and a hole compare equal.
CHUNK = 64 * 1024

HEADER_FIELDS = [
    # (name, offset, struct format)
    ("signature", 0, "8s"), ("revision", 8, "<I"), ("header_size", 12, "<I"), ("header_crc", 16, "<I"),
    ("reserved", 20, "<I"), ("my_lba", 24, "<Q"), ("alternate_lba", 32, "<Q"),
    ("first_usable_lba", 40, "<Q"), ("last_usable_lba", 48, "<Q"), ("disk_guid", 56, "16s"),
    ("entries_lba", 72, "<Q"), ("entry_count", 80, "<I"), ("entry_size", 84, "<I"), ("entries_crc", 88, "<I"),
]
ENTRY_FIELDS = [("type", 0, 16), ("uuid", 16, 32), ("first_lba", 32, 40), ("last_lba", 40, 48),
                ("attributes", 48, 56), ("name", 56, 128)]
# Bound on what a (possibly broken) header may make us read.
MAX_ENTRIES_BYTES = 1 << 20


def read_at(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def parse_header(raw):
    """A GPT header's fields, or None when the signature is missing."""
    if len(raw) < 92 or raw[:8] != b"EFI PART":
        return None
    h = {}
    for name, off, fmt in HEADER_FIELDS:
        h[name] = struct.unpack_from(fmt, raw, off)[0]
    size = h["header_size"]
    body = bytearray(raw[:size]) if 92 <= size <= len(raw) else None
    if body is not None:
        body[16:20] = b"\0\0\0\0"
        h["crc_ok"] = binascii.crc32(bytes(body)) == h["header_crc"]
    else:
        h["crc_ok"] = False
    return h


class Gpt:
    """The raw GPT regions of an image (as written) and their decoded headers."""

    def __init__(self, path, ss):
        self.path = path
        self.ss = ss
        self.size = os.path.getsize(path)
        self.sectors = self.size // ss
        self.mbr = read_at(path, 0, ss)
        self.primary_header = read_at(path, ss, ss)
        self.primary = parse_header(self.primary_header)
        self.primary_entries = self._entries(self.primary)
        self.backup = None
        self.backup_header = b""
        self.backup_entries = b""
        if self.primary is not None and self.primary["alternate_lba"] < self.sectors:
            self.backup_header = read_at(path, self.primary["alternate_lba"] * ss, ss)
            self.backup = parse_header(self.backup_header)
            self.backup_entries = self._entries(self.backup)

    def _entries(self, h):
        if h is None:
            return b""
        length = h["entry_count"] * h["entry_size"]
        if length > MAX_ENTRIES_BYTES or h["entries_lba"] >= self.sectors:
            return b""
        return read_at(self.path, h["entries_lba"] * self.ss, length)

    def partitions(self):
        """Used entries of the primary array: (slot, dict of fields)."""
        out = []
        if self.primary is None or self.primary["entry_size"] < 128:
            return out
        es = self.primary["entry_size"]
        for slot in range(len(self.primary_entries) // es):
            e = self.primary_entries[slot * es:(slot + 1) * es]
            if e[:16] == bytes(16):
                continue
            first, last, attrs = struct.unpack_from("<QQQ", e, 32)
            out.append((slot, dict(type=guid_from_disk(e[0:16]), uuid=guid_from_disk(e[16:32]), first=first,
                                   last=last, attrs=attrs,
                                   name=e[56:128].decode("utf-16-le", "replace").split("\0")[0])))
        return out


def describe_header_diff(a, b):
    """Names the fields in which two raw headers differ."""
    ha, hb = parse_header(a), parse_header(b)
    if ha is None or hb is None:
        return "signature present: ref %s, ours %s" % (ha is not None, hb is not None)
    diffs = []
    for name, _, _ in HEADER_FIELDS:
        if ha[name] != hb[name]:
            va, vb = ha[name], hb[name]
            if name == "disk_guid":
                va, vb = guid_from_disk(va), guid_from_disk(vb)
            diffs.append("%s ref %s ours %s" % (name, va, vb))
    if not diffs:
        i = first_difference(a, b)
        diffs.append("byte %d beyond the fields" % i)
    return ", ".join(diffs)


def describe_entries_diff(a, b, entry_size):
    """Names the slots and fields in which two raw entry arrays differ."""
    if len(a) != len(b):
        return "length ref %d ours %d" % (len(a), len(b))
    out = []
    for slot in range(len(a) // max(entry_size, 1)):
        ea, eb = a[slot * entry_size:(slot + 1) * entry_size], b[slot * entry_size:(slot + 1) * entry_size]
        if ea == eb:
            continue
        fields = [n for n, lo, hi in ENTRY_FIELDS if ea[lo:hi] != eb[lo:hi]] or ["reserved bytes"]
        out.append("slot %d (%s)" % (slot, ", ".join(fields)))
        if len(out) == 4:
            out.append("...")
            break
    return "; ".join(out)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def data_extents(path):
    """(start, end) byte ranges of the file that are not holes."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            off = end
    finally:
        os.close(fd)
    return out


def chunks(path):
    """{chunk offset: bytes} of every CHUNK-aligned chunk that holds a non-zero byte."""
    out = {}
    zero = bytes(CHUNK)
    with open(path, "rb") as f:
        for start, end in data_extents(path):
            off = start // CHUNK * CHUNK
            while off < end:
                f.seek(off)
                c = f.read(CHUNK)
                if c.rstrip(b"\0"):
                    out[off] = c + zero[len(c):]
                off += CHUNK
    return out


def content_digest(path):
    """The image's size and content (holes and zeros alike), independent of mtimes."""
    h = hashlib.sha256(b"%d\n" % os.path.getsize(path))
    for off, c in sorted(chunks(path).items()):
        h.update(b"%d\n" % off)
        h.update(c)
    return h.hexdigest()


# Content differences are located to this many bytes.
BLOCK = 512


def content_differences(ref, ours):
    """Where two images hold different bytes: [(start, end, ours_zero)], BLOCK-aligned runs of
    differing blocks, ours_zero when ours holds only zeros there. Bytes past the end of the
    shorter image count as zeros (compare the sizes separately)."""
    ca, cb = chunks(ref), chunks(ours)
    zero = bytes(CHUNK)
    runs = []
    for off in sorted(set(ca) | set(cb)):
        a, b = ca.get(off, zero), cb.get(off, zero)
        if a == b:
            continue
        for i in range(0, CHUNK, BLOCK):
            x, y = a[i:i + BLOCK], b[i:i + BLOCK]
            if x == y:
                continue
            start, z = off + i, not y.rstrip(b"\0")
            if runs and runs[-1][1] == start and runs[-1][2] == z:
                runs[-1] = (runs[-1][0], start + BLOCK, z)
            else:
                runs.append((start, start + BLOCK, z))
    return runs


def relocation_problems(input_path, result_path, ss):
    """What keeps result from being the input's table with only its backup moved to the
    result's (grown) end: other header fields, entries or bytes outside the GPT changed."""
    i, o = Gpt(input_path, ss), Gpt(result_path, ss)
    if i.primary is None:
        # No table to move: nothing may have been written (the file may have grown).
        runs = content_differences(input_path, result_path)
        return ["bytes %d..%d were written" % runs[0][:2]] if runs else []
    if o.primary is None:
        return ["no primary GPT header"]
    problems = []
    if o.primary_entries != i.primary_entries:
        problems.append("the partition entries changed")
    moved = ("header_crc", "alternate_lba", "last_usable_lba")
    changed = [k for k in i.primary if k not in moved and i.primary[k] != o.primary[k]]
    if changed:
        problems.append("the primary header changed beyond the backup's location (%s)" % ", ".join(changed))
    esect = -(-len(i.primary_entries) // ss)
    if o.primary["alternate_lba"] != o.sectors - 1:
        problems.append("the backup header is at LBA %d, not at the end" % o.primary["alternate_lba"])
    if o.primary["last_usable_lba"] != o.sectors - 2 - esect:
        problems.append("the last usable LBA %d is not %d" % (o.primary["last_usable_lba"], o.sectors - 2 - esect))
    # Bytes may differ in LBA 0 and 1, where the old backup was and where the new one is.
    old = i.primary["alternate_lba"]
    allowed = [(0, 2), (old - esect, old + 1), (o.sectors - 1 - esect, o.sectors)]
    for start, end, _ in content_differences(input_path, result_path):
        lo, hi = start // ss, -(-end // ss)
        if not within(lo, hi, allowed):
            problems.append("bytes %d..%d outside the GPT changed" % (start, end))
            break
    return problems


def within(lo, hi, ranges):
    """Whether [lo, hi) lies inside the union of the [a, b) ranges."""
    merged = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return any(a <= lo and hi <= b for a, b in merged)


def uuid_only_problems(ref_path, ours_path, ss, runs):
    """What keeps two images from being equal but for partition UUIDs (and the CRCs over
    them); runs are their content differences."""
    ref, ours = Gpt(ref_path, ss), Gpt(ours_path, ss)
    if ref.primary is None or ours.primary is None or ref.backup is None:
        return ["a GPT is missing"]
    es = ref.primary["entry_size"]
    patched = bytearray(ours.primary_entries)
    for slot in range(len(patched) // es):
        a = ref.primary_entries[slot * es:(slot + 1) * es]
        if a != patched[slot * es:(slot + 1) * es]:
            patched[slot * es + 16:slot * es + 32] = a[16:32]
    problems = []
    if bytes(patched) != ref.primary_entries:
        problems.append("the entries differ in more than UUIDs")
    for name in ("primary", "backup"):
        ha, hb = getattr(ref, name), getattr(ours, name)
        if hb is None or any(ha[k] != hb[k] for k in ha if k not in ("header_crc", "entries_crc", "crc_ok")):
            problems.append("the %s headers differ in more than their CRCs" % name)
    esect = -(-len(patched) // ss)
    gpt = [(1, 2), (ref.primary["entries_lba"], ref.primary["entries_lba"] + esect),
           (ref.backup["entries_lba"], ref.backup["my_lba"] + 1)]
    for start, end, _ in runs:
        lo, hi = start // ss, -(-end // ss)
        if not within(lo, hi, gpt):
            problems.append("content differs outside the GPT at bytes %d..%d" % (start, end))
            break
    return problems


def partition_head(path, ss, part):
    """The first HEAD_BYTES of a partition (fewer if it is smaller)."""
    length = min(HEAD_BYTES, (part["last"] - part["first"] + 1) * ss)
    return read_at(path, part["first"] * ss, max(length, 0))


def validity_problems(path, ss):
    """What is wrong with an image's GPT: CRCs, header locations, copies that disagree,
    partitions outside the usable range or overlapping, a missing protective MBR."""
    g = Gpt(path, ss)
    problems = []
    if g.mbr[510:512] != b"\x55\xaa" or g.mbr[450] != 0xEE:
        problems.append("no protective MBR")
    p, b = g.primary, g.backup
    if p is None:
        return problems + ["no primary GPT header"]
    if not p["crc_ok"]:
        problems.append("primary header CRC")
    if binascii.crc32(g.primary_entries) != p["entries_crc"]:
        problems.append("primary entries CRC")
    if p["my_lba"] != 1:
        problems.append("primary header my_lba %d" % p["my_lba"])
    if p["alternate_lba"] != g.sectors - 1:
        problems.append("backup header at LBA %d, not at the last LBA %d" % (p["alternate_lba"], g.sectors - 1))
    if b is None:
        problems.append("no backup GPT header at LBA %d" % p["alternate_lba"])
    else:
        if not b["crc_ok"]:
            problems.append("backup header CRC")
        if b["my_lba"] != p["alternate_lba"] or b["alternate_lba"] != 1:
            problems.append("backup header LBAs my=%d alternate=%d" % (b["my_lba"], b["alternate_lba"]))
        for k in ("first_usable_lba", "last_usable_lba", "disk_guid", "entry_count", "entry_size", "entries_crc"):
            if p[k] != b[k]:
                problems.append("backup header %s differs from the primary's" % k)
        if g.backup_entries != g.primary_entries:
            problems.append("backup entries differ from the primary's")
        esect = -(-len(g.primary_entries) // ss)
        if b["entries_lba"] + esect != b["my_lba"]:
            problems.append("backup entries at LBA %d, not just before the backup header" % b["entries_lba"])
    parts = sorted((q["first"], q["last"], slot) for slot, q in g.partitions())
    for first, last, slot in parts:
        if first > last or first < p["first_usable_lba"] or last > p["last_usable_lba"]:
            problems.append("partition slot %d [%d, %d] outside the usable range [%d, %d]" % (
                slot, first, last, p["first_usable_lba"], p["last_usable_lba"]))
    for (f1, l1, s1), (f2, l2, s2) in zip(parts, parts[1:]):
        if f2 <= l1:
            problems.append("partitions in slots %d and %d overlap" % (s1, s2))
    return problems
