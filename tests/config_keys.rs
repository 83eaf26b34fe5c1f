//! The `[Partition]` keys, driven through the pure entry point `parse_definition`.
//!
//! Every expectation was measured on systemd-repart 262 (the oracle) unless a comment says
//! it is a decision of ours; the oracle's output is summarised next to each case.

use std::path::Path;

use repart_rs::config::definition::{Definition, Encrypt, Minimize, UuidSetting, Verity};
use repart_rs::config::specifier::SpecifierContext;
use repart_rs::config::types::Arch;
use repart_rs::config::{Diagnostic, ParseContext, Source, parse_definition};
use repart_rs::error::ErrorKind;

const FILE: &str = "/etc/repart.d/50-test.conf";

fn specifiers() -> SpecifierContext {
    SpecifierContext {
        architecture: Some("x86-64".into()),
        os_id: Some("debian".into()),
        version_id: Some(String::new()),
        machine_id: Some("125f080026be45b283aa97959344d71c".into()),
        ..SpecifierContext::default()
    }
}

/// Parses `main` and `dropins` (given as texts); returns the result and every diagnostic.
fn parse_with(
    main: &str,
    dropins: &[&str],
    arch: Option<Arch>,
) -> (repart_rs::error::Result<Definition>, Vec<Diagnostic>) {
    let specifiers = specifiers();
    let ctx = ParseContext {
        specifiers: &specifiers,
        architecture: arch,
    };
    let names: Vec<String> = (0..dropins.len())
        .map(|i| format!("/etc/repart.d/50-test.conf.d/{i}.conf"))
        .collect();
    let dropins: Vec<Source> = dropins
        .iter()
        .zip(&names)
        .map(|(text, name)| Source {
            path: Path::new(name),
            display: name,
            bytes: text.as_bytes(),
        })
        .collect();
    let main = Source {
        path: Path::new(FILE),
        display: FILE,
        bytes: main.as_bytes(),
    };
    let mut diags = Vec::new();
    let result = parse_definition(&main, &dropins, &ctx, &mut diags);
    (result, diags)
}

/// Parses `[Partition]` plus `body`; the definition and the warning messages.
fn parse(body: &str) -> (Definition, Vec<String>) {
    let (result, diags) = parse_with(&format!("[Partition]\n{body}\n"), &[], None);
    let definition = result.unwrap_or_else(|e| panic!("{body:?}: {e}"));
    let warnings = diags
        .into_iter()
        .filter(|d| d.level <= log::Level::Warn)
        .map(|d| d.message)
        .collect();
    (definition, warnings)
}

/// Parses and expects a fatal error; returns its message.
fn fatal(body: &str) -> String {
    let (result, _) = parse_with(&format!("[Partition]\n{body}\n"), &[], None);
    let e = result.expect_err(body);
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e.to_string()
}

/// Parses and expects exactly one warning, starting with `prefix`.
fn warns(body: &str, prefix: &str) -> Definition {
    let (d, warnings) = parse(body);
    assert_eq!(warnings.len(), 1, "{body:?}: {warnings:?}");
    assert!(warnings[0].starts_with(prefix), "{body:?}: {warnings:?}");
    d
}

fn quiet(body: &str) -> Definition {
    let (d, warnings) = parse(body);
    assert!(warnings.is_empty(), "{body:?}: {warnings:?}");
    d
}

#[test]
fn all_47_keys_are_known_and_others_warned_about() {
    let keys = [
        "Type=home",
        "Label=x",
        "UUID=",
        "Priority=0",
        "Weight=1000",
        "PaddingWeight=0",
        "SizeMinBytes=0",
        "SizeMaxBytes=1G",
        "PaddingMinBytes=0",
        "PaddingMaxBytes=1G",
        "FactoryReset=no",
        "CopyBlocks=",
        "Format=ext4",
        "CopyFiles=/etc",
        "MakeDirectories=/a",
        "Encrypt=off",
        "Verity=off",
        "VerityMatchKey=",
        "Flags=0",
        "ReadOnly=",
        "NoAuto=",
        "GrowFileSystem=",
        "SplitName=%t",
        "Minimize=off",
        "ExcludeFiles=/x",
        "ExcludeFilesTarget=/y",
        "Subvolumes=/a",
        "VerityDataBlockSizeBytes=4K",
        "VerityHashBlockSizeBytes=4K",
        "DefaultSubvolume=/a",
        "FileSystemSectorSize=4096",
        "MountPoint=/srv",
        "EncryptedVolume=vol",
        "Compression=zstd",
        "CompressionLevel=3",
        "MakeSymlinks=/a:/b",
        "SupplementFor=",
        "AddValidateFS=",
        "VolumeLabel=v",
        "TPM2PCRs=7",
        "KeyFile=",
        "Integrity=off",
        "IntegrityAlgorithm=hmac-sha256",
        "EncryptKDF=",
        "Discard=",
        "BlockDeviceReplace=",
        "VolumeName=",
    ];
    assert_eq!(keys.len(), 47);
    quiet(&keys.join("\n"));
    let (_, warnings) = parse("Type=home\nUnknownKey=1\nX-Foo=1\nx-foo=1\ntype=home");
    assert_eq!(
        warnings,
        [
            format!("{FILE}:3: unknown key \"UnknownKey\" in section [Partition], ignoring"),
            format!("{FILE}:5: unknown key \"x-foo\" in section [Partition], ignoring"),
            format!("{FILE}:6: unknown key \"type\" in section [Partition], ignoring"),
        ]
    );
}

#[test]
fn type_is_required_and_validated() {
    assert_eq!(quiet("Type=home").partition_type.name(), Some("home"));
    assert_eq!(
        fatal("Type=foo"),
        format!(
            "{FILE}:2: Type=foo: unknown partition type (accepted: a type identifier such as \
             root, root-x86-64, esp, home or linux-generic, or a UUID)"
        )
    );
    assert!(fatal("Type=").starts_with(&format!("{FILE}:2: Type=: unknown partition type")));
    assert!(fatal("Type=home # x").starts_with(&format!("{FILE}:2: Type=home # x:")));
    assert!(fatal("Type=home\nType=").starts_with(&format!("{FILE}:3: Type=:")));
    assert_eq!(
        fatal("Label=x"),
        format!("{FILE}: Type= is not set, neither in the file nor in its drop-ins")
    );
    let (result, _) = parse_with("", &[], None);
    assert!(result.is_err());
    // A drop-in may change the type.
    let (result, _) = parse_with(
        "[Partition]\nType=var\n",
        &["[Partition]\nType=srv\n"],
        None,
    );
    assert_eq!(result.unwrap().partition_type.name(), Some("srv"));
}

