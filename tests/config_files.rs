//! The search for definition files and drop-ins, and `load` end to end, over trees built in
//! a temporary directory. The expected outcomes (which file wins, what masks, the paths v262
//! prints as `file` in its JSON) were measured on systemd-repart 262 with the same trees.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use repart_rs::config::definition::Definition;
use repart_rs::config::files::{self, FoundDefinition};
use repart_rs::config::specifier::SpecifierContext;
use repart_rs::config::types::Arch;
use repart_rs::config::{Diagnostic, LoadOptions, load};
use repart_rs::error::ErrorKind;

/// A directory tree that is removed again when dropped.
struct Tree(PathBuf);

impl Tree {
    fn new() -> Tree {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("repart-rs-config-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Tree(path.canonicalize().unwrap())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn file(&self, rel: &str, text: &str) -> &Tree {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn link(&self, rel: &str, target: &str) -> &Tree {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
        self
    }

    fn dir(&self, rel: &str) -> &Tree {
        std::fs::create_dir_all(self.path(rel)).unwrap();
        self
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn part(t: &str) -> String {
    format!("[Partition]\nType={t}\n")
}

fn load_with(
    root: Option<&Path>,
    definitions: &[PathBuf],
) -> repart_rs::error::Result<Vec<Definition>> {
    load(&LoadOptions {
        root,
        definitions,
        architecture: None,
        specifiers: &|| Ok(SpecifierContext::default()),
    })
}

/// (display path, type name, label) of each definition, in definition order.
fn summary(defs: &[Definition]) -> Vec<(String, String, Option<String>)> {
    defs.iter()
        .map(|d| {
            (
                d.display_path.clone(),
                d.partition_type.name().unwrap_or("?").to_owned(),
                d.label.clone(),
            )
        })
        .collect()
}

fn find(root: Option<&Path>, definitions: &[PathBuf]) -> (Vec<FoundDefinition>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let found = files::find(root, definitions, &mut diags).unwrap();
    (found, diags)
}

fn s(x: &str) -> String {
    x.to_owned()
}

#[test]
fn root_search_order_override_and_display_paths() {
    let t = Tree::new();
    t.file("usr/lib/repart.d/05-c.conf", &part("home"))
        .file("etc/repart.d/10-e.conf", &part("srv"))
        .file("run/repart.d/20-r.conf", &part("var"))
        .file("usr/local/lib/repart.d/30-l.conf", &part("tmp"))
        .file("etc/repart.d/40-o.conf", &part("var"))
        .file("run/repart.d/40-o.conf", &part("tmp"))
        .file("usr/lib/repart.d/40-o.conf", &part("home"))
        .file("usr/local/lib/repart.d/50-o.conf", &part("srv"))
        .file("usr/lib/repart.d/50-o.conf", &part("tmp"))
        // Not definitions: hidden, wrong suffix (case-sensitive), a directory.
        .file("etc/repart.d/.60.conf", &part("esp"))
        .file("etc/repart.d/61.CONF", &part("esp"))
        .file("etc/repart.d/62.conf~", &part("esp"))
        .dir("etc/repart.d/63-d.conf");
    let defs = load_with(Some(&t.0), &[]).unwrap();
    assert_eq!(
        summary(&defs),
        [
            (s("usr/lib/repart.d/05-c.conf"), s("home"), None),
            (s("etc/repart.d/10-e.conf"), s("srv"), None),
            (s("run/repart.d/20-r.conf"), s("var"), None),
            (s("usr/local/lib/repart.d/30-l.conf"), s("tmp"), None),
            (s("etc/repart.d/40-o.conf"), s("var"), None),
            (s("usr/local/lib/repart.d/50-o.conf"), s("srv"), None),
        ]
    );
    assert_eq!(defs[0].path, t.path("usr/lib/repart.d/05-c.conf"));
    assert_eq!(defs[0].name, "05-c");
    // A relative spelling of the root and a trailing slash show the same paths.
    let with_slash = PathBuf::from(format!("{}/", t.0.display()));
    assert_eq!(
        summary(&load_with(Some(&with_slash), &[]).unwrap()),
        summary(&defs)
    );
}

#[test]
fn masking_inside_a_root() {
    let t = Tree::new();
    for n in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
        t.file(&format!("usr/lib/repart.d/{n}.conf"), &part("srv"));
    }
    // Masks: a link whose target is /dev/null (the root has no /dev), however spelled,
    // and an empty regular file.
    t.link("etc/repart.d/a.conf", "/dev/null")
        .link("etc/repart.d/b.conf", "/dev//null")
        .link("etc/repart.d/c.conf", "../../dev/null")
        .link("run/repart.d/d.conf", "/dev/null/")
        .file("usr/local/lib/repart.d/e.conf", "")
        // Not masks: dangling links and directories are skipped, so the /usr/lib file wins.
        .link("etc/repart.d/f.conf", "./dev/null")
        .link("etc/repart.d/g.conf", "/dev/zero")
        .dir("etc/repart.d/h.conf")
        .link("etc/repart.d/i.conf", "/usr/lib/repart.d")
        // A file holding only a newline is not empty: it is parsed (and fails: no Type=).
        .file("etc/repart.d/j.conf", "\n");
    let (found, diags) = find(Some(&t.0), &[]);
    let names: Vec<_> = found.iter().map(|f| f.main.display.clone()).collect();
    assert_eq!(
        names,
        [
            "usr/lib/repart.d/f.conf",
            "usr/lib/repart.d/g.conf",
            "usr/lib/repart.d/h.conf",
            "usr/lib/repart.d/i.conf",
            "etc/repart.d/j.conf",
        ]
    );
    let mut warnings: Vec<_> = diags
        .iter()
        .filter(|d| d.level == log::Level::Warn)
        .map(|d| d.message.as_str())
        .collect();
    warnings.sort_unstable();
    assert_eq!(
        warnings,
        [
            "etc/repart.d/f.conf: dangling symlink, skipping",
            "etc/repart.d/g.conf: dangling symlink, skipping",
        ]
    );
    let e = load_with(Some(&t.0), &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        e.to_string(),
        "etc/repart.d/j.conf: Type= is not set, neither in the file nor in its drop-ins"
    );
}

#[test]
fn masking_on_the_host_also_takes_character_devices() {
    let t = Tree::new();
    t.link("d/a.conf", "/dev/null")
        .link("d/b.conf", "../../../../../../../../dev/null")
        .link("d/c.conf", "/dev/zero")
        .file("d/d.conf", "")
        .link("d/loop1.conf", "loop2.conf")
        .link("d/loop2.conf", "loop1.conf")
        .file("d/ok.conf", &part("srv"))
        .link("d/n4.conf", "ok.conf");
    let (found, diags) = find(None, &[t.path("d")]);
    let names: Vec<_> = found.iter().map(|f| f.main.path.clone()).collect();
    assert_eq!(names, [t.path("d/n4.conf"), t.path("d/ok.conf")]);
    assert_eq!(found[0].main.read_path, t.path("d/ok.conf"));
    let loops = diags
        .iter()
        .filter(|d| d.level == log::Level::Warn && d.message.contains("loop"))
        .count();
    assert_eq!(loops, 2, "{diags:?}");
    let defs = load_with(None, &[t.path("d")]).unwrap();
    assert_eq!(defs[0].name, "n4");
    assert_eq!(
        defs[0].display_path,
        t.path("d/n4.conf").display().to_string()
    );
}

#[test]
fn dropins_merge_by_name_across_directories() {
    let t = Tree::new();
    t.file("etc/repart.d/30-c.conf", &part("var"))
        .file("usr/lib/repart.d/30-c.conf", &part("tmp"))
        .file(
            "usr/lib/repart.d/30-c.conf.d/a.conf",
            "[Partition]\nLabel=usrA\n",
        )
        .file(
            "etc/repart.d/30-c.conf.d/a.conf",
            "[Partition]\nLabel=etcA\nWeight=5\n",
        )
        .file("run/repart.d/30-c.conf.d/b.conf", "[Partition]\nLabel=B\n")
        // An empty drop-in hides the lower one of the same name and adds nothing.
        .file(
            "usr/lib/repart.d/30-c.conf.d/c.conf",
            "[Partition]\nLabel=C\n",
        )
        .file("etc/repart.d/30-c.conf.d/c.conf", "")
        .link("run/repart.d/30-c.conf.d/d.conf", "/dev/null")
        .file(
            "usr/lib/repart.d/30-c.conf.d/d.conf",
            "[Partition]\nLabel=D\n",
        )
        .file(
            "usr/lib/repart.d/30-c.conf.d/.e.conf",
            "[Partition]\nLabel=E\n",
        )
        .file(
            "usr/lib/repart.d/30-c.conf.d/f.CONF",
            "[Partition]\nLabel=F\n",
        );
    let (found, _) = find(Some(&t.0), &[]);
    assert_eq!(found.len(), 1);
    let dropins: Vec<_> = found[0].dropins.iter().map(|d| d.display.clone()).collect();
    assert_eq!(
        dropins,
        [
            "etc/repart.d/30-c.conf.d/a.conf",
            "run/repart.d/30-c.conf.d/b.conf"
        ]
    );
    let defs = load_with(Some(&t.0), &[]).unwrap();
    assert_eq!(
        summary(&defs),
        [(s("etc/repart.d/30-c.conf"), s("var"), Some(s("B")))]
    );
    assert_eq!(defs[0].weight, 5);
    assert_eq!(
        defs[0].dropins,
        [
            t.path("etc/repart.d/30-c.conf.d/a.conf"),
            t.path("run/repart.d/30-c.conf.d/b.conf")
        ]
    );
}

#[test]
fn symlinked_definitions_follow_the_link_name() {
    let t = Tree::new();
    t.file("d/50-root.conf", "[Partition]\nType=root\n")
        .link("d/70-root-b.conf", "50-root.conf")
        .file("d/50-root.conf.d/x.conf", "[Partition]\nLabel=T\n")
        .file("zz.conf", "[Partition]\nLabel=Z\n")
        .link("d/50-root.conf.d/z.conf", "../../zz.conf")
        .file("d/70-root-b.conf.d/y.conf", "[Partition]\nLabel=L\n")
        // A drop-in directory may be a symlink too.
        .file("d/87-sub/a.conf", "[Partition]\nType=srv\n")
        .link("d/88-y.conf.d", "87-sub")
        .file("d/88-y.conf", "[Partition]\nType=var\n")
        .link("d/86-dirlink.conf", "87-sub");
    let defs = load_with(None, &[t.path("d")]).unwrap();
    let shown = |rel: &str| t.path(rel).display().to_string();
    assert_eq!(
        summary(&defs),
        [
            (shown("d/50-root.conf"), s("root-x86-64"), Some(s("Z"))),
            (shown("d/70-root-b.conf"), s("root-x86-64"), Some(s("L"))),
            (shown("d/88-y.conf"), s("srv"), None),
        ]
    );
    assert_eq!(defs[1].name, "70-root-b");
    assert_eq!(defs[1].path, t.path("d/70-root-b.conf"));
    assert_eq!(defs[1].dropins, [t.path("d/70-root-b.conf.d/y.conf")]);
}

#[test]
fn absolute_links_resolve_inside_the_root() {
    let t = Tree::new();
    t.file("usr/lib/repart.d/05-c.conf", &part("home"))
        .link("etc/repart.d/70-b.conf", "/usr/lib/repart.d/05-c.conf")
        .link("etc/repart.d/71-b.conf", "../../usr/lib/repart.d/05-c.conf");
    let defs = load_with(Some(&t.0), &[]).unwrap();
    assert_eq!(
        summary(&defs),
        [
            (s("usr/lib/repart.d/05-c.conf"), s("home"), None),
            (s("etc/repart.d/70-b.conf"), s("home"), None),
            (s("etc/repart.d/71-b.conf"), s("home"), None),
        ]
    );
}

#[test]
fn a_symlinked_search_directory_is_shown_resolved() {
    let t = Tree::new();
    t.file("usr/lib/repart.d/a.conf", &part("home"))
        .file("usr/lib/repart.d/a.conf.d/x.conf", "[Partition]\nLabel=X\n")
        .link("etc/repart.d", "/usr/lib/repart.d");
    let (found, _) = find(Some(&t.0), &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].main.display, "usr/lib/repart.d/a.conf");
    assert_eq!(found[0].main.path, t.path("usr/lib/repart.d/a.conf"));
    let dropins: Vec<_> = found[0]
        .dropins
        .iter()
        .map(|d| d.display.as_str())
        .collect();
    assert_eq!(dropins, ["usr/lib/repart.d/a.conf.d/x.conf"]);
}

#[test]
fn definitions_directories_replace_the_search() {
    let t = Tree::new();
    t.file("d1/a.conf", &part("home"))
        .file("d2/a.conf", &part("srv"))
        .file("d2/b.conf", &part("var"))
        .file("d1/b.conf.d/x.conf", "[Partition]\nLabel=X\n")
        .link("d1link", "d1")
        .file("root/etc/repart.d/c.conf", &part("tmp"))
        .file("d1/c.txt", "not a definition");
    let shown = |rel: &str| t.path(rel).display().to_string();
    let d1 = t.path("d1");
    let d2 = t.path("d2");
    // An earlier directory wins; drop-ins come from every directory.
    let defs = load_with(None, &[d2.clone(), d1.clone()]).unwrap();
    assert_eq!(
        summary(&defs),
        [
            (shown("d2/a.conf"), s("srv"), None),
            (shown("d2/b.conf"), s("var"), Some(s("X"))),
        ]
    );
    let defs = load_with(None, &[d1.clone(), d2.clone(), d1.clone()]).unwrap();
    assert_eq!(summary(&defs)[0], (shown("d1/a.conf"), s("home"), None));
    // Paths are made absolute with symlinks resolved; duplicates and missing ones dropped.
    let spelled = [
        t.path("d1link"),
        PathBuf::from(format!("{}/../d1/", d1.display())),
        t.path("missing"),
        d2.clone(),
    ];
    let defs = load_with(None, &spelled).unwrap();
    assert_eq!(
        summary(&defs),
        [
            (shown("d1/a.conf"), s("home"), None),
            (shown("d2/b.conf"), s("var"), Some(s("X"))),
        ]
    );
    // --definitions is not prefixed with --root and shows absolute paths.
    let defs = load_with(Some(&t.path("root")), std::slice::from_ref(&d1)).unwrap();
    assert_eq!(summary(&defs), [(shown("d1/a.conf"), s("home"), None)]);
    // A file given as a directory is reported and skipped.
    let (found, diags) = find(None, &[t.path("d1/c.txt")]);
    assert!(found.is_empty());
    assert!(
        diags.iter().any(|d| d.level == log::Level::Warn),
        "{diags:?}"
    );
}

#[test]
fn definitions_are_sorted_by_name_bytes() {
    let t = Tree::new();
    t.file("d1/b.conf", &part("home"))
        .file("d2/B.conf", &part("srv"))
        .file("d2/a.conf", &part("var"))
        .file("d1/a-1.conf", &part("tmp"))
        .file("d1/a.conf", &part("esp"));
    let defs = load_with(None, &[t.path("d1"), t.path("d2")]).unwrap();
    let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
    // By the whole file name, as strcmp() does: "a-1.conf" sorts before "a.conf".
    assert_eq!(names, ["B", "a-1", "a", "b"]);
    assert_eq!(defs[2].partition_type.name(), Some("esp"));
}

#[test]
fn architecture_and_specifiers_reach_the_parser() {
    let t = Tree::new();
    t.file("d/a.conf", "[Partition]\nType=root\nLabel=%o-%a\n");
    let specifiers = SpecifierContext {
        architecture: Some("x86-64".into()),
        os_id: Some("debian".into()),
        ..SpecifierContext::default()
    };
    let definitions = [t.path("d")];
    let defs = load(&LoadOptions {
        root: None,
        definitions: &definitions,
        architecture: Arch::from_name("arm64"),
        specifiers: &|| Ok(specifiers.clone()),
    })
    .unwrap();
    assert_eq!(defs[0].partition_type.name(), Some("root-arm64"));
    assert_eq!(defs[0].label.as_deref(), Some("debian-x86-64"));
}

#[test]
fn specifiers_are_gathered_once_and_only_for_a_percent() {
    let t = Tree::new();
    t.file("plain/a.conf", "[Partition]\nType=root\nLabel=plain\n");
    t.file("plain/b.conf", "[Partition]\nType=swap\n");
    t.file("used/a.conf", "[Partition]\nType=root\nLabel=%o\n");
    t.file("used/b.conf", "[Partition]\nType=home\n");
    t.file("used/b.conf.d/x.conf", "[Partition]\nLabel=%o-home\n");
    let calls = std::cell::Cell::new(0);
    let gather = || {
        calls.set(calls.get() + 1);
        Ok(SpecifierContext {
            os_id: Some("debian".into()),
            ..SpecifierContext::default()
        })
    };
    let load_dir = |dir: &str| {
        let definitions = [t.path(dir)];
        load(&LoadOptions {
            root: None,
            definitions: &definitions,
            architecture: None,
            specifiers: &gather,
        })
        .unwrap()
    };
    let plain = load_dir("plain");
    assert_eq!(plain[0].label.as_deref(), Some("plain"));
    assert_eq!(calls.get(), 0);
    let used = load_dir("used");
    assert_eq!(used[0].label.as_deref(), Some("debian"));
    assert_eq!(used[1].label.as_deref(), Some("debian-home"));
    assert_eq!(calls.get(), 1);
    // A failure to gather them fails the load that needs them, and only that one.
    let definitions = [t.path("used")];
    let failing = || {
        Err(repart_rs::error::Error::new(
            repart_rs::error::ErrorKind::Corrupt,
            "os-release: broken",
        ))
    };
    let options = |definitions| LoadOptions {
        root: None,
        definitions,
        architecture: None,
        specifiers: &failing,
    };
    let e = load(&options(&definitions)).unwrap_err();
    assert!(e.to_string().contains("os-release: broken"), "{e}");
    assert!(load(&options(&[t.path("plain")])).is_ok());
}

/// Loads a directory holding the given files; the error message, if any.
fn load_error(files: &[(&str, &str)]) -> Option<String> {
    let t = Tree::new();
    for (name, text) in files {
        t.file(&format!("d/{name}"), text);
    }
    let result = load_with(None, &[t.path("d")]);
    result.err().map(|e| {
        e.to_string()
            .replace(&format!("{}/", t.path("d").display()), "")
    })
}

#[test]
fn verity_siblings_are_checked_across_definitions() {
    let data = "[Partition]\nType=root\nVerity=data\nVerityMatchKey=k\n";
    let hash = "[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=k\n";
    let sig = "[Partition]\nType=root-verity-sig\nVerity=signature\nVerityMatchKey=k\n";
    assert_eq!(load_error(&[("a.conf", data), ("b.conf", hash)]), None);
    assert_eq!(
        load_error(&[("a.conf", data), ("b.conf", hash), ("c.conf", sig)]),
        None
    );
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("a.conf", data)],
            "a.conf:4: there is no Verity=hash partition with VerityMatchKey=k for this Verity=data partition",
        ),
        (
            &[("b.conf", hash), ("c.conf", sig)],
            "b.conf:4: there is no Verity=data partition with VerityMatchKey=k for this Verity=hash partition",
        ),
        (
            &[("c.conf", sig)],
            "c.conf:4: there is no Verity=data partition with VerityMatchKey=k for this Verity=signature partition",
        ),
        (
            &[("a.conf", data), ("b.conf", hash), ("c.conf", data)],
            "b.conf:4: there is more than one Verity=data partition",
        ),
        (
            &[("a.conf", data), ("b.conf", hash), ("c.conf", hash)],
            "a.conf:4: there is more than one Verity=hash partition",
        ),
        (
            &[
                ("a.conf", data),
                ("b.conf", hash),
                ("c.conf", sig),
                ("d.conf", sig),
            ],
            "a.conf:4: there is more than one Verity=signature partition",
        ),
        (
            &[("a.conf", data), ("b.conf", &format!("{hash}Priority=1\n"))],
            "a.conf:4: Priority=0 differs from Priority=1 of its verity sibling",
        ),
    ];
    for (files, want) in cases {
        let got = load_error(files).unwrap_or_default();
        assert!(got.starts_with(want), "got {got}\nwant {want}");
    }
    let got = load_error(&[
        ("a.conf", data),
        ("b.conf", &format!("{hash}Minimize=best\n")),
    ])
    .unwrap();
    assert!(
        got.starts_with("b.conf:5: Minimize= on a Verity=hash partition needs"),
        "{got}"
    );
    let got = load_error(&[
        ("a.conf", data),
        ("b.conf", &format!("{hash}CopyBlocks=/dev/x\n")),
    ])
    .unwrap();
    assert!(
        got.starts_with("b.conf:5: CopyBlocks= on a Verity=hash partition needs"),
        "{got}"
    );
    let data_min = format!("{data}Minimize=best\nFormat=erofs\n");
    assert_eq!(
        load_error(&[
            ("a.conf", &data_min),
            ("b.conf", &format!("{hash}Minimize=best\n"))
        ]),
        None
    );
}

