//! Library errors in the words of the flags that caused them: the library states facts
//! (a size, a label, a missing batch), the command line says which flag to change.

use freedarts::nn::weights::WeightsError;
use freedarts::saliency::SaliencyError;
use freedarts::search::SearchError;
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
