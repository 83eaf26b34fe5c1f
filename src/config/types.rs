//! The partition type table: every identifier systemd-repart 262 accepts for `Type=`, the
//! type UUIDs, designators and architectures, and the reverse lookup used for labels.
//!
//! Table order matters: the reverse lookup (UUID to name) takes the first row with that
//! UUID, so canonical per-architecture names come first and `linux-generic` last.

use uuid::Uuid;

/// CPU architectures as systemd names them (`--architecture=`). Only some have GPT types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    Alpha,
    Arc,
    ArcBe,
    Arm,
    ArmBe,
    Arm64,
    Arm64Be,
    Cris,
    Ia64,
    Loongarch64,
    M68k,
    Mips,
    MipsLe,
    Mips64,
    Mips64Le,
    Nios2,
    Parisc,
    Parisc64,
    Ppc,
    PpcLe,
    Ppc64,
    Ppc64Le,
    Riscv32,
    Riscv64,
    S390,
    S390x,
    Sh,
    Sh64,
    Sparc,
    Sparc64,
    Tilegx,
    X86,
    X86_64,
}

/// Every architecture with its systemd name, in systemd's naming.
const ARCH_NAMES: &[(Arch, &str)] = &[
    (Arch::Alpha, "alpha"),
    (Arch::Arc, "arc"),
    (Arch::ArcBe, "arc-be"),
    (Arch::Arm, "arm"),
    (Arch::ArmBe, "arm-be"),
    (Arch::Arm64, "arm64"),
    (Arch::Arm64Be, "arm64-be"),
    (Arch::Cris, "cris"),
    (Arch::Ia64, "ia64"),
    (Arch::Loongarch64, "loongarch64"),
    (Arch::M68k, "m68k"),
    (Arch::Mips, "mips"),
    (Arch::MipsLe, "mips-le"),
    (Arch::Mips64, "mips64"),
    (Arch::Mips64Le, "mips64-le"),
    (Arch::Nios2, "nios2"),
    (Arch::Parisc, "parisc"),
    (Arch::Parisc64, "parisc64"),
    (Arch::Ppc, "ppc"),
    (Arch::PpcLe, "ppc-le"),
    (Arch::Ppc64, "ppc64"),
    (Arch::Ppc64Le, "ppc64-le"),
    (Arch::Riscv32, "riscv32"),
    (Arch::Riscv64, "riscv64"),
    (Arch::S390, "s390"),
    (Arch::S390x, "s390x"),
    (Arch::Sh, "sh"),
    (Arch::Sh64, "sh64"),
    (Arch::Sparc, "sparc"),
    (Arch::Sparc64, "sparc64"),
    (Arch::Tilegx, "tilegx"),
    (Arch::X86, "x86"),
    (Arch::X86_64, "x86-64"),
];

impl Arch {
    /// Parses a systemd architecture name (`x86-64`, `arm64`, ...); aliases such as
    /// `aarch64` are rejected here, as `--architecture=` rejects them.
    pub fn from_name(name: &str) -> Option<Arch> {
        ARCH_NAMES.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// The systemd name of the architecture.
    pub fn name(self) -> &'static str {
        ARCH_NAMES
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    /// The architecture this binary was built for ("native" in type names such as `root`).
    pub fn native() -> Arch {
        if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else if cfg!(target_arch = "x86") {
            Arch::X86
        } else if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else if cfg!(target_arch = "arm") {
            Arch::Arm
        } else if cfg!(target_arch = "riscv64") {
            Arch::Riscv64
        } else if cfg!(target_arch = "powerpc64") && cfg!(target_endian = "little") {
            Arch::Ppc64Le
        } else if cfg!(target_arch = "powerpc64") {
            Arch::Ppc64
        } else if cfg!(target_arch = "s390x") {
            Arch::S390x
        } else if cfg!(target_arch = "loongarch64") {
            Arch::Loongarch64
        } else {
            Arch::X86_64
        }
    }

    /// The 32-bit companion of the native architecture ("secondary" in type names).
    pub fn secondary() -> Option<Arch> {
        match Arch::native() {
            Arch::X86_64 => Some(Arch::X86),
            Arch::Arm64 => Some(Arch::Arm),
            Arch::Riscv64 => Some(Arch::Riscv32),
            Arch::S390x => Some(Arch::S390),
            Arch::Ppc64 | Arch::Ppc64Le => Some(Arch::Ppc),
            _ => None,
        }
    }
}

/// What a partition type is for, independent of architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Designator {
    Root,
    RootVerity,
    RootVeritySig,
    Usr,
    UsrVerity,
    UsrVeritySig,
    Esp,
    Xbootldr,
    Swap,
    Home,
    Srv,
    Var,
    Tmp,
}

/// One row of the type table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// The canonical identifier (`root-x86-64`, `home`, ...).
    pub name: &'static str,
    /// The GPT partition type UUID, in textual order.
    pub uuid: Uuid,
    pub designator: Option<Designator>,
    pub arch: Option<Arch>,
}

