//! Parses arbitrary bytes as JSON (what Varlink peers and the FactoryResetRequest EFI variable
//! hand us): a value or an error, never a panic; a value writes back to text that parses to
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repart_rs::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        let short = value.to_short();
        assert_eq!(json::parse(short.as_bytes()).ok(), Some(value.clone()), "{short}");
        let pretty = value.to_pretty();
        assert_eq!(json::parse(pretty.as_bytes()).ok(), Some(value), "{pretty}");
    }
});