#[test]
fn architecture_remaps_after_all_dropins() {
    let arm64 = Arch::from_name("arm64");
    let remapped = |text: &str| {
        let (r, _) = parse_with(text, &[], arm64);
        r.unwrap().partition_type.name()
    };
    assert_eq!(
        remapped("[Partition]\nType=root-x86-64-verity-sig\n"),
        Some("root-arm64-verity-sig")
    );
    assert_eq!(remapped("[Partition]\nType=home\n"), Some("home"));
    let (r, _) = parse_with("[Partition]\nType=usr\n", &[], Arch::from_name("x86"));
    assert_eq!(r.unwrap().partition_type.name(), Some("usr-x86"));
}

#[test]
fn labels() {
    assert_eq!(
        quiet("Type=home\nLabel=%a").label.as_deref(),
        Some("x86-64")
    );
    assert_eq!(quiet("Type=home\nLabel=%%").label.as_deref(), Some("%"));
    assert_eq!(
        quiet("Type=home\nLabel=\"a b\"").label.as_deref(),
        Some("\"a b\"")
    );
    assert_eq!(quiet("Type=home").label, None);
    // An empty Label= is a valid, empty label.
    assert_eq!(quiet("Type=home\nLabel=").label.as_deref(), Some(""));
    let long = "a".repeat(37);
    let d = warns(
        &format!("Type=home\nLabel=keep\nLabel={long}"),
        &format!("{FILE}:4: Label={long}: longer than 36 bytes once expanded, ignoring"),
    );
    assert_eq!(d.label.as_deref(), Some("keep"));
    assert_eq!(
        quiet(&format!("Type=home\nLabel={}", "é".repeat(18))).label,
        Some("é".repeat(18))
    );
    warns(
        &format!("Type=home\nLabel={}", "é".repeat(19)),
        &format!("{FILE}:3: Label="),
    );
    let d = warns(
        "Type=home\nLabel=%x",
        &format!("{FILE}:3: Label=%x: unknown specifier %x, ignoring"),
    );
    assert_eq!(d.label, None);
    warns(
        "Type=home\nLabel=%t",
        &format!("{FILE}:3: Label=%t: unknown specifier %t"),
    );
    warns(
        "Type=home\nLabel=%b",
        &format!("{FILE}:3: Label=%b: the value of %b is not available"),
    );
    assert_eq!(quiet("Type=home\nLabel=%w").label.as_deref(), Some(""));
}

#[test]
fn uuids() {
    let uuid = |body: &str| quiet(&format!("Type=home\n{body}")).uuid;
    assert_eq!(uuid("UUID=null"), UuidSetting::Null);
    assert_eq!(
        uuid("UUID=00000000-0000-0000-0000-000000000000"),
        UuidSetting::Null
    );
    assert_eq!(uuid("UUID="), UuidSetting::Derived);
    let fixed = UuidSetting::Fixed(uuid::Uuid::from_u128(
        0x12345678_1234_1234_1234_123456789abc,
    ));
    assert_eq!(uuid("UUID=12345678-1234-1234-1234-123456789abc"), fixed);
    assert_eq!(uuid("UUID=12345678123412341234123456789ABC"), fixed);
    assert_eq!(
        uuid("UUID=12345678-1234-1234-1234-123456789abc\nUUID="),
        UuidSetting::Derived
    );
    assert_eq!(
        uuid("UUID=12345678-1234-1234-1234-123456789abc\nUUID=null"),
        UuidSetting::Null
    );
    for bad in ["NULL", "x", "{12345678-1234-1234-1234-123456789abc}"] {
        let d = warns(
            &format!("Type=home\nUUID=null\nUUID={bad}"),
            &format!("{FILE}:4: UUID={bad}: not a UUID, ignoring"),
        );
        assert_eq!(d.uuid, UuidSetting::Null);
    }
}

#[test]
fn weights_priorities_and_flags() {
    let d = quiet("Type=home");
    assert_eq!(
        (d.weight, d.padding_weight, d.priority, d.flags),
        (1000, 0, 0, 0)
    );
    let d = quiet(
        "Type=home\nWeight=0x10\nPaddingWeight=010\nPriority=-0x10\nFlags=0x1000000000000000",
    );
    assert_eq!(
        (d.weight, d.padding_weight, d.priority, d.flags),
        (16, 8, -16, 1 << 60)
    );
    assert_eq!(quiet("Type=home\nWeight=1000000").weight, 1_000_000);
    for (body, line) in [
        ("Weight=1000001", "Weight=1000001: too large, ignoring"),
        ("Weight=-1", "Weight=-1: number out of range, ignoring"),
        ("Weight=", "Weight=: invalid number, ignoring"),
        ("Weight=08", "Weight=08: invalid number, ignoring"),
        (
            "PaddingWeight=0xfffff",
            "PaddingWeight=0xfffff: too large, ignoring",
        ),
        (
            "Priority=2147483648",
            "Priority=2147483648: number out of range, ignoring",
        ),
        ("Priority=", "Priority=: invalid number, ignoring"),
        ("Flags=-1", "Flags=-1: number out of range, ignoring"),
        ("Flags=", "Flags=: invalid number, ignoring"),
    ] {
        let d = warns(&format!("Type=home\n{body}"), &format!("{FILE}:3: {line}"));
        assert_eq!(
            (d.weight, d.padding_weight, d.priority, d.flags),
            (1000, 0, 0, 0)
        );
    }
    assert_eq!(quiet("Type=home\nPriority=-2147483648").priority, i32::MIN);
}

