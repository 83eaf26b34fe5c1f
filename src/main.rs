//! `repart`: parse the flags, set up logging, run, and turn the outcome into an exit status.

use std::process::ExitCode;

use repart_rs::error::ErrorKind;
use repart_rs::{cli, host, logger, run};

fn main() -> ExitCode {
    let in_initrd = host::initrd::in_initrd(&host::System::live());
    if let Err(e) = logger::init(in_initrd) {
        eprintln!("repart: setting up logging: {e}");
    }
    let outcome = cli::parse(std::env::args_os().skip(1)).and_then(|o| run::run(&o));
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            // "No disk" and "no table" are expected on many boots: they are notices.
            match e.kind() {
                ErrorKind::NoDevice | ErrorKind::NoTable => log::info!("{e}"),
                _ => log::error!("{e}"),
            }
            ExitCode::from(e.kind().exit_code())
        }
    }
}
