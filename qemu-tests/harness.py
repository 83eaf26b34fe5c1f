#!/usr/bin/env python3
"""QEMU boot tests for repart-rs (Python standard library only; run as root).

Fetches a Debian cloud kernel (cached under work/), builds the agent (normal and
failpoints builds), the exit helper, busybox initramfs images and a dracut/systemd
initrd, makes sparse disk images, boots them under QEMU with TCG and virtio-blk (512- and
4096-byte sectors, SeaBIOS or OVMF), and checks each resulting disk from the host: with
the independent GPT reader in gpt.py, with `sfdisk -d` and with repart-rs itself (a dry
run must find nothing to do). The guest reports the agent's exit status through
isa-debug-exit. Scenarios run two QEMUs at a time.

Usage: qemu-tests/harness.py [SCENARIO...]   (default: all; --list names them)
Environment: ACCEL=tcg|kvm (default tcg: KVM hangs on the project's machines).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "work"
LOGS = WORK / "logs"
RUNS = WORK / "runs"
sys.path.insert(0, str(HERE))
import gpt  # noqa: E402

MIB = 1 << 20
DISK_SIZE = 1 << 30
BASE_SIZE = 96 * MIB
ESP = (1, 1 * MIB, 16 * MIB, "esp", uuid.UUID("b8a1f3e2-1c52-4f0e-9a3c-6d2e0b7c4a11"), "esp")
ROOT = (2, 17 * MIB, 64 * MIB, "root-x86-64", uuid.UUID("5d7c2e90-8f3b-4a6d-b1e4-2c9f0a8d3e72"), "root")
ROOT_FS_UUID = "6a1b2c3d-4e5f-4061-8273-948a5b6c7d8e"
DISK_GUID = uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
MACHINE_ID = "3f8a2c1d5e6b4a7980c1d2e3f4a5b6c7"
DEFS = HERE / "defs"
MODULES = ["virtio_pci", "virtio_blk", "efivarfs"]
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
SYSTEMD_VENDOR = "8cf2644b-4b0b-428f-9387-6d876050dc67"
LOADER_VENDOR = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
VIRT_FW_VARS = WORK / "venv/bin/virt-fw-vars"  # made by tests/setup.sh
# Power cuts: (failpoint, sector size, the primary GPT it leaves behind: "old" (2
# partitions), "new" (4) or None (torn, not valid), how the root is named). After a torn
# primary the kernel ignores the valid backup and makes no partition nodes, unless "gpt" on
# its command line makes it use the backup on the last sector; the agent finds the disk
# anyway: PARTUUID= through its own GPT scan, /dev/vda2 by the kernel's partition naming.
PARTUUID_ROOT = f"root=PARTUUID={ROOT[4]}"
POWER_CUTS = [
    ("wipe-3", 512, "old", PARTUUID_ROOT),
    ("gpt-backup-header", 512, "old", PARTUUID_ROOT),
    ("torn:gpt-primary-entry-array", 512, None, PARTUUID_ROOT),
    ("torn:gpt-primary-entry-array", 512, None, "root=/dev/vda2"),
    ("torn:gpt-primary-entry-array", 512, None, "root=/dev/vda2 gpt"),
    ("gpt-primary-header", 512, "new", "root=/dev/vda2"),
    ("kernel-add-3", 512, "new", "root=/dev/vda2"),
    ("torn:gpt-backup-entry-array", 4096, "old", PARTUUID_ROOT),
]
ACCEL = os.environ.get("ACCEL", "tcg")
QEMU_SLOTS = threading.Semaphore(2)
PRINT = threading.Lock()
# The scenario a thread works for, and each scenario's boots: (count, seconds in QEMU).
CURRENT = threading.local()
BOOT_TIMES = {}


def say(*args):
    with PRINT:
        print(*args, flush=True)


class Failed(Exception):
    """A scenario's assertion failed."""


def expect(condition, message):
    if not condition:
        raise Failed(message)


def sh(*cmd, env=None, cwd=None, check=True):
    """Runs a command; its output is returned (and shown on failure)."""
    merged = dict(os.environ, **(env or {}))
    r = subprocess.run([str(c) for c in cmd], env=merged, cwd=cwd, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}")
    return r.stdout


# ---------------------------------------------------------------------------- setup


TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86", "busybox": "busybox-static",
    "depmod": "kmod", "modprobe": "kmod", "dpkg-deb": "dpkg", "apt-get": "apt",
    "mkfs.ext4": "e2fsprogs", "sfdisk": "fdisk", "gcc": "gcc", "dracut": "dracut-core",
    "cargo": "rustup", "make": "make", "cpio": "cpio", "bash": "bash", "file": "file",
    "lsinitrd": "dracut-core", "systemd-analyze": "systemd", "gzip": "gzip",
    "unshare": "util-linux",
}


def check_tools():
    missing = [f"{t} ({p})" for t, p in TOOLS.items() if shutil.which(t) is None]
    for f in (OVMF_CODE, OVMF_VARS, Path("/usr/lib/x86_64-linux-gnu/libc.a"),
              Path("/usr/lib/dracut/modules.d/00systemd")):
        if not f.exists():
            missing.append(str(f))
    if not VIRT_FW_VARS.exists():
        missing.append(f"{VIRT_FW_VARS} (virt-firmware from PyPI)")
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    if "statically linked" not in sh("file", "-L", busybox, check=False) and \
            "static-pie" not in sh("file", "-L", busybox, check=False):
        missing.append(f"a static {busybox} (busybox-static)")
    if missing:
        raise SystemExit("qemu-tests: missing " + ", ".join(missing) +
                         "; run tests/setup.sh (as root) first")


class Kernel:
    def __init__(self, root, kver):
        self.root, self.kver = root, kver
        self.vmlinuz = root / "boot" / f"vmlinuz-{kver}"
        self.moddir = root / "lib/modules" / kver


