//! `freedarts.score`: keyword arguments to [`ScoreOptions`], then [`run_scoring_with`] into a
//! score file (the caller's, or a temporary one the Python side owns), read back whole.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use pyo3::prelude::*;
use serde_json::{Value, json};

use freedarts::saliency::{Measure, all_measures, measure_by_name};
use freedarts::scoring::archs::{ArchListError, ArchSelection, Shard, parse_list};
use freedarts::scoring::file::{ScoreLine, read_score_file};
use freedarts::scoring::{ScoreError, ScoreOptions, run_scoring_with};
use freedarts::sizes::{check_fits, estimate_eval, estimate_nb201_network};
use freedarts::spaces::NetworkSpace;
use freedarts::spaces::darts::network::EvalConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

use crate::errors::score_error;
use crate::options::{Arrays, bounds, device, parse_opt, size};
use crate::run;
use crate::search::data_source;

/// Proxies by name, as `--proxy a,b` (`all`: every registered one), refusing unknown and
/// repeated names with the CLI's messages.
fn proxies(names: &[String]) -> Result<Vec<&'static dyn Measure>> {
    let names: Vec<&str> = if names.len() == 1 && names[0].trim() == "all" {
        all_measures().iter().map(|p| p.name()).collect()
    } else {
        names.iter().map(|n| n.trim()).collect()
    };
    let mut out: Vec<&'static dyn Measure> = Vec::new();
    for name in names {
        let Some(p) = measure_by_name(name) else {
            let known: Vec<&str> = all_measures().iter().map(|p| p.name()).collect();
            bail!(
                "--proxy: unknown proxy `{}`; known: {}",
                freedarts::util::input::escape_control(name, 80),
                known.join(", ")
            );
        };
        if out.iter().any(|q| q.name() == name) {
            bail!("--proxy: `{name}` is listed twice");
        }
        out.push(p);
    }
    Ok(out)
}

/// The network every architecture is placed in, and its size estimate (as `freedarts score`).
fn network_space(
    space: &str,
    channels: Option<usize>,
    cells_per_stage: Option<usize>,
    cells: Option<usize>,
    classes: Option<usize>,
    input_size: Option<usize>,
) -> Result<(Arc<dyn NetworkSpace>, freedarts::sizes::Estimate)> {
    Ok(match space {
        "nb201" if cells.is_some() => {
            bail!("--cells applies to --space darts; NB201 takes --cells-per-stage")
        }
        "darts" | "darts-imagenet" if cells_per_stage.is_some() => {
            bail!("--cells-per-stage applies to --space nb201; DARTS takes --cells")
        }
        "nb201" => {
            let d = Nb201Config::default();
            let c = Nb201Config {
                channels: channels.unwrap_or(d.channels),
                cells_per_stage: cells_per_stage.unwrap_or(d.cells_per_stage),
                classes: classes.unwrap_or(d.classes),
                input_size: input_size.unwrap_or(d.input_size),
            };
            (Arc::new(c), estimate_nb201_network(&c))
        }
        "darts" | "darts-imagenet" => {
            let d = if space == "darts" {
                EvalConfig::cifar()
            } else {
                EvalConfig::imagenet()
            };
            let c = EvalConfig {
                channels: channels.unwrap_or(d.channels),
                cells: cells.unwrap_or(d.cells),
                classes: classes.unwrap_or(d.classes),
                input_size: input_size.unwrap_or(d.input_size),
                ..d
            };
            (Arc::new(c), estimate_eval(&c))
        }
        other => bail!(
            "invalid value '{}' for space: expected one of nb201, darts, darts-imagenet",
            freedarts::util::input::escape_control(other, 80)
        ),
    })
}

