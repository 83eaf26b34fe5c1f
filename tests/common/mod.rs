//! Shared helpers for the tests that run the `repart` binary on image files and loop devices:
//! scratch directories, loop devices and mounts that clean up after themselves (also when an
//! assertion fails), running our binary and the reference systemd-repart, reading results
//! back (our GPT parser, sysfs, sfdisk, blkid, wipefs), and the standard test disks.
//!
//! Tests need root (loop devices, mounts, BLKPG), as in CI.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use repart_rs::disk::{self, DevNum};
use repart_rs::error::{Error, Result};
use repart_rs::gpt::{self, Probe, ReadAt, Table};
use sha2::{Digest, Sha256};

pub const MIB: u64 = 1 << 20;
/// The seed every run uses, so that UUIDs (and so whole tables) are comparable.
pub const SEED: &str = "e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1";
/// root-x86-64: what `Type=root` means on the machines the tests run on.
pub const ROOT_X86_64: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
/// The status of a process stopped at a failpoint.
pub const FAILPOINT_EXIT: i32 = 99;

/// The crate's directory (where tests/oracle/run.sh lives).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory, removed on drop. Declare it before the loop devices and mounts that
/// live in it, so that they are dropped (detached, unmounted) first.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        Scratch::new_in(&std::env::temp_dir(), name)
    }

    /// A scratch directory in memory (/dev/shm) where there is one, for tests that sync a
    /// lot: syncing costs nothing there. Elsewhere like [`Scratch::new`].
    pub fn new_in_memory(name: &str) -> Scratch {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            Scratch::new_in(shm, name)
        } else {
            Scratch::new(name)
        }
    }

    fn new_in(base: &Path, name: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = base.join(format!(
            "repart-rs-agent-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A sparse, all-zero image of `size` bytes.
    pub fn image(&self, name: &str, size: u64) -> PathBuf {
        let path = self.path(name);
        File::create(&path).unwrap().set_len(size).unwrap();
        path
    }

    pub fn subdir(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// A definitions directory `name` holding `files` (file name, contents).
    pub fn defs(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.subdir(name);
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Never follow a mount that a failed test left behind into someone else's files.
        let mounted = std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.split(' ')
                    .nth(1)
                    .is_some_and(|m| Path::new(m).starts_with(&self.dir))
            });
        if !mounted {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs a program, asserting success; returns its stdout.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    succeeded(program, args, out)
}

/// The stdout of a finished `program`, asserting it succeeded.
fn succeeded(program: &str, args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a program with `stdin` as its input, asserting success; returns its stdout.
pub fn sh_input(
    program: &str,
    args: &[&str],
    dir: &Path,
    env: &[(&str, &str)],
    stdin: &str,
) -> String {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    succeeded(program, args, child.wait_with_output().unwrap())
}

/// What a finished process said and how it ended.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn from(out: Output) -> Outcome {
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts exit status `code`, showing the output otherwise.
    pub fn expect(&self, code: i32, what: &str) -> &Outcome {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: unexpected exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn ok(&self, what: &str) -> &Outcome {
        self.expect(0, what)
    }

    /// Whether the log (stderr) has a line equal to `line`.
    pub fn logged(&self, line: &str) -> bool {
        self.stderr.lines().any(|l| l == line)
    }
}

/// The `repart` binary to run.
pub struct Agent {
    pub bin: PathBuf,
}

impl Agent {
    /// The binary cargo built for these tests.
    pub fn plain() -> Agent {
        Agent {
            bin: PathBuf::from(env!("CARGO_BIN_EXE_repart")),
        }
    }

    /// A binary built with the `failpoints` feature: this one when the tests themselves are
    /// built with it, else one built once (per test process) into target/failpoints. Never a
    /// binary without failpoints: the build failing fails the test.
    pub fn failpoints() -> Agent {
        static BIN: OnceLock<PathBuf> = OnceLock::new();
        let bin = BIN.get_or_init(|| {
            if cfg!(feature = "failpoints") {
                return PathBuf::from(env!("CARGO_BIN_EXE_repart"));
            }
            let target = manifest_dir().join("target").join("failpoints");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--offline",
                    "--features",
                    "failpoints",
                    "--bin",
                    "repart",
                ])
                .arg("--target-dir")
                .arg(&target)
                .current_dir(manifest_dir())
                .status()
                .expect("running cargo to build the failpoints binary");
            assert!(
                status.success(),
                "building repart with --features failpoints failed"
            );
            target.join("debug").join("repart")
        });
        Agent { bin: bin.clone() }
    }

    pub fn run(&self, args: &[impl AsRef<OsStr>]) -> Outcome {
        self.run_env(args, &[])
    }

    /// Runs the binary with extra environment variables (e.g. `REPART_FAILPOINT`).
    pub fn run_env(&self, args: &[impl AsRef<OsStr>], env: &[(&str, &str)]) -> Outcome {
        let out = Command::new(&self.bin)
            .args(args)
            .env_remove("REPART_FAILPOINT")
            .env_remove("SYSTEMD_IN_INITRD")
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Outcome::from(out)
    }
}

/// The usual flags of a real run: `--dry-run=no --seed=SEED --definitions=DEFS`, then
/// `extra`, then the target.
pub fn real_run_args<'a>(defs: &'a Path, target: &'a Path, extra: &[&'a str]) -> Vec<String> {
    let mut args = vec![
        "--dry-run=no".to_owned(),
        format!("--seed={SEED}"),
        format!("--definitions={}", defs.display()),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push(target.display().to_string());
    args
}

/// Runs the reference systemd-repart 262 (tests/oracle/run.sh) in `dir`: paths below `dir`
/// mean the same files for it. Fails loudly when the reference is not installed.
pub fn oracle(dir: &Path, args: &[&str]) -> Outcome {
    oracle_tool(dir, "systemd-repart", args)
}

/// Runs `tool` from the reference chroot (e.g. `sfdisk`, which has `--sector-size`) in `dir`.
pub fn oracle_tool(dir: &Path, tool: &str, args: &[&str]) -> Outcome {
    let _no_mounts = no_mounts();
    let out = Command::new(manifest_dir().join("tests/oracle/run.sh"))
        .args(args)
        .current_dir(dir)
        .env("REPART_ORACLE_CMD", tool)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let outcome = Outcome::from(out);
    assert_ne!(
        outcome.code,
        Some(2).filter(|_| outcome.stderr.contains("reference missing")),
        "the reference systemd-repart is not installed: run tests/oracle/setup.sh"
    );
    outcome
}

/// `sfdisk -d` of an image or device: the host's for devices (it uses their sector size)
/// and 512-byte-sector images, the reference chroot's (which knows `--sector-size`) for
/// 4096-byte-sector images. Asserts that sfdisk succeeds.
pub fn sfdisk_dump(path: &Path, sector_size: u32) -> String {
    sfdisk_try(path, sector_size).unwrap_or_else(|e| panic!("{e}"))
}

/// [`sfdisk_dump`], returning sfdisk's complaint instead of panicking.
pub fn sfdisk_try(path: &Path, sector_size: u32) -> std::result::Result<String, String> {
    use std::os::unix::fs::FileTypeExt;
    let device = std::fs::metadata(path)
        .unwrap()
        .file_type()
        .is_block_device();
    let out = if sector_size == 512 || device {
        let out = Command::new("sfdisk").arg("-d").arg(path).output().unwrap();
        Outcome::from(out)
    } else {
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        oracle_tool(dir, "sfdisk", &["--sector-size", "4096", "-d", name])
    };
    match out.code {
        Some(0) => Ok(out.stdout),
        _ => Err(format!("sfdisk -d {}: {}", path.display(), out.stderr)),
    }
}

/// An attached loop device, detached on drop (with its partitions).
pub struct Loop {
    pub node: PathBuf,
}

impl Loop {
    /// `losetup --find --show -P [extra] IMAGE`.
    pub fn attach(image: &Path, extra: &[&str]) -> Loop {
        let mut args = vec!["--find", "--show", "-P"];
        args.extend_from_slice(extra);
        args.push(image.to_str().unwrap());
        Loop {
            node: PathBuf::from(sh("losetup", &args).trim()),
        }
    }

    pub fn name(&self) -> String {
        self.node
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    pub fn devnum(&self) -> DevNum {
        DevNum::from_dev(std::fs::metadata(&self.node).unwrap().rdev())
    }

    pub fn partition(&self, number: u32) -> PathBuf {
        PathBuf::from(format!("{}p{number}", self.node.display()))
    }

    /// Tells the kernel about the partitions of the table on the device (this kernel has no
    /// GPT parser), as a kernel that has one would have done at boot.
    pub fn partx_add(&self) {
        sh("partx", &["-a", self.node.to_str().unwrap()]);
    }

    /// The kernel's partitions: (number, start, size) in sysfs's 512-byte units.
    pub fn kernel_view(&self) -> Vec<(u32, u64, u64)> {
        disk::kernel_partitions(Path::new("/sys"), self.devnum())
            .unwrap()
            .iter()
            .map(|p| (p.number, p.start, p.size))
            .collect()
    }
}

impl Loop {
    /// Detaches now, asserting that it worked (dropping only tries).
    pub fn detach(self) {
        sh("losetup", &["-d", self.node.to_str().unwrap()]);
        std::mem::forget(self);
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.node).status();
    }
}

/// Mount namespaces copy every mount that exists when they are made, and the reference's
/// run.sh makes one (`unshare --mount`) for each call: a file system a test mounted
/// meanwhile lives on in that copy after the test unmounts it, still claiming its device and
/// with its data not yet written. So mounts hold this lock shared, and runs of the reference
/// take it exclusively (a test never calls the reference while it holds a mount).
static MOUNTS: RwLock<()> = RwLock::new(());

/// Keeps test mounts out while the reference runs.
fn no_mounts() -> RwLockWriteGuard<'static, ()> {
    MOUNTS.write().unwrap_or_else(|e| e.into_inner())
}