def fetch_kernel():
    """The Debian cloud kernel, downloaded and unpacked once (work/kernel)."""
    kdir = WORK / "kernel"
    done = kdir / "ready"
    if done.exists():
        root = kdir / "root"
        return Kernel(root, done.read_text().strip())
    shutil.rmtree(kdir, ignore_errors=True)
    kdir.mkdir(parents=True)

    def resolve():
        deps = sh("apt-cache", "depends", "linux-image-cloud-amd64", check=False)
        return next((line.split()[1] for line in deps.splitlines()
                     if "Depends: linux-image-" in line), None)
    pkg = resolve()
    if pkg is None:
        sh("apt-get", "update", "-qq")
        pkg = resolve()
    if pkg is None:
        raise SystemExit("qemu-tests: cannot resolve linux-image-cloud-amd64; run apt-get update")
    sh("apt-get", "download", pkg, cwd=kdir)
    deb = next(kdir.glob(f"{pkg}_*.deb"))
    sh("dpkg-deb", "-x", deb, kdir / "root")
    deb.unlink()
    kver = next((kdir / "root/lib/modules").iterdir()).name
    sh("depmod", "-b", kdir / "root", kver)
    done.write_text(kver + "\n")
    return Kernel(kdir / "root", kver)


def build_programs():
    """The agent (make install into work/dest, which the dracut and mkinitcpio tests use),
    the failpoints build and the exit helper."""
    sh("cargo", "build", "--release", "--target", "x86_64-unknown-linux-musl", cwd=REPO)
    sh("cargo", "build", "--release", "--target", "x86_64-unknown-linux-musl",
       "--features", "failpoints", cwd=REPO,
       env={"CARGO_TARGET_DIR": str(WORK / "target-fp")})
    dest = WORK / "dest"
    shutil.rmtree(dest, ignore_errors=True)
    sh("make", "-s", "install", f"DESTDIR={dest}", cwd=REPO)
    sh("gcc", "-static", "-Os", "-o", WORK / "qemu-exit", HERE / "guest/qemu-exit.c")
    return {
        "repart": dest / "usr/bin/repart",
        "repart-fp": WORK / "target-fp/x86_64-unknown-linux-musl/release/repart",
        "qemu-exit": WORK / "qemu-exit",
        "dest": dest,
    }


def install_busybox(tree):
    busybox = Path(shutil.which("busybox"))
    (tree / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, tree / "bin/busybox")
    for applet in sh(busybox, "--list").split():
        link = tree / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")


def pack(tree, out):
    """newc cpio, sorted names, root-owned, gzip."""
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    listing = ("\n".join(names) + "\n").encode()
    data = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree,
                          input=listing, capture_output=True, check=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["gzip", "-1"], input=data, stdout=f, check=True)


