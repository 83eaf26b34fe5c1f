"""A small, independent GPT writer and reader for the boot tests (Python standard library
only). The writer makes the test disks' starting tables with chosen UUIDs and names, for
any sector size; the reader checks both copies (signatures, CRCs, locations, identical
entries) and returns what the host-side assertions compare. It deliberately shares no
code with repart-rs."""

import struct
import uuid
import zlib

ENTRY_SIZE = 128
ENTRY_COUNT = 128
ARRAY_BYTES = ENTRY_SIZE * ENTRY_COUNT
HEADER_SIZE = 92
SIGNATURE = b"EFI PART"

TYPES = {
    "esp": uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
    "root-x86-64": uuid.UUID("4f68bce3-e8cd-4db1-96e7-fbcaf984b709"),
    "home": uuid.UUID("933ac7e1-2eb4-4f13-b844-0e14e2aef915"),
    "swap": uuid.UUID("0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"),
    "linux-generic": uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4"),
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


class GptError(Exception):
    pass


def _array_sectors(ss):
    return (ARRAY_BYTES + ss - 1) // ss


def _header(ss, my_lba, alt_lba, first, last, disk_guid, array_lba, array_crc):
    h = struct.pack(
        "<8sIIIIQQQQ16sQIII",
        SIGNATURE, 0x00010000, HEADER_SIZE, 0, 0,
        my_lba, alt_lba, first, last, disk_guid.bytes_le,
        array_lba, ENTRY_COUNT, ENTRY_SIZE, array_crc,
    )
    crc = zlib.crc32(h)
    h = h[:16] + struct.pack("<I", crc) + h[20:]
    return h + bytes(ss - HEADER_SIZE)


def write(path, size, ss, disk_guid, partitions):
    """Writes a fresh GPT (protective MBR, both copies) to the file `path` of `size` bytes.
    `partitions`: (number, start_bytes, size_bytes, type_name, uuid, name)."""
    sectors = size // ss
    n = _array_sectors(ss)
    first, last = 2 + n, sectors - 2 - n
    array = bytearray(ARRAY_BYTES)
    for number, start, length, type_name, part_uuid, name in partitions:
        if start % ss or length % ss:
            raise GptError(f"partition {number} is not sector-aligned")
        e = struct.pack(
            "<16s16sQQQ72s", TYPES[type_name].bytes_le, part_uuid.bytes_le,
            start // ss, (start + length) // ss - 1, 0, name.encode("utf-16-le"),
        )
        array[(number - 1) * ENTRY_SIZE:number * ENTRY_SIZE] = e
    acrc = zlib.crc32(array)
    mbr = bytearray(ss)
    mbr[446:462] = struct.pack(
        "<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1, min(sectors - 1, 0xFFFFFFFF)
    )
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(mbr)
        f.write(_header(ss, 1, sectors - 1, first, last, disk_guid, 2, acrc))
        f.write(array)
        f.seek((sectors - 1 - n) * ss)
        f.write(array)
        f.write(_header(ss, sectors - 1, 1, first, last, disk_guid, sectors - 1 - n, acrc))


def _read_copy(f, ss, lba):
    f.seek(lba * ss)
    raw = f.read(ss)
    if len(raw) < HEADER_SIZE or raw[:8] != SIGNATURE:
        raise GptError(f"no GPT header at LBA {lba}")
    fields = struct.unpack("<8sIIIIQQQQ16sQIII", raw[:HEADER_SIZE])
    (_, _, hsize, hcrc, _, my_lba, alt_lba, first, last, dguid, alba, count, esize, acrc) = fields
    check = raw[:16] + bytes(4) + raw[20:hsize]
    if zlib.crc32(check) != hcrc:
        raise GptError(f"GPT header at LBA {lba}: CRC mismatch")
    if my_lba != lba:
        raise GptError(f"GPT header at LBA {lba} says it is at LBA {my_lba}")
    if count * esize > 1 << 20:
        raise GptError(f"GPT header at LBA {lba}: entry array too large")
    f.seek(alba * ss)
    array = f.read(count * esize)
    if zlib.crc32(array) != acrc:
        raise GptError(f"GPT entries of the header at LBA {lba}: CRC mismatch")
    return {
        "my_lba": my_lba, "alt_lba": alt_lba, "first_usable": first, "last_usable": last,
        "disk_guid": str(uuid.UUID(bytes_le=dguid)), "array_lba": alba,
        "entry_size": esize, "array": array,
    }


def read(path, ss):
    """Reads and checks both GPT copies of the file `path`; returns a dict with
    `partitions` (number, start, size in bytes, type, uuid, name), the header fields and
    whether the backup header is on the last sector."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        mbr = f.seek(0) or f.read(512)
        if mbr[510:512] != b"\x55\xaa" or mbr[450] != 0xEE:
            raise GptError("no protective MBR")
        primary = _read_copy(f, ss, 1)
        backup = _read_copy(f, ss, primary["alt_lba"])
    if backup["alt_lba"] != 1:
        raise GptError("backup header does not point back at LBA 1")
    for key in ("first_usable", "last_usable", "disk_guid", "array"):
        if primary[key] != backup[key]:
            raise GptError(f"primary and backup GPT differ in {key}")
    parts = []
    esize = primary["entry_size"]
    array = primary["array"]
    for i in range(len(array) // esize):
        e = array[i * esize:(i + 1) * esize]
        tguid, puuid, first, last, attrs, name = struct.unpack("<16s16sQQQ72s", e[:128])
        if tguid == bytes(16):
            continue
        t = uuid.UUID(bytes_le=tguid)
        parts.append({
            "number": i + 1,
            "start": first * ss,
            "size": (last - first + 1) * ss,
            "type": TYPE_NAMES.get(t, str(t)),
            "uuid": str(uuid.UUID(bytes_le=puuid)),
            "name": name.decode("utf-16-le").split("\0")[0],
            "attrs": attrs,
        })
    return {
        "sector_size": ss,
        "disk_size": size,
        "disk_guid": primary["disk_guid"],
        "first_usable": primary["first_usable"],
        "last_usable": primary["last_usable"],
        "backup_lba": primary["alt_lba"],
        "backup_at_end": primary["alt_lba"] == size // ss - 1,
        "partitions": parts,
    }


def primary_partition_count(path, ss):
    """The number of used entries in the primary GPT alone, or None if it is not valid (as
    the kernel sees a disk: it only looks at the backup when the primary is valid)."""
    try:
        with open(path, "rb") as f:
            copy = _read_copy(f, ss, 1)
    except GptError:
        return None
    esize = copy["entry_size"]
    array = copy["array"]
    return sum(1 for i in range(len(array) // esize)
               if array[i * esize:i * esize + 16] != bytes(16))
