#!/bin/sh
# Installs everything the tests need on a fresh Debian machine (as root). Idempotent.
# Host tools: sfdisk/fdisk/partx/wipefs/blkid read results back; losetup for loop-device
# tests; QEMU, OVMF, busybox, kmod, cpio, gcc (the static isa-debug-exit helper), make,
# dracut-core and udev (a dracut/systemd initrd) for the boot tests, systemd
# (systemd-analyze, systemd-socket-activate for the unit tests), and virt-firmware
# from PyPI in a venv (qemu-tests/work/venv: seeds OVMF's EFI variables); debootstrap for
# the reference chroot; hyperfine, cloud-guest-utils (growpart), GNU time and strace for
# bench/run.sh. Rust: the musl target for the static binary, nightly + cargo-fuzz to build the
# fuzz targets, cargo-bloat for bench/run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

packages="fdisk util-linux mount e2fsprogs dosfstools qemu-system-x86 qemu-utils ovmf
busybox-static kmod cpio gcc libc6-dev make dracut-core udev systemd debootstrap python3 python3-venv
file strace hyperfine cloud-guest-utils time"
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

venv="$here/../qemu-tests/work/venv"
if [ ! -x "$venv/bin/virt-fw-vars" ]; then
    echo "setup: installing virt-firmware into $venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q virt-firmware
fi

rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
    rustup target add x86_64-unknown-linux-musl
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# bench/run.sh: what each crate contributes to the binary.
command -v cargo-bloat >/dev/null || cargo install --locked cargo-bloat

"$here/oracle/setup.sh"
