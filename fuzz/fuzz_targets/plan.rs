//! Plans arbitrary layouts with arbitrary definitions and options (the fuzzer's bytes drive
//! the same generator as tests/plan_robustness.rs) and checks every plan is a valid table:
//! inside the usable range, no overlaps, existing partitions neither moved nor shrunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repart_rs::plan;

#[path = "../../tests/support/plan_input.rs"]
mod plan_input;

use plan_input::{Entropy, Rng, check, random_definitions, random_disk, random_options};

/// The fuzzer's bytes, eight at a time; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Entropy for Bytes<'_> {
    fn next(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(word)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Rng(Bytes(data));
    let disk = random_disk(&mut r);
    let defs = random_definitions(&mut r);
    let options = random_options(&mut r, &defs);
    if let Ok(Ok(plan)) = plan::layout(&disk, &defs, &options) {
        if let Err(e) = check(&disk, &plan) {
            panic!("{e}\n{disk:#?}\n{defs:#?}\n{options:#?}\n{plan:#?}");
        }
    }
    let _ = plan::minimal_size(&disk, &defs, &options);
});
