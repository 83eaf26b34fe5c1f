//! TEMPORARY stub until the report module lands.
use crate::cli::Options;
use crate::config::definition::Definition;
use crate::disk::Disk;
use crate::plan::Plan;
pub struct Output;
impl Output {
    pub fn new(_o: &Options, _d: &Disk, _p: &Plan, _defs: &[Definition]) -> Output {
        Output
    }
    pub fn table(&self) {}
    pub fn json(&self) {}
}
pub fn human_size(b: u64) -> String {
    b.to_string()
}