/// A mounted file system, unmounted on drop.
pub struct Mount {
    pub dir: PathBuf,
    /// The block device mounted, if it is one.
    device: Option<PathBuf>,
    _shared: RwLockReadGuard<'static, ()>,
}

impl Mount {
    /// `mount ARGS... DIR`.
    pub fn new(args: &[&str], dir: &Path) -> Mount {
        use std::os::unix::fs::FileTypeExt;
        let shared = MOUNTS.read().unwrap_or_else(|e| e.into_inner());
        std::fs::create_dir_all(dir).unwrap();
        let mut all = args.to_vec();
        all.push(dir.to_str().unwrap());
        sh("mount", &all);
        let device = args
            .iter()
            .map(PathBuf::from)
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device()));
        Mount {
            dir: dir.to_owned(),
            device,
            _shared: shared,
        }
    }

    /// Unmounts now, asserting that it worked and that the file system is gone everywhere
    /// (another process's mount namespace may hold a copy for a while).
    pub fn unmount(mut self) {
        sh("umount", &[self.dir.to_str().unwrap()]);
        if let Some(device) = &self.device {
            wait_until_unclaimed(device);
        }
        // Nothing left for drop() to do but release the lock.
        self.dir = PathBuf::new();
    }
}

/// Waits (up to a minute) until nothing claims `device` exclusively any more.
fn wait_until_unclaimed(device: &Path) {
    use rustix::fs::{Mode, OFlags, open};
    for _ in 0..600 {
        match open(
            device,
            OFlags::RDONLY | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(_) => return,
            Err(rustix::io::Errno::BUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(e) => panic!("opening {} exclusively: {e}", device.display()),
        }
    }
    panic!(
        "{} is still claimed a minute after it was unmounted",
        device.display()
    );
}

impl Drop for Mount {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = Command::new("umount").arg(&self.dir).status();
        }
    }
}

