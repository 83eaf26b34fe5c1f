#!/bin/sh
# Builds the reference: a Debian sid chroot with the newest packaged systemd-repart, plus the
# tools the conformance tests read results with (sfdisk 2.42 has --sector-size) and varlinkctl.
# Usage: tests/oracle/setup.sh   (as root; idempotent; REPART_ORACLE=DIR, default /opt/repart-oracle)
# The chroot holds no mounts of its own: tests/oracle/run.sh mounts /proc, /sys and /dev in a
# private mount namespace that vanishes with the command, so deleting DIR is always safe.
set -eu
dir=${REPART_ORACLE:-/opt/repart-oracle}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd-repart,systemd,fdisk,util-linux,e2fsprogs,dosfstools,strace

if [ ! -x "$dir/usr/bin/systemd-repart" ]; then
    command -v debootstrap >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    rm -rf --one-file-system "$dir.partial"
    if ! debootstrap --variant=minbase --include="$packages" sid "$dir.partial" "$mirror" \
            >"$dir.log" 2>&1; then
        tail -20 "$dir.log" >&2
        exit 1
    fi
    mv "$dir.partial" "$dir"
fi
REPART_ORACLE=$dir "$(dirname "$0")/run.sh" --version | head -n 1