#[test]
fn sizes_are_rounded_like_v262() {
    let d = quiet("Type=home\nSizeMinBytes=1\nSizeMaxBytes=5000\nPaddingMinBytes=1");
    assert_eq!(
        (d.size_min, d.size_max, d.padding_min),
        (Some(4096), Some(4096), Some(4096))
    );
    assert_eq!(quiet("Type=home\nPaddingMaxBytes=1").padding_max, Some(0));
    let (_, diags) = parse_with("[Partition]\nType=home\nSizeMaxBytes=5000\n", &[], None);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].level, log::Level::Info);
    assert_eq!(
        diags[0].message,
        format!("{FILE}:3: SizeMaxBytes=5000: rounded down to 4096, a multiple of 4096")
    );
    assert_eq!(quiet("Type=home\nSizeMaxBytes=1K").size_max, Some(0));
    assert_eq!(
        quiet("Type=home\nSizeMinBytes=3M1K").size_min,
        Some(3149824)
    );
    assert_eq!(
        quiet("Type=home\nSizeMinBytes=1.5M").size_min,
        Some(1572864)
    );
    // v262 rounds a minimum up to 2^64-1, its "unset"; maxima round down.
    assert_eq!(
        quiet("Type=home\nSizeMinBytes=18446744073709551615").size_min,
        None
    );
    assert_eq!(
        quiet("Type=home\nSizeMinBytes=18446744073709551614").size_min,
        None
    );
    assert_eq!(
        quiet("Type=home\nPaddingMinBytes=18446744073709547521").padding_min,
        None
    );
    assert_eq!(
        quiet("Type=home\nSizeMinBytes=18446744073709547520").size_min,
        Some(18446744073709547520)
    );
    assert_eq!(
        quiet("Type=home\nPaddingMaxBytes=18446744073709551615").padding_max,
        Some(18446744073709547520)
    );
    assert_eq!(
        fatal("Type=home\nSizeMinBytes=10X"),
        format!(
            "{FILE}:3: SizeMinBytes=10X: invalid size (accepted: a number with an optional B, \
             K, M, G, T, P or E suffix, base 1024)"
        )
    );
    assert!(
        fatal("Type=home\nSizeMaxBytes=")
            .starts_with(&format!("{FILE}:3: SizeMaxBytes=: invalid size"))
    );
    assert!(fatal("Type=home\nPaddingMinBytes=-1").contains("size out of range"));
    assert!(fatal("Type=home\nPaddingMaxBytes=16E").contains("size out of range"));
    // After rounding, 5000..5000 becomes 8192..4096.
    assert!(
        fatal("Type=home\nSizeMinBytes=5000\nSizeMaxBytes=5000").starts_with(&format!(
            "{FILE}:4: SizeMinBytes= (8192) is larger than SizeMaxBytes= (4096)"
        ))
    );
    assert!(
        fatal("Type=home\nPaddingMinBytes=2M\nPaddingMaxBytes=1M")
            .contains("PaddingMinBytes= (2097152)")
    );
}

#[test]
fn flag_tristates_and_their_v262_defaults() {
    let flags = |body: &str| {
        let d = quiet(body);
        (d.no_auto, d.read_only, d.grow_file_system)
    };
    assert_eq!(flags("Type=home"), (None, None, Some(true)));
    assert_eq!(
        flags("Type=home\nNoAuto=yes"),
        (Some(true), None, Some(true))
    );
    assert_eq!(
        flags("Type=home\nNoAuto=yes\nNoAuto="),
        (None, None, Some(true))
    );
    assert_eq!(flags("Type=home\nReadOnly=yes"), (None, Some(true), None));
    assert_eq!(
        flags("Type=home\nReadOnly=yes\nGrowFileSystem=yes"),
        (None, Some(true), Some(true))
    );
    assert_eq!(
        flags("Type=home\nReadOnly=yes\nGrowFileSystem=no"),
        (None, Some(true), Some(false))
    );
    // v262 ignores GrowFileSystem=no unless ReadOnly=yes (measured: bit 59 stays set).
    assert_eq!(
        flags("Type=home\nGrowFileSystem=no"),
        (None, None, Some(true))
    );
    assert_eq!(
        flags("Type=home\nGrowFileSystem=no\nReadOnly=no"),
        (None, Some(false), Some(true))
    );
    assert_eq!(flags("Type=root-verity"), (None, Some(true), None));
    assert_eq!(
        flags("Type=root-verity\nReadOnly=no"),
        (None, Some(false), None)
    );
    assert_eq!(flags("Type=root-verity-sig"), (None, Some(true), None));
    assert_eq!(flags("Type=esp"), (None, None, None));
    assert_eq!(flags("Type=swap\nNoAuto=1"), (Some(true), None, None));
    let d = warns(
        "Type=esp\nNoAuto=yes",
        &format!("{FILE}:3: NoAuto=yes: partition type esp has no such flag, ignoring"),
    );
    assert_eq!(d.no_auto, None);
    let d = warns(
        "Type=linux-generic\nGrowFileSystem=yes",
        &format!("{FILE}:3: GrowFileSystem=yes"),
    );
    assert_eq!(d.grow_file_system, None);
    warns(
        "Type=swap\nReadOnly=1",
        &format!("{FILE}:3: ReadOnly=yes: partition type swap"),
    );
    warns(
        "Type=root-verity-sig\nNoAuto=1",
        &format!("{FILE}:3: NoAuto=yes"),
    );
    for bad in ["2", "yess", "ye"] {
        let d = warns(
            &format!("Type=home\nNoAuto=yes\nNoAuto={bad}"),
            &format!("{FILE}:4: NoAuto={bad}: not a boolean, ignoring"),
        );
        assert_eq!(d.no_auto, Some(true));
    }
    assert!(quiet("Type=home\nFactoryReset=yes").factory_reset);
    warns(
        "Type=home\nFactoryReset=",
        &format!("{FILE}:3: FactoryReset=: not a boolean"),
    );
    warns(
        "Type=home\nFactoryReset=x",
        &format!("{FILE}:3: FactoryReset=x: not a boolean"),
    );
}