/// Scores architectures into the score file `output` (resuming it when it holds rows of the
/// same run) and returns the whole file as JSON, `{"header": {...}, "rows": [...]}`, with
/// what this run did (`"summary"`: counts, seconds, per-proxy time and non-finite values).
/// `archs` is `all`, `sample:N` or a file path (one item), or architecture texts (a list).
#[pyfunction]
#[pyo3(signature = (
    *, archs, archs_is_list, proxy, output, space="nb201", seed=0, data=None, pixels=None,
    floats=None, labels=None, image_size=None, batch_size=None, shuffle_seed=None,
    cifar_format=None, normalize=None, channels=None, cells_per_stage=None, cells=None,
    classes=None, input_size=None, shard="0/1", jobs=None, device_name="cpu", bar=false,
    progress=None
))]
#[allow(clippy::too_many_arguments)]
pub fn score(
    py: Python<'_>,
    archs: Vec<String>,
    archs_is_list: bool,
    proxy: Vec<String>,
    output: PathBuf,
    space: &str,
    seed: u64,
    data: Option<&str>,
    pixels: Option<&[u8]>,
    floats: Option<&[u8]>,
    labels: Option<Vec<i64>>,
    image_size: Option<(usize, usize)>,
    batch_size: Option<i64>,
    shuffle_seed: Option<u64>,
    cifar_format: Option<&str>,
    normalize: Option<&str>,
    channels: Option<i64>,
    cells_per_stage: Option<i64>,
    cells: Option<i64>,
    classes: Option<i64>,
    input_size: Option<i64>,
    shard: &str,
    jobs: Option<i64>,
    device_name: &str,
    bar: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let arrays = Arrays {
        pixels,
        floats,
        labels,
        size: image_size,
    };
    let prepared = (|| -> Result<_> {
        let proxies = proxies(&proxy)?;
        let (space, estimate) = network_space(
            space,
            size("channels", channels, 1, bounds::CHANNELS)?,
            size("cells_per_stage", cells_per_stage, 1, bounds::CELLS)?,
            size("cells", cells, 3, bounds::CELLS)?,
            size("classes", classes, 1, bounds::CLASSES)?,
            size("input_size", input_size, 1, bounds::INPUT_SIZE)?,
        )?;
        let archs = if archs_is_list {
            ArchSelection::List(parse_list(&archs, space.as_ref()).map_err(score_error_from)?)
        } else {
            let text = archs.first().map_or("", String::as_str);
            text.parse::<ArchSelection>()
                .map_err(|e| anyhow!("invalid value '{text}' for archs: {e}"))?
        };
        if let ArchSelection::File(path) = &archs {
            freedarts::util::input::check_regular_file(
                path,
                freedarts::util::input::limits::ARCH_LIST,
            )
            .with_context(|| format!("cannot read --archs file {}", path.display()))?;
        }
        let shard = shard
            .parse::<Shard>()
            .map_err(|e| anyhow!("invalid value '{shard}' for shard: {e}"))?;
        if arrays.given() && data.is_some() {
            bail!("invalid setting: data is either a path (or \"synthetic\") or arrays, not both");
        }
        let cifar_format = parse_opt("cifar_format", cifar_format)?;
        let normalization = parse_opt("normalize", normalize)?;
        if normalization.is_some() && !arrays.given() {
            bail!("invalid setting: normalize applies to images given as arrays");
        }
        let images = arrays.batch(space.as_ref(), cifar_format, normalization)?;
        let batch_size = match (size("batch_size", batch_size, 1, bounds::BATCH)?, &images) {
            (Some(_), Some(_)) => bail!(
                "invalid setting: batch_size applies to data read from a file; an array is used whole"
            ),
            (_, Some((b, _))) => b.n,
            (b, None) => b.unwrap_or(64),
        };
        let jobs = size("jobs", jobs, 1, bounds::JOBS)?
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        space.validate().map_err(|e| score_error(e.into()))?;
        let batch = if proxies.iter().any(|p| p.needs_data()) {
            batch_size
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
        let opts = ScoreOptions {
            space,
            archs,
            proxies,
            ensembles: Vec::new(),
            preset: None,
            seed,
            data: data_source(data),
            batch_size,
            shuffle_seed,
            cifar_format,
            shard,
            output,
            progress: bar,
            jobs,
        };
        Ok((opts, images, device(device_name)?))
    })();
    let (opts, images, backend) = prepared.map_err(|e| crate::errors::to_py(&e))?;
    run::run(py, progress, move |reporter| {
        let summary = run_scoring_with(&opts, &backend.device(), images, &mut |done, total| {
            reporter.progress(done, total)
        })
        .map_err(score_error)?;
        let mut header = Value::Null;
        let mut rows = Vec::new();
        let lines = read_score_file(&opts.output)
            .with_context(|| format!("cannot read back {}", opts.output.display()))?;
        for line in lines {
            match line {
                ScoreLine::Header(h) => header = Value::Object(h),
                ScoreLine::Row(r) => rows.push(Value::Object(r)),
            }
        }
        let summary = json!({
            "total": summary.total,
            "resumed": summary.resumed,
            "scored": summary.scored,
            "seconds": summary.seconds,
            "proxy_seconds": summary.proxy_seconds,
            "non_finite": summary.non_finite,
        });
        Ok(json!({"header": header, "rows": rows, "summary": summary}).to_string())
    })
}

fn score_error_from(e: ArchListError) -> anyhow::Error {
    score_error(ScoreError::Archs(e))
}
