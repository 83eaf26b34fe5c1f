//! repart.d: finding the files, parsing them, and the typed definitions they yield.

pub mod definition;
pub mod types;
