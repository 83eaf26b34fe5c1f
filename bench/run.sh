#!/bin/bash
# The benchmark: repart-rs against systemd-repart 262 (the reference, in its chroot),
# systemd-repart of the host (252), growpart and sfdisk, on the same freshly copied inputs,
# in one run. Builds the static release binary, checks that every tool did the job once,
# times each with hyperfine (RUNS runs, a fresh sparse copy of the input before each), then
# measures peak RSS (GNU time), system calls (strace -c), bytes read and written (strace)
# and the binary's size (cargo bloat), and the floor: what starting any process costs here (a
# static hello-world; /bin/true inside the reference's chroot). Writes bench/RESULTS.md (with
# bench/notes.md, the analysis, at the end); raw data in bench/out/ (not committed). Leaves no
# loop device, image or mount behind.
#
# Usage: sudo bench/run.sh [RUNS]        (after tests/setup.sh; RUNS >= 20, default 20)
# BENCH_DIR: the scratch directory (default /dev/shm/repart-bench; it must be on tmpfs:
# a 16 TiB sparse image does not fit in ext4, and all cases use the same file system).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
out=$bench/out
runs=${1:-20}
work=${BENCH_DIR:-/dev/shm/repart-bench}
repart=$top/target/x86_64-unknown-linux-musl/release/repart
oracle=$top/tests/oracle/run.sh
host_repart=/usr/bin/systemd-repart
prepare=$bench/prepare.sh

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (loop devices, the reference chroot)"
[ "$runs" -ge 20 ] 2>/dev/null || die "RUNS must be a number >= 20"
for tool in hyperfine growpart sfdisk partx losetup blockdev strace python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing: run tests/setup.sh"
done
[ -x /usr/bin/time ] || die "GNU time is missing: run tests/setup.sh"
[ -x "$host_repart" ] || die "$host_repart is missing"
"$oracle" --version >/dev/null || die "the reference is missing: run tests/setup.sh"
[ "$(stat -f -c %T "$(dirname "$work")")" = tmpfs ] || die "BENCH_DIR must be on tmpfs"
command -v cargo-bloat >/dev/null || die "cargo-bloat is missing: run tests/setup.sh"
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
    die "the musl target is missing: run tests/setup.sh"

