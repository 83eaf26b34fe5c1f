#!/bin/sh
# The demo: builds the static binary, makes a small OS image (ESP + 512 MiB root), "writes it
# to a bigger disk" (grows the file to 8 GiB, so the backup GPT is no longer at the end), and
# runs the first-boot job on it: a dry run, the real run, and a second run that changes
# nothing. Needs only cargo (and rustup for the musl target). Usage: tests/demo.sh [WORKDIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/repart-demo.XXXXXX)}
mkdir -p "$work"
examples=$top/docs/examples

rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl ||
    rustup target add x86_64-unknown-linux-musl
cargo build --quiet --release --target x86_64-unknown-linux-musl --manifest-path "$top/Cargo.toml"
repart=$top/target/x86_64-unknown-linux-musl/release/repart
seed=e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1

disk=$work/disk.img
rm -f "$disk"
echo "== The image as built: $(stat -c %s "$repart")-byte static binary $repart"
"$repart" --empty=create --size=600M --seed="$seed" --definitions="$examples/image" \
    --pretty=no "$disk"
echo "== Written to an 8 GiB disk (sparse file; the backup GPT is now mid-disk)"
truncate -s 8G "$disk"
echo "== First boot, dry run (the default): what would be done"
"$repart" --definitions="$examples/first-boot" "$disk"
echo "== First boot, for real"
"$repart" --dry-run=no --definitions="$examples/first-boot" --json=pretty "$disk"
echo "== Second boot: nothing to do"
"$repart" --dry-run=no --definitions="$examples/first-boot" "$disk"
echo "== Done; the disk image is $disk ($(du -k "$disk" | cut -f1) KiB allocated of 8 GiB)"
