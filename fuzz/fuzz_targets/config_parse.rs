//! Parses arbitrary bytes as a repart.d file (and, split at the first NUL, a drop-in): the
//! parser must return a definition or an error, never panic, loop or blow up.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use repart_rs::config::specifier::SpecifierContext;
use repart_rs::config::{ParseContext, Source, parse_definition};

fuzz_target!(|data: &[u8]| {
    let (main, dropin) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let specifiers = SpecifierContext {
        architecture: Some("x86-64".into()),
        machine_id: Some("0123456789abcdef0123456789abcdef".into()),
        os_id: Some("debian".into()),
        ..SpecifierContext::default()
    };
    let ctx = ParseContext {
        specifiers: &specifiers,
        architecture: None,
    };
    let main = Source {
        path: Path::new("/etc/repart.d/50-fuzz.conf"),
        display: "/etc/repart.d/50-fuzz.conf",
        bytes: main,
    };
    let dropins: Vec<Source> = dropin
        .map(|bytes| Source {
            path: Path::new("/etc/repart.d/50-fuzz.conf.d/10-x.conf"),
            display: "/etc/repart.d/50-fuzz.conf.d/10-x.conf",
            bytes,
        })
        .into_iter()
        .collect();
    let _ = parse_definition(&main, &dropins, &ctx, &mut Vec::new());
});
