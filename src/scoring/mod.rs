//! `freedarts score`: whole-network proxies for a list of NB201 cells or DARTS genotypes,
//! written as JSON Lines that a killed run resumes and that shards of one run concatenate into.

pub mod archs;
pub mod file;

use std::ops::ControlFlow;
use std::path::PathBuf;

use burn::tensor::Device;
use serde_json::{Map, Value, json};

use crate::data::cifar::ImageBatch;
use crate::data::preprocess::NormalizationName;
use crate::device::Backend;
use crate::saliency::network::{NetworkScore, score_all};
use crate::saliency::{Measure, Scoring};
use crate::search::{DataSource, load_images};

use crate::spaces::{Architecture, NetworkSpace, SpaceError};
use archs::{ArchListError, ArchSelection, Shard};
use file::{SCORE_FORMAT, ScoreFileError, ScoreWriter};

/// Every setting of a scoring run; all of it goes into the file header.
#[derive(Clone, Debug)]
pub struct ScoreOptions {
    /// The space and the skeleton every architecture is placed in.
    pub space: std::sync::Arc<dyn NetworkSpace>,
    pub archs: ArchSelection,
    pub proxies: Vec<&'static dyn Measure>,
    /// Rank aggregates of `proxies` that `correlate` adds as proxies of their own (recorded in
    /// the header; a preset names one).
    pub ensembles: Vec<crate::saliency::ensemble::ProxySet>,
    /// The preset the proxies came from, if any.
    pub preset: Option<crate::search::preset::Preset>,
    /// Seed of every network's initial weights, of `sample:N` and of the random baseline.
    pub seed: u64,
    pub data: Option<DataSource>,
    pub batch_size: usize,
    pub shuffle_seed: Option<u64>,
    /// Record layout of a CIFAR file; `None`: told by the file's name or size.
    pub cifar_format: Option<crate::data::cifar::CifarFormat>,
    pub shard: Shard,
    pub output: PathBuf,
    /// Draw a progress bar on stderr (it hides itself when stderr is not a terminal).
    pub progress: bool,
    /// Networks scored at once, one thread each (rows are still written in list order).
    pub jobs: usize,
}