const fn t(
    name: &'static str,
    uuid: u128,
    designator: Option<Designator>,
    arch: Option<Arch>,
) -> TypeInfo {
    TypeInfo {
        name,
        uuid: Uuid::from_u128(uuid),
        designator,
        arch,
    }
}

/// The 135 canonical identifiers, in systemd's table order.
pub static TYPES: [TypeInfo; 135] = [
    t(
        "root-alpha",
        0x6523f8ae3eb14e2aa05a18b695ae656f,
        Some(Designator::Root),
        Some(Arch::Alpha),
    ),
    t(
        "root-alpha-verity",
        0xfc56d9e9e6e54c06be32e74407ce09a5,
        Some(Designator::RootVerity),
        Some(Arch::Alpha),
    ),
    t(
        "root-alpha-verity-sig",
        0xd46495b7a053414f80f7700c99921ef8,
        Some(Designator::RootVeritySig),
        Some(Arch::Alpha),
    ),
    t(
        "usr-alpha",
        0xe18cf08c33ec4c0d8246c6c6fb3da024,
        Some(Designator::Usr),
        Some(Arch::Alpha),
    ),
    t(
        "usr-alpha-verity",
        0x8cce0d25c0d04a44bd8746331bf1df67,
        Some(Designator::UsrVerity),
        Some(Arch::Alpha),
    ),
    t(
        "usr-alpha-verity-sig",
        0x5c6e1c76076a457aa0fef3b4cd21ce6e,
        Some(Designator::UsrVeritySig),
        Some(Arch::Alpha),
    ),
    t(
        "root-arc",
        0xd27f46ed29194cb8bd259531f3c16534,
        Some(Designator::Root),
        Some(Arch::Arc),
    ),
    t(
        "root-arc-verity",
        0x24b2d9750f974521afa1cd531e421b8d,
        Some(Designator::RootVerity),
        Some(Arch::Arc),
    ),
    t(
        "root-arc-verity-sig",
        0x143a70bacbd34f06919f6c05683a78bc,
        Some(Designator::RootVeritySig),
        Some(Arch::Arc),
    ),
    t(
        "usr-arc",
        0x7978a68363164922bbee38bff5a2fecc,
        Some(Designator::Usr),
        Some(Arch::Arc),
    ),
    t(
        "usr-arc-verity",
        0xfca0598cd88045918c164eda05c7347c,
        Some(Designator::UsrVerity),
        Some(Arch::Arc),
    ),
    t(
        "usr-arc-verity-sig",
        0x94f9a9a19971427aa40050cb297f0f35,
        Some(Designator::UsrVeritySig),
        Some(Arch::Arc),
    ),
    t(
        "root-arm",
        0x69dad7102ce44e3cb16c21a1d49abed3,
        Some(Designator::Root),
        Some(Arch::Arm),
    ),
    t(
        "root-arm-verity",
        0x7386cdf2203c47a9a498f2ecce45a2d6,
        Some(Designator::RootVerity),
        Some(Arch::Arm),
    ),
    t(
        "root-arm-verity-sig",
        0x42b0455feb11491d98d356145ba9d037,
        Some(Designator::RootVeritySig),
        Some(Arch::Arm),
    ),
    t(
        "usr-arm",
        0x7d0359a302b34f0a865c654403e70625,
        Some(Designator::Usr),
        Some(Arch::Arm),
    ),
    t(
        "usr-arm-verity",
        0xc215d7517bcd4649be906627490a4c05,
        Some(Designator::UsrVerity),
        Some(Arch::Arm),
    ),
    t(
        "usr-arm-verity-sig",
        0xd7ff812f37d14902a810d76ba57b975a,
        Some(Designator::UsrVeritySig),
        Some(Arch::Arm),
    ),
    t(
        "root-arm64",
        0xb921b0451df041c3af444c6f280d3fae,
        Some(Designator::Root),
        Some(Arch::Arm64),
    ),
    t(
        "root-arm64-verity",
        0xdf3300ced69f4c92978c9bfb0f38d820,
        Some(Designator::RootVerity),
        Some(Arch::Arm64),
    ),
    t(
        "root-arm64-verity-sig",
        0x6db69de629f44758a7a5962190f00ce3,
        Some(Designator::RootVeritySig),
        Some(Arch::Arm64),
    ),
    t(
        "usr-arm64",
        0xb0e01050ee5f4390949a9101b17104e9,
        Some(Designator::Usr),
        Some(Arch::Arm64),
    ),
    t(
        "usr-arm64-verity",
        0x6e11a4e7fbca4dedb9e9e1a512bb664e,
        Some(Designator::UsrVerity),
        Some(Arch::Arm64),
    ),
    t(
        "usr-arm64-verity-sig",
        0xc23ce4ff44bd4b00b2d4b41b3419e02a,
        Some(Designator::UsrVeritySig),
        Some(Arch::Arm64),
    ),
    t(
        "root-ia64",
        0x993d8d3df80e4225855a9daf8ed7ea97,
        Some(Designator::Root),
        Some(Arch::Ia64),
    ),
    t(
        "root-ia64-verity",
        0x86ed10d5b60745bb8957d350f23d0571,
        Some(Designator::RootVerity),
        Some(Arch::Ia64),
    ),
    t(
        "root-ia64-verity-sig",
        0xe98b36ee32ba48829b120ce14655f46a,
        Some(Designator::RootVeritySig),
        Some(Arch::Ia64),
    ),
    t(
        "usr-ia64",
        0x4301d2a64e3b4b2abb949e0b2c4225ea,
        Some(Designator::Usr),
        Some(Arch::Ia64),
    ),
    t(
        "usr-ia64-verity",
        0x6a491e033be745458e3883320e0ea880,
        Some(Designator::UsrVerity),
        Some(Arch::Ia64),
    ),
    t(
        "usr-ia64-verity-sig",
        0x8de58bc22a43460db14ea76e4a17b47f,
        Some(Designator::UsrVeritySig),
        Some(Arch::Ia64),
    ),
    t(
        "root-loongarch64",
        0x77055800792c4f94b39a98c91b762bb6,
        Some(Designator::Root),
        Some(Arch::Loongarch64),
    ),
    t(
        "root-loongarch64-verity",
        0xf3393b22e9af4613a9489d3bfbd0c535,
        Some(Designator::RootVerity),
        Some(Arch::Loongarch64),
    ),
    t(
        "root-loongarch64-verity-sig",
        0x5afb67ebecc84f85ae8eac1e7c50e7d0,
        Some(Designator::RootVeritySig),
        Some(Arch::Loongarch64),
    ),
    t(
        "usr-loongarch64",
        0xe611c702575c4cbe9a46434fa0bf7e3f,
        Some(Designator::Usr),
        Some(Arch::Loongarch64),
    ),
    t(
        "usr-loongarch64-verity",
        0xf46b2c2659ae48f09106c50ed47f673d,
        Some(Designator::UsrVerity),
        Some(Arch::Loongarch64),
    ),
    t(
        "usr-loongarch64-verity-sig",
        0xb024f315d330444c846144bbde524e99,
        Some(Designator::UsrVeritySig),
        Some(Arch::Loongarch64),
    ),
    t(
        "root-mips",
        0xe94345446e2c47ccbae212d6deafb44c,
        Some(Designator::Root),
        Some(Arch::Mips),
    ),
    t(
        "root-mips-verity",
        0x7a430799f7114c7e8e5b1d685bd48607,
        Some(Designator::RootVerity),
        Some(Arch::Mips),
    ),
    t(
        "root-mips-verity-sig",
        0xbba210a29c5d45ee9e87ff2ccbd002d0,
        Some(Designator::RootVeritySig),
        Some(Arch::Mips),
    ),
    t(
        "usr-mips",
        0x773b2abc2a9943988bf503baac40d02b,
        Some(Designator::Usr),
        Some(Arch::Mips),
    ),
    t(
        "usr-mips-verity",
        0x6e5a1bc8d22349b7bca837a5fcceb996,
        Some(Designator::UsrVerity),
        Some(Arch::Mips),
    ),
    t(
        "usr-mips-verity-sig",
        0x97ae158df216497b8057f7f905770f54,
        Some(Designator::UsrVeritySig),
        Some(Arch::Mips),
    ),
    t(
        "root-mips64",
        0xd113af7680ef41b4bdb60cff4d3d4a25,
        Some(Designator::Root),
        Some(Arch::Mips64),
    ),
    t(
        "root-mips64-verity",
        0x579536f86a334055a95adf2d5e2c42a8,
        Some(Designator::RootVerity),
        Some(Arch::Mips64),
    ),
    t(
        "root-mips64-verity-sig",
        0x43ce94d40f3d49998250b9deafd98e6e,
        Some(Designator::RootVeritySig),
        Some(Arch::Mips64),
    ),
    t(
        "usr-mips64",
        0x57e13958733143658e6e35eeee17c61b,
        Some(Designator::Usr),
        Some(Arch::Mips64),
    ),
    t(
        "usr-mips64-verity",
        0x81cf9d9074584df48dcfc8a3a404f09b,
        Some(Designator::UsrVerity),
        Some(Arch::Mips64),
    ),
    t(
        "usr-mips64-verity-sig",
        0x05816ce2dd404ac6a61d37d32dc1ba7d,
        Some(Designator::UsrVeritySig),
        Some(Arch::Mips64),
    ),
    t(
        "root-mips-le",
        0x37c58c8ad9134156a25f48b1b64e07f0,
        Some(Designator::Root),
        Some(Arch::MipsLe),
    ),
    t(
        "root-mips-le-verity",
        0xd7d150d22a044a338f1216651205ff7b,
        Some(Designator::RootVerity),
        Some(Arch::MipsLe),
    ),
    t(
        "root-mips-le-verity-sig",
        0xc919cc1f44564eff918cf75e94525ca5,
        Some(Designator::RootVeritySig),
        Some(Arch::MipsLe),
    ),
    t(
        "usr-mips-le",
        0x0f4868e999524706979f3ed3a473e947,
        Some(Designator::Usr),
        Some(Arch::MipsLe),
    ),
    t(
        "usr-mips-le-verity",
        0x46b98d8db55c4e8faab337fca7f80752,
        Some(Designator::UsrVerity),
        Some(Arch::MipsLe),
    ),
    t(
        "usr-mips-le-verity-sig",
        0x3e23ca0ba4bc4b4e80875ab6a26aa8a9,
        Some(Designator::UsrVeritySig),
        Some(Arch::MipsLe),
    ),
    t(
        "root-mips64-le",
        0x700bda437a344507b179eeb93d7a7ca3,
        Some(Designator::Root),
        Some(Arch::Mips64Le),
    ),
    t(
        "root-mips64-le-verity",
        0x16b417f83e064f578dd29b5232f41aa6,
        Some(Designator::RootVerity),
        Some(Arch::Mips64Le),
    ),
    t(
        "root-mips64-le-verity-sig",
        0x904e58ef5c654a319c576af5fc7c5de7,
        Some(Designator::RootVeritySig),
        Some(Arch::Mips64Le),
    ),
    t(
        "usr-mips64-le",
        0xc97c1f32ba0640b49f22236061b08aa8,
        Some(Designator::Usr),
        Some(Arch::Mips64Le),
    ),
    t(
        "usr-mips64-le-verity",
        0x3c3d61feb5f3414dbb718739a694a4ef,
        Some(Designator::UsrVerity),
        Some(Arch::Mips64Le),
    ),
    t(
        "usr-mips64-le-verity-sig",
        0xf2c2c7eeadcc4351b5c6ee9816b66e16,
        Some(Designator::UsrVeritySig),
        Some(Arch::Mips64Le),
    ),
    t(
        "root-parisc",
        0x1aacdb3b54444138bd9ee5c2239b2346,
        Some(Designator::Root),
        Some(Arch::Parisc),
    ),
    t(
        "root-parisc-verity",
        0xd212a430fbc549f9a983a7feef2b8d0e,
        Some(Designator::RootVerity),
        Some(Arch::Parisc),
    ),
    t(
        "root-parisc-verity-sig",
        0x15de617065d3431c916eb0dcd8393f25,
        Some(Designator::RootVeritySig),
        Some(Arch::Parisc),
    ),
    t(
        "usr-parisc",
        0xdc4a448069174262a4ecdb9384949f25,
        Some(Designator::Usr),
        Some(Arch::Parisc),
    ),
    t(
        "usr-parisc-verity",
        0x5843d618ec3748d79f12cea8e08768b2,
        Some(Designator::UsrVerity),
        Some(Arch::Parisc),
    ),
    t(
        "usr-parisc-verity-sig",
        0x450dd7d1322445ec9cf2a43a346d71ee,
        Some(Designator::UsrVeritySig),
        Some(Arch::Parisc),
    ),
    t(
        "root-ppc",
        0x1de3f1effa9847b58dcd4a860a654d78,
        Some(Designator::Root),
        Some(Arch::Ppc),
    ),
    t(
        "root-ppc-verity",
        0x98cfe649158846dcb2f0add147424925,
        Some(Designator::RootVerity),
        Some(Arch::Ppc),
    ),
    t(
        "root-ppc-verity-sig",
        0x1b31b5aaadd9463ab2edbd467fc857e7,
        Some(Designator::RootVeritySig),
        Some(Arch::Ppc),
    ),
    t(
        "usr-ppc",
        0x7d14fec5cc71415d9d6c06bf0b3c3eaf,
        Some(Designator::Usr),
        Some(Arch::Ppc),
    ),
    t(
        "usr-ppc-verity",
        0xdf765d00270e49e5bc75f47bb2118b09,
        Some(Designator::UsrVerity),
        Some(Arch::Ppc),
    ),
    t(
        "usr-ppc-verity-sig",
        0x7007891dd3714a8086a45cb875b9302e,
        Some(Designator::UsrVeritySig),
        Some(Arch::Ppc),
    ),
    t(
        "root-ppc64",
        0x912ade1da83949138964a10eee08fbd2,
        Some(Designator::Root),
        Some(Arch::Ppc64),
    ),
    t(
        "root-ppc64-verity",
        0x9225a9a33c194d89b4f6eeff88f17631,
        Some(Designator::RootVerity),
        Some(Arch::Ppc64),
    ),
    t(
        "root-ppc64-verity-sig",
        0xf5e2c20c45b24ffabce92a60737e1aaf,
        Some(Designator::RootVeritySig),
        Some(Arch::Ppc64),
    ),
    t(
        "usr-ppc64",
        0x2c9739e2f06846b39fd001c5a9afbcca,
        Some(Designator::Usr),
        Some(Arch::Ppc64),
    ),
    t(
        "usr-ppc64-verity",
        0xbdb528a5a259475fa87dda53fa736a07,
        Some(Designator::UsrVerity),
        Some(Arch::Ppc64),
    ),
    t(
        "usr-ppc64-verity-sig",
        0x0b888863d7f84d9e9766239fce4d58af,
        Some(Designator::UsrVeritySig),
        Some(Arch::Ppc64),
    ),
    t(
        "root-ppc64-le",
        0xc31c45e63f39412e80fb4809c4980599,
        Some(Designator::Root),
        Some(Arch::Ppc64Le),
    ),
    t(
        "root-ppc64-le-verity",
        0x906bd94445894aaea4e4dd983917446a,
        Some(Designator::RootVerity),
        Some(Arch::Ppc64Le),
    ),
    t(
        "root-ppc64-le-verity-sig",
        0xd4a236e7e8734c07bf1dbf6cf7f1c3c6,
        Some(Designator::RootVeritySig),
        Some(Arch::Ppc64Le),
    ),
    t(
        "usr-ppc64-le",
        0x15bb03af77e74d4ab12bc0d084f7491c,
        Some(Designator::Usr),
        Some(Arch::Ppc64Le),
    ),
    t(
        "usr-ppc64-le-verity",
        0xee2b998321e8415386d9b6901a54d1ce,
        Some(Designator::UsrVerity),
        Some(Arch::Ppc64Le),
    ),
    t(
        "usr-ppc64-le-verity-sig",
        0xc8bfbd1e268e45218bbabf314c399557,
        Some(Designator::UsrVeritySig),
        Some(Arch::Ppc64Le),
    ),
    t(
        "root-riscv32",
        0x60d5a7fe8e7d435cb7143dd8162144e1,
        Some(Designator::Root),
        Some(Arch::Riscv32),
    ),
    t(
        "root-riscv32-verity",
        0xae0253be11674007ac6843926c14c5de,
        Some(Designator::RootVerity),
        Some(Arch::Riscv32),
    ),
    t(
        "root-riscv32-verity-sig",
        0x3a112a7587294380b4cf764d79934448,
        Some(Designator::RootVeritySig),
        Some(Arch::Riscv32),
    ),
    t(
        "usr-riscv32",
        0xb933fb225c3f4f91af90e2bb0fa50702,
        Some(Designator::Usr),
        Some(Arch::Riscv32),
    ),
    t(
        "usr-riscv32-verity",
        0xcb1ee4e38cd04136a0a4aa61a32e8730,
        Some(Designator::UsrVerity),
        Some(Arch::Riscv32),
    ),
    t(
        "usr-riscv32-verity-sig",
        0xc3836a13313745bab583b16c50fe5eb4,
        Some(Designator::UsrVeritySig),
        Some(Arch::Riscv32),
    ),
    t(
        "root-riscv64",
        0x72ec70a6cf7440e6bd494bda08e8f224,
        Some(Designator::Root),
        Some(Arch::Riscv64),
    ),
    t(
        "root-riscv64-verity",
        0xb6ed5582440b4209b8da5ff7c419ea3d,
        Some(Designator::RootVerity),
        Some(Arch::Riscv64),
    ),
    t(
        "root-riscv64-verity-sig",
        0xefe0f087ea8d4469821a4c2a96a8386a,
        Some(Designator::RootVeritySig),
        Some(Arch::Riscv64),
    ),
    t(
        "usr-riscv64",
        0xbeaec34b8442439ba40b984381ed097d,
        Some(Designator::Usr),
        Some(Arch::Riscv64),
    ),
    t(
        "usr-riscv64-verity",
        0x8f1056be9b0547c481d6be53128e5b54,
        Some(Designator::UsrVerity),
        Some(Arch::Riscv64),
    ),
    t(
        "usr-riscv64-verity-sig",
        0xd2f9000a7a18453fb5cd4d32f77a7b32,
        Some(Designator::UsrVeritySig),
        Some(Arch::Riscv64),
    ),
    t(
        "root-s390",
        0x08a7acea624c4a2091e86e0fa67d23f9,
        Some(Designator::Root),
        Some(Arch::S390),
    ),
    t(
        "root-s390-verity",
        0x7ac63b47b25c463b8df8b4a94e6c90e1,
        Some(Designator::RootVerity),
        Some(Arch::S390),
    ),
    t(
        "root-s390-verity-sig",
        0x3482388e4254435aa241766a065f9960,
        Some(Designator::RootVeritySig),
        Some(Arch::S390),
    ),
    t(
        "usr-s390",
        0xcd0f869bd0fb4ca0b1419ea87cc78d66,
        Some(Designator::Usr),
        Some(Arch::S390),
    ),
    t(
        "usr-s390-verity",
        0xb663c618e7bc4d6d90aa11b756bb1797,
        Some(Designator::UsrVerity),
        Some(Arch::S390),
    ),
    t(
        "usr-s390-verity-sig",
        0x17440e4fa8d0467fa46e3912ae6ef2c5,
        Some(Designator::UsrVeritySig),
        Some(Arch::S390),
    ),
    t(
        "root-s390x",
        0x5eead9a9fe094a1ea1d7520d00531306,
        Some(Designator::Root),
        Some(Arch::S390x),
    ),
    t(
        "root-s390x-verity",
        0xb325bfbec7be4ab88357139e652d2f6b,
        Some(Designator::RootVerity),
        Some(Arch::S390x),
    ),
    t(
        "root-s390x-verity-sig",
        0xc80187a573a3491a901a017c3fa953e9,
        Some(Designator::RootVeritySig),
        Some(Arch::S390x),
    ),
    t(
        "usr-s390x",
        0x8a4f577050aa4ed3874a99b710db6fea,
        Some(Designator::Usr),
        Some(Arch::S390x),
    ),
    t(
        "usr-s390x-verity",
        0x31741cc41a2a4111a581e00b447d2d06,
        Some(Designator::UsrVerity),
        Some(Arch::S390x),
    ),
    t(
        "usr-s390x-verity-sig",
        0x3f324816667b46ae86ee9b0c0c6c11b4,
        Some(Designator::UsrVeritySig),
        Some(Arch::S390x),
    ),
    t(
        "root-tilegx",
        0xc50cdd7038624cc390e1809a8c93ee2c,
        Some(Designator::Root),
        Some(Arch::Tilegx),
    ),
    t(
        "root-tilegx-verity",
        0x966061ec28e44b2eb4a51f0a825a1d84,
        Some(Designator::RootVerity),
        Some(Arch::Tilegx),
    ),
    t(
        "root-tilegx-verity-sig",
        0xb367143997b04a5390f72d5a8f3ad47b,
        Some(Designator::RootVeritySig),
        Some(Arch::Tilegx),
    ),
    t(
        "usr-tilegx",
        0x55497029c7c144ccaa39815ed1558630,
        Some(Designator::Usr),
        Some(Arch::Tilegx),
    ),
    t(
        "usr-tilegx-verity",
        0x2fb4bf5607fa42da81326b139f2026ae,
        Some(Designator::UsrVerity),
        Some(Arch::Tilegx),
    ),
    t(
        "usr-tilegx-verity-sig",
        0x4ede75e26ccc4cc8b9c770334b087510,
        Some(Designator::UsrVeritySig),
        Some(Arch::Tilegx),
    ),
    t(
        "root-x86",
        0x44479540f29741b29af7d131d5f0458a,
        Some(Designator::Root),
        Some(Arch::X86),
    ),
    t(
        "root-x86-verity",
        0xd13c5d3bb5d1422ab29f9454fdc89d76,
        Some(Designator::RootVerity),
        Some(Arch::X86),
    ),
    t(
        "root-x86-verity-sig",
        0x5996fc05109c48de808b23fa0830b676,
        Some(Designator::RootVeritySig),
        Some(Arch::X86),
    ),
    t(
        "usr-x86",
        0x75250d768cc6458ebd66bd47cc81a812,
        Some(Designator::Usr),
        Some(Arch::X86),
    ),
    t(
        "usr-x86-verity",
        0x8f461b0d14ee4e819aa9049b6fb97abd,
        Some(Designator::UsrVerity),
        Some(Arch::X86),
    ),
    t(
        "usr-x86-verity-sig",
        0x974a71c0de4143c3be5d5c5ccd1ad2c0,
        Some(Designator::UsrVeritySig),
        Some(Arch::X86),
    ),
    t(
        "root-x86-64",
        0x4f68bce3e8cd4db196e7fbcaf984b709,
        Some(Designator::Root),
        Some(Arch::X86_64),
    ),
    t(
        "root-x86-64-verity",
        0x2c7357edebd246d9aec123d437ec2bf5,
        Some(Designator::RootVerity),
        Some(Arch::X86_64),
    ),
    t(
        "root-x86-64-verity-sig",
        0x41092b059fc84523994f2def0408b176,
        Some(Designator::RootVeritySig),
        Some(Arch::X86_64),
    ),
    t(
        "usr-x86-64",
        0x8484680c952148c69c11b0720656f69e,
        Some(Designator::Usr),
        Some(Arch::X86_64),
    ),
    t(
        "usr-x86-64-verity",
        0x77ff5f63e7b64633acf41565b864c0e6,
        Some(Designator::UsrVerity),
        Some(Arch::X86_64),
    ),
    t(
        "usr-x86-64-verity-sig",
        0xe7bb33fb06cf4e818273e543b413e2e2,
        Some(Designator::UsrVeritySig),
        Some(Arch::X86_64),
    ),
    t(
        "esp",
        0xc12a7328f81f11d2ba4b00a0c93ec93b,
        Some(Designator::Esp),
        None,
    ),
    t(
        "xbootldr",
        0xbc13c2ff59e64262a352b275fd6f7172,
        Some(Designator::Xbootldr),
        None,
    ),
    t(
        "swap",
        0x0657fd6da4ab43c484e50933c84b4f4f,
        Some(Designator::Swap),
        None,
    ),
    t(
        "home",
        0x933ac7e12eb44f13b8440e14e2aef915,
        Some(Designator::Home),
        None,
    ),
    t(
        "srv",
        0x3b8f842520e04f3b907f1a25a76f98e8,
        Some(Designator::Srv),
        None,
    ),
    t(
        "var",
        0x4d21b016b53445c2a9fb5c16e091fd2d,
        Some(Designator::Var),
        None,
    ),
    t(
        "tmp",
        0x7ec6f5573bc54acab29316ef5df639d1,
        Some(Designator::Tmp),
        None,
    ),
    t("user-home", 0x773f91ef66d449b5bd83d683bf40ad16, None, None),
    t(
        "linux-generic",
        0x0fc63daf848347728e793d69d8477de4,
        None,
        None,
    ),
];

