//! The `rebound` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = rebound_server::cli::Cli::parse();
    match rebound_server::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rebound: {e}");
            ExitCode::FAILURE
        }
    }
}
