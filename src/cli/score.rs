//! `freedarts score`: flags, then [`freedarts::scoring::run_scoring`].

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail, ensure};

use freedarts::saliency::ensemble::ProxySet;
use freedarts::saliency::{all_measures as all_proxies, measure_by_name as proxy_by_name};
use freedarts::scoring::archs::{ArchSelection, Shard};
use freedarts::scoring::{ScoreOptions, run_scoring};
use freedarts::search::DataSource;
use freedarts::search::preset::Preset;
use freedarts::sizes::{check_fits, estimate_eval, estimate_nb201_network};
use freedarts::spaces::NetworkSpace;
use freedarts::spaces::darts::network::EvalConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;
use freedarts::util::input::{check_regular_file, limits};

use super::args::data::DataArgs;
use super::args::device::DeviceArgs;
use super::args::output::check_paths;
use super::args::space::SpaceArg;
use super::args::{bounds, range};
use super::errors::score_error;

fn proxy_help() -> String {
    let mut text = String::from(
        "Proxies, comma-separated (`all` for every one). Each is one number per network:\n",
    );
    for p in all_proxies() {
        let data = if p.needs_data() {
            " [needs --data]"
        } else {
            ""
        };
        text.push_str(&format!("  {}: {}{data}\n", p.name(), p.description()));
    }
    text
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// `nb201`: cells in NAS-Bench-201's TinyNetwork; `darts`: genotypes in NetworkCIFAR;
    /// `darts-imagenet`: genotypes in NetworkImageNet (C=48, 14 cells, 1000 classes, 224x224
    /// unless given).
    #[arg(long, value_enum, default_value = "nb201")]
    pub space: SpaceArg,
    /// Architectures: `all` (the 15,625 NB201 cells), `sample:N` (seeded; uniformly random
    /// genotypes in the DARTS space), or a file with one architecture a line (NB201 string,
    /// or DARTS `Genotype(...)` text / DARTS_V1 / DARTS_V2).
    #[arg(long, default_value = "sample:100", value_name = "all|sample:N|FILE")]
    pub archs: ArchSelection,
    #[arg(long, default_value = "synflow,params,flops", long_help = proxy_help())]
    pub proxy: String,
    /// Score with a named configuration: freedarts (synflow) or best (the proxy or rank
    /// aggregate that ranked NAS-Bench-201 cells best here; its members are scored and the
    /// aggregate is recorded for `correlate`). Proxies that need images use --data, else
    /// generated images.
    #[arg(long, value_enum, conflicts_with = "proxy")]
    pub preset: Option<super::search::PresetArg>,
    /// Rank aggregates of the scored proxies to record for `correlate` (comma-separated):
    /// `a+b` (mean rank) or `a*b` (product of ranks, AZ-NAS).
    #[arg(long, value_delimiter = ',', value_name = "A+B|A*B", value_parser = super::args::parse_proxy_set)]
    pub ensemble: Vec<ProxySet>,
    /// JSON Lines output, appended as it goes; an existing file of the same run is resumed.
    #[arg(long, short, value_name = "FILE.jsonl")]
    pub output: PathBuf,
    /// Take every N-th architecture starting at I (0 <= I < N); shards' files concatenate.
    #[arg(long, default_value = "0/1", value_name = "I/N")]
    pub shard: Shard,
    /// Seed of every network's initial weights (each network draws the same stream), of
    /// sample:N and of the random baseline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub data: DataArgs,
    /// Network width C, 1 to 4096 (DARTS: even) [default: 16 in NB201, 36 in DARTS, 48 in
    /// darts-imagenet].
    #[arg(long, value_parser = range(1, bounds::CHANNELS))]
    pub channels: Option<usize>,
    /// NB201: cells per stage N, 1 to 1000 [default: 5].
    #[arg(long, value_parser = range(1, bounds::CELLS))]
    pub cells_per_stage: Option<usize>,
    /// DARTS: cells, 3 to 1000 [default: 20 for NetworkCIFAR; 14 for NetworkImageNet].
    #[arg(long, value_parser = range(3, bounds::CELLS))]
    pub cells: Option<usize>,
    /// Classes of the head, 1 to 100000 [default: 10; 1000 for darts-imagenet] (CIFAR-100:
    /// 100, ImageNet16-120: 120).
    #[arg(long, value_parser = range(1, bounds::CLASSES))]
    pub classes: Option<usize>,
    /// Input height and width, up to 4096 [default: 32; 224 for darts-imagenet]
    /// (ImageNet16-120: 16).
    #[arg(long, value_parser = range(1, bounds::INPUT_SIZE))]
    pub input_size: Option<usize>,
    /// Networks scored in parallel, one thread each, 1 to 1024 [default: the number of CPUs].
    #[arg(long, short, value_parser = range(1, bounds::JOBS))]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also print the time spent in each proxy.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn score(args: &ScoreArgs) -> Result<()> {
    let preset = args.preset.map(Preset::from);
    let mut ensembles = args.ensemble.clone();
    let names: Vec<&str> = if let Some(p) = preset {
        let set = ProxySet::parse(p.score_proxies()).expect("preset proxies are registered");
        let names = set.measures.iter().map(|m| m.name()).collect();
        if set.measures.len() > 1 && !ensembles.contains(&set) {
            ensembles.push(set);
        }
        names
    } else if args.proxy.trim() == "all" {
        all_proxies().iter().map(|p| p.name()).collect()
    } else {
        args.proxy.split(',').map(str::trim).collect()
    };
    let mut proxies = Vec::new();
    for name in names {
        let Some(p) = proxy_by_name(name) else {
            let known: Vec<&str> = all_proxies().iter().map(|p| p.name()).collect();
            bail!(
                "--proxy: unknown proxy `{name}`; known: {}",
                known.join(", ")
            );
        };
        if proxies
            .iter()
            .any(|q: &&dyn freedarts::saliency::Measure| q.name() == name)
        {
            bail!("--proxy: `{name}` is listed twice");
        }
        proxies.push(p);
    }
    // The space, and its size worked out before anything is built.
    let (space, estimate): (std::sync::Arc<dyn NetworkSpace>, _) = match args.space {
        SpaceArg::Nb201 if args.cells.is_some() => {
            bail!("--cells applies to --space darts; NB201 takes --cells-per-stage")
        }
        SpaceArg::Darts | SpaceArg::DartsImagenet if args.cells_per_stage.is_some() => {
            bail!("--cells-per-stage applies to --space nb201; DARTS takes --cells")
        }
        SpaceArg::Nb201 => {
            let d = Nb201Config::default();
            let c = Nb201Config {
                channels: args.channels.unwrap_or(d.channels),
                cells_per_stage: args.cells_per_stage.unwrap_or(d.cells_per_stage),
                classes: args.classes.unwrap_or(d.classes),
                input_size: args.input_size.unwrap_or(d.input_size),
            };
            (std::sync::Arc::new(c), estimate_nb201_network(&c))
        }
        SpaceArg::Darts | SpaceArg::DartsImagenet => {
            let d = if args.space == SpaceArg::Darts {
                EvalConfig::cifar()
            } else {
                EvalConfig::imagenet()
            };
            let c = EvalConfig {
                channels: args.channels.unwrap_or(d.channels),
                cells: args.cells.unwrap_or(d.cells),
                classes: args.classes.unwrap_or(d.classes),
                input_size: args.input_size.unwrap_or(d.input_size),
                ..d
            };
            (std::sync::Arc::new(c), estimate_eval(&c))
        }
    };
    let archs_file = match &args.archs {
        ArchSelection::File(p) => Some(p.as_path()),
        _ => None,
    };
    let data_file = match &args.data.data {
        Some(DataSource::Cifar(p)) => Some(p.as_path()),
        _ => None,
    };
    check_paths(
        &[("--archs", archs_file), ("--data", data_file)],
        &[("--output", Some(args.output.as_path()))],
    )?;
    if let Some(path) = archs_file {
        check_regular_file(path, limits::ARCH_LIST)
            .with_context(|| format!("cannot read --archs file {}", path.display()))?;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    space.validate().map_err(|e| score_error(e.into()))?;
    let batch = if proxies.iter().any(|p| p.needs_data()) {
        args.data.batch()
    } else {
        1
    };
    check_fits(
        format!("{jobs} network(s) scored at once on batches of {batch}"),
        estimate,
        batch,
        jobs,
    )
    .map_err(|e| {
        anyhow!(
            "invalid setting: {e}; lower --jobs, --channels, --cells, --input-size or --batch-size"
        )
    })?;
    for set in &ensembles {
        // One measure is not an aggregate: its row would repeat the proxy's under its name.
        ensure!(
            set.measures.len() > 1,
            "invalid setting: --ensemble {set}: a rank aggregate needs two proxies or more \
             (a+b or a*b)"
        );
        if let Some(m) = set
            .measures
            .iter()
            .find(|m| !proxies.iter().any(|p| p.name() == m.name()))
        {
            bail!(
                "--ensemble {set}: `{}` is not among the scored proxies",
                m.name()
            );
        }
    }
    let data = match (&args.data.data, preset) {
        (None, Some(_)) if proxies.iter().any(|p| p.needs_data()) => Some(DataSource::Synthetic),
        (d, _) => d.clone(),
    };
    let opts = ScoreOptions {
        space,
        archs: args.archs.clone(),
        proxies,
        ensembles,
        preset,
        seed: args.seed,
        data,
        batch_size: args.data.batch(),
        shuffle_seed: args.data.shuffle_seed,
        cifar_format: args.data.cifar_format(),
        shard: args.shard,
        output: args.output.clone(),
        progress: !args.quiet,
        jobs,
    };
    let s = run_scoring(&opts, &args.device.device()).map_err(score_error)?;
    let rate = if s.scored > 0 {
        format!(
            ", {:.1} ms per architecture",
            s.seconds * 1e3 / s.scored as f64
        )
    } else {
        String::new()
    };
    println!(
        "{}: {} architectures ({} already there, {} scored) in {:.1} s{rate}",
        args.output.display(),
        s.total,
        s.resumed,
        s.scored,
        s.seconds
    );
    if s.scored > 0 && args.verbose {
        let per: Vec<String> = s
            .proxy_seconds
            .iter()
            .map(|(name, t)| format!("{name} {:.1} ms", t * 1e3 / s.scored as f64))
            .collect();
        println!("time per architecture (one thread): {}", per.join(", "));
    }
    for (name, count) in s.non_finite.iter().filter(|(_, c)| *c > 0) {
        eprintln!(
            "warning: {name} is NaN or infinite for {count} of the {} architectures scored now \
             (written as null; correlate leaves them out)",
            s.scored
        );
    }
    Ok(())
}