/// Positioned reads of a file or block device, for our GPT parser.
struct FileAt(File);

impl ReadAt for FileAt {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.0
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(format!("reading at byte {offset}"), e))
    }
}

/// The size of an image file or block device.
pub fn disk_size(path: &Path) -> u64 {
    File::open(path).unwrap().seek(SeekFrom::End(0)).unwrap()
}

/// What our GPT parser makes of the disk.
pub fn probe(path: &Path, sector_size: u32) -> Result<Probe> {
    let mut src = FileAt(File::open(path).unwrap());
    gpt::read(&mut src, disk_size(path), sector_size)
}

/// The disk's GPT (as our parser reads and repairs it in memory), or `None` without one.
/// Panics if the parser rejects the disk.
pub fn gpt(path: &Path, sector_size: u32) -> Option<Table> {
    match probe(path, sector_size) {
        Ok(Probe::Gpt(loaded)) => Some(loaded.table),
        Ok(Probe::NoTable(_)) => None,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// The disk's GPT, which must exist and need no repair.
pub fn clean_gpt(path: &Path, sector_size: u32) -> Table {
    match probe(path, sector_size) {
        Ok(Probe::Gpt(loaded)) => {
            assert!(
                !loaded.needs_rewrite,
                "{}: the table needs repairs: {:?}",
                path.display(),
                loaded.notices
            );
            loaded.table
        }
        other => panic!("{}: no clean GPT: {other:?}", path.display()),
    }
}

/// One used entry of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub first_lba: u64,
    pub last_lba: u64,
    pub type_guid: String,
    pub uuid: String,
    pub name: String,
}

impl Part {
    /// First byte.
    pub fn offset(&self, sector_size: u32) -> u64 {
        self.first_lba * u64::from(sector_size)
    }

    /// Length in bytes.
    pub fn size(&self, sector_size: u32) -> u64 {
        (self.last_lba + 1 - self.first_lba) * u64::from(sector_size)
    }
}

/// The used entries of `table`, by number.
pub fn parts(table: &Table) -> Vec<Part> {
    table
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_used())
        .map(|(i, e)| Part {
            number: i as u32 + 1,
            first_lba: e.first_lba,
            last_lba: e.last_lba,
            type_guid: e.type_guid.to_string(),
            uuid: e.unique_guid.to_string(),
            name: e.name_lossy(),
        })
        .collect()
}

