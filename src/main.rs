//! The `kafkasim` binary: maps `cli::run` to an exit code (0 matched, 1 mismatched,
//! 2 bad input).

use std::process::ExitCode;

fn main() -> ExitCode {
    match kafkasim::cli::run(std::env::args_os()) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("kafkasim: {err:#}");
            ExitCode::from(2)
        }
    }
}