/// Architecture spellings v262 also accepts inside type names (`root-aarch64`).
const ARCH_ALIASES: &[(&str, Arch)] = &[
    ("armv7l", Arch::Arm),
    ("aarch64", Arch::Arm64),
    ("loong64", Arch::Loongarch64),
    ("mipsel", Arch::MipsLe),
    ("mips64el", Arch::Mips64Le),
    ("hppa", Arch::Parisc),
    ("ppc64le", Arch::Ppc64Le),
    ("ppc64el", Arch::Ppc64Le),
    ("i386", Arch::X86),
    ("i486", Arch::X86),
    ("i586", Arch::X86),
    ("i686", Arch::X86),
    ("x86_64", Arch::X86_64),
    ("amd64", Arch::X86_64),
];

/// The per-architecture designators with the suffix that names them.
const ARCH_DESIGNATORS: &[(&str, &str, Designator)] = &[
    ("root", "", Designator::Root),
    ("root", "-verity", Designator::RootVerity),
    ("root", "-verity-sig", Designator::RootVeritySig),
    ("usr", "", Designator::Usr),
    ("usr", "-verity", Designator::UsrVerity),
    ("usr", "-verity-sig", Designator::UsrVeritySig),
];

/// A partition type: its UUID and, when the UUID is in the table, its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionType {
    pub uuid: Uuid,
    pub info: Option<&'static TypeInfo>,
}