/// The entry named `name`.
pub fn part(table: &Table, name: &str) -> Part {
    parts(table)
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no partition named {name} in {:#?}", parts(table)))
}

/// The table's partitions as the kernel should see them: (number, start, size) in 512-byte
/// units, whatever the sector size.
pub fn kernel_units(table: &Table) -> Vec<(u32, u64, u64)> {
    let k = u64::from(table.sector_size) / 512;
    parts(table)
        .iter()
        .map(|p| {
            (
                p.number,
                p.first_lba * k,
                (p.last_lba + 1 - p.first_lba) * k,
            )
        })
        .collect()
}

/// The bytes of both GPT copies and what lies between them and the usable area: everything
/// before the first usable LBA and everything after the last one.
pub fn gpt_regions(path: &Path, table: &Table) -> Vec<u8> {
    let ss = u64::from(table.sector_size);
    let head = table.first_usable_lba * ss;
    let tail_start = (table.last_usable_lba + 1) * ss;
    let mut bytes = read_bytes(path, 0, head);
    bytes.extend(read_bytes(path, tail_start, disk_size(path) - tail_start));
    bytes
}

pub fn read_bytes(path: &Path, offset: u64, len: u64) -> Vec<u8> {
    let mut buf = vec![0u8; len as usize];
    File::open(path)
        .unwrap()
        .read_exact_at(&mut buf, offset)
        .unwrap();
    buf
}

pub fn write_bytes(path: &Path, offset: u64, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(bytes, offset).unwrap();
    file.sync_all().unwrap();
}

/// SHA-256 of `len` bytes at `offset`.
pub fn hash(path: &Path, offset: u64, len: u64) -> [u8; 32] {
    let file = File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; MIB as usize];
    let mut at = offset;
    while at < offset + len {
        let n = (offset + len - at).min(MIB) as usize;
        file.read_exact_at(&mut buf[..n], at).unwrap();
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    hasher.finalize().into()
}

/// SHA-256 of the whole file or device.
pub fn hash_all(path: &Path) -> [u8; 32] {
    hash(path, 0, disk_size(path))
}

/// Fills `len` bytes at `offset` with a pattern derived from `seed` (no zero bytes, so that
/// nothing of it looks like a hole or an erased region).
pub fn fill_pattern(path: &Path, offset: u64, len: u64, seed: u8) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    let mut block = vec![0u8; MIB as usize];
    let mut at = offset;
    let mut counter = 0u64;
    while at < offset + len {
        for (i, b) in block.iter_mut().enumerate() {
            *b = ((counter as usize * 131 + i * 7 + usize::from(seed)) % 255 + 1) as u8;
        }
        let n = (offset + len - at).min(MIB) as usize;
        file.write_all_at(&block[..n], at).unwrap();
        at += n as u64;
        counter += 1;
    }
    file.sync_all().unwrap();
}

