#!/usr/bin/env python3
"""Sums the bytes that read/write-family system calls moved, from an strace -f log.

Usage: io_bytes.py LOG   prints "READ WRITTEN" (bytes; failed calls count nothing).
"""

import re
import sys

START = re.compile(r"^(?:\d+\s+)?(?:<\.\.\. (\w+) resumed>|(\w+)\()")


def main():
    moved = {"read": 0, "write": 0}
    with open(sys.argv[1], errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            m = START.match(line)
            if not m or line.endswith("<unfinished ...>"):
                continue
            name = m.group(1) or m.group(2)
            _, sep, result = line.rpartition(") = ")
            if not sep or not result.split()[0].isdigit():
                continue
            moved["read" if "read" in name else "write"] += int(result.split()[0])
    print(moved["read"], moved["write"])


if __name__ == "__main__":
    main()
