//! Command-line front end: parses flags and hands them to the library.

mod cli;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use freedarts::nn::ctx::{BnMode, Precision};
use freedarts::search::{DataSource, ProxyKind, SearchOptions, SpaceConfig, run_search};
use freedarts::spaces::darts::supernet::DartsConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

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
    Search(SearchArgs),
    /// Time the hot paths: a warm SynFlow search and a batch SNIP pass (see bench/README.md).
    Bench(BenchArgs),
    /// Parameters and multiply-adds of a supernet, and of the evaluation networks of a DARTS
    /// genotype.
    Info(InfoArgs),
    /// Score NAS-Bench-201 cells or DARTS genotypes with whole-network zero-cost proxies (JSON
    /// Lines, resumable, shardable).
    Score(cli::score::ScoreArgs),
    /// Rank correlation of score files with NAS-Bench-201 accuracies.
    Correlate(cli::correlate::CorrelateArgs),
    /// Turn a `search --json` result into a self-contained HTML page, a drawing or an
    /// architecture file.
    Report(cli::report::ReportArgs),
}

#[derive(clap::Args)]
struct InfoArgs {
    #[command(flatten)]
    space: SpaceArgs,
    /// A DARTS genotype (the `Genotype(normal=[...], ...)` text, or DARTS_V1 / DARTS_V2):
    /// also size its evaluation networks.
    #[arg(long, value_name = "TEXT|NAME")]
    genotype: Option<String>,
    /// Width of the CIFAR evaluation network.
    #[arg(long, default_value_t = 36)]
    eval_channels: usize,
    /// Cells of the CIFAR evaluation network.
    #[arg(long, default_value_t = 20)]
    eval_cells: usize,
    /// Classes of the CIFAR evaluation network.
    #[arg(long, default_value_t = 10)]
    eval_classes: usize,
    /// Write the sizes as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn info(args: &InfoArgs) -> Result<()> {
    use freedarts::spaces::darts::Genotype;
    use freedarts::spaces::darts::network::EvalConfig;
    let mut sizes = vec![freedarts::sizes::supernet_size(args.space.config()?)?];
    if let Some(text) = &args.genotype {
        let genotype = match freedarts::spaces::darts::by_name(text) {
            Some(g) => g,
            None => text.parse::<Genotype>().with_context(
                || "--genotype is neither a known name nor a valid Genotype(...) text",
            )?,
        };
        let cifar = EvalConfig {
            channels: args.eval_channels,
            cells: args.eval_cells,
            classes: args.eval_classes,
            ..EvalConfig::cifar()
        };
        sizes.push(freedarts::sizes::eval_size(&genotype, cifar));
        sizes.push(freedarts::sizes::eval_size(
            &genotype,
            EvalConfig::imagenet(),
        ));
    }
    for s in &sizes {
        println!("{}", s.name);
        println!(
            "  parameters {:.6} M ({}){}, {:.2} M multiply-adds per {}x{} image",
            s.parameters as f64 / 1e6,
            s.parameters,
            if s.alpha > 0 {
                format!(" + {} alpha", s.alpha)
            } else {
                String::new()
            },
            s.macs as f64 / 1e6,
            s.input_size,
            s.input_size
        );
    }
    if let Some(path) = &args.json {
        cli::write_json(path, "--json", &sizes)?;
    }
    Ok(())
}

#[derive(clap::Args)]
struct BenchArgs {
    #[command(flatten)]
    space: SpaceArgs,
    /// Weights to load (a seed-0 initialisation otherwise).
    #[arg(long, value_name = "FILE.safetensors")]
    init_from: Option<PathBuf>,
    /// CIFAR binary file for the SNIP batch (synthetic images otherwise).
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Timed SynFlow searches (after 3 warm-ups); the median is reported.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Timed SNIP passes (after 1 warm-up); 0 skips SNIP.
    #[arg(long, default_value_t = 5)]
    snip_repeats: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Write the timings as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn bench(args: &BenchArgs) -> Result<()> {
    let opts = freedarts::bench::BenchOptions {
        space: args.space.config()?,
        init_from: args.init_from.clone(),
        data: args.data.clone(),
        repeats: args.repeats,
        snip_repeats: args.snip_repeats,
        batch_size: args.batch_size,
    };
    let device = burn::tensor::Device::flex().autodiff();
    let r = freedarts::bench::run_bench(&opts, &device)?;
    println!(
        "synflow search: cold {:.1} ms, warm median {:.1} ms (min {:.1} ms) over {} runs",
        r.synflow_cold_s * 1e3,
        r.synflow_warm_s * 1e3,
        r.synflow_min_s * 1e3,
        opts.repeats
    );
    if opts.snip_repeats > 0 {
        println!(
            "snip pass, batch {}: warm median {:.3} s over {} runs",
            opts.batch_size, r.snip_warm_s, opts.snip_repeats
        );
    }
    println!(
        "threads {}, peak RSS {}",
        r.threads,
        r.peak_rss_mb
            .map(|m| format!("{m:.0} MB"))
            .unwrap_or_else(|| "unknown".into())
    );
    if let Some(path) = &args.json {
        cli::write_json(path, "--json", &r)?;
    }
    Ok(())
}

/// Search spaces on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SpaceArg {
    /// NAS-Bench-201 cell, 6 edges x 5 ops (defaults C=16, N=5, CIFAR-10 head, 32x32).
    Nb201,
    /// DARTS cell, 14 edges x 8 ops (defaults 8 cells, C=16, CIFAR-10 head, 32x32).
    Darts,
    /// DARTS cell on the ImageNet supernet (14 cells, C=48, 1000 classes, 224x224).
    DartsImagenet,
}