impl PartitionType {
    /// Parses a `Type=` value: a table identifier, an alias, or a UUID (32 hex digits, with
    /// or without dashes). Names are case-sensitive.
    pub fn parse(s: &str) -> Option<PartitionType> {
        if let Some(info) = TYPES.iter().find(|i| i.name == s) {
            return Some(PartitionType::from_info(info));
        }
        for (base, suffix, designator) in ARCH_DESIGNATORS {
            let Some(middle) = s.strip_prefix(base).and_then(|r| r.strip_suffix(suffix)) else {
                continue;
            };
            let arch = match middle {
                "" => Some(Arch::native()),
                "-secondary" => Arch::secondary(),
                _ => middle
                    .strip_prefix('-')
                    .and_then(|a| ARCH_ALIASES.iter().find(|(n, _)| *n == a))
                    .map(|(_, arch)| *arch),
            };
            if let Some(info) = arch.and_then(|a| lookup(*designator, a)) {
                return Some(PartitionType::from_info(info));
            }
        }
        crate::id128::parse(s).map(PartitionType::from_uuid)
    }

    /// The type with this UUID; the first table row with it gives the name.
    pub fn from_uuid(uuid: Uuid) -> PartitionType {
        PartitionType {
            uuid,
            info: TYPES.iter().find(|i| i.uuid == uuid),
        }
    }