#[test]
fn split_name_and_supplement_for() {
    assert_eq!(quiet("Type=home").split_name.as_deref(), Some("%t"));
    assert_eq!(quiet("Type=home\nSplitName=-").split_name, None);
    assert_eq!(
        quiet("Type=home\nSplitName=-\nSplitName=")
            .split_name
            .as_deref(),
        Some("%t")
    );
    assert_eq!(
        quiet("Type=home\nSplitName=%x").split_name.as_deref(),
        Some("%x")
    );
    assert_eq!(
        quiet("Type=home\nSupplementFor=10-esp")
            .supplement_for
            .as_deref(),
        Some("10-esp")
    );
    assert_eq!(
        quiet("Type=home\nSupplementFor=x\nSupplementFor=").supplement_for,
        None
    );
    assert!(
        fatal("Type=home\nSupplementFor=a/b").starts_with(&format!("{FILE}:3: SupplementFor=a/b"))
    );
}

#[test]
fn formats_and_their_implications() {
    // v262 implies Format=swap for Type=swap; implied formats are not content keys.
    let d = quiet("Type=swap");
    assert_eq!(d.format.as_deref(), Some("swap"));
    assert!(d.content_keys.is_empty());
    let d = quiet("Type=swap\nFormat=swap");
    assert_eq!(d.content_keys.len(), 1);
    assert_eq!(d.content_keys[0].key, "Format");
    assert_eq!(d.content_keys[0].at.line, 3);
    // Format=empty: Label=_empty unless a Label= is set, NoAuto=yes unless set, if known.
    let d = quiet("Type=home\nFormat=empty");
    assert_eq!(
        (d.format.as_deref(), d.label.as_deref(), d.no_auto),
        (Some("empty"), Some("_empty"), Some(true))
    );
    assert_eq!(
        quiet("Type=home\nFormat=empty\nLabel=x").label.as_deref(),
        Some("x")
    );
    assert_eq!(
        quiet("Type=home\nFormat=empty\nLabel=").label.as_deref(),
        Some("")
    );
    assert_eq!(
        quiet("Type=home\nFormat=empty\nNoAuto=no").no_auto,
        Some(false)
    );
    let d = quiet("Type=esp\nFormat=empty");
    assert_eq!((d.label.as_deref(), d.no_auto), (Some("_empty"), None));
    assert_eq!(
        quiet("Type=swap\nFormat=empty").format.as_deref(),
        Some("empty")
    );
    // Files or encryption imply ext4 (vfat on esp/xbootldr), not without CopyBlocks.
    assert_eq!(
        quiet("Type=home\nCopyFiles=/etc").format.as_deref(),
        Some("ext4")
    );
    assert_eq!(
        quiet("Type=esp\nMakeDirectories=/EFI").format.as_deref(),
        Some("vfat")
    );
    assert_eq!(
        quiet("Type=home\nEncrypt=yes").format.as_deref(),
        Some("ext4")
    );
    assert_eq!(
        quiet("Type=home\nAddValidateFS=yes").format.as_deref(),
        Some("ext4")
    );
    assert_eq!(quiet("Type=home\nSubvolumes=/a").format, None);
    assert_eq!(
        quiet("Type=home\nEncrypt=yes\nCopyBlocks=/dev/sda1").format,
        None
    );
    // Type=swap with files: swap is still implied (v262 then fails while populating).
    assert_eq!(
        quiet("Type=swap\nMakeDirectories=/a").format.as_deref(),
        Some("swap")
    );
    for bad in ["", "a/b", ".", ".."] {
        let d = warns(
            &format!("Type=home\nFormat=xfs\nFormat={bad}"),
            &format!("{FILE}:4: Format={bad}: not a valid file system type, ignoring"),
        );
        assert_eq!(d.format.as_deref(), Some("xfs"));
    }
    warns(
        &format!("Type=home\nFormat={}", "a".repeat(256)),
        &format!("{FILE}:3: Format="),
    );
    assert_eq!(
        quiet(&format!("Type=home\nFormat={}", "a".repeat(255)))
            .content_keys
            .len(),
        1
    );
}

#[test]
fn content_keys_are_recorded_in_file_order_and_reset() {
    let d = quiet(
        "Type=home\nMakeDirectories=/a\nFormat=ext4\nEncrypt=off\nVerity=off\nMinimize=off\n\
         Integrity=off\nMountPoint=/home\nMountPoint=\nDiscard=\nCopyBlocks=/dev/x\nCopyBlocks=",
    );
    let keys: Vec<_> = d.content_keys.iter().map(|k| (k.key, k.at.line)).collect();
    assert_eq!(keys, [("MakeDirectories", 3), ("Format", 4)]);
    assert_eq!(d.content_keys[0].at.file, Path::new(FILE));
    let (result, _) = parse_with(
        "[Partition]\nType=home\nFormat=ext4\n",
        &["[Partition]\nTPM2PCRs=7\n", "[Partition]\nFormat=xfs\n"],
        None,
    );
    let d = result.unwrap();
    let keys: Vec<_> = d
        .content_keys
        .iter()
        .map(|k| (k.key, k.at.file.display().to_string(), k.at.line))
        .collect();
    assert_eq!(
        keys,
        [
            (
                "TPM2PCRs",
                "/etc/repart.d/50-test.conf.d/0.conf".to_owned(),
                2
            ),
            (
                "Format",
                "/etc/repart.d/50-test.conf.d/1.conf".to_owned(),
                2
            ),
        ]
    );
    assert_eq!(d.format.as_deref(), Some("xfs"));
    assert_eq!(
        d.dropins,
        [
            Path::new("/etc/repart.d/50-test.conf.d/0.conf"),
            Path::new("/etc/repart.d/50-test.conf.d/1.conf")
        ]
    );
}