#[test]
fn supplements_are_checked_across_definitions() {
    let esp = "[Partition]\nType=esp\n";
    let supp = "[Partition]\nType=xbootldr\nSupplementFor=a\n";
    assert_eq!(load_error(&[("a.conf", esp), ("b.conf", supp)]), None);
    let cases: [(&[(&str, &str)], &str); 8] = [
        (
            &[("a.conf", supp)],
            "a.conf:3: SupplementFor=a: there is no definition a.conf",
        ),
        (
            &[("b.conf", supp)],
            "b.conf:3: SupplementFor=a: there is no definition a.conf",
        ),
        (
            &[("a.conf", esp), ("b.conf", supp), ("c.conf", supp)],
            "c.conf:3: SupplementFor=a: a.conf already has the supplement",
        ),
        (
            &[
                ("a.conf", "[Partition]\nType=esp\nSupplementFor=c\n"),
                ("b.conf", supp),
                ("c.conf", esp),
            ],
            "b.conf:3: SupplementFor=a: a.conf is itself a supplement",
        ),
        (
            &[
                ("a.conf", "[Partition]\nType=esp\nEncrypt=yes\n"),
                ("b.conf", supp),
            ],
            "b.conf:3: SupplementFor=a: a.conf uses CopyBlocks=, Encrypt= or Verity=",
        ),
        (
            &[("a.conf", esp), ("b.conf", &format!("{supp}Encrypt=yes\n"))],
            "b.conf:3: SupplementFor= cannot be combined with CopyBlocks=, Encrypt= or Verity=",
        ),
        (
            &[
                ("a.conf", "[Partition]\nType=esp\nSizeMinBytes=100M\n"),
                ("b.conf", &format!("{supp}SizeMaxBytes=50M\n")),
            ],
            "b.conf:3: merged with a.conf, SizeMinBytes= (104857600) is larger than SizeMaxBytes= (52428800)",
        ),
        (
            &[
                ("a.conf", "[Partition]\nType=esp\nPaddingMaxBytes=50M\n"),
                ("b.conf", &format!("{supp}PaddingMinBytes=100M\n")),
            ],
            "b.conf:3: merged with a.conf, PaddingMinBytes=",
        ),
    ];
    for (files, want) in cases {
        let got = load_error(files).unwrap_or_default();
        assert!(got.starts_with(want), "got {got}\nwant {want}");
    }
}

#[test]
fn errors_stop_loading_and_warnings_do_not() {
    assert_eq!(
        load_error(&[(
            "a.conf",
            "[Partition]\nType=home\nWeight=x\nSizeMinBytes=10X\n"
        )])
        .unwrap(),
        "a.conf:4: SizeMinBytes=10X: invalid size (accepted: a number with an optional B, K, M, \
         G, T, P or E suffix, base 1024)"
    );
    assert_eq!(
        load_error(&[("a.conf", "[Partition]\nType=home\nWeight=x\nFoo=1\n")]),
        None
    );
    let big = format!(
        "[Partition]\nType=home\n#{}\n",
        "x".repeat(repart_rs::config::MAX_FILE_SIZE as usize)
    );
    assert!(
        load_error(&[("a.conf", &big)])
            .unwrap()
            .contains("larger than")
    );
}
