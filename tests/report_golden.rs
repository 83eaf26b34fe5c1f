//! Replays the goldens of tests/fixtures/report (made by gen.py from the reference
//! systemd-repart 262): each case's plan is rebuilt from its disk layout and definitions,
//! and every variant's stdout (table and bar, or JSON) must match v262's byte for byte.
//!
//! Case format, one item per line (`#` starts a comment):
//! - `name=`, `sector_size=`, `disk_size=`, `seed=`, `node=` (the disk as v262 names it),
//!   `defdir=` (the definitions directory as v262 prints it), `arg=` (planner flags);
//! - `layout new|existing ...` and `part ...`: the table as the planner sees it;
//! - `def file=` and `dropin file=` (relative to defdir), each followed by `conf Key=Value`;
//! - `variant name= [tty] [env=K=V]... [arg=FLAG]...`: one oracle run; its stdout is in
//!   `cases/NAME/VARIANT.out`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use repart_rs::config::definition::{Definition, Verity};
use repart_rs::config::types::{Designator, PartitionType};
use repart_rs::plan::{self, DiskLayout, ExistingPartition, Plan, PlanOptions};
use repart_rs::report::{self, ColorMode, DefinitionInfo, Glyphs, ReportInput, Style};
use uuid::Uuid;

type Fields = BTreeMap<String, String>;

fn fields(line: &str) -> Fields {
    line.split_whitespace()
        .skip(1)
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn num(f: &Fields, k: &str) -> u64 {
    f[k].parse().unwrap_or_else(|_| panic!("bad {k}: {}", f[k]))
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// A definition file: its name, its `Key=Value` lines, its drop-ins with theirs.
#[derive(Default)]
struct CaseDef {
    file: String,
    conf: Vec<(String, String)>,
    dropins: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Default)]
struct Variant {
    name: String,
    tty: bool,
    env: BTreeMap<String, String>,
    args: Vec<String>,
}

#[derive(Default)]
struct Case {
    name: String,
    disk_size: u64,
    sector_size: u64,
    seed: String,
    node: String,
    defdir: String,
    args: Vec<String>,
    layout: Fields,
    parts: Vec<Fields>,
    defs: Vec<CaseDef>,
    variants: Vec<Variant>,
}

fn parse_case(text: &str) -> Case {
    let mut c = Case::default();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or_default();
        match word {
            "layout" => c.layout = fields(line),
            "part" => c.parts.push(fields(line)),
            "def" => c.defs.push(CaseDef {
                file: fields(line)["file"].clone(),
                ..CaseDef::default()
            }),
            "dropin" => {
                let d = c.defs.last_mut().unwrap();
                d.dropins.push((fields(line)["file"].clone(), Vec::new()));
            }
            "conf" => {
                let (k, v) = line["conf ".len()..].split_once('=').unwrap();
                let d = c.defs.last_mut().unwrap();
                let kv = (k.to_owned(), v.to_owned());
                match d.dropins.last_mut() {
                    Some((_, conf)) => conf.push(kv),
                    None => d.conf.push(kv),
                }
            }
            "variant" => {
                let mut v = Variant::default();
                for w in line.split_whitespace().skip(1) {
                    match w.split_once('=') {
                        Some(("name", n)) => v.name = n.to_owned(),
                        Some(("env", kv)) => {
                            let (k, x) = kv.split_once('=').unwrap();
                            v.env.insert(k.to_owned(), x.to_owned());
                        }
                        Some(("arg", a)) => v.args.push(a.to_owned()),
                        None if w == "tty" => v.tty = true,
                        _ => panic!("bad variant word {w}"),
                    }
                }
                c.variants.push(v);
            }
            _ => {
                let (k, v) = line.split_once('=').unwrap();
                match k {
                    "name" => c.name = v.to_owned(),
                    "sector_size" => c.sector_size = v.parse().unwrap(),
                    "disk_size" => c.disk_size = v.parse().unwrap(),
                    "seed" => c.seed = v.to_owned(),
                    "node" => c.node = v.to_owned(),
                    "defdir" => c.defdir = v.to_owned(),
                    "arg" => c.args.push(v.to_owned()),
                    _ => panic!("unknown line {line}"),
                }
            }
        }
    }
    c
}

/// A size with an optional K/M/G suffix (base 1024).
fn size(v: &str) -> u64 {
    for (u, shift) in [('K', 10), ('M', 20), ('G', 30)] {
        if let Some(n) = v.strip_suffix(u) {
            return n.parse::<u64>().unwrap() << shift;
        }
    }
    v.parse().unwrap()
}

/// The definition the main file and its drop-ins describe (the keys the cases use).
fn definition(path: PathBuf, conf: &[&(String, String)]) -> Definition {
    let ty = conf
        .iter()
        .rev()
        .find(|(k, _)| k == "Type")
        .map(|(_, v)| PartitionType::parse(v).unwrap())
        .expect("Type=");
    let mut d = Definition::new(path, ty);
    for (k, v) in conf {
        match k.as_str() {
            "Type" | "VerityMatchKey" => {}
            "Label" => d.label = Some(v.clone()),
            "Priority" => d.priority = v.parse().unwrap(),
            "SizeMinBytes" => d.size_min = Some(size(v).div_ceil(4096) * 4096),
            "SizeMaxBytes" => d.size_max = Some(size(v) / 4096 * 4096),
            "Verity" => {
                d.verity = match v.as_str() {
                    "data" => Verity::Data,
                    "hash" => Verity::Hash,
                    _ => panic!("Verity={v}"),
                }
            }
            _ => panic!("conf key {k} not handled by the test loader"),
        }
    }
    if d.partition_type.designator() == Some(Designator::Swap) {
        d.format = Some("swap".into());
    }
    d
}