loops=()
cleanup() {
    for dev in "${loops[@]}"; do losetup -d "$dev" 2>/dev/null || true; done
    rm -rf --one-file-system "$work"
    # tests/oracle/run.sh creates the working directory's path inside the chroot.
    rmdir "/opt/repart-oracle$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf --one-file-system "$work" "$out"
mkdir -p "$work/in" "$out"
cd "$work"

echo "== build"
# cargo bloat builds its own unstripped binary in the same target directory; the build after
# it puts the stripped release binary back.
(cd "$top" && cargo bloat --release --target x86_64-unknown-linux-musl --crates -n 20 \
    2>/dev/null) >"$out/bloat.txt"
(cd "$top" && cargo build --quiet --release --target x86_64-unknown-linux-musl)
file -L "$repart" | grep -q 'static' || die "$repart is not static"

echo "== inputs"
# The OS image as shipped: ESP + 512 MiB root on a 600 MiB disk, written to a bigger disk.
truncate -s 600M in/base.img
sfdisk -q in/base.img <<'EOF'
label: gpt
label-id: 88037571-2D10-4560-AD11-28550017E775
first-lba: 2048
start=2048, size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=5BC8C2B6-92B0-47ED-82E0-A0A9CFC1CB42, name="esp"
size=512MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=B08C4DF5-F14D-44A6-B87B-5D48DBB3FFE9, name="root-x86-64"
EOF
cp --sparse=always in/base.img in/grown.img && truncate -s 20G in/grown.img
cp --sparse=always in/base.img in/huge.img && truncate -s 16T in/huge.img
# 100 partitions of 16 MiB in a 128-entry table on a 4 GiB disk.
truncate -s 4G in/p100.img
{
    printf 'label: gpt\nlabel-id: 5E1F9A0C-7A5B-4C1E-9D6A-3B2E8F0C1D2A\nfirst-lba: 2048\n'
    for i in $(seq 1 100); do
        printf 'size=16MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%08X-0000-4000-8000-000000000000, name="data-%d"\n' "$i" "$i"
    done
} | sfdisk -q in/p100.img

mkdir -p defs/grow defs/first-boot defs/add20
printf '[Partition]\nType=esp\n' >defs/grow/10-esp.conf
printf '[Partition]\nType=root\n' >defs/grow/20-root.conf
cp defs/grow/10-esp.conf defs/first-boot/
printf '[Partition]\nType=root\nSizeMaxBytes=8G\n' >defs/first-boot/20-root.conf
printf '[Partition]\nType=swap\nSizeMinBytes=1G\nSizeMaxBytes=1G\n' >defs/first-boot/30-swap.conf
printf '[Partition]\nType=home\n' >defs/first-boot/40-home.conf
for i in $(seq -w 1 20); do
    printf '[Partition]\nType=srv\nLabel=srv-%s\nSizeMinBytes=64M\nSizeMaxBytes=64M\n' "$i" \
        >"defs/add20/$i-srv.conf"
done
# sfdisk's inputs: grow partition 2 to the end; append 20 partitions. (Case 2's layout is
# the one repart-rs computed, dumped below: sfdisk writes tables, it does not plan them.)
echo ', +' >grow.sfdisk
for i in $(seq -w 1 20); do
    echo "size=64MiB, type=3B8F8425-20E0-4F3B-907F-1A25A76F98E8, name=\"srv-$i\""
done >add20.sfdisk

# The "already done" disk of case 3: case 1's result; case 2's layout for sfdisk.
cp --sparse=always in/grown.img in/done.img
"$repart" --dry-run=no --definitions=defs/grow in/done.img >/dev/null 2>&1
cp --sparse=always in/grown.img first-boot.img
"$repart" --dry-run=no --definitions=defs/first-boot first-boot.img >/dev/null 2>&1
sfdisk -d first-boot.img | sed '/^device:/d; s/^first-boot\.img/w.img/' >first-boot.sfdisk
rm first-boot.img

# Loop devices with partition scanning on, so that the tools tell the kernel (BLKPG). Attached
# here, not in a command substitution: the cleanup must see them in `loops`.
attach() { # IMAGE BACKING VARIABLE
    cp --sparse=always "$1" "$2"
    local dev
    dev=$(losetup -P -f --show "$2")
    loops+=("$dev")
    printf -v "$3" '%s' "$dev"
}
attach in/grown.img loop-grow.img loop_grow
attach in/grown.img loop-boot.img loop_boot

# One case: its name, title, job (for verify.py), the prepare command and the tools.
# Each tool is "name|command"; commands run from $work, with relative paths, so the
# reference chroot (which sees the working directory at the same path) reads the same files.
chroot_only="chroot only|env REPART_ORACLE_CMD=true $oracle"
cases=(c1 c2 c3 c4 c5 c6a c6b)
declare -A title job prep device input
declare -A tools
def_case() { # id title job prepare [device] -- tools...
    local id=$1
    title[$id]=$2 job[$id]=$3 prep[$id]=$4 device[$id]=$5
    shift 5
    local list=""
    for t in "$@"; do list+="$t"$'\n'; done
    tools[$id]=$list
}
repart_tools() { # job args (definitions and disk)
    echo "repart-rs|$repart --dry-run=no $1"
    echo "systemd-repart 262|$oracle --dry-run=no $1"
    echo "$chroot_only"
    echo "systemd-repart 252|$host_repart --dry-run=no $1"
}
mapfile -t t1 < <(repart_tools "--definitions=defs/grow w.img")
def_case c1 "Grow root on a grown disk (20 GiB image)" grow \
    "$prepare copy $work/in/grown.img $work/w.img" "" "${t1[@]}" \
    "growpart|growpart w.img 2" "sfdisk|sh -c 'sfdisk -N 2 w.img <grow.sfdisk'"
mapfile -t t2 < <(repart_tools "--definitions=defs/first-boot w.img")
def_case c2 "Grow root, add swap and home (20 GiB image)" first-boot \
    "$prepare copy $work/in/grown.img $work/w.img" "" "${t2[@]}" \
    "sfdisk (given the layout)|sh -c 'sfdisk w.img <first-boot.sfdisk'"
def_case c3 "No-op: case 1 again on its result" noop \
    "$prepare copy $work/in/done.img $work/w.img" "" "${t1[@]}" "growpart|growpart w.img 2"
input[c3]=$work/in/done.img
mapfile -t t4 < <(repart_tools "--definitions=defs/add20 w.img")
def_case c4 "100 partitions in a 128-entry table, add 20" add20 \
    "$prepare copy $work/in/p100.img $work/w.img" "" "${t4[@]}" \
    "sfdisk|sh -c 'sfdisk --append w.img <add20.sfdisk'"
def_case c5 "Case 1 on a 16 TiB sparse image" grow \
    "$prepare copy $work/in/huge.img $work/w.img" "" "${t1[@]}" \
    "growpart|growpart w.img 2" "sfdisk|sh -c 'sfdisk -N 2 w.img <grow.sfdisk'"
mapfile -t t6 < <(repart_tools "--definitions=defs/grow $loop_grow")
def_case c6a "Case 1 on a loop device (BLKPG)" grow \
    "$prepare loop $work/in/grown.img $work/loop-grow.img $loop_grow" "$loop_grow" "${t6[@]}" \
    "growpart|growpart $loop_grow 2"
mapfile -t t7 < <(repart_tools "--definitions=defs/first-boot $loop_boot")
def_case c6b "Case 2 on a loop device (BLKPG, discard)" first-boot \
    "$prepare loop $work/in/grown.img $work/loop-boot.img $loop_boot" "$loop_boot" "${t7[@]}"

# The image a case's tools write: w.img, or the loop device.
target() { if [ -n "${device[$1]}" ]; then echo "${device[$1]}"; else echo w.img; fi; }

echo "== verify: every tool does each job once"
: >"$out/verify.txt"
failed=0
for c in "${cases[@]}"; do
    while IFS='|' read -r name cmd; do
        [ -n "$name" ] && [ "$name" != "chroot only" ] || continue
        eval "${prep[$c]}"
        status=0
        eval "$cmd" >/dev/null 2>"$out/$c.err" || status=$?
        args=("${job[$c]}" "$(target "$c")")
        [ -z "${input[$c]:-}" ] || args+=(--input "${input[$c]}")
        [ -z "${device[$c]}" ] || args+=(--device "${device[$c]}")
        verdict=$(python3 "$bench/verify.py" "${args[@]}") || failed=1
        # growpart's exit status 1 means "NOCHANGE", which is the job in case 3.
        if [ "$status" != 0 ] && ! [ "$status" = 1 ] && [ "$name" = growpart ]; then
            verdict="FAILED: exit status $status; $verdict"
            failed=1
        fi
        printf '%s|%s|%s|%s\n' "$c" "$name" "$status" "$verdict" | tee -a "$out/verify.txt"
    done <<<"${tools[$c]}"
done
rm -f "$out"/*.err

# A cross-check of the subtraction: the reference timed by hyperfine inside its chroot (a
# copy of the host's hyperfine, run there through the same wrapper), so that the chroot's
# own cost is outside the measurement. prepare.sh is copied too, for the same inputs.
mkdir -p bin
cp "$(command -v hyperfine)" "$prepare" bin/
inside_prep() { echo "${prep[$1]}" | sed "s|^$prepare |$work/bin/prepare.sh |"; }

echo "== time (load: $(cut -d' ' -f1-3 /proc/loadavg))"
cut -d' ' -f1-3 /proc/loadavg >"$out/load-before"
# The build and the inputs leave dirty pages behind: written back now, not during case 1.
# The floor is timed first, which also gets the machine past its first runs.
sync
echo "-- floor: starting a process"
# A static musl hello-world is the least any tool run here can take; --version is our own
# start-up; /bin/true timed inside the chroot is the same floor for the reference there.
printf 'fn main() {\n    println!("hello");\n}\n' >hello.rs
rustc -O -C panic=abort -C strip=symbols --target x86_64-unknown-linux-musl hello.rs -o hello
file hello | grep -q 'static' || die "the hello-world is not static"
hyperfine -N --warmup 20 --runs $((runs * 5)) --export-json "$out/floor.json" --style basic \
    --command-name "static hello-world" "$work/hello" \
    --command-name "repart-rs --version" "$repart --version" 2>/dev/null | grep -E '^(Benchmark|  Time)'
REPART_ORACLE_CMD=$work/bin/hyperfine "$oracle" -N --warmup 20 --runs $((runs * 5)) \
    --export-json "$work/inside.json" --style basic --command-name "/bin/true in the chroot" \
    /bin/true 2>/dev/null | grep -E '^(Benchmark|  Time)'
mv inside.json "$out/floor-inside.json"
# Each case is timed in five rounds over the whole run, its runs split between them, and
# the times pooled: this virtual machine's speed changes in steps that last seconds to
# minutes (the same job came out 0.8 or 1.1 ms per block of runs), and rounds spread those
# over every case and tool.
rounds=5
per_round=$(((runs + rounds - 1) / rounds))
for round in $(seq 1 $rounds); do
    for c in "${cases[@]}"; do
        args=(-N --warmup 5 --runs "$per_round" -i --export-json "$out/$c-r$round.json" --style basic)
        while IFS='|' read -r name cmd; do
            [ -n "$name" ] || continue
            args+=(--prepare "${prep[$c]}" --command-name "$name" "$cmd")
            [ "$name" = "systemd-repart 262" ] && reference_cmd=${cmd#"$oracle" }
        done <<<"${tools[$c]}"
        echo "-- round $round, $c: ${title[$c]}"
        hyperfine "${args[@]}" 2>/dev/null | grep -E '^(Benchmark|  Time)'
        REPART_ORACLE_CMD=$work/bin/hyperfine "$oracle" -N --warmup 5 --runs "$per_round" -i \
            --export-json "$work/inside.json" --style basic --prepare "$(inside_prep "$c")" \
            --command-name "systemd-repart 262, timed inside the chroot" \
            "systemd-repart $reference_cmd" 2>/dev/null | grep -E '^(Benchmark|  Time)'
        mv inside.json "$out/$c-inside-r$round.json"
    done
done
echo "-- case 5 against case 1, repart-rs alone, alternately"
# What else the machine does moves a median by more than the 10% the target allows, over
# minutes; ten rounds of the two cases back to back compare them under the same conditions.
for round in $(seq 1 10); do
    for c in c1 c5; do
        cmd=$(printf '%s\n' "${tools[$c]}" | sed -n 's/^repart-rs|//p')
        hyperfine -N --warmup 10 --runs "$runs" --export-json "$out/size-$c-$round.json" \
            --style none --prepare "${prep[$c]}" --command-name "$c" "$cmd" >/dev/null 2>&1
    done
done
cut -d' ' -f1-3 /proc/loadavg >"$out/load-after"

echo "== peak RSS, system calls, bytes read and written"
io_calls=read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2
# A tool's command with a wrapper in front: inside the chroot for the reference (so that
# only systemd-repart is counted, not the chroot's own mount and chroot).
wrapped() { # name command wrapper-args...
    local name=$1 cmd=$2
    shift 2
    case $name in
    "systemd-repart 262") echo "env REPART_ORACLE_CMD=$1 $oracle ${*:2} systemd-repart ${cmd#"$oracle" }" ;;
    *) echo "$* $cmd" ;;
    esac
}
: >"$out/stats.txt"
for c in "${cases[@]}"; do
    while IFS='|' read -r name cmd; do
        [ -n "$name" ] || continue
        eval "${prep[$c]}"
        eval "/usr/bin/time -f %M -o rss.txt $cmd" >/dev/null 2>&1 || true
        rss=$(tail -n 1 rss.txt)
        calls=- sleeps=- rd=- wr=-
        if [ "$name" != "chroot only" ]; then
            eval "${prep[$c]}"
            eval "$(wrapped "$name" "$cmd" strace -f -c -o calls.txt)" >/dev/null 2>&1 || true
            calls=$(awk '$NF == "total" { print $4 }' calls.txt)
            sleeps=$(awk '$NF ~ /^(clock_)?nanosleep$/ { n += $4 } END { print n + 0 }' calls.txt)
            eval "${prep[$c]}"
            eval "$(wrapped "$name" "$cmd" strace -f -qq -e trace=$io_calls -e signal=none -o io.txt)" \
                >/dev/null 2>&1 || true
            read -r rd wr < <(python3 "$bench/io_bytes.py" io.txt)
        fi
        printf '%s|%s|%s|%s|%s|%s|%s\n' "$c" "$name" "$rss" "$calls" "$sleeps" "$rd" "$wr" |
            tee -a "$out/stats.txt"
    done <<<"${tools[$c]}"
done
rm -f rss.txt calls.txt io.txt

echo "== sizes"
{
    echo "repart-rs|$(stat -c %s "$repart")|static"
    oracle_libs=$(REPART_ORACLE_CMD=ldd "$oracle" /usr/bin/systemd-repart | awk '$3 ~ /^\// { print $3 }')
    total=$(REPART_ORACLE_CMD=stat "$oracle" -L -c %s /usr/bin/systemd-repart $oracle_libs |
        awk '{ s += $1 } END { print s }')
    echo "systemd-repart 262|$(REPART_ORACLE_CMD=stat "$oracle" -L -c %s /usr/bin/systemd-repart)|$total"
    host_libs=$(ldd "$host_repart" | awk '$3 ~ /^\// { print $3 }')
    echo "systemd-repart 252|$(stat -L -c %s "$host_repart")|$(stat -L -c %s "$host_repart" $host_libs | awk '{ s += $1 } END { print s }')"
    sfdisk_libs=$(ldd "$(command -v sfdisk)" | awk '$3 ~ /^\// { print $3 }')
    echo "sfdisk|$(stat -L -c %s "$(command -v sfdisk)")|$(stat -L -c %s "$(command -v sfdisk)" $sfdisk_libs | awk '{ s += $1 } END { print s }')"
    echo "growpart|$(stat -L -c %s "$(command -v growpart)")|script"
} >"$out/sizes.txt"

echo "== versions and machine"
{
    echo "date|$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu|$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "kernel|$(uname -r)"
    echo "memory|$(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
    echo "repart-rs|$("$repart" --version | head -n 1) ($(git -C "$top" rev-parse --short HEAD))"
    echo "systemd-repart 262|$("$oracle" --version | head -n 1)"
    echo "systemd-repart 252|$("$host_repart" --version | head -n 1)"
    echo "growpart|cloud-guest-utils $(dpkg-query -W -f='${Version}' cloud-guest-utils)"
    echo "sfdisk|$(sfdisk --version)"
    echo "hyperfine|$(hyperfine --version)"
    echo "rustc|$(rustc --version)"
    echo "runs|$runs"
    echo "work|$work"
    echo "top|$top"
    echo "load|$(cat "$out/load-before") before, $(cat "$out/load-after") after the timing"
} >"$out/meta.txt"
for c in "${cases[@]}"; do
    printf '%s|%s|%s|%s\n' "$c" "${title[$c]}" "${prep[$c]}" "$(target "$c")"
done >"$out/cases.txt"
for c in "${cases[@]}"; do
    while IFS='|' read -r name cmd; do
        [ -z "$name" ] || printf '%s|%s|%s\n' "$c" "$name" "$cmd"
        [ "$name" != "systemd-repart 262" ] ||
            printf '%s|%s|%s\n' "$c" "systemd-repart 262, timed inside the chroot" \
                "env REPART_ORACLE_CMD=$work/bin/hyperfine $oracle ... --prepare '$(inside_prep "$c")' 'systemd-repart ${cmd#"$oracle" }'"
    done <<<"${tools[$c]}"
done >"$out/commands.txt"

python3 "$bench/report.py" "$out" >"$bench/RESULTS.md"
cleanup
trap - EXIT
if losetup -a | grep -F "$work/"; then die "loop devices left attached (above)"; fi
echo "== wrote $bench/RESULTS.md"
[ "$failed" = 0 ] || die "a tool did not do its job (see the verify table)"