def busybox_initrd(kernel, progs):
    """The busybox initramfs: /init, both agent builds, the exit helper, the definitions
    (/usr/lib/repart.d), the mkinitcpio runtime hook (/hooks) and the virtio modules."""
    tree = WORK / "initrd-tree"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("usr/bin", "proc", "sys", "dev", "tmp", "run", "etc", "modules", "hooks",
              "test", "usr/lib/repart.d"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    install_busybox(tree)
    shutil.copy2(HERE / "guest/init", tree / "init")
    for name in ("repart", "repart-fp", "qemu-exit"):
        shutil.copy2(progs[name], tree / "usr/bin" / name)
    shutil.copy2(progs["dest"] / "usr/lib/initcpio/hooks/repart-rs", tree / "hooks/repart-rs")
    shutil.copy2(HERE / "guest/broken.conf", tree / "test/broken.conf")
    for conf in DEFS.glob("*.conf"):
        shutil.copy2(conf, tree / "usr/lib/repart.d" / conf.name)
    (tree / "etc/initrd-release").write_text('NAME="repart-rs test initrd"\nID=testinitrd\n')
    # As in dracut's initrds: the running system's os-release is the initrd's.
    (tree / "etc/os-release").symlink_to("initrd-release")
    (tree / "etc/machine-id").write_text(MACHINE_ID + "\n")
    order = []
    for m in MODULES:
        out = sh("modprobe", "-d", kernel.root, "-S", kernel.kver, "--show-depends", m)
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod":
                name = Path(parts[1]).stem
                if name not in order:
                    shutil.copy2(parts[1], tree / "modules" / f"{name}.ko")
                    order.append(name)
    (tree / "modules/order").write_text("\n".join(order) + "\n")
    out = WORK / "initrd-busybox.cpio.gz"
    pack(tree, out)
    return out


def root_tree(progs, broken=False):
    """The real root: busybox, /sbin/init that prints a marker, os-release, machine-id,
    the definitions (plus a broken one if asked)."""
    tree = WORK / ("rootfs-broken" if broken else "rootfs")
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("sbin", "usr/bin", "usr/lib/repart.d", "etc", "proc", "sys", "dev", "run",
              "tmp", "sysroot"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    install_busybox(tree)
    shutil.copy2(HERE / "guest/root-init", tree / "sbin/init")
    shutil.copy2(progs["qemu-exit"], tree / "usr/bin/qemu-exit")
    (tree / "usr/lib/os-release").write_text('NAME="repart-rs test root"\nID=testroot\n')
    (tree / "etc/os-release").symlink_to("../usr/lib/os-release")
    (tree / "etc/machine-id").write_text(MACHINE_ID + "\n")
    for conf in DEFS.glob("*.conf"):
        shutil.copy2(conf, tree / "usr/lib/repart.d" / conf.name)
    if broken:
        shutil.copy2(HERE / "guest/broken.conf", tree / "usr/lib/repart.d/15-broken.conf")
    return tree


def base_image(name, sector_size, tree):
    """ESP + a 64 MiB ext4 root on a 96 MiB GPT, grown to 1 GiB (backup GPT not at the
    end), as a first-boot image written to a bigger disk looks."""
    img = WORK / name
    rootfs = WORK / f"{name}.rootfs"
    for f in (img, rootfs):
        f.unlink(missing_ok=True)
    sh("mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "root",
       "-U", ROOT_FS_UUID, "-d", tree, rootfs, f"{ROOT[2] // 1024}k")
    with open(img, "wb") as f:
        f.truncate(BASE_SIZE)
    gpt.write(img, BASE_SIZE, sector_size, DISK_GUID, [ESP, ROOT])
    with open(img, "r+b") as f:
        f.seek(ESP[1])
        f.write(b"ESP-MARKER" * 100)
    sh("dd", f"if={rootfs}", f"of={img}", "bs=1M", f"seek={ROOT[1] // MIB}",
       "conv=notrunc,sparse", "status=none")
    rootfs.unlink()
    os.truncate(img, DISK_SIZE)
    return img


def whole_disk_root(tree):
    """An ext4 root on the whole 256 MiB disk, no partition table."""
    img = WORK / "whole-disk-root.img"
    img.unlink(missing_ok=True)
    sh("mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "root", "-d", tree, img, "256M")
    return img


def dracut_initrd(kernel, progs, systemd=True):
    """An initrd from the host's dracut with our module (installed by make install) in a
    private dracutbasedir: a systemd initrd, or a shell-init one without systemd."""
    base = WORK / "dracut-base"
    if systemd:
        out = WORK / "initrd-dracut.img"
        modules = ["-m", "base systemd systemd-initrd dracut-systemd rootfs-block udev-rules "
                   "repart-rs"]
        wanted = ("usr/bin/repart", "usr/lib/systemd/system/repart-rs-initrd.service",
                  "initrd-root-fs.target.wants/repart-rs-initrd.service")
    else:
        out = WORK / "initrd-dracut-shell.img"
        modules = ["-m", "base rootfs-block udev-rules repart-rs",
                   "--omit", "systemd systemd-initrd dracut-systemd"]
        wanted = ("usr/bin/repart", "hooks/pre-pivot/50-repart-rs-pre-pivot.sh")
    sh("dracut", "--force", "--quiet", "--no-hostonly", "--no-early-microcode",
       "--kver", kernel.kver, "--kmoddir", kernel.moddir, *modules,
       "--drivers", " ".join(MODULES), "--compress", "gzip", out,
       env={"dracutbasedir": str(base), "repart_rs_binary": str(progs["repart"])})
    listing = sh("lsinitrd", out, env={"dracutbasedir": str(base)})
    for path in wanted:
        expect(path in listing, f"dracut initrd {out.name} lacks {path}")
    if systemd:
        expect("pre-pivot/50-repart-rs" not in listing, "systemd initrd has the shell hook")
    return out


def dracut_base(progs):
    """A private dracutbasedir: the host's dracut plus our module from make install."""
    base = WORK / "dracut-base"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree("/usr/lib/dracut", base, symlinks=True)
    shutil.copytree(progs["dest"] / "usr/lib/dracut/modules.d/90repart-rs",
                    base / "modules.d/90repart-rs")


# ---------------------------------------------------------------------------- booting


class Boot:
    def __init__(self, name, rc, log, seconds):
        self.name, self.rc, self.log, self.seconds = name, rc, log, seconds

    @property
    def guest_status(self):
        """The status the guest reported through isa-debug-exit, or None."""
        return self.rc >> 1 if self.rc % 2 == 1 else None

    def lines(self, prefix):
        return [line[len(prefix):].strip() for line in self.log.splitlines()
                if line.startswith(prefix)]

    def kernel_view(self, prefix="PART "):
        """{number: (start, size)} in bytes, from the guest's sysfs lines."""
        view = {}
        for line in self.lines(prefix):
            m = re.match(r"vda(\d+) start=(\d+) size=(\d+)", line)
            if m:
                view[int(m[1])] = (int(m[2]) * 512, int(m[3]) * 512)
        return view


def boot(name, disk, initrd, kernel, append="", sector_size=512, efi_vars=None,
         timeout=180):
    log = LOGS / f"{name}.log"
    log.unlink(missing_ok=True)
    blk = "virtio-blk-pci,drive=d0"
    if sector_size == 4096:
        blk += ",logical_block_size=4096,physical_block_size=4096"
    cmd = ["timeout", str(timeout), "qemu-system-x86_64", "-accel", ACCEL, "-m", "512",
           "-display", "none", "-no-user-config", "-nodefaults", "-no-reboot",
           "-serial", f"file:{log}", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-kernel", str(kernel.vmlinuz), "-initrd", str(initrd),
           # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check
           # can fail and panic ("IO-APIC + timer doesn't work!"), seen once in 30 boots.
           "-append", f"console=ttyS0 panic=-1 no_timer_check {append}".strip(),
           "-drive", f"if=none,id=d0,file={disk},format=raw,discard=unmap", "-device", blk]
    if efi_vars:
        cmd += ["-machine", "q35",
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={efi_vars}"]
    with QEMU_SLOTS:
        start = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = time.monotonic() - start
    (LOGS / f"{name}.qemu.txt").write_text(" ".join(cmd) + "\n" + r.stdout)
    with PRINT:
        count, total = BOOT_TIMES.get(CURRENT.scenario, (0, 0.0))
        BOOT_TIMES[CURRENT.scenario] = (count + 1, total + seconds)
    text = log.read_text(errors="replace") if log.exists() else ""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # systemd's colours
    b = Boot(name, r.returncode, text, seconds)
    say(f"  boot {name}: qemu rc {r.returncode} (guest status {b.guest_status}), "
        f"{seconds:.1f} s")
    expect(r.returncode != 124, f"boot {name} timed out after {timeout} s (log: {log})")
    return b


def expect_status(b, status):
    expect(b.guest_status == status,
           f"boot {b.name}: guest reported {b.guest_status} (qemu rc {b.rc}), expected "
           f"{status}; log: {LOGS / (b.name + '.log')}")


def fresh_copy(src, name):
    dst = RUNS / name
    dst.unlink(missing_ok=True)
    sh("cp", "--sparse=always", src, dst)
    return dst


def sha256(path, offset=0, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length if length is not None else os.path.getsize(path) - offset
        while left > 0:
            chunk = f.read(min(left, 4 * MIB))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------- checks


def table(img, ss):
    try:
        return gpt.read(img, ss)
    except gpt.GptError as e:
        raise Failed(f"{img}: {e}")


def repart_dry_run(ctx, img):
    """repart-rs on the host must read the table and find nothing to do."""
    r = subprocess.run([str(ctx.progs["repart"]), "--dry-run=yes", "--json=short",
                        f"--definitions={DEFS}", str(img)], capture_output=True, text=True)
    expect(r.returncode == 0, f"repart --dry-run on {img}: exit {r.returncode}: {r.stderr}")
    expect("No changes." in r.stderr, f"repart --dry-run on {img} wants changes: {r.stderr}")
    rows = json.loads(r.stdout)
    expect(all(row["activity"] == "unchanged" for row in rows),
           f"repart --dry-run on {img}: {rows}")
    return rows


def sfdisk_check(img, t):
    """sfdisk (512-byte images only: bookworm's sfdisk has no --sector-size) agrees."""
    if t["sector_size"] != 512:
        return
    dump = sh("sfdisk", "-d", img)
    for p in t["partitions"]:
        m = re.search(rf"{re.escape(str(img))}{p['number']} : start=\s*(\d+), size=\s*(\d+), "
                      rf"type=([0-9A-F-]+), uuid=([0-9A-F-]+)", dump)
        expect(m is not None, f"sfdisk -d {img} lacks partition {p['number']}:\n{dump}")
        expect((int(m[1]) * 512, int(m[2]) * 512) == (p["start"], p["size"]) and
               m[4].lower() == p["uuid"],
               f"sfdisk -d {img} disagrees on partition {p['number']}: {m[0]} vs {p}")
    expect(f"last-lba: {t['last_usable']}" in dump, f"sfdisk last-lba differs: {dump}")


def check_first_boot_table(img, ss, base):
    """The table after a first boot with defs/: ESP and root where they were (same UUIDs),
    root grown to 256 MiB, home in the middle, 64 MiB swap at the end, backup GPT on the
    last sector; old bytes of ESP and root untouched; a swap signature."""
    t = table(img, ss)
    parts = {p["number"]: p for p in t["partitions"]}
    expect(sorted(parts) == [1, 2, 3, 4], f"{img}: partitions {sorted(parts)}")
    esp, root, home, swap = (parts[i] for i in (1, 2, 3, 4))
    expect((esp["start"], esp["size"], esp["uuid"]) == (ESP[1], ESP[2], str(ESP[4])),
           f"{img}: ESP changed: {esp}")
    expect((root["start"], root["size"], root["uuid"]) == (ROOT[1], 256 * MIB, str(ROOT[4])),
           f"{img}: root not grown to 256 MiB in place: {root}")
    expect(home["type"] == "home" and home["name"] == "home" and
           home["start"] == root["start"] + root["size"], f"{img}: home wrong: {home}")
    expect(swap["type"] == "swap" and swap["name"] == "swap" and swap["size"] == 64 * MIB and
           swap["start"] == home["start"] + home["size"], f"{img}: swap wrong: {swap}")
    end = swap["start"] + swap["size"]
    expect(end <= (t["last_usable"] + 1) * ss and (t["last_usable"] + 1) * ss - end < MIB,
           f"{img}: swap does not end at the end of the disk: {swap}, {t['last_usable']}")
    expect(t["backup_at_end"], f"{img}: backup GPT header not on the last sector")
    expect(t["disk_guid"] == str(DISK_GUID), f"{img}: disk GUID changed")
    for (number, start, size, *_) in (ESP, ROOT):
        expect(sha256(img, start, size) == sha256(base, start, size),
               f"{img}: the old bytes of partition {number} changed")
    with open(img, "rb") as f:
        f.seek(swap["start"] + 4096 - 10)
        expect(f.read(10) == b"SWAPSPACE2", f"{img}: no swap signature in partition 4")
    sfdisk_check(img, t)
    return t


def check_kernel_view(b, t, prefix="PART "):
    view = b.kernel_view(prefix)
    want = {p["number"]: (p["start"], p["size"]) for p in t["partitions"]}
    expect(view == want, f"boot {b.name}: the kernel's partitions {view} are not the "
           f"table's {want}")


def check_dmesg(b, needle):
    lines = b.lines("DMESG: ")
    expect(any(needle in line for line in lines),
           f"boot {b.name}: no kernel log line with {needle!r} from the agent; got {lines}")


def same_table(a, b, what):
    expect(a["partitions"] == b["partitions"] and a["last_usable"] == b["last_usable"],
           f"{what}: tables differ:\n{a['partitions']}\n{b['partitions']}")


# ---------------------------------------------------------------------------- scenarios


class Context:
    def __init__(self):
        self.events = {}
        self.values = {}
        self.lock = threading.Lock()

    def publish(self, key, value):
        with self.lock:
            self.values[key] = value
            self.events.setdefault(key, threading.Event()).set()

    def need(self, key):
        with self.lock:
            event = self.events.setdefault(key, threading.Event())
        event.wait()
        value = self.values[key]
        if value is None:
            raise Failed(f"depends on {key}, which failed")
        return value


SCENARIOS = []


def scenario(name, provides=(), needs=()):
    """Registers a scenario; `needs` names the scenarios whose results it uses."""
    def register(fn):
        SCENARIOS.append((name, fn, provides, needs))
        return fn
    return register


BUSYBOX_ARGS = "quiet root=/dev/vda2"


@scenario("0-make-install")
def make_install(ctx):
    """make install (default and custom PREFIX/BINDIR): the files land where the
    variables say, the wants links resolve, ExecStart= follows BINDIR, and
    systemd-analyze verify accepts both units without a word."""
    layouts = [
        ({}, "/usr/bin", "/usr/lib"),
        ({"PREFIX": "/usr/local", "BINDIR": "/opt/repart/bin"}, "/opt/repart/bin", "/usr/local/lib"),
    ]
    for variables, bindir, libdir in layouts:
        dest = RUNS / "make-install"
        shutil.rmtree(dest, ignore_errors=True)
        sh("make", "-s", "install", f"DESTDIR={dest}",
           *(f"{k}={v}" for k, v in variables.items()), cwd=REPO)
        units = f"{libdir}/systemd/system"
        for path in (f"{bindir}/repart", f"{units}/repart-rs.service",
                     f"{units}/repart-rs-initrd.service", f"{units}/repart-rs.socket",
                     f"{units}/repart-rs@.service",
                     f"{libdir}/dracut/modules.d/90repart-rs/module-setup.sh",
                     f"{libdir}/dracut/modules.d/90repart-rs/repart-rs-pre-pivot.sh",
                     f"{libdir}/dracut/modules.d/90repart-rs/repart-rs-initrd.service",
                     f"{libdir}/initcpio/install/repart-rs", f"{libdir}/initcpio/hooks/repart-rs"):
            expect((dest / path.lstrip("/")).is_file(), f"make install {variables}: no {path}")
        for link in ("initrd-root-fs.target.wants/repart-rs-initrd.service",
                     "sysinit.target.wants/repart-rs.service"):
            target = dest / units.lstrip("/") / link
            expect(target.is_symlink() and target.resolve().is_file(),
                   f"make install {variables}: {link} does not resolve")
        for unit in ("repart-rs.service", "repart-rs-initrd.service"):
            text = (dest / units.lstrip("/") / unit).read_text()
            expect(f"ExecStart={bindir}/repart --dry-run=no\n" in text,
                   f"make install {variables}: {unit} does not run {bindir}/repart")
        text = (dest / units.lstrip("/") / "repart-rs@.service").read_text()
        expect(f"ExecStart={bindir}/repart\n" in text,
               f"make install {variables}: repart-rs@.service does not run {bindir}/repart")
        if libdir == "/usr/lib":  # systemd-analyze looks in the standard unit directories
            for unit in ("repart-rs.service", "repart-rs-initrd.service"):
                r = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={dest}",
                                    unit], capture_output=True, text=True)
                expect(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
                       f"systemd-analyze verify {unit}: {r.stdout}{r.stderr}")


@scenario("1-first-boot-512", provides=("first-512",))
def first_boot_512(ctx):
    """ESP + small root on a bigger 512-byte-sector disk: root grows in place (not
    mounted: the agent finds the disk from root=), home and swap are added, the backup GPT
    moves to the end; the kernel's view matches; the agent's lines are in dmesg."""
    disk = fresh_copy(ctx.base512, "first-512.img")
    b = boot("first-512", disk, ctx.initrd, ctx.kernel, BUSYBOX_ARGS)
    expect_status(b, 0)
    t = check_first_boot_table(disk, 512, ctx.base512)
    check_kernel_view(b, t)
    check_dmesg(b, "not mounted yet; looking for the disk in the boot configuration")
    check_dmesg(b, "Using disk /dev/vda (found from root=/dev/vda2 on the kernel command line)")
    check_dmesg(b, "Partition table written.")
    repart_dry_run(ctx, disk)
    ctx.publish("first-512", (disk, t))


@scenario("1-first-boot-4k", provides=("first-4k",))
def first_boot_4k(ctx):
    """The same on a 4096-byte-sector disk, the root named by PARTUUID=."""
    disk = fresh_copy(ctx.base4k, "first-4k.img")
    b = boot("first-4k", disk, ctx.initrd, ctx.kernel, f"quiet root=PARTUUID={ROOT[4]}",
             sector_size=4096)
    expect_status(b, 0)
    expect("INIT: disk: 4096-byte sectors" in b.log, "guest did not see 4096-byte sectors")
    t = check_first_boot_table(disk, 4096, ctx.base4k)
    check_kernel_view(b, t)
    check_dmesg(b, f"found from root=PARTUUID={ROOT[4]}")
    repart_dry_run(ctx, disk)
    ctx.publish("first-4k", (disk, t))


@scenario("2-second-boot", needs=("1-first-boot-512", "1-first-boot-4k"))
def second_boot(ctx):
    """Booting the first-boot result again changes nothing: "No changes." and the disk
    image is byte-identical."""
    for key, ss in (("first-512", 512), ("first-4k", 4096)):
        src, _ = ctx.need(key)
        disk = fresh_copy(src, f"second-{ss}.img")
        before = sha256(disk)
        b = boot(f"second-{ss}", disk, ctx.initrd, ctx.kernel,
                 BUSYBOX_ARGS if ss == 512 else f"quiet root=PARTUUID={ROOT[4]}",
                 sector_size=ss)
        expect_status(b, 0)
        check_dmesg(b, "No changes.")
        expect(sha256(disk) == before, f"{disk}: the second boot changed the disk")


@scenario("3-mounted-root", needs=("1-first-boot-4k",))
def mounted_root(ctx):
    """Root mounted at /sysroot before the agent runs (4096-byte sectors): the disk is
    found behind /sysroot, the definitions come from the root (the initrd's are removed),
    root grows live through BLKPG while mounted, and the kernel's view matches."""
    disk = fresh_copy(ctx.base4k, "mounted-4k.img")
    b = boot("mounted-4k", disk, ctx.initrd, ctx.kernel, BUSYBOX_ARGS + " t.mount",
             sector_size=4096)
    expect_status(b, 0)
    expect("INIT: mounted /dev/vda2 at /sysroot" in b.log, "root was not mounted first")
    t = check_first_boot_table(disk, 4096, ctx.base4k)
    check_kernel_view(b, t)
    view = b.kernel_view()
    expect(view[2][1] == 256 * MIB, f"kernel's vda2 is {view[2][1]} bytes, not 256 MiB")
    check_dmesg(b, "Using disk /dev/vda (found behind /sysroot")
    _, reference = ctx.need("first-4k")
    same_table(t, reference, "mounted root vs first boot (same machine-id)")


def factory_reset_prepare(ctx, name):
    src, before = ctx.need("first-512")
    disk = fresh_copy(src, f"{name}.img")
    home = next(p for p in before["partitions"] if p["number"] == 3)
    with open(disk, "r+b") as f:
        f.seek(home["start"] + MIB)
        f.write(b"OLD-HOME-DATA!" * 300)
    keep = {p["number"]: sha256(disk, p["start"], p["size"])
            for p in before["partitions"] if p["number"] != 3}
    return disk, before, home, keep


def factory_reset_check(disk, before, home, keep):
    after = table(disk, 512)
    new_home = next(p for p in after["partitions"] if p["number"] == 3)
    expect((new_home["start"], new_home["size"], new_home["type"], new_home["name"]) ==
           (home["start"], home["size"], "home", "home"), f"home not re-created: {new_home}")
    expect(new_home["uuid"] != home["uuid"], "home kept its UUID: it was not re-created")
    with open(disk, "rb") as f:
        f.seek(home["start"] + MIB)
        expect(f.read(14 * 300) == bytes(14 * 300), "the old home's data is still there")
    for p in after["partitions"]:
        if p["number"] != 3:
            old = next(q for q in before["partitions"] if q["number"] == p["number"])
            expect(p == old, f"partition {p['number']} changed: {old} -> {p}")
            expect(sha256(disk, p["start"], p["size"]) == keep[p["number"]],
                   f"the bytes of partition {p['number']} changed")
    sfdisk_check(disk, after)


@scenario("4-factory-reset-cmdline", needs=("1-first-boot-512",))
def factory_reset_cmdline(ctx):
    """systemd.factory_reset=1: home (FactoryReset=yes) is deleted and re-created (a new
    UUID from a random seed, its old data discarded); ESP, root and swap are untouched."""
    disk, before, home, keep = factory_reset_prepare(ctx, "reset-cmdline")
    b = boot("reset-cmdline", disk, ctx.initrd, ctx.kernel,
             BUSYBOX_ARGS + " systemd.factory_reset=1 t.args=--seed=random")
    expect_status(b, 0)
    check_dmesg(b, "Honouring factory reset requested via kernel command line.")
    factory_reset_check(disk, before, home, keep)
    t = table(disk, 512)
    check_kernel_view(b, t)


@scenario("5-factory-reset-efi", needs=("1-first-boot-512",))
def factory_reset_efi(ctx):
    """The legacy EFI variable FactoryReset="yes" under OVMF (q35, pflash): home is
    re-created, the rest untouched, and the agent removed the variable (checked on the
    host in the persistent VARS copy). No root= this time: the agent finds the disk from
    the boot loader's LoaderDevicePartUUID variable."""
    disk, before, home, keep = factory_reset_prepare(ctx, "reset-efi")
    spec = RUNS / "factory-reset.json"
    loader_part = (str(ROOT[4]).upper() + "\0").encode("utf-16-le").hex()
    spec.write_text(json.dumps({"version": 2, "variables": [
        {"name": "FactoryReset", "guid": SYSTEMD_VENDOR, "attr": 7,
         "data": "yes".encode("utf-16-le").hex()},
        {"name": "LoaderDevicePartUUID", "guid": LOADER_VENDOR, "attr": 7,
         "data": loader_part}]}))
    variables = RUNS / "reset-efi-vars.fd"
    variables.unlink(missing_ok=True)
    sh(VIRT_FW_VARS, "-i", OVMF_VARS, "--set-json", spec, "-o", variables)
    seeded = sh(VIRT_FW_VARS, "-i", variables, "-p")
    expect("FactoryReset" in seeded, f"virt-fw-vars did not seed the variable: {seeded}")
    b = boot("reset-efi", disk, ctx.initrd, ctx.kernel, "quiet t.efi t.args=--seed=random",
             efi_vars=variables)
    expect_status(b, 0)
    expect("INIT: efivarfs mounted" in b.log, "efivarfs was not mounted")
    check_dmesg(b, "Honouring factory reset requested via EFI variable FactoryReset.")
    check_dmesg(b, "Removed EFI variable FactoryReset")
    check_dmesg(b, f"found from the boot loader's partition {ROOT[4]} (EFI variable "
                "LoaderDevicePartUUID)")
    factory_reset_check(disk, before, home, keep)
    left = sh(VIRT_FW_VARS, "-i", variables, "-p")
    expect("FactoryReset" not in left, f"the variable is still set:\n{left}")


@scenario("5-factory-reset-request", needs=("1-first-boot-512",))
def factory_reset_request(ctx):
    """The current mechanism, EFI variable FactoryResetRequest (UTF-16LE JSON from an
    earlier boot: another bootId, this system's os-release ID) under OVMF, with
    --complete-factory-reset=yes as an initrd without systemd-factory-reset needs: home is
    re-created, and the request is completed (the variable removed) so the next boot does
    not reset again."""
    disk, before, home, keep = factory_reset_prepare(ctx, "reset-request")
    spec = RUNS / "factory-reset-request.json"
    request = json.dumps({"osReleaseId": "testinitrd",
                          "bootId": "0123456789abcdef0123456789abcdef"},
                         separators=(",", ":"))
    spec.write_text(json.dumps({"version": 2, "variables": [
        {"name": "FactoryResetRequest", "guid": SYSTEMD_VENDOR, "attr": 7,
         "data": (request + "\0").encode("utf-16-le").hex()}]}))
    variables = RUNS / "reset-request-vars.fd"
    variables.unlink(missing_ok=True)
    sh(VIRT_FW_VARS, "-i", OVMF_VARS, "--set-json", spec, "-o", variables)
    expect("FactoryResetRequest" in sh(VIRT_FW_VARS, "-i", variables, "-p"),
           "virt-fw-vars did not seed the variable")
    b = boot("reset-request", disk, ctx.initrd, ctx.kernel,
             BUSYBOX_ARGS + " t.efi t.args=--seed=random,--complete-factory-reset=yes",
             efi_vars=variables)
    expect_status(b, 0)
    check_dmesg(b, "Honouring factory reset requested via EFI variable FactoryResetRequest.")
    check_dmesg(b, "Completed the factory reset requested by EFI variable FactoryResetRequest.")
    factory_reset_check(disk, before, home, keep)
    left = sh(VIRT_FW_VARS, "-i", variables, "-p")
    expect("FactoryResetRequest" not in left, f"the request is still set:\n{left}")


def dracut_boot(ctx, name, root_image, initrd=None, root="/dev/vda2"):
    disk = fresh_copy(root_image, f"{name}.img")
    before = sha256(disk)
    initrd = initrd or ctx.need("dracut-initrd")
    b = boot(name, disk, initrd, ctx.kernel,
             f"root={root} ro rd.shell=0 rd.emergency=poweroff rd.timeout=60 "
             "systemd.status_unit_format=name")
    return disk, before, b


def log_order(b, *needles):
    at = -1
    for needle in needles:
        pos = b.log.find(needle, at + 1)
        expect(pos > at, f"boot {b.name}: {needle!r} missing or out of order "
               f"(log: {LOGS / (b.name + '.log')})")
        at = pos


@scenario("6-dracut", provides=("dracut-initrd",), needs=("1-first-boot-512",))
def dracut(ctx):
    """A dracut 059 systemd initrd with our module (from make install): the unit runs after
    sysroot.mount and before initrd-root-fs.target, root grows live, switch-root reaches
    the real root, whose kernel view matches the table. The root is named by its file
    system UUID, which only a run after sysroot.mount can follow to the disk."""
    try:
        initrd = dracut_initrd(ctx.kernel, ctx.progs)
    except Exception:
        ctx.publish("dracut-initrd", None)
        raise
    ctx.publish("dracut-initrd", initrd)
    disk, _, b = dracut_boot(ctx, "dracut", ctx.base512, root=f"UUID={ROOT_FS_UUID}")
    expect_status(b, 0)
    log_order(b, "Mounted sysroot.mount", "Starting repart-rs-initrd.service",
              "Finished repart-rs-initrd.service", "Reached target initrd-root-fs.target",
              "ROOT: reached real root")
    t = check_first_boot_table(disk, 512, ctx.base512)
    check_kernel_view(b, t, "ROOTPART ")
    _, reference = ctx.need("first-512")
    same_table(t, reference, "dracut vs first boot (same machine-id)")

    # A root file system on the whole disk, no GPT: the agent exits 77, which the unit
    # counts as success, and writes no table (the first 1 KiB and the last MiB stay as they
    # were; fsck and the mount update the ext4 superblock after them).
    disk = ctx.whole_disk_root
    size = os.path.getsize(disk)
    before = (sha256(disk, 0, 1024), sha256(disk, size - MIB, MIB))
    disk, _, b = dracut_boot(ctx, "dracut-no-gpt", disk, root="/dev/vda")
    expect_status(b, 0)
    log_order(b, "Mounted sysroot.mount", "Starting repart-rs-initrd.service",
              "Disk /dev/vda has no GPT disk label, not repartitioning.",
              "Finished repart-rs-initrd.service", "ROOT: reached real root")
    expect((sha256(disk, 0, 1024), sha256(disk, size - MIB, MIB)) == before,
           "a table was written to the disk without a GPT")


@scenario("6-dracut-shell", needs=("1-first-boot-512",))
def dracut_shell(ctx):
    """A dracut 059 initrd without systemd: the module's pre-pivot hook runs the agent on
    $NEWROOT after dracut mounted the root, root grows live, the real root is reached."""
    initrd = dracut_initrd(ctx.kernel, ctx.progs, systemd=False)
    disk, _, b = dracut_boot(ctx, "dracut-shell", ctx.base512, initrd)
    expect_status(b, 0)
    log_order(b, "dracut: Mounted root filesystem /dev/vda2",
              "repart[", "Using disk /dev/vda (found behind /sysroot",
              "Partition table written.", "dracut: Switching root", "ROOT: reached real root")
    t = check_first_boot_table(disk, 512, ctx.base512)
    check_kernel_view(b, t, "ROOTPART ")
    _, reference = ctx.need("first-512")
    same_table(t, reference, "dracut without systemd vs first boot (same machine-id)")


@scenario("6-dracut-definitions")
def dracut_definitions(ctx):
    """The module copies the build host's definitions: /usr/local/lib/repart.d always,
    /etc/repart.d in host-only mode. The host's /etc and /usr/local are overlaid in a
    private mount namespace, so the build host is not touched."""
    scratch = RUNS / "dracut-definitions"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    out = WORK / "initrd-dracut-hostonly.img"
    k = ctx.kernel
    script = f"""
set -e
mount -t tmpfs tmpfs {scratch}
mkdir -p {scratch}/etc-up {scratch}/etc-work {scratch}/local-up {scratch}/local-work
mount -t overlay overlay -o lowerdir=/etc,upperdir={scratch}/etc-up,workdir={scratch}/etc-work /etc
mount -t overlay overlay -o lowerdir=/usr/local,upperdir={scratch}/local-up,workdir={scratch}/local-work /usr/local
mkdir -p /etc/repart.d /usr/local/lib/repart.d
printf '[Partition]\nType=home\n' > /etc/repart.d/50-host.conf
printf '[Partition]\nType=swap\n' > /usr/local/lib/repart.d/60-local.conf
exec dracut --force --quiet --hostonly --no-early-microcode --kver {k.kver} \
    --kmoddir {k.moddir} -m 'base repart-rs' --compress gzip {out}
"""
    sh("unshare", "-m", "--propagation", "private", "sh", "-c", script,
       env={"dracutbasedir": str(WORK / "dracut-base"),
            "repart_rs_binary": str(ctx.progs["repart"])})
    listing = sh("lsinitrd", out, env={"dracutbasedir": str(WORK / "dracut-base")})
    for path in ("etc/repart.d/50-host.conf", "usr/local/lib/repart.d/60-local.conf",
                 "usr/bin/repart", "hooks/pre-pivot/50-repart-rs-pre-pivot.sh"):
        expect(path in listing, f"host-only dracut initrd lacks {path}:\n{listing}")
    expect(not (Path("/etc/repart.d/50-host.conf").exists() or
                Path("/usr/local/lib/repart.d/60-local.conf").exists()),
           "the build host was changed")


@scenario("7-mkinitcpio-hook", needs=("1-first-boot-512",))
def mkinitcpio_hook(ctx):
    """The mkinitcpio install hook against stubs of mkinitcpio's add_* helpers, then the
    runtime hook in a busybox initrd whose init mounts the root at /new_root, sources the
    hook and calls run_latehook, then switches root."""
    out = sh("bash", HERE / "mkinitcpio-install-test.sh", ctx.progs["dest"])
    say("  " + out.strip().replace("\n", "\n  "))
    disk = fresh_copy(ctx.base512, "mkinitcpio.img")
    b = boot("mkinitcpio", disk, ctx.initrd, ctx.kernel, BUSYBOX_ARGS + " t.hook")
    expect_status(b, 0)
    log_order(b, "INIT: late hook done", "ROOT: reached real root")
    expect("ERROR:" not in b.log, "the hook reported an error")
    t = check_first_boot_table(disk, 512, ctx.base512)
    check_kernel_view(b, t, "ROOTPART ")
    check_dmesg(b, "Using disk /dev/vda (found behind /new_root")
    _, reference = ctx.need("first-512")
    same_table(t, reference, "mkinitcpio vs first boot (same machine-id)")


@scenario("8-power-cut", needs=("1-first-boot-512", "1-first-boot-4k"))
def power_cut(ctx):
    """The guest stops hard at a failpoint (failpoints build, REPART_FAILPOINT from the
    kernel command line); the next boot (normal build) converges to the table of an
    uninterrupted first boot."""
    errors = []
    threads = []

    def one(fp, ss, left, root):
        CURRENT.scenario = "8-power-cut"
        try:
            base = ctx.base512 if ss == 512 else ctx.base4k
            root = f"quiet {root}"
            how = "uuid" if "PARTUUID" in root else "gpt" if root.endswith(" gpt") else "dev"
            name = f"cut-{ss}-{fp.replace(':', '-')}-{how}"
            disk = fresh_copy(base, f"{name}.img")
            b = boot(name, disk, ctx.initrd, ctx.kernel, f"{root} t.fp={fp}",
                     sector_size=ss)
            expect_status(b, 99)
            expect("INIT: power cut" in b.log, f"{name}: no power cut")
            count = gpt.primary_partition_count(disk, ss)
            want = {"old": 2, "new": 4, None: None}[left]
            expect(count == want, f"{name}: the primary GPT holds {count} partitions after "
                   f"the cut, expected {want}")
            b2 = boot(f"{name}-again", disk, ctx.initrd, ctx.kernel, root, sector_size=ss)
            expect_status(b2, 0)
            t = check_first_boot_table(disk, ss, base)
            check_kernel_view(b2, t)
            _, reference = ctx.need("first-512" if ss == 512 else "first-4k")
            same_table(t, reference, f"{name}: after the power cut vs uninterrupted")
            repart_dry_run(ctx, disk)
        except Exception as e:  # collected, so every failpoint runs
            errors.append(f"{fp} ({ss}, {root}): {e}")

    for case in POWER_CUTS:
        th = threading.Thread(target=one, args=case)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    expect(not errors, "; ".join(errors))


@scenario("9-bad-input", needs=("6-dracut",))
def bad_input(ctx):
    """A broken repart.d file, and a GPT with overlapping partitions: the agent fails (exit
    1) with a message naming the problem in the kernel log, the disk is unchanged, the
    init reaches its end. Under dracut a broken definition in the root fails the unit and
    switch-root still happens."""
    disk = fresh_copy(ctx.base512, "bad-conf.img")
    before = sha256(disk)
    b = boot("bad-conf", disk, ctx.initrd, ctx.kernel, BUSYBOX_ARGS + " t.broken")
    expect_status(b, 1)
    check_dmesg(b, "/etc/repart.d/15-broken.conf:3: SizeMinBytes=ten: invalid size")
    expect("INIT: end of init" in b.log, "init did not reach its end")
    expect(sha256(disk) == before, "the disk changed")

    disk = fresh_copy(ctx.base512, "bad-gpt.img")
    gpt.write(disk, BASE_SIZE, 512, DISK_GUID,
              [ESP, (2, 8 * MIB, ROOT[2], ROOT[3], ROOT[4], ROOT[5])])
    before = sha256(disk)
    b = boot("bad-gpt", disk, ctx.initrd, ctx.kernel, BUSYBOX_ARGS)
    expect_status(b, 1)
    check_dmesg(b, "GPT: partitions 1 (LBA 2048..=34815) and 2 (LBA 16384..=147455) overlap")
    expect("INIT: end of init" in b.log, "init did not reach its end")
    expect(sha256(disk) == before, "the disk changed")

    disk, before, b = dracut_boot(ctx, "bad-dracut", ctx.base512_broken)
    expect_status(b, 0)
    log_order(b, "Mounted sysroot.mount", "Starting repart-rs-initrd.service",
              "Failed to start repart-rs-initrd.service", "ROOT: reached real root")
    expect("15-broken.conf:3: SizeMinBytes=ten: invalid size" in b.log,
           "the agent's message is not in the boot log")
    expect(sha256(disk) == before, "the disk changed")


# ---------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, fn, _, _ in SCENARIOS:
            print(f"{name}: {' '.join(fn.__doc__.split())}")
        return 0
    chosen = [s for s in SCENARIOS if not args.scenarios or
              any(s[0].startswith(a) for a in args.scenarios)]
    if not chosen:
        raise SystemExit(f"no scenario matches {args.scenarios}")
    if os.geteuid() != 0:
        raise SystemExit("qemu-tests: run as root")
    check_tools()
    for d in (LOGS, RUNS):
        d.mkdir(parents=True, exist_ok=True)
    say(f"accelerator: {ACCEL}")
    t0 = time.monotonic()
    ctx = Context()
    ctx.kernel = fetch_kernel()
    say(f"kernel: {ctx.kernel.kver}")
    ctx.progs = build_programs()
    ctx.initrd = busybox_initrd(ctx.kernel, ctx.progs)
    dracut_base(ctx.progs)
    tree = root_tree(ctx.progs)
    ctx.base512 = base_image("base-512.img", 512, tree)
    ctx.base4k = base_image("base-4k.img", 4096, tree)
    ctx.whole_disk_root = whole_disk_root(tree)
    ctx.base512_broken = base_image("base-512-broken.img", 512, root_tree(ctx.progs, True))
    say(f"prepared in {time.monotonic() - t0:.1f} s")

    results = {}
    chosen_names = {s[0] for s in chosen}
    for _ in SCENARIOS:  # add what the chosen scenarios need, transitively
        for name, _, _, needs in SCENARIOS:
            if name in chosen_names:
                chosen_names.update(needs)

    def run(name, fn, provides, _needs):
        CURRENT.scenario = name
        start = time.monotonic()
        try:
            fn(ctx)
            results[name] = ("PASS", time.monotonic() - start, "")
        except Exception as e:
            detail = str(e) if isinstance(e, Failed) else traceback.format_exc()
            results[name] = ("FAIL", time.monotonic() - start, detail)
            for key in provides:
                if key not in ctx.values:
                    ctx.publish(key, None)
        say(f"{results[name][0]} {name} ({results[name][1]:.1f} s)")

    threads = [threading.Thread(target=run, args=s) for s in SCENARIOS if s[0] in chosen_names]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    say("")
    failed = 0
    for name, *_ in SCENARIOS:
        if name in results:
            status, seconds, detail = results[name]
            boots, in_qemu = BOOT_TIMES.get(name, (0, 0.0))
            # Wall time includes waiting for the scenarios it needs and for a QEMU slot.
            say(f"{status} {name:26} {seconds:6.1f} s wall, {boots:2} boots, "
                f"{in_qemu:6.1f} s in QEMU  {detail}")
            failed += status != "PASS"
    passed = len(results) - failed
    say(f"qemu-tests: {passed} passed, {failed} failed ({time.monotonic() - t0:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