#[derive(clap::Args)]
struct SpaceArgs {
    /// Search space.
    #[arg(long, value_enum, default_value_t = SpaceArg::Nb201)]
    space: SpaceArg,
    /// Initial width C [default: 16; 48 for darts-imagenet].
    #[arg(long)]
    channels: Option<usize>,
    /// NB201: search cells per stage N [default: 5].
    #[arg(long)]
    cells_per_stage: Option<usize>,
    /// DARTS: number of cells L, reductions at L/3 and 2L/3 [default: 8; 14 for darts-imagenet;
    /// 20 searches at evaluation depth].
    #[arg(long)]
    cells: Option<usize>,
    /// DARTS: give every cell its own alpha and derive one cell per alpha.
    #[arg(long)]
    alpha_per_cell: bool,
    /// Classes of the linear head [default: 10; 1000 for darts-imagenet]. CIFAR-100: 100;
    /// ImageNet16-120: 120.
    #[arg(long)]
    classes: Option<usize>,
    /// Input height and width [default: 32; 224 for darts-imagenet]. ImageNet16-120: 16.
    #[arg(long)]
    input_size: Option<usize>,
}

#[derive(clap::Args)]
struct SearchArgs {
    #[command(flatten)]
    space: SpaceArgs,
    /// Seed of the weight and alpha initialisation (ignored with --init-from).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Search once per seed and report mean +- std of the found cells' benchmark accuracies
    /// and how often each op won each edge: `0..9` (ten seeds, inclusive) or `0,3,7`.
    #[arg(
        long,
        value_name = "A..B|LIST",
        conflicts_with_all = ["seed", "init_from", "draw", "html", "export_weights", "export_arch", "cross_check_f64"]
    )]
    seeds: Option<freedarts::seeds::SeedList>,
    /// Load every weight, BN buffer and alpha from a safetensors file with PyTorch names.
    #[arg(long, value_name = "FILE.safetensors")]
    init_from: Option<PathBuf>,
    /// Saliency: synflow (data-free, the FreeDARTS default), snip or grasp (one real batch).
    #[arg(long, value_enum, default_value_t = ProxyKind::Synflow)]
    proxy: ProxyKind,
    /// Float precision of the scoring pass (GraSP always uses f64).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    dtype: Precision,
    /// BatchNorm during scoring: train (batch statistics, official), eval (running stats), none.
    #[arg(long, value_enum, default_value_t = BnMode::Train)]
    bn: BnMode,
    /// SynFlow: take |alpha| before scoring [default: true for nb201, false for darts, as in
    /// the official code].
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    alpha_abs: Option<bool>,
    /// Images for snip/grasp: a CIFAR-10/100 binary file, a directory of the official batch
    /// files, or `synthetic` for seeded Gaussian images.
    #[arg(long, value_name = "PATH|synthetic")]
    data: Option<String>,
    /// Images in the scoring batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Draw the batch at random with this seed instead of taking the first images in order.
    #[arg(long)]
    shuffle_seed: Option<u64>,
    /// NAS-Bench-201 accuracy CSV (columns arch, cifar10_valid, ...): report the found cell's
    /// accuracies and ranks.
    #[arg(long, value_name = "FILE.csv")]
    benchmark: Option<PathBuf>,
    /// Write the full result (scores, decisions, warnings, provenance) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Score again in float64 and report whether the architecture changes.
    #[arg(long)]
    cross_check_f64: bool,
    /// Draw the derived cell(s) and the score heatmaps: FILE.svg, or FILE.dot (cells only,
    /// Graphviz).
    #[arg(long, value_name = "FILE.svg|FILE.dot")]
    draw: Option<PathBuf>,
    /// Write the initial supernet (weights, BN buffers, alpha) as safetensors with PyTorch
    /// state_dict names, to repeat the run in PyTorch or with --init-from.
    #[arg(long, value_name = "FILE.safetensors")]
    export_weights: Option<PathBuf>,
    /// Write the derived architecture for training elsewhere: FILE.py (an importable DARTS
    /// `Genotype` or NB201 string) or any other name for the bare text.
    #[arg(long, value_name = "FILE.py|FILE.txt")]
    export_arch: Option<PathBuf>,
    /// Write a self-contained HTML report (cells, heatmaps, benchmark, findings, provenance).
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Print every score table.
    #[arg(long, short)]
    verbose: bool,
}