impl std::fmt::Debug for dyn Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Archs(#[from] ArchListError),
    #[error(transparent)]
    File(#[from] ScoreFileError),
    #[error(transparent)]
    Data(#[from] crate::data::cifar::DataError),
    #[error("{arch}: {source}")]
    Proxy {
        arch: String,
        source: crate::saliency::SaliencyError,
    },
    /// The run was given no proxy to compute.
    #[error("invalid setting: no proxies to score")]
    NoProxies,
    /// A proxy that needs images, with no image source given.
    #[error("invalid setting: proxy `{proxy}` needs images and no image source was given")]
    NeedsData { proxy: &'static str },
    #[error("invalid setting: {0}")]
    Network(#[from] SpaceError),
    /// The image batch does not suit the network (checked before the file is created).
    #[error("{0}")]
    Batch(crate::saliency::SaliencyError),
    /// The caller's monitor asked to stop (Ctrl-C in Python); the rows written stay and a
    /// rerun resumes after them.
    #[error("interrupted after {done} of {total} architectures (the rows written so far are kept)")]
    Interrupted { done: usize, total: usize },
    /// The operating system refused the worker threads.
    #[error("could not start {workers} worker thread(s) to score in parallel: {reason}")]
    Workers { workers: usize, reason: String },
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct ScoreSummary {
    /// Architectures of this shard.
    pub total: usize,
    /// Already in the file when the run started.
    pub resumed: usize,
    pub scored: usize,
    pub seconds: f64,
    /// Per proxy: seconds spent in it, summed over worker threads (a pass shared by several
    /// proxies counts for the first that needs it).
    pub proxy_seconds: Vec<(String, f64)>,
    /// Per proxy: architectures whose value was NaN or infinite (written as null).
    pub non_finite: Vec<(String, usize)>,
}

/// The header line: everything that decides the numbers, and nothing that changes between
/// an interrupted and an uninterrupted run (no clock times), so both give the same file.
///
/// `backend` names the device the numbers come from ([`crate::device::describe`]). It is left
/// out for burn's CPU backend, which every file written before the device could be chosen
/// used: those files stay byte-identical and resumable, and a file started on another backend
/// refuses to be resumed on the CPU (or the other way round).
pub fn header(
    opts: &ScoreOptions,
    batch: Option<&ImageBatch>,
    normalization: Option<NormalizationName>,
    backend: &str,
) -> Map<String, Value> {
    let proxies: Vec<Value> = opts
        .proxies
        .iter()
        .map(|p| {
            json!({
                "name": p.name(),
                "larger_is_better": p.larger_is_better(),
                "description": p.description(),
            })
        })
        .collect();
    let data = opts.proxies.iter().any(|p| p.needs_data()).then(|| {
        let mut data = json!({
            "source": opts.data,
            "batch_size": opts.batch_size,
            "shuffle_seed": opts.shuffle_seed,
            "indices": batch.map(|b| &b.indices),
            // What the networks saw, so a resume or a merge compares the images and labels
            // themselves, not the path they were read from (`file::batch_difference`).
            "batch_sha256": batch.map(ImageBatch::sha256),
        });
        // Only when forced, so files of runs that let the file tell stay as they were.
        if let Some(format) = opts.cifar_format {
            data["cifar_format"] = json!(format);
        }
        // Only when not NAS-Bench-201's CIFAR-10 constants, which every file written before
        // normalisation followed the space and data set used: those files stay resumable.
        if let Some(name) = normalization.filter(|&n| n != NormalizationName::Nb201Cifar10) {
            data["normalization"] = json!(name);
        }
        data
    });
    let mut h = Map::new();
    h.insert("format".into(), json!(SCORE_FORMAT));
    h.insert("freedarts_version".into(), json!(env!("CARGO_PKG_VERSION")));
    h.insert("burn_version".into(), json!(crate::util::BURN_VERSION));
    h.insert("space".into(), json!(opts.space.name()));
    h.insert("network".into(), opts.space.settings());
    h.insert("seed".into(), json!(opts.seed));
    h.insert("archs".into(), json!(opts.archs.to_string()));
    h.insert("shard".into(), json!(opts.shard.to_string()));
    h.insert("proxies".into(), Value::Array(proxies));
    h.insert("data".into(), data.unwrap_or(Value::Null));
    // Only when present, so files of plain runs stay as they were.
    if !opts.ensembles.is_empty() {
        h.insert("ensembles".into(), json!(opts.ensembles));
    }
    if let Some(p) = opts.preset {
        h.insert("preset".into(), json!(p));
    }
    if backend != Backend::Cpu.description() {
        h.insert("backend".into(), json!(backend));
    }
    h
}

/// The fields of one row: the arch, each proxy's value, then its extras as `<name>_<key>`.
pub fn row_fields(
    arch: &Architecture,
    proxies: &[&dyn Measure],
    values: &[NetworkScore],
) -> Vec<(String, Value)> {
    let mut fields = vec![("arch".to_string(), json!(arch.to_string()))];
    for (p, v) in proxies.iter().zip(values) {
        fields.push((p.name().to_string(), json!(v.value)));
        for (key, x) in &v.extra {
            fields.push((format!("{}_{key}", p.name()), json!(x)));
        }
    }
    fields
}

/// Scores the shard's architectures not yet in the output file, appending as it goes.
pub fn run_scoring(opts: &ScoreOptions, device: &Device) -> Result<ScoreSummary, ScoreError> {
    run_scoring_with(opts, device, None, &mut |_, _| ControlFlow::Continue(()))
}

/// [`run_scoring`] on a batch already in memory (the Python binding's arrays) instead of
/// `opts.data`, with the normalisation it was given (`None`: taken as it is). `monitor` sees
/// (architectures done, total) once before the first network and after every row written;
/// `Break` stops the run between networks with [`ScoreError::Interrupted`].
pub fn run_scoring_with(
    opts: &ScoreOptions,
    device: &Device,
    images: Option<(ImageBatch, Option<NormalizationName>)>,
    monitor: &mut dyn FnMut(usize, usize) -> ControlFlow<()>,
) -> Result<ScoreSummary, ScoreError> {
    let start = std::time::Instant::now();
    if opts.proxies.is_empty() {
        return Err(ScoreError::NoProxies);
    }
    opts.space.validate()?;
    let needs_data = opts.proxies.iter().find(|p| p.needs_data());
    let batch = match (needs_data, &opts.data) {
        (None, _) => None,
        (Some(_), _) if images.is_some() => images,
        (Some(p), None) => {
            return Err(ScoreError::NeedsData { proxy: p.name() });
        }
        (Some(_), Some(data)) => Some(load_images(
            data,
            opts.space.as_ref(),
            opts.batch_size,
            opts.shuffle_seed,
            opts.seed,
            opts.cifar_format,
            None,
        )?),
    };
    let all = opts.archs.resolve(opts.seed, opts.space.as_ref())?;
    let mine = opts.shard.select(&all);
    let (batch, normalization) = match batch {
        Some((b, n)) => (Some(b), n),
        None => (None, None),
    };
    let header = header(
        opts,
        batch.as_ref(),
        normalization,
        &crate::device::describe(device),
    );
    // Everything that can be checked before the first network is checked before the file is
    // created: a label the head cannot take would fail every network.
    if let Some(b) = batch.as_ref() {
        let classes = opts.space.classes();
        if let Some((index, &label)) = b
            .labels
            .iter()
            .enumerate()
            .find(|(_, l)| usize::try_from(**l).map_or(true, |l| l >= classes))
        {
            return Err(ScoreError::Batch(crate::saliency::SaliencyError::Label {
                label,
                index,
                classes,
            }));
        }
    }
    // The workers are the threads of a pool of their own, so the kernels' parallel loops inside
    // a worker run in that pool (an idle worker steals from a busy one) instead of handing
    // each loop over to rayon's global pool and waiting for it; rows are received and written
    // on this thread, outside the pool.
    let workers = opts.jobs.max(1).min(mine.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .stack_size(crate::device::COMPUTE_THREAD_STACK)
        .build()
        .map_err(|e| ScoreError::Workers {
            workers,
            reason: e.to_string(),
        })?;
    let mut writer = ScoreWriter::open(&opts.output, &header)?;
    let todo: Vec<Architecture> = mine
        .iter()
        .filter(|a| !writer.done.contains(&a.to_string()))
        .cloned()
        .collect();
    let resumed = mine.len() - todo.len();

    let bar = progress_bar(opts.progress, mine.len() as u64, resumed as u64);
    let total = mine.len();
    if monitor(resumed, total).is_break() {
        writer.discard_if_unused();
        return Err(ScoreError::Interrupted {
            done: resumed,
            total,
        });
    }
    let storage = crate::saliency::storage_precision(&opts.proxies);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut proxy_seconds = vec![0.0; opts.proxies.len()];
    let mut non_finite = vec![0usize; opts.proxies.len()];
    let (tx, rx) = std::sync::mpsc::channel();
    let batch = batch.as_ref();
    let outcome = pool.in_place_scope(|scope| -> Result<(), ScoreError> {
        // One loop per pool thread, queued on that thread (broadcast), not in the shared
        // queue: a thread that waits inside its own convolution may steal short chunks of
        // the other's, but never the other worker's whole loop. With plain spawns a thread
        // stole a chunk first, then took the second loop while waiting inside that chunk, so
        // the first worker's convolution waited for the second loop to finish every cell:
        // no row was written until the end and one thread did the work (seen 2026-12-04).
        let (next, todo) = (&next, &todo);
        // The loops own this sender (each thread sends on a clone), so that the receiver below
        // ends when the last loop does.
        let sender = tx;
        scope.spawn_broadcast(move |_, _| {
            let tx = sender.clone();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(arch) = todo.get(i) else { break };
                let net = opts.space.network(arch);
                let host = net.initial_params(opts.seed);
                let mut scoring =
                    Scoring::stored_in(net.as_ref(), host, device, batch, opts.seed, storage);
                let values = score_all(&mut scoring, &opts.proxies);
                // The receiver only hangs up after an error; then stop quietly.
                if tx.send((i, values)).is_err() {
                    break;
                }
            }
        });
        // Workers finish out of order; rows are written in list order so that the file does
        // not depend on --jobs or on where a previous run was stopped.
        let mut pending = std::collections::BTreeMap::new();
        let mut written = 0;
        let proxy_seconds = &mut proxy_seconds;
        let non_finite = &mut non_finite;
        for (i, values) in rx {
            pending.insert(i, values);
            while let Some(values) = pending.remove(&written) {
                let arch = &todo[written];
                let values = values.map_err(|source| {
                    next.store(todo.len(), std::sync::atomic::Ordering::Relaxed);
                    ScoreError::Proxy {
                        arch: arch.to_string(),
                        source,
                    }
                })?;
                for (k, (v, t)) in values.iter().enumerate() {
                    proxy_seconds[k] += t;
                    non_finite[k] += usize::from(!v.value.is_finite());
                }
                let values: Vec<NetworkScore> = values.into_iter().map(|(v, _)| v).collect();
                writer.write_row(&row_fields(arch, &opts.proxies, &values))?;
                bar.inc(1);
                written += 1;
                if monitor(resumed + written, total).is_break() {
                    next.store(todo.len(), std::sync::atomic::Ordering::Relaxed);
                    return Err(ScoreError::Interrupted {
                        done: resumed + written,
                        total,
                    });
                }
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        writer.discard_if_unused();
        return Err(e);
    }
    bar.finish_and_clear();
    Ok(ScoreSummary {
        total: mine.len(),
        resumed,
        scored: todo.len(),
        seconds: start.elapsed().as_secs_f64(),
        proxy_seconds: opts
            .proxies
            .iter()
            .map(|p| p.name().to_string())
            .zip(proxy_seconds)
            .collect(),
        non_finite: opts
            .proxies
            .iter()
            .map(|p| p.name().to_string())
            .zip(non_finite)
            .collect(),
    })
}

fn progress_bar(enabled: bool, len: u64, done: u64) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} archs  {per_sec}  ETA {eta}")
            .expect("the template is valid"),
    );
    bar.set_position(done);
    bar.reset_eta();
    bar
}
