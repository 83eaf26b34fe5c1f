#!/bin/sh
# Runs the reference systemd-repart (or REPART_ORACLE_CMD, e.g. sfdisk or varlinkctl) from the
# chroot built by setup.sh, with the caller's working directory visible at the same path, so
# relative paths and paths below it mean the same files inside and out. /proc, /sys and /dev
# are mounted in a private mount namespace that ends with the command. Exit status: the tool's.
set -eu
dir=${REPART_ORACLE:-/opt/repart-oracle}
tool=${REPART_ORACLE_CMD:-systemd-repart}
[ -x "$dir/usr/bin/systemd-repart" ] || { echo "reference missing: run tests/oracle/setup.sh" >&2; exit 2; }
cwd=$(pwd -P)
# The mount point for the working directory is made inside the namespace, after /tmp became
# a private tmpfs and /dev the host's: for the usual scratch directories under /tmp and
# /dev/shm it then vanishes with the namespace instead of piling up in the chroot.
exec unshare --mount --propagation private /bin/sh -ec '
    dir=$1 cwd=$2; shift 2
    mount -t proc proc "$dir/proc"
    mount --rbind /sys "$dir/sys"
    mount --rbind /dev "$dir/dev"
    mount -t tmpfs tmpfs "$dir/tmp"
    mkdir -p "$dir$cwd"
    mount --bind "$cwd" "$dir$cwd"
    exec chroot "$dir" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' sh "$dir" "$cwd" "$tool" "$@"