    fn from_info(info: &'static TypeInfo) -> PartitionType {
        PartitionType {
            uuid: info.uuid,
            info: Some(info),
        }
    }

    /// The canonical identifier, if the type is known.
    pub fn name(&self) -> Option<&'static str> {
        self.info.map(|i| i.name)
    }

    /// What derived labels start with: the canonical name, or `linux` for unknown types.
    pub fn label_prefix(&self) -> &'static str {
        self.name().unwrap_or("linux")
    }

    pub fn designator(&self) -> Option<Designator> {
        self.info.and_then(|i| i.designator)
    }

    /// The same kind of partition for another architecture (`--architecture=`); types that
    /// are not per-architecture, or have no row for `arch`, stay as they are.
    pub fn for_arch(self, arch: Arch) -> PartitionType {
        match self.designator() {
            Some(d) if self.info.and_then(|i| i.arch).is_some() => lookup(d, arch)
                .map(PartitionType::from_info)
                .unwrap_or(self),
            _ => self,
        }
    }

    /// Whether the type carries the grow-file-system attribute (bit 59).
    pub fn knows_grow_fs(&self) -> bool {
        use Designator::*;
        matches!(
            self.designator(),
            Some(Root | Usr | Home | Srv | Var | Tmp | Xbootldr)
        )
    }

    /// Whether the type carries the read-only attribute (bit 60).
    pub fn knows_read_only(&self) -> bool {
        use Designator::*;
        matches!(
            self.designator(),
            Some(
                Root | Usr
                    | RootVerity
                    | UsrVerity
                    | RootVeritySig
                    | UsrVeritySig
                    | Home
                    | Srv
                    | Var
                    | Tmp
                    | Xbootldr
            )
        )
    }

    /// Whether the type carries the no-auto attribute (bit 63).
    pub fn knows_no_auto(&self) -> bool {
        use Designator::*;
        matches!(
            self.designator(),
            Some(Root | RootVerity | Usr | UsrVerity | Home | Srv | Var | Tmp | Xbootldr | Swap)
        )
    }

    /// Verity signature partitions have a fixed size of 16 KiB in v262.
    pub fn is_verity_sig(&self) -> bool {
        matches!(
            self.designator(),
            Some(Designator::RootVeritySig | Designator::UsrVeritySig)
        )
    }

    /// Verity hash or signature types, which default to read-only.
    pub fn is_verity(&self) -> bool {
        use Designator::*;
        matches!(
            self.designator(),
            Some(RootVerity | UsrVerity | RootVeritySig | UsrVeritySig)
        )
    }
}

