use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    newscrawl::run(newscrawl::cli::Cli::parse())
}