#[test]
fn content_enums() {
    let d = quiet("Type=home\nEncrypt=key-file+tpm2");
    assert_eq!(d.encrypt, Encrypt::KeyFileTpm2);
    assert_eq!(quiet("Type=home\nEncrypt=tpm2").encrypt, Encrypt::Tpm2);
    assert_eq!(quiet("Type=home\nEncrypt=YES").encrypt, Encrypt::KeyFile);
    assert_eq!(
        quiet("Type=home\nEncrypt=yes\nEncrypt=").encrypt,
        Encrypt::Off
    );
    assert_eq!(
        quiet("Type=home\nEncrypt=yes\nEncrypt=no").encrypt,
        Encrypt::Off
    );
    warns(
        "Type=home\nEncrypt=KEY-FILE",
        &format!("{FILE}:3: Encrypt=KEY-FILE: unknown value"),
    );
    warns(
        "Type=home\nVerity=no",
        &format!("{FILE}:3: Verity=no: unknown value"),
    );
    warns(
        "Type=home\nVerity=yes",
        &format!("{FILE}:3: Verity=yes: unknown value"),
    );
    warns(
        "Type=home\nMinimize=BEST",
        &format!("{FILE}:3: Minimize=BEST: unknown value"),
    );
    assert_eq!(
        quiet("Type=home\nFormat=squashfs\nMinimize=yes").minimize,
        Minimize::Best
    );
    assert_eq!(
        quiet("Type=home\nFormat=ext4\nMinimize=guess").minimize,
        Minimize::Guess
    );
    assert_eq!(
        quiet("Type=home\nMinimize=best\nMinimize=").minimize,
        Minimize::Off
    );
    assert_eq!(quiet("Type=home\nVerity=data\nVerity=").verity, Verity::Off);
    warns(
        "Type=home\nIntegrity=bad",
        &format!("{FILE}:3: Integrity=bad"),
    );
    warns(
        "Type=home\nIntegrityAlgorithm=bad",
        &format!("{FILE}:3: IntegrityAlgorithm=bad"),
    );
    warns(
        "Type=home\nEncryptKDF=bad",
        &format!("{FILE}:3: EncryptKDF=bad"),
    );
    warns("Type=home\nDiscard=bad", &format!("{FILE}:3: Discard=bad"));
    warns(
        "Type=home\nAddValidateFS=bad",
        &format!("{FILE}:3: AddValidateFS=bad"),
    );
    let d = quiet("Type=home\nEncrypt=yes\nIntegrity=yes");
    assert_eq!(
        d.content_keys.iter().map(|k| k.key).collect::<Vec<_>>(),
        ["Encrypt", "Integrity"]
    );
}

