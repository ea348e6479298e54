//! How the scoring batch is prepared: each search space's own normalisation constants per data
//! set, and the official loaders' training augmentation (random crop 32 with padding 4,
//! horizontal flip), seeded and off by default.
//!
//! The constants are the ones each official code base writes down:
//! - NAS-Bench-201 (`lib/datasets/get_dataset_with_transform.py`): CIFAR-10 mean
//!   (125.3, 123.0, 113.9)/255, std (63.0, 62.1, 66.7)/255; CIFAR-100 (129.3, 124.1, 112.4)/255,
//!   (68.2, 65.4, 70.4)/255; ImageNet16-120 (122.68, 116.66, 104.01)/255, (63.22, 61.26, 65.09)/255.
//! - DARTS (`utils._data_transforms_cifar10`): mean (0.49139968, 0.48215827, 0.44653124), std
//!   (0.24703233, 0.24348505, 0.26158768). The DARTS code has no CIFAR-100 constants (its
//!   CIFAR-100 search script reuses the CIFAR-10 transform on CIFAR-10), so a DARTS-space search
//!   on CIFAR-100 uses NAS-Bench-201's CIFAR-100 constants, the only ones in the FreeDARTS code.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::cifar::{CifarFormat, ImageBatch, Normalization};

/// Rounds a Python-style float quotient to f32, as `torch.tensor([...])` does.
const fn per_255(v: f64) -> f32 {
    (v / 255.0) as f32
}

/// NAS-Bench-201's ImageNet16-120 statistics.
pub const NB201_IMAGENET16: Normalization = Normalization {
    mean: [per_255(122.68), per_255(116.66), per_255(104.01)],
    std: [per_255(63.22), per_255(61.26), per_255(65.09)],
};

/// The DARTS code's CIFAR-10 statistics.
pub const DARTS_CIFAR10: Normalization = Normalization {
    mean: [0.491_399_68, 0.482_158_27, 0.446_531_24],
    std: [0.247_032_33, 0.243_485_05, 0.261_587_68],
};

/// A named set of normalisation constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormalizationName {
    Nb201Cifar10,
    Nb201Cifar100,
    Nb201Imagenet16,
    DartsCifar10,
    /// Plain scaling to [0, 1].
    None,
}

impl NormalizationName {
    pub fn constants(self) -> Normalization {
        match self {
            Self::Nb201Cifar10 => Normalization::NB201_CIFAR10,
            Self::Nb201Cifar100 => Normalization::NB201_CIFAR100,
            Self::Nb201Imagenet16 => NB201_IMAGENET16,
            Self::DartsCifar10 => DARTS_CIFAR10,
            Self::None => Normalization::IDENTITY,
        }
    }

    /// The constants the official code of a space uses for a data set: `darts_space` picks the
    /// DARTS code base; `classes == 120` means ImageNet16-120; otherwise the file's format.
    pub fn official(darts_space: bool, format: CifarFormat, classes: usize) -> Self {
        match (darts_space, format) {
            (_, CifarFormat::Cifar100) => Self::Nb201Cifar100,
            (true, CifarFormat::Cifar10) => Self::DartsCifar10,
            (false, CifarFormat::Cifar10) if classes == 120 => Self::Nb201Imagenet16,
            (false, CifarFormat::Cifar10) => Self::Nb201Cifar10,
        }
    }
}

/// The training augmentation of the official loaders: pad 4 with zeros (black, before
/// normalisation), take a random 32x32 crop, flip horizontally with probability 1/2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augmentation {
    /// Seed of the crop offsets and flips (ChaCha8, `seed_from_u64`).
    pub seed: u64,
    pub padding: usize,
    pub flip: bool,
}

impl Augmentation {
    /// Random crop with padding 4 and horizontal flip, as `RandomCrop(32, padding=4)` and
    /// `RandomHorizontalFlip()`.
    pub fn official(seed: u64) -> Self {
        Self {
            seed,
            padding: 4,
            flip: true,
        }
    }
}

/// How a scoring batch was prepared: recorded in the result's provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub normalization: NormalizationName,
    /// The constants themselves (R, G, B), as applied in float32.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augmentation: Option<Augmentation>,
}

impl Preprocessing {
    pub fn new(normalization: NormalizationName, augmentation: Option<Augmentation>) -> Self {
        let c = normalization.constants();
        Self {
            normalization,
            mean: c.mean,
            std: c.std,
            augmentation,
        }
    }

    pub fn constants(&self) -> Normalization {
        Normalization {
            mean: self.mean,
            std: self.std,
        }
    }
}