/// Copies an image, keeping it sparse.
pub fn copy_sparse(from: &Path, to: &Path) {
    sh(
        "cp",
        &[
            "--sparse=always",
            from.to_str().unwrap(),
            to.to_str().unwrap(),
        ],
    );
}

/// Bytes of `[offset, offset + len)` the file has data for (not holes), by SEEK_DATA and
/// SEEK_HOLE.
pub fn data_bytes(path: &Path, offset: u64, len: u64) -> u64 {
    use rustix::fs::{SeekFrom as RSeek, seek};
    let file = File::open(path).unwrap();
    let end = offset + len;
    let mut at = offset;
    let mut total = 0;
    while at < end {
        let Ok(data) = seek(&file, RSeek::Data(at)) else {
            break; // ENXIO: no data after `at`
        };
        if data >= end {
            break;
        }
        let hole = seek(&file, RSeek::Hole(data)).unwrap().min(end);
        total += hole - data;
        at = hole;
    }
    total
}

/// The signatures `wipefs --no-act` finds in `path` (or in `len` bytes at `offset` of it):
/// one "OFFSET TYPE" line each.
pub fn wipefs(path: &Path, range: Option<(u64, u64)>) -> Vec<String> {
    let target = match range {
        None => path.to_owned(),
        Some((offset, len)) => {
            // wipefs has no offset option: look through a loop device over the range.
            let lo = sh(
                "losetup",
                &[
                    "--find",
                    "--show",
                    "--read-only",
                    "--offset",
                    &offset.to_string(),
                    "--sizelimit",
                    &len.to_string(),
                    path.to_str().unwrap(),
                ],
            );
            let lo = Loop {
                node: PathBuf::from(lo.trim()),
            };
            return wipefs(&lo.node.clone(), None);
        }
    };
    sh(
        "wipefs",
        &[
            "--no-act",
            "--noheadings",
            "--output",
            "OFFSET,TYPE",
            target.to_str().unwrap(),
        ],
    )
    .lines()
    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    .filter(|l| !l.is_empty())
    .collect()
}

/// What `blkid -p` finds in `path` (or in `len` bytes at `offset` of it), without the
/// partition-entry fields blkid adds for partition nodes: `KEY=value` lines.
pub fn blkid(path: &Path, range: Option<(u64, u64)>) -> Vec<String> {
    let mut args = vec!["-p".to_owned(), "-o".to_owned(), "export".to_owned()];
    if let Some((offset, len)) = range {
        args.extend([
            "-O".to_owned(),
            offset.to_string(),
            "-S".to_owned(),
            len.to_string(),
        ]);
    }
    args.push(path.display().to_string());
    let out = Command::new("blkid").args(&args).output().unwrap();
    // Exit status 2: nothing found.
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "blkid {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("DEVNAME=") && !l.starts_with("PART_ENTRY_"))
        .map(str::to_owned)
        .collect()
}

/// The standard definitions: root (grows into all free space), home (32 MiB) and swap
/// (8 MiB).
pub fn standard_defs(scratch: &Scratch) -> PathBuf {
    scratch.defs(
        "defs",
        &[
            ("10-root.conf", "[Partition]\nType=root\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nSizeMinBytes=32M\nSizeMaxBytes=32M\n",
            ),
            (
                "30-swap.conf",
                "[Partition]\nType=swap\nSizeMinBytes=8M\nSizeMaxBytes=8M\n",
            ),
        ],
    )
}

