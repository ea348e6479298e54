//! `--init-from FILE.safetensors`: load every weight, BatchNorm buffer and alpha of a supernet
//! by its PyTorch `state_dict` name.
//!
//! Names containing a dot are module state and must match the network exactly; top-level
//! names (no dot) are extra data, such as the stored results in the reference files, and are
//! ignored unless they name an alpha.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::nn::params::{HostParams, ParamKind, ParamRegistry};

/// Everything read from a weights file.
#[derive(Clone, Debug)]
pub struct LoadedState {
    /// Every registered tensor, alphas included.
    pub params: HostParams,
    /// Top-level tensors that were not used.
    pub ignored: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read weights file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid safetensors file: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot write weights file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} does not match the supernet ({}){}", summary(.problems), list_problems(.problems))]
    Mismatch { path: PathBuf, problems: Problems },
}

/// Everything wrong with a weights file, by kind.
#[derive(Debug, Default)]
pub struct Problems {
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    pub misshaped: Vec<String>,
    pub other: Vec<String>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.misshaped.is_empty()
            && self.other.is_empty()
    }

    fn kinds(&self) -> [(&'static str, &[String]); 4] {
        [
            ("mis-shaped", &self.misshaped),
            ("missing", &self.missing),
            ("unexpected", &self.unexpected),
            ("other", &self.other),
        ]
    }
}

/// Items listed per kind before the rest is only counted.
const LISTED: usize = 8;

