#!/bin/sh
# Runs every test of repart-rs, from a fresh machine: installs what the tests need, then
# style checks, unit and integration tests (loop devices: run as root), the static release
# build, the fuzz targets' build, the conformance suite against the reference
# systemd-repart, and the QEMU boot tests. Stops at the first failing stage.
# Usage: sudo tests/run.sh
set -eu
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

stage() {
    printf '\n=== %s\n' "$1"
    start=$(date +%s)
}
done_stage() {
    echo "=== ok ($(($(date +%s) - start)) s)"
}

stage setup
tests/setup.sh
done_stage

stage style
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
done_stage

stage "unit and integration tests"
cargo test --all-targets
done_stage

stage "static release binary"
cargo build --release --target x86_64-unknown-linux-musl
bin=target/x86_64-unknown-linux-musl/release/repart
# `file` is run twice rather than through `tee /dev/stderr`: reopening stderr truncates a
# log file the whole run is redirected to.
file "$bin"
file "$bin" | grep -q 'static'
echo "size: $(stat -c %s "$bin") bytes"
"$bin" --version
done_stage

stage "fuzz targets build"
(cd fuzz && cargo +nightly fuzz build)
done_stage

stage conformance
# Against the reference systemd-repart 262 (installed by tests/setup.sh): fails on any
# difference not listed in tests/conformance/differences.py. CONFORMANCE_SEED replays a run.
cargo build --release
python3 tests/conformance/run.py
done_stage

stage "QEMU boot tests"
python3 qemu-tests/harness.py
done_stage
