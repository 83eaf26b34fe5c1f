#!/bin/sh
# dracut pre-pivot hook (initrds without systemd): the root is mounted at $NEWROOT; grow
# and add partitions on the disk behind it, per its repart.d. Sourced by dracut's init, so
# it must not exit. A failure is logged and the boot goes on.

type warn > /dev/null 2>&1 || . /lib/dracut-lib.sh

repart_rs_status=0
/usr/bin/repart --dry-run=no --root="$NEWROOT" || repart_rs_status=$?
case $repart_rs_status in
    # 76: no block device behind the root; 77: no GPT on it.
    0 | 76 | 77) ;;
    *) warn "repart-rs: repartitioning failed (exit status $repart_rs_status); booting on" ;;
esac
unset repart_rs_status
