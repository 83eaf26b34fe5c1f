//! The planner never panics, whatever the layout and definitions, and every plan it returns
//! is a valid table: written entries inside the usable range, not overlapping, with distinct
//! slots inside the entry array, new ones on the grain, existing ones never moved or shrunk.

#[path = "support/plan_input.rs"]
mod plan_input;

use plan_input::{Entropy, Rng, check, random_definitions, random_disk, random_options};
use repart_rs::plan;

/// xorshift64*: a small deterministic generator, enough for test inputs.
pub struct Xorshift(pub u64);

impl Entropy for Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_inputs_never_panic_and_plans_are_valid() {
    let mut r = Rng(Xorshift(0x5eed_1234_abcd_0001));
    let mut planned = 0;
    for round in 0..4000 {
        let disk = random_disk(&mut r);
        let defs = random_definitions(&mut r);
        let options = random_options(&mut r, &defs);
        if let Ok(Ok(plan)) = plan::layout(&disk, &defs, &options) {
            planned += 1;
            if let Err(e) = check(&disk, &plan) {
                panic!("round {round}: {e}\n{disk:#?}\n{defs:#?}\n{options:#?}\n{plan:#?}");
            }
        }
        let _ = plan::plan(&disk, &defs, &options);
        let _ = plan::minimal_size(&disk, &defs, &options);
    }
    assert!(planned > 1000, "only {planned} plans");
}