/// Crops and flips every image of a normalised batch in place. Crop and flip only move pixels,
/// so doing them after the normalisation gives the same values as before it, with the padding
/// at the normalised value of a zero byte, `(0 - mean) / std` (what torchvision's zero padding
/// becomes after `Normalize`). Per image, in batch order: the crop offset (top, left), each
/// uniform in 0..=2*padding, then the flip (probability 1/2).
pub fn augment(batch: &mut ImageBatch, norm: &Normalization, aug: &Augmentation) {
    let mut rng = ChaCha8Rng::seed_from_u64(aug.seed);
    let (c, h, w, p) = (batch.channels, batch.height, batch.width, aug.padding);
    let image = c * h * w;
    for n in 0..batch.n {
        let top = rng.random_range(0..=2 * p);
        let left = rng.random_range(0..=2 * p);
        let flip = aug.flip && rng.random_bool(0.5);
        let src = batch.images[n * image..(n + 1) * image].to_vec();
        let dst = &mut batch.images[n * image..(n + 1) * image];
        for ch in 0..c {
            let m = ch.min(2);
            let pad = (0.0f32 - norm.mean[m]) / norm.std[m];
            for y in 0..h {
                for x in 0..w {
                    // Output (y, x) reads padded (y + top, x' + left), x' the unflipped column.
                    let xs = if flip { w - 1 - x } else { x };
                    let (py, px) = (y + top, xs + left);
                    let inside = py >= p && py < h + p && px >= p && px < w + p;
                    dst[(ch * h + y) * w + x] = if inside {
                        src[(ch * h + py - p) * w + px - p]
                    } else {
                        pad
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize) -> ImageBatch {
        ImageBatch {
            images: (0..n * 3 * 32 * 32).map(|i| i as f32).collect(),
            labels: vec![0; n],
            n,
            channels: 3,
            height: 32,
            width: 32,
            indices: (0..n).collect(),
        }
    }

    #[test]
    fn darts_constants_are_the_float32_of_the_code() {
        assert_eq!(DARTS_CIFAR10.mean[0], 0.49139968f64 as f32);
        assert_eq!(DARTS_CIFAR10.std[2], 0.26158768f64 as f32);
        assert_eq!(NB201_IMAGENET16.mean[1], (116.66f64 / 255.0) as f32);
        assert_eq!(
            NormalizationName::official(true, CifarFormat::Cifar10, 10),
            NormalizationName::DartsCifar10
        );
        assert_eq!(
            NormalizationName::official(false, CifarFormat::Cifar10, 120),
            NormalizationName::Nb201Imagenet16
        );
        assert_eq!(
            NormalizationName::official(false, CifarFormat::Cifar100, 100),
            NormalizationName::Nb201Cifar100
        );
    }

    #[test]
    fn augmentation_is_seeded_and_only_moves_pixels() {
        let norm = Normalization::NB201_CIFAR10;
        let aug = Augmentation::official(7);
        let (mut a, mut b) = (batch(4), batch(4));
        augment(&mut a, &norm, &aug);
        augment(&mut b, &norm, &aug);
        assert_eq!(a, b, "same seed, same batch");
        let mut c = batch(4);
        augment(&mut c, &norm, &Augmentation::official(8));
        assert_ne!(a, c, "another seed moves differently");
        let original = batch(4);
        let pads: Vec<f32> = (0..3).map(|m| -norm.mean[m] / norm.std[m]).collect();
        for (i, v) in a.images.iter().enumerate() {
            let ch = (i / 1024) % 3;
            assert!(
                *v == pads[ch] || original.images.contains(v),
                "value {v} is neither a pixel nor padding"
            );
        }
        // Zero padding and no flip leave the image as it is.
        let mut d = batch(2);
        augment(
            &mut d,
            &norm,
            &Augmentation {
                seed: 1,
                padding: 0,
                flip: false,
            },
        );
        assert_eq!(d, batch(2));
    }

    #[test]
    fn flip_mirrors_rows() {
        let norm = Normalization::IDENTITY;
        // Find a seed whose first image is flipped with offset (4, 4): then it is an exact mirror.
        for seed in 0..5000 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (top, left) = (rng.random_range(0..=8usize), rng.random_range(0..=8usize));
            if (top, left) == (4, 4) && rng.random_bool(0.5) {
                let mut b = batch(1);
                augment(&mut b, &norm, &Augmentation::official(seed));
                let o = batch(1);
                assert_eq!(b.images[0], o.images[31]);
                assert_eq!(b.images[32 * 5 + 2], o.images[32 * 5 + 29]);
                return;
            }
        }
        panic!("no seed below 5000 draws offset (4, 4) with a flip");
    }
}