/// The standard grown disk: a 32 MiB image with one 16 MiB root partition at 1 MiB (made by
/// sfdisk; the reference chroot's for 4096-byte sectors) filled with a pattern, then grown
/// to 128 MiB, as a disk image written at build time and put on a larger disk.
pub fn grown_disk(scratch: &Scratch, name: &str, sector_size: u32) -> PathBuf {
    let image = scratch.image(name, 32 * MIB);
    let script =
        format!("label: gpt\nstart=1MiB, size=16MiB, type={ROOT_X86_64}, name=\"root-x86-64\"\n");
    if sector_size == 512 {
        sh_input("sfdisk", &["-q", name], &scratch.dir, &[], &script);
    } else {
        let _no_mounts = no_mounts();
        sh_input(
            manifest_dir().join("tests/oracle/run.sh").to_str().unwrap(),
            &["--sector-size", "4096", "-q", name],
            &scratch.dir,
            &[("REPART_ORACLE_CMD", "sfdisk")],
            &script,
        );
    }
    fill_pattern(&image, MIB, 16 * MIB, 1);
    File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(128 * MIB)
        .unwrap();
    image
}

/// Definitions with a factory-resettable home after root.
pub fn factory_reset_defs(s: &Scratch) -> PathBuf {
    s.defs(
        "defs-reset",
        &[
            ("10-root.conf", "[Partition]\nType=root\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nFactoryReset=yes\nSizeMinBytes=32M\nSizeMaxBytes=32M\n",
            ),
        ],
    )
}

pub const OLD_HOME_MARKER: &[u8] = b"OLD-HOME-DATA-MARKER";

/// A 96 MiB disk laid out by the agent for `defs` (root + home), with an ext4 file system
/// on root and one on home holding a file full of [`OLD_HOME_MARKER`] (plus the marker
/// written raw into home's last 4 KiB), then grown to 128 MiB.
pub fn used_disk_with_home(s: &Scratch, defs: &Path) -> PathBuf {
    let image = s.image("disk.img", 96 * MIB);
    Agent::plain()
        .run(&real_run_args(defs, &image, &["--empty=force"]))
        .ok("initial layout");
    {
        let lo = Loop::attach(&image, &[]);
        lo.partx_add();
        let table = clean_gpt(&image, 512);
        assert_eq!(
            lo.kernel_view(),
            kernel_units(&table),
            "{} read through {}: {:?}",
            image.display(),
            lo.node.display(),
            parts(&clean_gpt(&lo.node, 512))
        );
        for n in [1, 2] {
            let node = DevNum::from_dev(std::fs::metadata(lo.partition(n)).unwrap().rdev());
            let sys =
                std::fs::read_to_string(format!("/sys/class/block/{}p{n}/dev", lo.name())).unwrap();
            assert_eq!(
                format!("{}:{}", node.major, node.minor),
                sys.trim(),
                "{}p{n}: node and sysfs disagree",
                lo.name()
            );
            sh(
                "mkfs.ext4",
                &["-q", "-F", lo.partition(n).to_str().unwrap()],
            );
        }
        let mnt = s.path("mnt-home");
        let home = Mount::new(&[lo.partition(2).to_str().unwrap()], &mnt);
        let data: Vec<u8> = OLD_HOME_MARKER
            .iter()
            .copied()
            .chain(*b"\n")
            .cycle()
            .take(4 * MIB as usize)
            .collect();
        std::fs::write(mnt.join("data"), data).unwrap();
        home.unmount();
        let home = part(&clean_gpt(&lo.node, 512), "home");
        let tail = home.offset(512) + home.size(512) - 4096;
        let mut raw = OLD_HOME_MARKER.repeat(4096 / OLD_HOME_MARKER.len());
        raw.resize(4096, b'\n');
        write_bytes(&lo.node, tail, &raw);
        lo.detach();
    }
    File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(128 * MIB)
        .unwrap();
    image
}
