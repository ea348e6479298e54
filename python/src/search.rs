//! `freedarts.search`: keyword arguments to [`SearchOptions`], the checks the command line
//! makes before a run, then [`run_search_on`].

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail, ensure};
use pyo3::prelude::*;

use freedarts::saliency::ensemble::ProxySet;
use freedarts::search::preset::Preset;
use freedarts::search::refine::RefineOptions;
use freedarts::search::strategy::Strategy;
use freedarts::search::{DataSource, SearchOptions, SpaceConfig, run_search_on};
use freedarts::spaces::darts::supernet::DartsConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

use crate::options::{Arrays, bounds, device, parse_opt, size};
use crate::run;

/// The skeleton arguments of a supernet (`--space`, `--channels`, ...).
pub struct SpaceArgs<'a> {
    pub space: &'a str,
    pub channels: Option<i64>,
    pub cells_per_stage: Option<i64>,
    pub cells: Option<i64>,
    pub alpha_per_cell: bool,
    pub classes: Option<i64>,
    pub input_size: Option<i64>,
}

impl SpaceArgs<'_> {
    /// As the command line's `SpaceArgs::config`, with its messages.
    fn config(&self) -> Result<SpaceConfig> {
        let channels = size("channels", self.channels, 1, bounds::CHANNELS)?;
        let cells_per_stage = size("cells_per_stage", self.cells_per_stage, 1, bounds::CELLS)?;
        let cells = size("cells", self.cells, 3, bounds::CELLS)?;
        let classes = size("classes", self.classes, 1, bounds::CLASSES)?;
        let input_size = size("input_size", self.input_size, 1, bounds::INPUT_SIZE)?;
        Ok(match self.space {
            "nb201" => {
                ensure!(
                    cells.is_none(),
                    "--cells applies to --space darts and darts-imagenet only"
                );
                ensure!(
                    !self.alpha_per_cell,
                    "--alpha-per-cell applies to --space darts and darts-imagenet only"
                );
                let d = Nb201Config::default();
                SpaceConfig::Nb201(Nb201Config {
                    channels: channels.unwrap_or(d.channels),
                    cells_per_stage: cells_per_stage.unwrap_or(d.cells_per_stage),
                    classes: classes.unwrap_or(d.classes),
                    input_size: input_size.unwrap_or(d.input_size),
                })
            }
            "darts" | "darts-imagenet" => {
                ensure!(
                    cells_per_stage.is_none(),
                    "--cells-per-stage applies to --space nb201 only"
                );
                let d = if self.space == "darts" {
                    DartsConfig::cifar(8)
                } else {
                    DartsConfig::imagenet()
                };
                SpaceConfig::Darts(DartsConfig {
                    channels: channels.unwrap_or(d.channels),
                    cells: cells.unwrap_or(d.cells),
                    classes: classes.unwrap_or(d.classes),
                    input_size: input_size.unwrap_or(d.input_size),
                    alpha_per_cell: self.alpha_per_cell,
                    ..d
                })
            }
            other => bail!(
                "invalid value '{}' for space: expected one of nb201, darts, darts-imagenet",
                freedarts::util::input::escape_control(other, 80)
            ),
        })
    }
}

/// A preset by name (`freedarts`, `best`): it sets its settings once the space is known, and
/// the arguments given explicitly override them.
fn preset_by_name(name: &str) -> Result<Preset> {
    Ok(parse_opt("preset", Some(name))?.expect("a name was given"))
}

/// `data="synthetic"` or a path, as `--data`.
pub fn data_source(data: Option<&str>) -> Option<DataSource> {
    data.map(|d| {
        if d == "synthetic" {
            DataSource::Synthetic
        } else {
            DataSource::Cifar(PathBuf::from(d))
        }
    })
}

/// `refine="local"` and its settings (the CLI's defaults where not given); the settings
/// without `refine` are refused, as the CLI refuses its flags.
fn refine_options(
    refine: Option<&str>,
    proxy: Option<&str>,
    inits: Option<usize>,
    steps: Option<usize>,
) -> Result<Option<RefineOptions>> {
    match refine {
        None => {
            ensure!(
                proxy.is_none() && inits.is_none() && steps.is_none(),
                "invalid setting: refine_proxy, refine_inits and refine_steps go with refine=\"local\""
            );
            Ok(None)
        }
        Some("local") => {
            let mut r = RefineOptions::default();
            if let Some(p) = proxy {
                r.proxy = ProxySet::parse(p)
                    .map_err(|e| anyhow!("invalid value for refine_proxy: {e}"))?;
            }
            r.inits = inits.unwrap_or(r.inits);
            r.steps = steps.unwrap_or(r.steps);
            Ok(Some(r))
        }
        Some(other) => Err(anyhow!(
            "invalid value for refine: `{other}` (the one refinement is \"local\")"
        )),
    }
}

