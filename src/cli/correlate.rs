//! `freedarts correlate`: flags, then [`freedarts::correlate::correlate`].

use std::path::PathBuf;

use anyhow::{Context, Result};

use freedarts::correlate::supernet;
use freedarts::saliency::ensemble::ProxySet;

use super::args::output::{check_paths, write_json, write_text};

#[derive(clap::Args)]
pub struct CorrelateArgs {
    /// Score files from `freedarts score` (shards of one run can be given together).
    #[arg(
        required_unless_present = "supernet",
        conflicts_with = "supernet",
        value_name = "SCORES.jsonl"
    )]
    pub scores: Vec<PathBuf>,
    /// NAS-Bench-201 accuracy CSV (columns arch, cifar10_valid, cifar10_test, ...). Given again,
    /// the next file's columns are joined to the first's, row by row on `arch`, or on `index`
    /// in a file without `arch` (e.g. ../shared/data/nb201/accuracies_extra.csv); name the
    /// columns to read from it with --columns.
    #[arg(long, value_name = "FILE.csv", required_unless_present = "supernet")]
    pub benchmark: Vec<PathBuf>,
    /// Rank aggregates of the files' proxies to add as proxies of their own (comma-separated):
    /// `a+b` (mean rank) or `a*b` (product of ranks, AZ-NAS).
    #[arg(long, value_delimiter = ',', value_name = "A+B|A*B", value_parser = super::args::parse_proxy_set)]
    pub ensemble: Vec<ProxySet>,
    /// A DARTS-space `search --json` result: score each genotype of --genotypes by the sum of
    /// the result's per-op importances over its 16 choices, and correlate with accuracy.
    #[arg(long, value_name = "RESULT.json", requires = "genotypes")]
    pub supernet: Option<PathBuf>,
    /// Genotypes with accuracies for --supernet: a CSV with a `genotype` column (DARTS
    /// `Genotype(...)` text) and --accuracy-column (e.g. ../shared/data/nb301/dev.csv).
    #[arg(long, value_name = "FILE.csv", requires = "supernet")]
    pub genotypes: Option<PathBuf>,
    /// Accuracy column of --genotypes.
    #[arg(
        long,
        value_name = "COLUMN",
        default_value = "val_accuracy",
        requires = "genotypes"
    )]
    pub accuracy_column: String,
    /// Accuracy columns to correlate with (comma-separated): any of the six standard names
    /// (cifar10_valid ... imagenet16_test) or any other column of a --benchmark file, which is
    /// read only when named here [default: every standard one in the files].
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Write every metric as JSON.
    #[arg(long, short, value_name = "FILE.json")]
    pub output: Option<PathBuf>,
    /// Write the tables as Markdown: every metric per accuracy column, then Spearman's rho of
    /// every proxy against every column.
    #[arg(long, value_name = "FILE.md", conflicts_with = "supernet")]
    pub markdown: Option<PathBuf>,
    /// Draw score against accuracy, one panel per proxy, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub draw: Option<PathBuf>,
    /// Accuracy column of the --draw panels [default: cifar10_test if present, else the first].
    #[arg(long, value_name = "COLUMN", requires = "draw")]
    pub draw_column: Option<String>,
}

/// `--supernet`: the summed importances of a DARTS search against trained genotypes.
fn correlate_supernet(
    args: &CorrelateArgs,
    result: &std::path::Path,
    genotypes: &std::path::Path,
) -> Result<()> {
    check_paths(
        &[
            ("--supernet", Some(result)),
            ("--genotypes", Some(genotypes)),
        ],
        &[("--output", args.output.as_deref())],
    )?;
    let loaded = freedarts::report::load::load_result(result)?;
    let rows = supernet::read_genotypes(genotypes, &args.accuracy_column)?;
    let c =
        supernet::supernet_correlation(&loaded, result, &rows, genotypes, &args.accuracy_column)?;
    println!(
        "{} genotypes of {} scored by the summed per-op importances of {} ({} {}):",
        c.n,
        genotypes.display(),
        result.display(),
        loaded.proxy.proxy,
        loaded
            .strategy
            .as_ref()
            .map_or("oneshot", |t| t.strategy.name()),
    );
    println!(
        "  {}: spearman {:.4}  kendall_tau {:.4}  pearson {:.4}",
        c.column, c.spearman, c.kendall_tau, c.pearson
    );
    if let Some(path) = &args.output {
        write_json(path, "--output", &c)?;
    }
    Ok(())
}

pub fn correlate(args: &CorrelateArgs) -> Result<()> {
    if let (Some(result), Some(genotypes)) = (&args.supernet, &args.genotypes) {
        return correlate_supernet(args, result, genotypes);
    }
    let (benchmark, joined) = args
        .benchmark
        .split_first()
        .context("--benchmark is required with score files")?;
    let mut inputs: Vec<(&str, Option<&std::path::Path>)> = args
        .scores
        .iter()
        .map(|p| ("score file", Some(p.as_path())))
        .collect();
    inputs.extend(
        args.benchmark
            .iter()
            .map(|p| ("--benchmark", Some(p.as_path()))),
    );
    check_paths(
        &inputs,
        &[
            ("--output", args.output.as_deref()),
            ("--markdown", args.markdown.as_deref()),
            ("--draw", args.draw.as_deref()),
        ],
    )?;
    let report = freedarts::correlate::correlate(
        &args.scores,
        benchmark,
        joined,
        &args.columns,
        &args.ensemble,
    )?;
    print!("{}", report.render_text());
    if let Some(path) = &args.output {
        write_json(path, "--output", &report)?;
    }
    if let Some(path) = &args.markdown {
        write_text(path, "--markdown", report.render_markdown())?;
    }
    if let Some(path) = &args.draw {
        let svg = freedarts::report::scatter::scatter_svg(&report, args.draw_column.as_deref())
            .with_context(|| format!("--draw {}", path.display()))?;
        write_text(path, "--draw", svg)?;
    }
    Ok(())
}
