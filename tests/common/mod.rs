//! Test helpers: the shared data folder and the reference (golden) files.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::{Dtype, SafeTensors};

/// `../shared` next to the crate, as laid out in development and in CI.
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// A fresh directory under the system's temporary folder, named by `tag` and the process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freedarts-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn reference(name: &str) -> PathBuf {
    shared().join("reference").join(name)
}

/// A golden file: its top-level tensors as f64 and its string metadata.
pub struct Golden {
    pub path: PathBuf,
    tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
    metadata: HashMap<String, String>,
}

impl Golden {
    pub fn open(name: &str) -> Self {
        Self::open_path(reference(name))
    }

    /// A safetensors file anywhere (expected tensors under `tests/data`).
    pub fn open_path(path: PathBuf) -> Self {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, meta) = SafeTensors::read_metadata(&bytes).expect("safetensors header");
        let metadata = meta.metadata().clone().unwrap_or_default();
        let file = SafeTensors::deserialize(&bytes).expect("safetensors file");
        let mut tensors = HashMap::new();
        for (name, view) in file.tensors() {
            let data = view.data();
            let values: Vec<f64> = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
                    .collect(),
                Dtype::F64 => data
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                Dtype::I64 => data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
                    .collect(),
                _ => continue,
            };
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Self {
            path,
            tensors,
            metadata,
        }
    }

    pub fn get(&self, name: &str) -> &[f64] {
        &self
            .tensors
            .get(name)
            .unwrap_or_else(|| panic!("{} has no tensor {name}", self.path.display()))
            .1
    }

    pub fn scalar(&self, name: &str) -> f64 {
        self.get(name)[0]
    }

    pub fn meta(&self, key: &str) -> &str {
        self.metadata
            .get(key)
            .unwrap_or_else(|| panic!("{} has no metadata {key}", self.path.display()))
    }

    /// The `config` metadata as JSON.
    pub fn config(&self) -> serde_json::Value {
        serde_json::from_str(self.meta("config")).expect("config metadata is JSON")
    }
}

/// The smallest NAS-Bench-201 skeleton the tests search and score (4 channels, one cell per
/// stage).
pub const TINY_NB201: [&str; 4] = ["--channels", "4", "--cells-per-stage", "1"];

/// A JSON array of strings.
pub fn json_strs(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_str().expect("a string"))
        .collect()
}

pub fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Asserts |got - want| <= tol * max|want| element-wise.
pub fn assert_close_to_max(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = max_abs(want);
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tol * scale,
        "{what}: max abs error {worst:.3e} exceeds {tol:.1e} of max|want| = {scale:.3e}\n got  {got:?}\n want {want:?}"
    );
}

/// Asserts |got - want| <= tol * |want| element-wise.
pub fn assert_rel(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs(),
            "{what}[{i}]: got {g:.10e}, want {w:.10e} (relative tolerance {tol:.1e})"
        );
    }
}

/// Runs the freedarts binary, as a user would (no backtrace variables).
pub fn freedarts(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("binary runs")
}

pub fn path(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Scores the alpha of a supernet with a registered measure, as a search does.
pub fn score_alpha_of(
    net: &dyn freedarts::nn::model::Model,
    state: &freedarts::nn::params::HostParams,
    batch: Option<&freedarts::data::cifar::ImageBatch>,
    measure: &str,
    target: freedarts::saliency::Target,
) -> freedarts::saliency::alpha::ProxyOutput {
    let device = burn::tensor::Device::flex().autodiff();
    let measure = freedarts::saliency::measure_by_name(measure).expect("a registered measure");
    let mut s = freedarts::saliency::Scoring::new(net, state.clone(), &device, batch, 0);
    freedarts::saliency::alpha::score_alpha(measure, &mut s, target).expect("scoring runs")
}
