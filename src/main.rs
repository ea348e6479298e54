//! Command-line front end: parses the flags, runs the subcommand, and reports a failure as one
//! `error: ...` line with a non-zero exit status.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "freedarts",
    version,
    about = "Training-free differentiable architecture search (FreeDARTS)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score every candidate op of a supernet at initialisation and derive an architecture.
    Search(Box<cli::search::SearchArgs>),
    /// Time the hot paths: a warm SynFlow search and a batch SNIP pass (see bench/README.md).
    Bench(cli::bench::BenchArgs),
    /// Parameters and multiply-adds of a supernet, and of the evaluation networks of a DARTS
    /// genotype.
    Info(cli::info::InfoArgs),
    /// Score NAS-Bench-201 cells or DARTS genotypes with whole-network zero-cost proxies (JSON
    /// Lines, resumable, shardable).
    Score(cli::score::ScoreArgs),
    /// Rank correlation of score files with NAS-Bench-201 accuracies.
    Correlate(cli::correlate::CorrelateArgs),
    /// Turn a `search --json` result into a self-contained HTML page, a drawing or an
    /// architecture file.
    Report(cli::report::ReportArgs),
}

/// A batch pass allocates and frees tensors of megabytes thousands of times. By default glibc
/// serves each from a fresh mapping and returns it to the kernel when freed, so every tensor
/// pays for page faults and zeroed pages again (a tenth of a SNIP pass's time). Serving blocks
/// up to 32 MiB from the heap, and not trimming it below 1 GiB, lets them be reused.
fn keep_freed_tensors() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Runs `work` on a thread of rayon's pool. The kernels split a batch across that pool; called
/// from a thread outside it, every parallel loop hands its work over to the pool and sleeps
/// until it is done, a round trip through the scheduler that costs more than a batch-1
/// convolution. From a thread of the pool the loops run in place and idle threads steal.
/// The pool's threads get a stack of [`freedarts::device::COMPUTE_THREAD_STACK`].
fn in_thread_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    // Fails only when the pool already exists, which then keeps its settings.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(freedarts::device::COMPUTE_THREAD_STACK)
        .build_global();
    rayon::scope(|_| work())
}

fn main() -> ExitCode {
    keep_freed_tensors();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // One line, like every other failure: clap's first paragraph names the flag and
            // the accepted values or range (a missing argument is listed on the lines after
            // the first, so the paragraph is joined).
            let text = e.render().to_string();
            let paragraph: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let joined = match paragraph.as_slice() {
                [] => "invalid arguments".to_string(),
                [first, rest @ ..] => {
                    let first = first.strip_prefix("error: ").unwrap_or(first);
                    std::iter::once(first)
                        .chain(rest.iter().copied())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            eprintln!(
                "error: {}",
                freedarts::util::input::escape_control(&joined, usize::MAX)
            );
            return ExitCode::from(2);
        }
    };
    let outcome = match &cli.command {
        Command::Search(args) => in_thread_pool(|| cli::search::search(args)),
        Command::Bench(args) => in_thread_pool(|| cli::bench::bench(args)),
        Command::Info(args) => in_thread_pool(|| cli::info::info(args)),
        // `score` runs its own worker threads (one architecture each) and waits for their
        // rows; that wait must not hold a thread of the pool the workers' kernels need.
        Command::Score(args) => cli::score::score(args),
        Command::Correlate(args) => cli::correlate::correlate(args),
        Command::Report(args) => cli::report::report(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
