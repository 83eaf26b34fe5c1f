#!/bin/sh
# A fresh input for one timed run (hyperfine's --prepare, which runs it without a shell).
#   prepare.sh copy SRC DST          DST becomes a sparse copy of SRC
#   prepare.sh loop SRC BACKING DEV  BACKING (attached to DEV) becomes a sparse copy of SRC;
#                                    DEV's cache is dropped and the kernel's partitions are
#                                    those of SRC's table (partx: this kernel has no GPT parser)
# The loop device stays attached between runs: detaching it would free its number for
# another process to take before the next run re-attaches it.
set -eu
case $1 in
copy)
    cp --sparse=always "$2" "$3"
    ;;
loop)
    cp --sparse=always "$2" "$3"
    blockdev --flushbufs "$4"
    partx -d "$4" 2>/dev/null || true
    partx -a "$4"
    ;;
*)
    echo "prepare.sh: unknown mode $1" >&2
    exit 2
    ;;
esac