#[test]
fn content_paths_and_lists() {
    let one_key = |body: &str, key: &str| {
        let d = quiet(&format!("Type=home\n{body}"));
        assert_eq!(
            d.content_keys.iter().map(|k| k.key).collect::<Vec<_>>(),
            [key],
            "{body}"
        );
        d
    };
    assert_eq!(
        one_key("CopyBlocks=auto", "CopyBlocks")
            .copy_blocks
            .as_deref(),
        Some("auto")
    );
    assert_eq!(
        one_key("CopyBlocks=//dev//sda1/", "CopyBlocks")
            .copy_blocks
            .as_deref(),
        Some("/dev/sda1")
    );
    assert_eq!(
        one_key("CopyBlocks=/%o", "CopyBlocks")
            .copy_blocks
            .as_deref(),
        Some("/debian")
    );
    one_key("CopyFiles=/a:/b:fsverity=copy", "CopyFiles");
    one_key("CopyFiles=//a//b/", "CopyFiles");
    one_key("CopyFiles=/a /b", "CopyFiles");
    one_key("MakeDirectories=\"/a b\" /c", "MakeDirectories");
    one_key("MakeSymlinks=/a:b", "MakeSymlinks");
    one_key("MakeSymlinks=/a:", "MakeSymlinks");
    one_key("Subvolumes=/a:ro,nodatacow /b", "Subvolumes");
    one_key("ExcludeFiles=/a/", "ExcludeFiles");
    one_key("MountPoint=\"/a:b\":\"c:d\"", "MountPoint");
    one_key(
        "EncryptedVolume=a::opts:fixate-volume-key",
        "EncryptedVolume",
    );
    one_key("EncryptedVolume=:key", "EncryptedVolume");
    one_key("TPM2PCRs=secure-boot-policy+11", "TPM2PCRs");
    one_key("KeyFile=/nonexistent", "KeyFile");
    one_key("BlockDeviceReplace=/mnt", "BlockDeviceReplace");
    one_key("Compression=a b", "Compression");
    one_key("CompressionLevel=x", "CompressionLevel");
    one_key("VolumeLabel=%a", "VolumeLabel");
    one_key("FileSystemSectorSize=256", "FileSystemSectorSize");
    assert_eq!(
        quiet("Type=home\nFileSystemSectorSize=64K").fs_sector_size,
        Some(65536)
    );
    assert_eq!(
        quiet("Type=home\nFileSystemSectorSize=512\nFileSystemSectorSize=").fs_sector_size,
        None
    );
    one_key("VerityDataBlockSizeBytes=512", "VerityDataBlockSizeBytes");
    one_key("VerityHashBlockSizeBytes=2048", "VerityHashBlockSizeBytes");

    for (body, message) in [
        (
            "CopyBlocks=rel",
            "CopyBlocks=rel: \"rel\": path is not absolute, ignoring",
        ),
        (
            "CopyBlocks=/a/../b",
            "CopyBlocks=/a/../b: \"/a/../b\": path contains",
        ),
        (
            "CopyBlocks=/%x",
            "CopyBlocks=/%x: unknown specifier %x, ignoring",
        ),
        (
            "CopyFiles=",
            "CopyFiles=: \"\": path is not absolute, ignoring",
        ),
        (
            "CopyFiles=rel",
            "CopyFiles=rel: \"rel\": path is not absolute",
        ),
        ("CopyFiles=/a:", "CopyFiles=/a:: \"\": path is not absolute"),
        (
            "CopyFiles=/a:rel",
            "CopyFiles=/a:rel: \"rel\": path is not absolute",
        ),
        (
            "CopyFiles=/a/../b",
            "CopyFiles=/a/../b: \"/a/../b\": path contains",
        ),
        (
            "CopyFiles=\"/a b\"",
            "CopyFiles=\"/a b\": \"\"/a b\"\": path is not absolute",
        ),
        ("CopyFiles=/%x", "CopyFiles=/%x: unknown specifier %x"),
        (
            "ExcludeFiles=rel",
            "ExcludeFiles=rel: \"rel\": path is not absolute",
        ),
        ("ExcludeFiles=\"/a", "ExcludeFiles=\"/a: bad quoting"),
        (
            "ExcludeFilesTarget=rel",
            "ExcludeFilesTarget=rel: \"rel\": path is not absolute",
        ),
        (
            "MakeDirectories=rel",
            "MakeDirectories=rel: \"rel\": path is not absolute",
        ),
        (
            "MakeDirectories=/%x",
            "MakeDirectories=/%x: unknown specifier %x",
        ),
        ("MakeSymlinks=/a", "MakeSymlinks=/a: \"/a\" has no ':'"),
        (
            "MakeSymlinks=a:b",
            "MakeSymlinks=a:b: \"a\": path is not absolute",
        ),
        (
            "MakeSymlinks=:/b",
            "MakeSymlinks=:/b: \"\": path is not absolute",
        ),
        ("Subvolumes=rel", "Subvolumes=rel: path is not absolute"),
        (
            "Subvolumes=/a:bad",
            "Subvolumes=/a:bad: unknown subvolume flag \"bad\"",
        ),
        (
            "Subvolumes=/a:",
            "Subvolumes=/a:: unknown subvolume flag \"\"",
        ),
        (
            "DefaultSubvolume=rel",
            "DefaultSubvolume=rel: path is not absolute",
        ),
        (
            "BlockDeviceReplace=/a/../b",
            "BlockDeviceReplace=/a/../b: path contains",
        ),
        ("MountPoint=rel", "MountPoint=rel: path is not absolute"),
        (
            "MountPoint=/a:b:c",
            "MountPoint=/a:b:c: too many ':'-separated fields",
        ),
        ("MountPoint=:opts", "MountPoint=:opts: path is not absolute"),
        (
            "EncryptedVolume=a:b:c:d:e",
            "EncryptedVolume=a:b:c:d:e: too many",
        ),
        (
            "EncryptedVolume=a/b",
            "EncryptedVolume=a/b: \"a/b\" is not a valid volume name",
        ),
        ("VolumeLabel=%x", "VolumeLabel=%x: unknown specifier %x"),
    ] {
        let d = warns(
            &format!("Type=home\n{body}"),
            &format!("{FILE}:3: {message}"),
        );
        assert!(d.content_keys.is_empty(), "{body}: {:?}", d.content_keys);
    }
    // Unknown options and extras are warned about; the entry is kept.
    let d = warns(
        "Type=home\nCopyFiles=/etc:/x:bad",
        &format!("{FILE}:3: CopyFiles=/etc:/x:bad: unknown option \"bad\""),
    );
    assert_eq!(d.content_keys.len(), 1);
    warns(
        "Type=home\nCopyFiles=/etc:/x:fsverity=bad",
        &format!("{FILE}:3: CopyFiles=/etc:/x:fsverity=bad: fsverity= must be"),
    );
    let d = warns(
        "Type=home\nEncryptedVolume=a:b:c:bad",
        &format!("{FILE}:3: EncryptedVolume=a:b:c:bad: unknown extra option \"bad\""),
    );
    assert_eq!(d.content_keys.len(), 1);

    for (body, message) in [
        (
            "CopyFiles=/a:/b:fsverity=off:extra",
            "CopyFiles=/a:/b:fsverity=off:extra: too many ':'-separated fields",
        ),
        ("TPM2PCRs=bad", "TPM2PCRs=bad: \"bad\" is not a PCR"),
        ("TPM2PCRs=24", "TPM2PCRs=24: \"24\" is not a PCR"),
        (
            "TPM2PCRs=7:sha1=00",
            "TPM2PCRs=7:sha1=00: a sha1 digest has 20 bytes, not 1",
        ),
        (
            "VerityDataBlockSizeBytes=",
            "VerityDataBlockSizeBytes=: invalid size",
        ),
        (
            "VerityDataBlockSizeBytes=1000",
            "VerityDataBlockSizeBytes=1000: not a power of 2",
        ),
        (
            "VerityDataBlockSizeBytes=256",
            "VerityDataBlockSizeBytes=256: not between 512 and 4096",
        ),
        (
            "VerityHashBlockSizeBytes=8192",
            "VerityHashBlockSizeBytes=8192: not between 512 and 4096",
        ),
        (
            "VerityHashBlockSizeBytes=x",
            "VerityHashBlockSizeBytes=x: invalid size",
        ),
        (
            "FileSystemSectorSize=1000",
            "FileSystemSectorSize=1000: not a power of 2",
        ),
        (
            "FileSystemSectorSize=x",
            "FileSystemSectorSize=x: invalid size",
        ),
    ] {
        let e = fatal(&format!("Type=home\n{body}"));
        assert!(e.starts_with(&format!("{FILE}:3: {message}")), "{e}");
        assert!(e.contains("(accepted: "), "{e}");
    }
}

#[test]
fn list_and_string_quirks_of_v262() {
    // ExcludeFiles= gives up at the first bad path; MakeDirectories= goes on.
    let (_, warnings) = parse("Type=home\nExcludeFiles=r1 r2\nExcludeFilesTarget=/a r3 r4");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let (d, warnings) = parse("Type=home\nMakeDirectories=rel1 rel2 /ok");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(d.content_keys.len(), 1);
    let (_, warnings) = parse("Type=home\nSubvolumes=r1 /a:bad /b\nDefaultSubvolume=/b");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    // Compression=, CompressionLevel= and VolumeName= refuse unsafe characters.
    for key in ["Compression", "CompressionLevel", "VolumeName"] {
        for bad in ["a\\b", "a\"b", "a'b", "a\u{1}b"] {
            let d = warns(
                &format!("Type=home\n{key}={bad}"),
                &format!(
                    "{FILE}:3: {key}={bad}: contains control characters, quotes or backslashes"
                ),
            );
            assert!(d.content_keys.is_empty());
        }
    }
    quiet("Type=home\nSplitName=a\\b\nLabel=a\"b");
    // TPM2PCRs= accumulates across assignments; a PCR may not repeat (except per bank).
    quiet("Type=home\nTPM2PCRs=7\nTPM2PCRs=11");
    quiet("Type=home\nTPM2PCRs=7\nTPM2PCRs=\nTPM2PCRs=7");
    quiet("Type=home\nTPM2PCRs=7:sha256\nTPM2PCRs=7:sha1");
    for twice in [
        "TPM2PCRs=7+11\nTPM2PCRs=7",
        "TPM2PCRs=7\nTPM2PCRs=7:sha256",
        "TPM2PCRs=7:SHA256\nTPM2PCRs=7:sha256",
    ] {
        let e = fatal(&format!("Type=home\n{twice}"));
        assert!(e.starts_with(&format!("{FILE}:4: TPM2PCRs=")), "{e}");
        assert!(e.contains("PCR 7 is listed twice"), "{e}");
    }
    assert!(fatal("Type=home\nTPM2PCRs=7,secure-boot-policy").contains("PCR 7 is listed twice"));
}