/// The plan, and what the report prints about each definition.
fn inputs(c: &Case) -> (Plan, Vec<DefinitionInfo>) {
    let l = &c.layout;
    let disk = DiskLayout {
        sector_size: c.sector_size,
        disk_size: c.disk_size,
        first_usable_lba: num(l, "first_lba"),
        last_usable_lba: num(l, "last_lba"),
        entry_count: num(l, "entries") as usize,
        disk_guid: l.get("disk_guid").map(|g| uuid(g)),
        partitions: c
            .parts
            .iter()
            .map(|p| ExistingPartition {
                slot: num(p, "slot") as usize,
                type_uuid: uuid(&p["type"]),
                uuid: uuid(&p["uuid"]),
                first_lba: num(p, "first"),
                last_lba: num(p, "last"),
                attributes: num(p, "attrs"),
                label: p["label"].clone(),
            })
            .collect(),
    };
    let mut defs: Vec<&CaseDef> = c.defs.iter().collect();
    defs.sort_by(|a, b| a.file.cmp(&b.file));
    let definitions: Vec<Definition> = defs
        .iter()
        .map(|d| {
            let conf: Vec<&(String, String)> = d
                .conf
                .iter()
                .chain(d.dropins.iter().flat_map(|(_, conf)| conf))
                .collect();
            definition(Path::new(&c.defdir).join(&d.file), &conf)
        })
        .collect();
    let infos = defs
        .iter()
        .zip(&definitions)
        .map(|(d, def)| DefinitionInfo {
            file: format!("{}/{}", c.defdir, d.file),
            dropins: d
                .dropins
                .iter()
                .map(|(f, _)| format!("{}/{f}", c.defdir))
                .collect(),
            roothash: (def.verity != Verity::Off).then(|| "TBD".to_owned()),
        })
        .collect();
    let mut options = PlanOptions {
        seed: uuid(&c.seed),
        grain_size: None,
        factory_reset: false,
        include: None,
        exclude: None,
        defer: Vec::new(),
        defer_empty: false,
        defer_factory_reset: false,
        default_fs_sector_size: 4096,
        fallback_entropy: [0; 32],
    };
    for a in &c.args {
        match a.split_once('=') {
            Some(("--defer-partitions", t)) => {
                options.defer = vec![PartitionType::parse(t).unwrap().uuid]
            }
            _ => panic!("arg {a} not handled by the test loader"),
        }
    }
    let plan = match plan::layout(&disk, &definitions, &options) {
        Ok(Ok(plan)) => plan,
        Ok(Err(s)) => panic!("{}: does not fit: {s}", c.name),
        Err(e) => panic!("{}: {e}", c.name),
    };
    (plan, infos)
}

/// What v262 writes to stdout for this variant, from our report.
fn output(input: &ReportInput, v: &Variant) -> String {
    let env = |k: &str| v.env.get(k).map(String::as_str);
    let glyphs = match env("SYSTEMD_UTF8") {
        Some("0") => Glyphs::Ascii,
        _ => Glyphs::Utf8,
    };
    let debug = env("SYSTEMD_LOG_LEVEL") == Some("debug");
    for a in &v.args {
        match a.as_str() {
            "--json=short" => return report::json(input, debug, glyphs).to_short() + "\n",
            "--json=pretty" => return report::json(input, debug, glyphs).to_pretty() + "\n",
            _ => {}
        }
    }
    let style = Style {
        glyphs,
        colors: match env("SYSTEMD_COLORS") {
            None | Some("0") => ColorMode::Off,
            Some("16") => ColorMode::Ansi16,
            Some("1" | "256") => ColorMode::Ansi256,
            Some("24bit") => ColorMode::Ansi24Bit,
            Some(other) => panic!("SYSTEMD_COLORS={other}"),
        },
        columns: env("COLUMNS").map_or(80, |c| c.parse().unwrap()),
        fit_to_columns: v.tty && v.args.iter().any(|a| a == "--no-pager"),
        legend: !v.args.iter().any(|a| a == "--no-legend"),
        debug,
    };
    report::human(input, &style)
}

/// The first line where two outputs differ, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        if e.get(i) != a.get(i) {
            return format!(
                "line {}:\n  expected {:?}\n  actual   {:?}",
                i + 1,
                e.get(i),
                a.get(i)
            );
        }
    }
    "only the line ends differ".to_owned()
}

#[test]
fn report_matches_v262() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "goldens missing in {}", dir.display());
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &cases {
        let c = parse_case(&fs::read_to_string(path).unwrap());
        let (plan, infos) = inputs(&c);
        let input = ReportInput {
            plan: &plan,
            disk_size: c.disk_size,
            node: &c.node,
            definitions: &infos,
        };
        for v in &c.variants {
            let golden = dir.join(&c.name).join(format!("{}.out", v.name));
            let expected = fs::read_to_string(&golden).unwrap();
            let actual = output(&input, v);
            checked += 1;
            if actual != expected {
                failures.push(format!(
                    "{}/{}: {}",
                    c.name,
                    v.name,
                    first_difference(&expected, &actual)
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} variants");
    assert!(
        failures.is_empty(),
        "{} of {checked} outputs differ from v262:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
