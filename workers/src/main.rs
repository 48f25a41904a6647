//! The `redress` binary: parse arguments, run the command, map the outcome to an exit code
//! (0 ok, 1 checks or the operation failed, 2 bad input or usage).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = redress_workers::cli::Cli::parse();
    let telemetry = redress_workers::cli::init_tracing(&cli.command);
    let code = match redress_workers::cli::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            // One line for bad input, with the full chain of causes.
            eprintln!("redress: {}", redress_workers::cli::error_chain(&err));
            redress_workers::cli::Exit::BadInput.into()
        }
    };
    // After the worker has stopped (idle, or drained after SIGTERM): export what is left.
    telemetry.shutdown();
    code
}
