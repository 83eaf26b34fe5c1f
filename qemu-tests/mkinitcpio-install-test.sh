#!/bin/bash
# Tests the mkinitcpio install hook against stubs of mkinitcpio's add_* helpers, with and
# without the systemd hook's add_systemd_unit, and checks that the runtime hook parses in
# busybox ash. Usage: mkinitcpio-install-test.sh DESTDIR (a `make install` tree).
set -euo pipefail
dest=$1
install_hook=$dest/usr/lib/initcpio/install/repart-rs
runtime_hook=$dest/usr/lib/initcpio/hooks/repart-rs

fail() {
    echo "mkinitcpio install hook: $*" >&2
    exit 1
}

# Runs build() in a subshell with recording stubs; prints the calls, one per line.
calls() {
    local with_systemd=$1
    (
        add_binary() { echo "add_binary $*"; }
        add_file() { echo "add_file $*"; }
        add_dir() { echo "add_dir $*"; }
        add_full_dir() { echo "add_full_dir $*"; }
        add_symlink() { echo "add_symlink $*"; }
        add_runscript() { echo "add_runscript"; }
        if [[ $with_systemd == yes ]]; then
            add_systemd_unit() { echo "add_systemd_unit $*"; }
        fi
        # shellcheck source=/dev/null
        . "$install_hook"
        build
    )
}

expect_line() {
    grep -qxF -- "$2" <<< "$1" || fail "expected \"$2\" in:
$1"
}

plain=$(REPART_RS_BINARY=/opt/repart calls no)
expect_line "$plain" "add_binary /opt/repart /usr/bin/repart"
expect_line "$plain" "add_full_dir /usr/lib/repart.d *.conf"
expect_line "$plain" "add_full_dir /usr/local/lib/repart.d *.conf"
expect_line "$plain" "add_full_dir /etc/repart.d *.conf"
expect_line "$plain" "add_runscript"
! grep -q systemd <<< "$plain" || fail "systemd unit added without the systemd hook"

default=$(calls no)
expect_line "$default" "add_binary repart /usr/bin/repart"

systemd=$(calls yes)
expect_line "$systemd" "add_systemd_unit repart-rs-initrd.service"
expect_line "$systemd" "add_symlink /usr/lib/systemd/system/initrd-root-fs.target.wants/repart-rs-initrd.service ../repart-rs-initrd.service"
! grep -q add_runscript <<< "$systemd" || fail "runtime hook added with the systemd hook"

help=$(. "$install_hook" && help)
[[ $help == *"grows and adds partitions"* ]] || fail "help() says: $help"

busybox sh -n "$runtime_hook" || fail "the runtime hook does not parse in busybox sh"
grep -q '^run_latehook()' "$runtime_hook" || fail "the runtime hook has no run_latehook"
echo "mkinitcpio install hook: 3 cases passed (plain, default binary, systemd)"
