#!/bin/bash
# dracut module for repart-rs, the systemd-repart work-alike: grows and adds partitions on
# the disk behind the root file system at boot, per repart.d.
#
# systemd initrds get repart-rs-initrd.service (after sysroot.mount, before
# initrd-root-fs.target); initrds without systemd get a pre-pivot hook that runs the agent
# on $NEWROOT. Include it on request: add_dracutmodules+=" repart-rs ".
#
# The agent is found on $PATH as "repart", or taken from $repart_rs_binary (dracut.conf or
# environment); it is installed as /usr/bin/repart.

repart_rs_binary_path() {
    if [[ -n $repart_rs_binary ]]; then
        printf '%s\n' "$repart_rs_binary"
    else
        find_binary repart
    fi
}

check() {
    local bin
    bin=$(repart_rs_binary_path) || return 1
    [[ -x $bin ]] || return 1
    # Only when asked for.
    return 255
}

depends() {
    return 0
}

install() {
    local bin unit
    bin=$(repart_rs_binary_path)
    inst_simple "$bin" /usr/bin/repart

    # The initrd's own definitions: the unit's conditions look at them, and they are what
    # the agent applies when it has to find the disk before the root is mounted.
    inst_multiple -o "/usr/lib/repart.d/*.conf" "/usr/local/lib/repart.d/*.conf"
    if [[ $hostonly ]]; then
        inst_multiple -H -o "/etc/repart.d/*.conf"
    fi

    if dracut_module_included "systemd"; then
        unit="$moddir/repart-rs-initrd.service"
        [[ -e $unit ]] || unit="$systemdsystemunitdir/repart-rs-initrd.service"
        inst_simple "$unit" "$systemdsystemunitdir/repart-rs-initrd.service"
        inst_dir "$systemdsystemunitdir/initrd-root-fs.target.wants"
        ln_r "$systemdsystemunitdir/repart-rs-initrd.service" \
            "$systemdsystemunitdir/initrd-root-fs.target.wants/repart-rs-initrd.service"
        if [[ $hostonly ]]; then
            inst_multiple -H -o "$systemdsystemconfdir/repart-rs-initrd.service.d/*.conf"
        fi
    else
        inst_hook pre-pivot 50 "$moddir/repart-rs-pre-pivot.sh"
    fi
}