#[test]
fn invalid_combinations_are_fatal() {
    let cases = [
        (
            "CopyBlocks=/dev/x\nFormat=ext4",
            3,
            "CopyBlocks= cannot be combined with Format=",
        ),
        (
            "CopyBlocks=/dev/x\nFormat=swap",
            3,
            "CopyBlocks= cannot be combined with Format=",
        ),
        (
            "CopyBlocks=/dev/x\nFormat=empty",
            3,
            "CopyBlocks= cannot be combined with Format=",
        ),
        (
            "CopyBlocks=/dev/x\nCopyFiles=/etc",
            3,
            "CopyBlocks= cannot be combined with CopyFiles=",
        ),
        (
            "CopyBlocks=/dev/x\nMakeDirectories=/a",
            3,
            "CopyBlocks= cannot be combined with MakeDirectories=",
        ),
        (
            "CopyBlocks=/dev/x\nMakeSymlinks=/a:/b",
            3,
            "CopyBlocks= cannot be combined with MakeSymlinks=",
        ),
        (
            "CopyBlocks=/dev/x\nAddValidateFS=yes",
            3,
            "CopyBlocks= cannot be combined with AddValidateFS=",
        ),
        (
            "Format=swap\nCopyFiles=/etc",
            3,
            "Format=swap cannot be combined with CopyFiles=",
        ),
        (
            "Format=swap\nAddValidateFS=yes",
            3,
            "Format=swap cannot be combined with AddValidateFS=",
        ),
        // v262 aborts on an assertion for these two; we refuse them.
        (
            "Format=empty\nCopyFiles=/etc",
            3,
            "Format=empty cannot be combined with CopyFiles=",
        ),
        (
            "Format=empty\nAddValidateFS=yes",
            3,
            "Format=empty cannot be combined",
        ),
        ("Minimize=guess", 3, "Minimize= needs Format="),
        ("Minimize=best\nFormat=empty", 3, "Minimize= needs Format="),
        (
            "Minimize=best\nCopyBlocks=/dev/x",
            3,
            "Minimize= needs Format=",
        ),
        (
            "Minimize=best\nFormat=ext4",
            3,
            "Minimize=best works only with squashfs, erofs, btrfs",
        ),
        ("Minimize=best\nFormat=vfat", 3, "Minimize=best works only"),
        (
            "Minimize=best\nEncrypt=yes",
            3,
            "Minimize=best works only with squashfs, erofs, btrfs or Verity=hash, not with ext4",
        ),
        (
            "Minimize=best\nCopyFiles=/etc",
            3,
            "Minimize=best works only",
        ),
        (
            "Minimize=best\nAddValidateFS=yes",
            3,
            "Minimize=best works only",
        ),
        (
            "Minimize=best\nType=swap",
            3,
            "Minimize=best works only with squashfs, erofs, btrfs or Verity=hash, not with swap",
        ),
        ("Verity=data", 3, "Verity= needs VerityMatchKey="),
        ("Verity=signature", 3, "Verity= needs VerityMatchKey="),
        ("VerityMatchKey=x", 3, "VerityMatchKey= needs Verity="),
        (
            "Verity=hash\nVerityMatchKey=k\nFormat=ext4",
            3,
            "Verity=hash and Verity=signature partitions hold verity data, not Format=ext4",
        ),
        (
            "Verity=hash\nVerityMatchKey=k\nMakeDirectories=/a",
            3,
            "Verity=hash and Verity=signature partitions hold verity data, not Format=ext4 (given or implied)",
        ),
        (
            "Verity=hash\nVerityMatchKey=k\nEncrypt=yes",
            3,
            "Verity=hash and Verity=signature",
        ),
        (
            "Verity=hash\nVerityMatchKey=k\nType=swap",
            3,
            "Verity=hash and Verity=signature",
        ),
        (
            "Verity=signature\nVerityMatchKey=k\nSizeMinBytes=1M",
            5,
            "SizeMinBytes=/SizeMaxBytes= cannot be used with Verity=signature",
        ),
        (
            "Verity=signature\nVerityMatchKey=k\nSizeMaxBytes=1M",
            5,
            "SizeMinBytes=/SizeMaxBytes= cannot be used with Verity=signature",
        ),
        (
            "Format=erofs\nAddValidateFS=no",
            3,
            "Format=erofs needs something to put in it",
        ),
        (
            "Format=squashfs\nSubvolumes=/a\nAddValidateFS=no",
            3,
            "Format=squashfs needs something",
        ),
        ("Integrity=inline", 3, "Integrity=inline needs Encrypt="),
        ("Integrity=yes", 3, "Integrity=inline needs Encrypt="),
        (
            "Encrypt=yes\nIntegrity=inline\nDiscard=yes",
            4,
            "Integrity=inline cannot be combined with Discard=yes",
        ),
        (
            "DefaultSubvolume=/a",
            3,
            "DefaultSubvolume=/a is not one of the paths in Subvolumes=",
        ),
        (
            "Subvolumes=/b\nDefaultSubvolume=/a",
            4,
            "DefaultSubvolume=/a is not one",
        ),
        ("VolumeName=x", 3, "VolumeName= needs Encrypt="),
        (
            "VolumeName=a/b",
            3,
            "VolumeName=a/b is not a valid file name",
        ),
        (
            "VolumeName=x\nEncrypt=yes",
            3,
            "VolumeName= needs BlockDeviceReplace=",
        ),
    ];
    for (body, line, message) in cases {
        let e = fatal(&format!("Type=home\n{body}"));
        let want = format!("{FILE}:{line}: {message}");
        assert!(e.starts_with(&want), "{body:?}:\n got {e}\nwant {want}");
    }
    // Fine in v262.
    quiet("Type=home\nFormat=swap\nSubvolumes=/a");
    quiet("Type=home\nCopyBlocks=/dev/x\nSubvolumes=/a\nExcludeFiles=/a");
    quiet("Type=home\nFormat=squashfs");
    quiet("Type=home\nFormat=squashfs\nMinimize=best");
    quiet("Type=home\nFormat=squashfs\nAddValidateFS=no\nAddValidateFS=");
    quiet("Type=home\nFormat=squashfs\nMakeSymlinks=/a:/b\nAddValidateFS=no");
    quiet("Type=home\nFormat=btrfs\nMinimize=best");
    quiet("Type=home\nEncrypt=yes\nIntegrity=inline");
    quiet("Type=home\nSubvolumes=/a\nDefaultSubvolume=/a");
    quiet("Type=home\nVerity=data\nVerityMatchKey=k\nEncrypt=yes");
    quiet("Type=home\nVerity=hash\nVerityMatchKey=k\nMinimize=best");
    quiet("Type=home\nVerity=hash\nVerityMatchKey=k\nFormat=empty");
    quiet("Type=home\nEncrypt=yes\nCopyBlocks=/dev/x");
    quiet("Type=swap\nCopyBlocks=/dev/x");
    quiet("Type=home\nVolumeName=x\nEncrypt=yes\nBlockDeviceReplace=/mnt");
}