fn summary(p: &Problems) -> String {
    p.kinds()
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(kind, items)| format!("{} {kind}", items.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_problems(p: &Problems) -> String {
    let mut out = String::new();
    for (_, items) in p.kinds() {
        for item in items.iter().take(LISTED) {
            out.push_str(&format!("\n  - {item}"));
        }
        if items.len() > LISTED {
            out.push_str(&format!(
                "\n  - ... and {} more like these",
                items.len() - LISTED
            ));
        }
    }
    out
}

/// Reads one tensor as f64, accepting f32 and f64 storage.
fn read_floats(view: &safetensors::tensor::TensorView<'_>) -> Option<Vec<f64>> {
    let bytes = view.data();
    match view.dtype() {
        Dtype::F32 => Some(
            bytes
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
        ),
        Dtype::F64 => Some(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunk of 8 bytes")))
                .collect(),
        ),
        _ => None,
    }
}

/// Checks the 8-byte header length against the file before the parser sees it, so the
/// message says what is wrong in the file's own terms.
fn check_header_length(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    let format = |message: String| WeightsError::Format {
        path: path.to_owned(),
        message,
    };
    let Some(head) = bytes.get(..8) else {
        return Err(format(format!(
            "it is {} bytes, shorter than the 8-byte header length",
            bytes.len()
        )));
    };
    let n = u64::from_le_bytes(head.try_into().expect("8 bytes"));
    let rest = bytes.len() as u64 - 8;
    if n > rest || n > crate::util::input::limits::SAFETENSORS_HEADER {
        return Err(format(format!(
            "the header claims {n} bytes, but {} follow (and the format allows at most {})",
            rest,
            crate::util::input::limits::SAFETENSORS_HEADER
        )));
    }
    Ok(())
}

/// A NaN or infinite value in a loaded tensor, worded with the tensor's name.
fn non_finite(name: &str, values: &[f64]) -> Option<String> {
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    let first = values.iter().position(|v| !v.is_finite())?;
    let name = name.strip_prefix("alpha ").map_or_else(
        || format!("tensor `{name}`"),
        |alpha| format!("alpha `{alpha}`"),
    );
    Some(format!(
        "{name} holds {bad} NaN or infinite value(s) (the first at flat index {first}: {})",
        values[first]
    ))
}

/// Loads `path` against `registry`; every mismatch is collected and reported at once.
pub fn load_state(path: &Path, registry: &ParamRegistry) -> Result<LoadedState, WeightsError> {
    // Every tensor in f64 twice over, plus the format's largest header: far above any real
    // file of this supernet (extra top-level tensors included), far below `/dev/zero`.
    let numel: u64 = registry.specs().iter().map(|s| s.numel() as u64).sum();
    let max_bytes = numel
        .saturating_mul(16)
        .saturating_add(crate::util::input::limits::SAFETENSORS_HEADER)
        .saturating_add(64 * crate::util::input::MIB);
    let bytes =
        crate::util::input::read_bounded(path, max_bytes).map_err(|source| WeightsError::Io {
            path: path.to_owned(),
            source,
        })?;
    check_header_length(path, &bytes)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| WeightsError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut available: BTreeMap<String, safetensors::tensor::TensorView<'_>> =
        file.tensors().into_iter().collect();
    let mut problems = Problems::default();

    let mut values = Vec::with_capacity(registry.specs().len());
    for spec in registry.specs() {
        if spec.kind.is_alpha() {
            // Filled in below, from whichever of its names the file uses.
            values.push(Vec::new());
            continue;
        }
        let Some(view) = available.remove(&spec.name) else {
            if spec.kind != ParamKind::BatchCounter {
                problems.missing.push(format!(
                    "missing tensor `{}` (expected shape {:?})",
                    spec.name, spec.shape
                ));
            }
            values.push(vec![0.0; spec.numel()]);
            continue;
        };
        if spec.kind == ParamKind::BatchCounter {
            values.push(vec![0.0; spec.numel()]);
            continue;
        }
        if view.shape() != spec.shape.as_slice() {
            problems.misshaped.push(format!(
                "tensor `{}` has shape {:?}, expected {:?}",
                spec.name,
                view.shape(),
                spec.shape
            ));
            values.push(vec![0.0; spec.numel()]);
            continue;
        }
        match read_floats(&view) {
            Some(v) => {
                if let Some(problem) = non_finite(&spec.name, &v) {
                    problems.other.push(problem);
                }
                values.push(v);
            }
            None => {
                problems.other.push(format!(
                    "tensor `{}` has dtype {:?}, expected F32 or F64",
                    spec.name,
                    view.dtype()
                ));
                values.push(vec![0.0; spec.numel()]);
            }
        }
    }

    // Alphas may share a file tensor (per-cell alphas fall back to the shared ones), so they
    // are looked up, and only removed from the unused list afterwards.
    let mut alpha_names_used = std::collections::BTreeSet::new();
    for (slot, spec) in values.iter_mut().zip(registry.specs()) {
        if !spec.kind.is_alpha() {
            continue;
        }
        let names: Vec<&str> = std::iter::once(spec.name.as_str())
            .chain(spec.aliases.iter().map(String::as_str))
            .collect();
        let mut found: Option<(&str, Vec<f64>)> = None;
        for &name in &names {
            let Some(view) = available.get(name) else {
                continue;
            };
            alpha_names_used.insert(name.to_string());
            if view.shape() != spec.shape.as_slice() {
                problems.other.push(format!(
                    "alpha `{name}` has shape {:?}, expected {:?}",
                    view.shape(),
                    spec.shape
                ));
                continue;
            }
            let Some(v) = read_floats(view) else {
                problems.other.push(format!(
                    "alpha `{name}` has dtype {:?}, expected F32 or F64",
                    view.dtype()
                ));
                continue;
            };
            if let Some(problem) = non_finite(&format!("alpha {name}"), &v) {
                problems.other.push(problem);
                continue;
            }
            match &found {
                Some((first, prev)) if *prev != v => problems.other.push(format!(
                    "alpha tensors `{first}` and `{name}` are both present but differ"
                )),
                Some(_) => {}
                None => found = Some((name, v)),
            }
        }
        *slot = match found {
            Some((_, v)) => v,
            None => {
                problems.other.push(format!(
                    "missing architecture parameters: none of {names:?} (shape {:?})",
                    spec.shape
                ));
                vec![0.0; spec.numel()]
            }
        };
    }

    for name in &alpha_names_used {
        available.remove(name);
    }
    let mut ignored = Vec::new();
    for (name, view) in &available {
        if name.contains('.') {
            problems.unexpected.push(format!(
                "unexpected tensor `{name}` with shape {:?} (not part of this supernet)",
                view.shape()
            ));
        } else {
            ignored.push(name.clone());
        }
    }

    if problems.is_empty() {
        Ok(LoadedState {
            params: HostParams { values },
            ignored,
        })
    } else {
        Err(WeightsError::Mismatch {
            path: path.to_owned(),
            problems,
        })
    }
}

/// Writes a state under its PyTorch names (weights and BN buffers as float32,
/// `num_batches_tracked` as int64 0, each alpha under its state_dict name), with string
/// metadata, so that the official PyTorch code can `load_state_dict` it and `--init-from` reads
/// it back.
pub fn save_state(
    path: &Path,
    registry: &ParamRegistry,
    params: &HostParams,
    metadata: std::collections::HashMap<String, String>,
) -> Result<(), WeightsError> {
    use safetensors::tensor::TensorView;
    let f32_bytes = |values: &[f64]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect()
    };
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (spec, values) in registry.specs().iter().zip(&params.values) {
        if spec.kind == ParamKind::BatchCounter {
            buffers.push((
                spec.name.clone(),
                Dtype::I64,
                vec![],
                0i64.to_le_bytes().to_vec(),
            ));
        } else {
            buffers.push((
                spec.name.clone(),
                Dtype::F32,
                spec.shape.clone(),
                f32_bytes(values),
            ));
        }
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WeightsError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| WeightsError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    crate::util::output::write_atomic(path, &bytes).map_err(|source| WeightsError::Write {
        path: path.to_owned(),
        source,
    })
}
