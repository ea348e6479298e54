//! `freedarts correlate`: flags, then [`freedarts::correlate::correlate`].

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::args::output::{check_paths, write_json, write_text};

#[derive(clap::Args)]
pub struct CorrelateArgs {
    /// Score files from `freedarts score` (shards of one run can be given together).
    #[arg(required = true, value_name = "SCORES.jsonl")]
    pub scores: Vec<PathBuf>,
    /// NAS-Bench-201 accuracy CSV (columns arch, cifar10_valid, cifar10_test, ...).
    #[arg(long, value_name = "FILE.csv")]
    pub benchmark: PathBuf,
    /// Accuracy columns to correlate with (comma-separated) [default: every one in the file].
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Write every metric as JSON.
    #[arg(long, short, value_name = "FILE.json")]
    pub output: Option<PathBuf>,
    /// Draw score against accuracy, one panel per proxy, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub draw: Option<PathBuf>,
    /// Accuracy column of the --draw panels [default: cifar10_test if present, else the first].
    #[arg(long, value_name = "COLUMN", requires = "draw")]
    pub draw_column: Option<String>,
}

pub fn correlate(args: &CorrelateArgs) -> Result<()> {
    let mut inputs: Vec<(&str, Option<&std::path::Path>)> = args
        .scores
        .iter()
        .map(|p| ("score file", Some(p.as_path())))
        .collect();
    inputs.push(("--benchmark", Some(args.benchmark.as_path())));
    check_paths(
        &inputs,
        &[
            ("--output", args.output.as_deref()),
            ("--draw", args.draw.as_deref()),
        ],
    )?;
    let report = freedarts::correlate::correlate(&args.scores, &args.benchmark, &args.columns)?;
    print!("{}", report.render_text());
    if let Some(path) = &args.output {
        write_json(path, "--output", &report)?;
    }
    if let Some(path) = &args.draw {
        let svg = freedarts::report::scatter::scatter_svg(&report, args.draw_column.as_deref())
            .with_context(|| format!("--draw {}", path.display()))?;
        write_text(path, "--draw", svg)?;
    }
    Ok(())
}