#[test]
fn verity_read_only_default_and_notices() {
    let d = quiet("Type=root\nVerity=data\nVerityMatchKey=k");
    assert_eq!((d.read_only, d.grow_file_system), (Some(true), None));
    assert_eq!(d.verity_match_key.as_deref(), Some("k"));
    let d = quiet("Type=root\nVerity=data\nVerityMatchKey=k\nReadOnly=no");
    assert_eq!((d.read_only, d.grow_file_system), (Some(false), Some(true)));
    let (result, diags) = parse_with(
        "[Partition]\nType=home\nEncryptKDF=minimal\nDiscard=yes\n",
        &[],
        None,
    );
    result.unwrap();
    let notices: Vec<_> = diags
        .iter()
        .map(|d| (d.level, d.message.as_str()))
        .collect();
    assert_eq!(
        notices,
        [
            (
                log::Level::Info,
                format!("{FILE}:3: EncryptKDF= has no effect with Encrypt=off").as_str()
            ),
            (
                log::Level::Info,
                format!("{FILE}:4: Discard=yes has no effect with Encrypt=off").as_str()
            ),
        ]
    );
}

#[test]
fn ini_errors_name_the_file_and_line() {
    let (result, _) = parse_with("[Partition]\nType=home\n[Partition\n", &[], None);
    assert!(
        result
            .unwrap_err()
            .to_string()
            .starts_with(&format!("{FILE}:3: invalid section header"))
    );
    let (result, _) = parse_with(
        "[Partition]\nType=home\n",
        &["[Partition]\nLabel=\u{fdd0}\n"],
        None,
    );
    assert!(
        result
            .unwrap_err()
            .to_string()
            .starts_with("/etc/repart.d/50-test.conf.d/0.conf:2: not valid UTF-8")
    );
    // Several [Partition] sections all apply; other sections are skipped.
    let (result, diags) = parse_with(
        "[Partition]\nType=home\n[Other]\nLabel=no\n[X-Mine]\nLabel=no\n[Partition]\nLabel=yes\n",
        &[],
        None,
    );
    assert_eq!(result.unwrap().label.as_deref(), Some("yes"));
    assert_eq!(diags.len(), 1);
}

/// `Definition::new` is what a file holding only `Type=` parses to, for every type.
#[test]
fn new_matches_a_file_with_only_type() {
    for info in repart_rs::config::types::TYPES.iter() {
        let d = quiet(&format!("Type={}", info.name));
        let mut expected = Definition::new(FILE.into(), d.partition_type);
        expected.display_path = FILE.to_owned();
        assert_eq!(d, expected, "{}", info.name);
    }
    let unknown = quiet("Type=01234567-89ab-cdef-0123-456789abcdef");
    assert_eq!(
        unknown,
        Definition::new(FILE.into(), unknown.partition_type)
    );
}

/// Arbitrary input never panics: byte soup made of the characters the parsers care about.
#[test]
fn random_input_never_panics() {
    const ALPHABET: &[&str] = &[
        "[Partition]",
        "\n",
        "\r",
        "\0",
        "\\",
        "=",
        "%",
        "%%",
        "%a",
        "#",
        ";",
        " ",
        "\t",
        "\"",
        "'",
        ":",
        "/",
        ",",
        "+",
        "-",
        ".",
        "0",
        "1",
        "7",
        "9",
        "0x",
        "0b",
        "K",
        "M",
        "E",
        "é",
        "\u{fdd0}",
        "\u{feff}",
        "Type=",
        "root",
        "home",
        "swap",
        "Label=",
        "SizeMinBytes=",
        "SizeMaxBytes=",
        "Format=",
        "empty",
        "CopyFiles=",
        "MakeSymlinks=",
        "Subvolumes=",
        "MountPoint=",
        "EncryptedVolume=",
        "TPM2PCRs=",
        "Verity=",
        "hash",
        "VerityMatchKey=",
        "Minimize=",
        "best",
        "Encrypt=",
        "yes",
        "UUID=",
        "null",
        "Flags=",
        "Weight=",
        "[",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = next() % 40;
        let text: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        let mut bytes = text.into_bytes();
        if next() % 4 == 0 {
            let at = (next() as usize) % (bytes.len() + 1);
            bytes.insert(at, (next() % 256) as u8);
        }
        let specifiers = specifiers();
        let ctx = ParseContext {
            specifiers: &specifiers,
            architecture: None,
        };
        let source = Source {
            path: Path::new(FILE),
            display: FILE,
            bytes: &bytes,
        };
        let _ = parse_definition(&source, &[source], &ctx, &mut Vec::new());
    }
}
