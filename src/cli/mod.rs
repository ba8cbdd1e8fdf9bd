//! The command line. The only module that prints, touches files or chooses exit codes.

mod bench;
mod check;
mod detection;
mod explore;
mod explore_shrink;
mod merge;
mod progress;
mod report_arg;
mod run;
mod shrink;
mod shrink_output;
mod step;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use run::parse_scenario_file;

/// The scenario `kafkasim run` uses when given none (the same file as
/// `scenarios/default.json`, embedded so the binary works from any directory).
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.json");

/// kafkasim: deterministic simulation of Kafka-style replication under faults.
///
/// Brokers, the controller, producers and consumers run inside the madsim simulator
/// (simulated network, clock and disks). A scenario injects crashes, power loss,
/// partitions, pauses and packet loss; checkers then prove or refute that acknowledged
/// writes survive and that consumers only saw committed data. One seed is one exact,
/// replayable execution.
#[derive(Parser, Debug)]
#[command(name = "kafkasim", version, about, long_about)]
pub struct Cli {
    /// Show the protocol step by step (-v: events; -vv: also every message).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario for one seed and check the outcome.
    ///
    /// Exit code 0 when the outcome matches the scenario's `expect`, 1 when it does not,
    /// 2 for bad input. The summary ends with the command that reproduces the run.
    Run(run::RunArgs),
    /// Run many seeds of one scenario on every core, with progress and a summary.
    ///
    /// Each seed is an independent simulation whose result does not depend on --jobs or
    /// --shard. Exit code 0 when every seed's outcome matches the scenario's `expect`, 1
    /// otherwise, 2 for bad input. Failing seeds are listed with the command that
    /// replays each.
    Explore(explore::ExploreArgs),
    /// Combine the --json files of `explore --shard K/N` runs into one summary.
    ///
    /// Exit code 0 when every seed in them matched `expect`, 1 otherwise, 2 when the
    /// files cannot be read or do not belong together (different scenario or seed range,
    /// or one seed with two different results).
    Merge(merge::MergeArgs),
    /// Measure simulation speed: the built-in default scenario on seeds 1..N.
    ///
    /// Prints one JSON line: seeds_per_s, sim_to_wall_per_core, sim_to_wall_total,
    /// messages_per_wall_s (simulated datagrams delivered per wall second) and
    /// peak_rss_mb. Build with --release for meaningful figures.
    Bench(bench::BenchArgs),
    /// Run every scenario under a folder (default scenarios/) at its own seed.
    ///
    /// Prints a table: scenario, expected verdict, observed violations, seed, wall time.
    /// Exit code 0 when every scenario matched its `expect`, 1 otherwise, 2 when a file
    /// cannot be read or parsed (the message names the file and field).
    Check(check::CheckArgs),
    /// Replay one run step by step: each protocol event, then the partition's state.
    ///
    /// Each step is one event (produce appended, fetch, HW advanced, ISR shrink or
    /// expand, leader elected, truncation, crash, partition, consumer read, ack) with its
    /// simulated time, followed by a table per replica: its log (offsets@epoch, `|` marks
    /// the HW: the committed part is left of it), LEO, HW, ISR membership, role and
    /// leader epoch, and how far each consumer has read. Violations appear at the step
    /// where they become visible, with the earlier events that caused them. Exit codes
    /// as for `run`.
    Step(step::StepArgs),
    /// Shrink a failing seed into a minimal scenario file that fails the same way.
    ///
    /// The failure is the run's violation kind and partition (the first violation whose
    /// kind the scenario expects, else the first). A nemesis is first unrolled into the
    /// explicit faults it drew; then fault pairs are removed (ddmin), weakened (power
    /// loss -> crash -> pause), shortened and moved earlier, and the cluster and workload
    /// made smaller, while the run at the same seed still fails the same way. Writes the
    /// shrunk scenario (seed pinned, no nemesis, expect listing the kinds it keeps) and
    /// checks it: exit code 0 when it reproduces, 1 when the seed does not fail, 2 for
    /// bad input.
    Shrink(shrink::ShrinkArgs),
}

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every run matched its expectation.
    Matched,
    /// Some run did not.
    Mismatched,
}

impl Outcome {
    /// 0 when matched, 1 otherwise.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Matched => ExitCode::SUCCESS,
            Outcome::Mismatched => ExitCode::from(1),
        }
    }
}

/// Parses the arguments and runs the command. `Err` means bad input (exit code 2).
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<Outcome> {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let code = err.exit_code();
            let _ = err.print();
            // clap uses 0 for --help/--version and 2 for usage errors.
            std::process::exit(code);
        }
    };
    init_tracing(cli.verbose);
    match cli.command {
        Command::Run(mut run_args) => {
            run_args.report_form = report_arg::ReportForm::of(&args);
            run::run(run_args)
        }
        Command::Explore(mut explore_args) => {
            explore_args.report_form = report_arg::ReportForm::of(&args);
            explore::run(explore_args)
        }
        Command::Merge(args) => merge::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Check(args) => check::run(args),
        Command::Step(args) => step::run(args),
        Command::Shrink(args) => shrink::run(args),
    }
}

/// Writes `text` to standard output. A reader that stops early (`kafkasim run | head`)
/// closes the pipe; that ends the output quietly instead of failing the command.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    quiet_broken_pipe(written).map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}"))
}

/// `Ok` when the reader has gone (a broken pipe); any other result unchanged.
fn quiet_broken_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn init_tracing(verbose: u8) {
    let filter = match verbose {
        0 => "warn,madsim=off",
        1 => "warn,madsim=off,kafkasim::event=info",
        _ => "warn,madsim=off,kafkasim::event=info,kafkasim::net=trace",
    };
    // `madsim=off`: madsim opens an ERROR-level span for every task it spawns. A static
    // directive makes those callsites disabled once and for all, so spans cost nothing
    // (they took about a tenth of a run's CPU) and `-v` lines carry no span prefixes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_writer(std::io::stderr)
        .try_init();
}