/// One search; returns the result as the CLI's `--json` text (pretty, final newline) and the
/// report the CLI prints.
#[pyfunction]
#[pyo3(signature = (
    *, space=None, proxy=None, strategy=None, preset=None, perturb_proxy=None, edge_order=None,
    inits=None, refine=None, refine_proxy=None, refine_inits=None, refine_steps=None, seed=0,
    dtype=None, bn=None,
    alpha_abs=None, procedure=None, channels=None, cells_per_stage=None, cells=None,
    alpha_per_cell=false, classes=None, input_size=None, init_from=None, data=None, pixels=None,
    floats=None, labels=None, image_size=None, batch_size=None, shuffle_seed=None,
    cifar_format=None, normalize=None, augment_seed=None, benchmark=None, cross_check_f64=false,
    export_weights=None, device_name="cpu", verbose=false
))]
#[allow(clippy::too_many_arguments)]
pub fn search(
    py: Python<'_>,
    space: Option<&str>,
    proxy: Option<&str>,
    strategy: Option<&str>,
    preset: Option<&str>,
    perturb_proxy: Option<&str>,
    edge_order: Option<&str>,
    inits: Option<usize>,
    refine: Option<&str>,
    refine_proxy: Option<&str>,
    refine_inits: Option<usize>,
    refine_steps: Option<usize>,
    seed: u64,
    dtype: Option<&str>,
    bn: Option<&str>,
    alpha_abs: Option<bool>,
    procedure: Option<&str>,
    channels: Option<i64>,
    cells_per_stage: Option<i64>,
    cells: Option<i64>,
    alpha_per_cell: bool,
    classes: Option<i64>,
    input_size: Option<i64>,
    init_from: Option<PathBuf>,
    data: Option<&str>,
    pixels: Option<&[u8]>,
    floats: Option<&[u8]>,
    labels: Option<Vec<i64>>,
    image_size: Option<(usize, usize)>,
    batch_size: Option<i64>,
    shuffle_seed: Option<u64>,
    cifar_format: Option<&str>,
    normalize: Option<&str>,
    augment_seed: Option<u64>,
    benchmark: Option<PathBuf>,
    cross_check_f64: bool,
    export_weights: Option<PathBuf>,
    device_name: &str,
    verbose: bool,
) -> PyResult<(String, String)> {
    let arrays = Arrays {
        pixels,
        floats,
        labels,
        size: image_size,
    };
    let prepared = (|| -> Result<_> {
        let preset = preset.map(preset_by_name).transpose()?;
        let mut opts = SearchOptions {
            space: SpaceArgs {
                space: space.unwrap_or("nb201"),
                channels,
                cells_per_stage,
                cells,
                alpha_per_cell,
                classes,
                input_size,
            }
            .config()?,
            ..SearchOptions::default()
        };
        opts.alpha_abs = opts.space.official_alpha_abs();
        if let Some(p) = preset {
            p.apply(&mut opts);
        }
        if let Some(a) = alpha_abs {
            opts.alpha_abs = a;
        }
        if let Some(p) = perturb_proxy {
            opts.perturb_proxy = Some(
                ProxySet::parse(p).map_err(|e| anyhow!("invalid value for perturb_proxy: {e}"))?,
            );
        }
        if let Some(o) = parse_opt("edge_order", edge_order)? {
            opts.edge_order = o;
        }
        if let Some(p) = parse_opt("proxy", proxy)? {
            opts.proxy = p;
        }
        if let Some(s) = parse_opt::<Strategy>("strategy", strategy)? {
            opts.strategy = s;
        }
        if let Some(d) = parse_opt("dtype", dtype)? {
            opts.dtype = d;
        }
        if let Some(b) = parse_opt("bn", bn)? {
            opts.bn = b;
        }
        if let Some(p) = parse_opt("procedure", procedure)? {
            opts.procedure = p;
        }
        if let Some(k) = inits {
            opts.inits = k;
        }
        if let Some(r) = refine_options(refine, refine_proxy, refine_inits, refine_steps)? {
            opts.refine = Some(r);
        }
        opts.seed = seed;
        opts.init_from = init_from;
        ensure!(
            !(arrays.given() && data.is_some()),
            "invalid setting: data is either a path (or \"synthetic\") or arrays, not both"
        );
        if data.is_some() || preset.is_none() {
            opts.data = data_source(data);
        }
        if let Some(b) = size("batch_size", batch_size, 1, bounds::BATCH)? {
            ensure!(
                !arrays.given(),
                "invalid setting: batch_size applies to data read from a file; an array is used whole"
            );
            opts.batch_size = b;
        }
        opts.shuffle_seed = shuffle_seed;
        opts.cifar_format = parse_opt("cifar_format", cifar_format)?;
        opts.normalization = parse_opt("normalize", normalize)?;
        opts.augment_seed = augment_seed;
        opts.benchmark = benchmark;
        opts.cross_check_f64 = cross_check_f64;
        opts.export_weights = export_weights;
        ensure!(
            !opts.cross_check_f64 || opts.strategy == Strategy::Oneshot,
            "--cross-check-f64 repeats one scoring in float64 and applies to --strategy oneshot \
             only; for --strategy iterative run the search again with --dtype f64"
        );
        let images = arrays.batch(opts.space.space(), opts.cifar_format, opts.normalization)?;
        if let Some((b, _)) = &images {
            // What the result records of the batch: its size, as a file batch would.
            opts.batch_size = b.n;
        }
        preflight(&opts)?;
        Ok((opts, images, device(device_name)?))
    })();
    let (opts, images, backend) = prepared.map_err(|e| crate::errors::to_py(&e))?;
    run::run(py, None, move |_| {
        let result = run_search_on(&opts, &backend.device(), images)?;
        let json = serde_json::to_string_pretty(&result)? + "\n";
        Ok((json, result.render_text(verbose)))
    })
}

/// The checks `freedarts search` makes before anything is built (`SearchArgs::preflight`).
fn preflight(opts: &SearchOptions) -> Result<()> {
    if let Some(path) = &opts.export_weights {
        freedarts::util::output::check_output_path(path).map_err(|e| {
            anyhow::Error::new(e)
                .context(format!("cannot write --export-weights {}", path.display()))
        })?;
    }
    crate::errors::supernet_fits(opts)
}