impl SpaceArgs {
    fn config(&self) -> Result<SpaceConfig> {
        let nb201_only = |flag: &str, set: bool| {
            anyhow::ensure!(!set, "{flag} applies to --space nb201 only");
            Ok(())
        };
        let darts_only = |flag: &str, set: bool| {
            anyhow::ensure!(
                !set,
                "{flag} applies to --space darts and darts-imagenet only"
            );
            Ok(())
        };
        Ok(match self.space {
            SpaceArg::Nb201 => {
                darts_only("--cells", self.cells.is_some())?;
                darts_only("--alpha-per-cell", self.alpha_per_cell)?;
                let d = Nb201Config::default();
                SpaceConfig::Nb201(Nb201Config {
                    channels: self.channels.unwrap_or(d.channels),
                    cells_per_stage: self.cells_per_stage.unwrap_or(d.cells_per_stage),
                    classes: self.classes.unwrap_or(d.classes),
                    input_size: self.input_size.unwrap_or(d.input_size),
                })
            }
            SpaceArg::Darts | SpaceArg::DartsImagenet => {
                nb201_only("--cells-per-stage", self.cells_per_stage.is_some())?;
                let d = if self.space == SpaceArg::Darts {
                    DartsConfig::cifar(8)
                } else {
                    DartsConfig::imagenet()
                };
                SpaceConfig::Darts(DartsConfig {
                    channels: self.channels.unwrap_or(d.channels),
                    cells: self.cells.unwrap_or(d.cells),
                    classes: self.classes.unwrap_or(d.classes),
                    input_size: self.input_size.unwrap_or(d.input_size),
                    alpha_per_cell: self.alpha_per_cell,
                    ..d
                })
            }
        })
    }
}

impl SearchArgs {
    fn options(&self) -> Result<SearchOptions> {
        let space = self.space.config()?;
        Ok(SearchOptions {
            alpha_abs: self.alpha_abs.unwrap_or(space.official_alpha_abs()),
            space,
            proxy: self.proxy,
            dtype: self.dtype,
            bn: self.bn,
            seed: self.seed,
            init_from: self.init_from.clone(),
            data: self.data.as_ref().map(|d| {
                if d == "synthetic" {
                    DataSource::Synthetic
                } else {
                    DataSource::Cifar(PathBuf::from(d))
                }
            }),
            batch_size: self.batch_size,
            shuffle_seed: self.shuffle_seed,
            benchmark: self.benchmark.clone(),
            cross_check_f64: self.cross_check_f64,
            export_weights: self.export_weights.clone(),
        })
    }
}

fn search(args: &SearchArgs) -> Result<()> {
    let device = burn::tensor::Device::flex().autodiff();
    if let Some(seeds) = &args.seeds {
        let report = freedarts::seeds::run_seeds(&args.options()?, &seeds.0, &device)?;
        print!("{}", report.render_text());
        if let Some(path) = &args.json {
            cli::write_json(path, "--json", &report)?;
        }
        return Ok(());
    }
    let result = run_search(&args.options()?, &device)?;
    print!("{}", result.render_text(args.verbose));
    if let Some(path) = &args.json {
        cli::write_json(path, "--json", &result)?;
    }
    cli::report::write_artifacts(
        &result,
        &cli::report::Artifacts {
            html: args.html.as_deref(),
            html_flag: "--html",
            draw: args.draw.as_deref(),
            export_arch: args.export_arch.as_deref(),
        },
    )?;
    Ok(())
}

/// The cause chain on one line, without a backtrace, skipping causes that the message before
/// already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if !text.contains(&msg) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&msg);
        }
    }
    text
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Search(args) => search(args),
        Command::Bench(args) => bench(args),
        Command::Info(args) => info(args),
        Command::Score(args) => cli::score::score(args),
        Command::Correlate(args) => cli::correlate::correlate(args),
        Command::Report(args) => cli::report::report(args),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