/// The table row for a designator on an architecture.
fn lookup(designator: Designator, arch: Arch) -> Option<&'static TypeInfo> {
    TYPES
        .iter()
        .find(|i| i.designator == Some(designator) && i.arch == Some(arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    #[test]
    fn names_aliases_and_uuids_parse() {
        let root = PartitionType::parse("root-x86-64").unwrap();
        assert_eq!(root.uuid, uuid("4f68bce3-e8cd-4db1-96e7-fbcaf984b709"));
        assert_eq!(PartitionType::parse("root").unwrap(), root);
        assert_eq!(PartitionType::parse("root-amd64").unwrap(), root);
        assert_eq!(PartitionType::parse("root-x86_64").unwrap(), root);
        let arm64 = PartitionType::parse("root-aarch64").unwrap();
        assert_eq!(arm64.name(), Some("root-arm64"));
        assert_eq!(
            PartitionType::parse("usr-secondary-verity").unwrap().name(),
            Some("usr-x86-verity")
        );
        assert_eq!(
            PartitionType::parse("4F68BCE3E8CD4DB196E7FBCAF984B709").unwrap(),
            root
        );
        let unknown = PartitionType::parse("01234567-89ab-cdef-0123-456789abcdef").unwrap();
        assert_eq!(unknown.label_prefix(), "linux");
        assert!(PartitionType::parse("Root").is_none());
        assert!(PartitionType::parse("ESP").is_none());
        assert!(PartitionType::parse("root-aarch").is_none());
        assert!(PartitionType::parse("").is_none());
    }

    #[test]
    fn reverse_lookup_prefers_canonical_names() {
        let t = PartitionType::from_uuid(uuid("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"));
        assert_eq!(t.name(), Some("esp"));
        let names: std::collections::HashSet<_> = TYPES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), TYPES.len());
        let uuids: std::collections::HashSet<_> = TYPES.iter().map(|t| t.uuid).collect();
        assert_eq!(uuids.len(), TYPES.len());
    }

    #[test]
    fn architecture_remaps_only_per_arch_types() {
        let arm64 = Arch::from_name("arm64").unwrap();
        let remap = |s: &str| PartitionType::parse(s).unwrap().for_arch(arm64).name();
        assert_eq!(remap("root"), Some("root-arm64"));
        assert_eq!(
            remap("4f68bce3-e8cd-4db1-96e7-fbcaf984b709"),
            Some("root-arm64")
        );
        assert_eq!(remap("usr-secondary"), Some("usr-arm64"));
        assert_eq!(
            remap("root-tilegx-verity-sig"),
            Some("root-arm64-verity-sig")
        );
        assert_eq!(remap("home"), Some("home"));
        let sparc = Arch::from_name("sparc").unwrap();
        assert_eq!(
            PartitionType::parse("root").unwrap().for_arch(sparc).name(),
            Some("root-x86-64")
        );
        assert!(Arch::from_name("aarch64").is_none());
    }

    #[test]
    fn attribute_knowledge_follows_the_designator() {
        let p = |s: &str| PartitionType::parse(s).unwrap();
        assert!(p("root").knows_grow_fs() && p("home").knows_no_auto());
        assert!(!p("esp").knows_grow_fs() && !p("esp").knows_read_only());
        assert!(!p("linux-generic").knows_no_auto());
        assert!(p("swap").knows_no_auto() && !p("swap").knows_read_only());
        assert!(p("root-verity-sig").knows_read_only() && !p("root-verity-sig").knows_no_auto());
        assert!(p("usr-verity-sig").is_verity_sig());
    }
}
