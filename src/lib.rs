//! repart-rs: a clean-room, static, minimal implementation of systemd-repart for the initrd.
//!
//! The data flows through the modules in one direction: `config` (repart.d) and `gpt`
//! (bytes <-> table) are pure parsers; `plan` turns the disk's table, the definitions and the
//! options into a `Plan` without I/O; `apply` is the only writer; `report` prints.

pub mod apply;
pub mod cli;
pub mod config;
pub mod disk;
pub mod error;
pub mod gpt;
pub mod host;
pub mod id128;
pub mod json;
pub mod logger;
pub mod plan;
pub mod report;
pub mod run;
pub mod varlink;
