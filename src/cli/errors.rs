//! Library errors in the words of the flags that caused them: the library states facts
//! (a size, a label, a missing batch), the command line says which flag to change. The Python
//! binding includes this file, so it uses only `freedarts::` paths and no clap.

use anyhow::anyhow;

use freedarts::nn::weights::WeightsError;
use freedarts::saliency::SaliencyError;
use freedarts::scoring::ScoreError;
use freedarts::scoring::archs::ArchListError;
use freedarts::scoring::file::ScoreFileError;
use freedarts::search::SearchError;
use freedarts::search::{SearchOptions, validate_config};
use freedarts::sizes::{check_fits, estimate_supernet};
use freedarts::spaces::SpaceError;

/// A saliency error with the flag to change.
pub fn saliency_words(e: &SaliencyError) -> String {
    match e {
        SaliencyError::NeedsData { measure } => {
            format!(
                "proxy `{measure}` needs a batch of images: pass --data PATH (or --data synthetic)"
            )
        }
        SaliencyError::InputShape { got, expected } => format!(
            "the image batch is {got:?} (C, H, W) but the supernet expects {expected:?}; check --input-size"
        ),
        SaliencyError::Label {
            label,
            index,
            classes,
        } => format!(
            "label {label} of image {index} is out of range for {classes} classes; check --classes"
        ),
        other => other.to_string(),
    }
}

/// A skeleton error with the flags to change.
pub fn space_words(e: &SpaceError) -> String {
    match e {
        SpaceError::Nb201Sizes => {
            "--channels, --cells-per-stage and --classes must be at least 1".into()
        }
        SpaceError::DartsSizes => {
            "--channels must be even and at least 2, --cells at least 3, --classes at least 1"
                .into()
        }
        SpaceError::InputSize { size, factor, why } => {
            format!("--input-size {size} must be a positive multiple of {factor} ({why})")
        }
    }
}

/// Reading is `--init-from`, writing is `--export-weights`: each failure says which.
fn weights_words(e: &WeightsError) -> Option<String> {
    match e {
        WeightsError::Io { path, source } => Some(format!(
            "cannot read --init-from {}: {source}",
            path.display()
        )),
        WeightsError::Write { path, source } => Some(format!(
            "cannot write --export-weights {}: {source}",
            path.display()
        )),
        _ => None,
    }
}

/// The flag wording of one link of an error chain, when it is one of the library's typed
/// errors that has one.
pub fn in_flag_words(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<SearchError>() {
        return match e {
            SearchError::Proxy(s) => Some(saliency_words(s)),
            SearchError::Space(s) => Some(format!("invalid setting: {}", space_words(s))),
            SearchError::Weights(w) => weights_words(w),
            SearchError::BenchmarkNeedsNb201 => Some(
                "invalid setting: --benchmark looks cells up in NAS-Bench-201 and needs --space nb201"
                    .into(),
            ),
            _ => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<WeightsError>() {
        return weights_words(e);
    }
    if let Some(e) = cause.downcast_ref::<SaliencyError>() {
        return Some(saliency_words(e));
    }
    cause.downcast_ref::<SpaceError>().map(space_words)
}

/// The cause chain on one line, without a backtrace, skipping causes that the message before
/// already quotes.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let msg = in_flag_words(cause).unwrap_or_else(|| cause.to_string());
        if !text.contains(&msg) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&msg);
        }
    }
    // Echoed input (an op name, a path, a JSON string) may hold control characters; they are
    // shown escaped. Newlines stay: some errors list their problems one a line.
    text.split('\n')
        .map(|line| freedarts::util::input::escape_control(line, usize::MAX))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A scoring error in the words of the flags that caused it; the rest name files and
/// architectures, and pass through. An unreadable `--archs` file keeps its I/O error in the
/// chain (the Python binding maps it to `FileNotFoundError`).
pub fn score_error(e: ScoreError) -> anyhow::Error {
    match e {
        ScoreError::NoProxies => anyhow!("invalid setting: --proxy lists no proxies"),
        ScoreError::NeedsData { proxy } => anyhow!(
            "invalid setting: proxy `{proxy}` needs images: pass --data PATH (or --data synthetic)"
        ),
        ScoreError::Network(SpaceError::InputSize { size, factor, why }) => anyhow!(
            "invalid setting: --input-size {size} must be a positive multiple of {factor} ({why})"
        ),
        ScoreError::Network(SpaceError::DartsSizes) => {
            anyhow!("invalid setting: --channels must be even and at least 2, --cells at least 3")
        }
        ScoreError::Archs(ArchListError::Io { path, source }) => anyhow::Error::new(source)
            .context(format!("cannot read --archs file {}", path.display())),
        ScoreError::Archs(ArchListError::Empty(path)) => {
            anyhow!("--archs file {} lists no architectures", path.display())
        }
        ScoreError::Archs(ArchListError::NotEnumerable { space }) => anyhow!(
            "--archs all enumerates the NB201 cells only; the {space} space is too large to \
             list: give sample:N or a file"
        ),
        ScoreError::Archs(ArchListError::SampleTooLarge { n, limit, space }) => {
            anyhow!("--archs sample:{n}: the {space} space samples at most {limit} architectures")
        }
        ScoreError::File(e @ ScoreFileError::NotScoreFile { .. }) => {
            anyhow!("{e}; pick another --output (this file is left as it is)")
        }
        ScoreError::File(e @ ScoreFileError::SettingsChanged { .. }) if e.is_other_images() => {
            anyhow!(
                "{e}: the same flags read other images (has the data file changed?); give \
                 the data the file was scored on or pick another --output"
            )
        }
        ScoreError::File(e @ ScoreFileError::SettingsChanged { .. }) if e.is_other_definition() => {
            anyhow!(
                "{e}: the build that wrote the file computes this proxy differently; finish \
                 the file with that build or pick another --output"
            )
        }
        ScoreError::File(e @ ScoreFileError::SettingsChanged { .. }) => {
            anyhow!("{e}: resume with the same flags or pick another --output")
        }
        e @ ScoreError::Workers { .. } => anyhow!("{e}; lower --jobs"),
        ScoreError::Batch(source) => anyhow!("{}", saliency_words(&source)),
        ScoreError::Proxy { arch, source } => {
            anyhow!("{arch}: {}", saliency_words(&source))
        }
        e => e.into(),
    }
}

/// The search's skeleton check and memory estimate, before anything is built.
pub fn supernet_fits(opts: &SearchOptions) -> anyhow::Result<()> {
    validate_config(&opts.space)?;
    let batch = if opts.needs_data() {
        opts.batch_size
    } else {
        1
    };
    check_fits(
        format!("the supernet ({}, batch {batch})", opts.space.describe()),
        estimate_supernet(&opts.space),
        batch,
        1,
    )
    .map_err(|e| {
        anyhow!("invalid setting: {e}; lower --channels, --cells, --input-size or --batch-size")
    })
}
