//! Python keyword arguments to library settings: names parsed by the library's own serde
//! names (so a proxy, strategy or dtype added to the library is accepted here unchanged),
//! sizes checked against the command line's bounds, NumPy bytes turned into an image batch.

use anyhow::{Result, anyhow, ensure};
use serde::de::DeserializeOwned;

use freedarts::data::cifar::{self, CifarFormat, ImageBatch};
use freedarts::data::preprocess::NormalizationName;
use freedarts::device::Backend;
use freedarts::spaces::Space;

/// The command line's upper bounds of the size flags (`src/cli/args/mod.rs`, `bounds`).
pub mod bounds {
    pub const CHANNELS: i64 = 4096;
    pub const CELLS: i64 = 1000;
    pub const CLASSES: i64 = 100_000;
    pub const INPUT_SIZE: i64 = 4096;
    pub const BATCH: i64 = 65_536;
    pub const JOBS: i64 = 1024;
}

/// A library enum from the name it serialises as; an unknown name lists the known ones.
pub fn parse_name<T: DeserializeOwned>(arg: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).map_err(|e| {
        anyhow!(
            "invalid value '{}' for {arg}: {e}",
            freedarts::util::input::escape_control(value, 80)
        )
    })
}

/// An optional library enum from an optional name.
pub fn parse_opt<T: DeserializeOwned>(arg: &str, value: Option<&str>) -> Result<Option<T>> {
    value.map(|v| parse_name(arg, v)).transpose()
}

/// A size argument within `lo..=hi`, as the command line's range check has it.
pub fn size(arg: &str, value: Option<i64>, lo: i64, hi: i64) -> Result<Option<usize>> {
    match value {
        None => Ok(None),
        Some(v) if (lo..=hi).contains(&v) => Ok(Some(v as usize)),
        Some(v) => Err(anyhow!(
            "invalid value '{v}' for {arg}: {v} is not in {lo}..={hi}"
        )),
    }
}

/// A device by its name (`cpu`, and `cuda` / `wgpu` in builds with those features).
pub fn device(name: &str) -> Result<Backend> {
    name.parse::<Backend>().map_err(|_| {
        let known: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
        anyhow!(
            "invalid value '{}' for device: expected one of {}",
            freedarts::util::input::escape_control(name, 80),
            known.join(", ")
        )
    })
}

/// Images handed over from NumPy: uint8 pixels (normalised here exactly as file records are)
/// or float32 values (taken as they are), NCHW, with one label per image.
pub struct Arrays<'a> {
    pub pixels: Option<&'a [u8]>,
    /// float32 values in native byte order.
    pub floats: Option<&'a [u8]>,
    pub labels: Option<Vec<i64>>,
    /// (height, width).
    pub size: Option<(usize, usize)>,
}

impl Arrays<'_> {
    pub fn given(&self) -> bool {
        self.pixels.is_some() || self.floats.is_some()
    }

    /// The batch and the normalisation applied. Pixels are normalised with `normalize`, else
    /// with the space's constants for the data set (`format`, else CIFAR-100 for 100 classes
    /// and CIFAR-10 otherwise: what a file of unknown layout falls back to).
    pub fn batch(
        &self,
        space: &dyn Space,
        format: Option<CifarFormat>,
        normalize: Option<NormalizationName>,
    ) -> Result<Option<(ImageBatch, Option<NormalizationName>)>> {
        if !self.given() {
            return Ok(None);
        }
        let labels = self
            .labels
            .clone()
            .ok_or_else(|| anyhow!("data: images need labels, one per image"))?;
        let (height, width) = self
            .size
            .ok_or_else(|| anyhow!("data: the image size is missing"))?;
        let n = labels.len();
        ensure!(n > 0, "data: the batch holds no images");
        ensure!(
            height > 0 && width > 0,
            "data: images of {height}x{width} pixels are empty"
        );
        let len = n * cifar::CIFAR_CHANNELS * height * width;
        if let Some(pixels) = self.pixels {
            ensure!(
                pixels.len() == len,
                "data: {} pixel bytes do not make {n} images of 3x{height}x{width}",
                pixels.len()
            );
            let classes = space.classes();
            let format = format.unwrap_or(if classes == 100 {
                CifarFormat::Cifar100
            } else {
                CifarFormat::Cifar10
            });
            let name = normalize.unwrap_or_else(|| space.normalization(format, classes));
            let batch = cifar::batch_from_pixels(pixels, labels, height, width, &name.constants());
            return Ok(Some((batch, Some(name))));
        }
        let bytes = self.floats.unwrap_or_default();
        ensure!(
            bytes.len() == len * 4,
            "data: {} float32 values do not make {n} images of 3x{height}x{width}",
            bytes.len() / 4
        );
        ensure!(
            normalize.is_none(),
            "invalid setting: normalize applies to uint8 pixels; float images are taken as they are"
        );
        let images = bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let batch = ImageBatch {
            images,
            labels,
            n,
            channels: cifar::CIFAR_CHANNELS,
            height,
            width,
            indices: (0..n).collect(),
        };
        Ok(Some((batch, None)))
    }
}
