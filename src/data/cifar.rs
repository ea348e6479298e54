//! Reader for the official CIFAR-10 / CIFAR-100 binary files, producing
//! normalised NCHW float batches that match torchvision's
//! `ToTensor()` + `Normalize(mean, std)` bit for bit.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Image side length in pixels.
pub const CIFAR_SIDE: usize = 32;
/// Colour channels per image.
pub const CIFAR_CHANNELS: usize = 3;
/// Pixel bytes per record: three 32x32 planes (R, G, B).
pub const CIFAR_IMAGE_BYTES: usize = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE;

const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const CIFAR100_TRAIN_FILES: [&str; 1] = ["train.bin"];

/// Records a CIFAR file may hold (the official training set has 50,000).
pub const MAX_RECORDS: u64 = 100_000_000;

/// Which record layout a binary file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CifarFormat {
    /// 1 label byte + 3072 pixel bytes.
    Cifar10,
    /// 2 label bytes (coarse, fine) + 3072 pixel bytes; the fine label is used.
    Cifar100,
}

impl CifarFormat {
    /// Bytes per record, labels included.
    pub fn record_len(self) -> usize {
        self.label_bytes() + CIFAR_IMAGE_BYTES
    }

    /// Number of classes of the label that is read (100 fine classes for CIFAR-100).
    pub fn num_classes(self) -> usize {
        match self {
            CifarFormat::Cifar10 => 10,
            CifarFormat::Cifar100 => 100,
        }
    }

    /// Label bytes at the start of each record.
    pub fn label_bytes(self) -> usize {
        match self {
            CifarFormat::Cifar10 => 1,
            CifarFormat::Cifar100 => 2,
        }
    }

    /// Guesses the layout of `path`, independently of the head size: official
    /// file names decide first (`data_batch_*`, `test_batch*` for CIFAR-10;
    /// `train.bin`, `test.bin` for CIFAR-100; for a directory, the official
    /// training files in it), then the file size when it is a whole number of
    /// records of one layout only. Only a size that fits both (a multiple of
    /// 3073 x 3074 bytes) or neither falls back to `classes == 100` meaning
    /// CIFAR-100 and anything else CIFAR-10.
    pub fn infer(path: &Path, classes: usize) -> CifarFormat {
        if path.is_dir() {
            if path.join(CIFAR10_TRAIN_FILES[0]).is_file() {
                return CifarFormat::Cifar10;
            }
            if path.join(CIFAR100_TRAIN_FILES[0]).is_file() {
                return CifarFormat::Cifar100;
            }
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            if name.starts_with("data_batch_") || name.starts_with("test_batch") {
                return CifarFormat::Cifar10;
            }
            if name == "train.bin" || name == "test.bin" {
                return CifarFormat::Cifar100;
            }
        }
        if let Some(format) = Self::from_size(path) {
            return format;
        }
        if classes == 100 {
            CifarFormat::Cifar100
        } else {
            CifarFormat::Cifar10
        }
    }

    /// The layout whose record length alone divides the size of the file at `path`.
    pub fn from_size(path: &Path) -> Option<CifarFormat> {
        let size = std::fs::metadata(path).ok().filter(|m| m.is_file())?.len();
        if size == 0 {
            return None;
        }
        let fits = |f: CifarFormat| size.is_multiple_of(f.record_len() as u64);
        match (fits(CifarFormat::Cifar10), fits(CifarFormat::Cifar100)) {
            (true, false) => Some(CifarFormat::Cifar10),
            (false, true) => Some(CifarFormat::Cifar100),
            _ => None,
        }
    }

    fn train_files(self) -> &'static [&'static str] {
        match self {
            CifarFormat::Cifar10 => &CIFAR10_TRAIN_FILES,
            CifarFormat::Cifar100 => &CIFAR100_TRAIN_FILES,
        }
    }

    /// The folder the official archive unpacks into.
    fn archive_dir(self) -> &'static str {
        match self {
            CifarFormat::Cifar10 => "cifar-10-batches-bin",
            CifarFormat::Cifar100 => "cifar-100-binary",
        }
    }
}

/// Per-channel normalisation applied after scaling bytes to [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization {
    /// Channel means (R, G, B).
    pub mean: [f32; 3],
    /// Channel standard deviations (R, G, B).
    pub std: [f32; 3],
}

/// Rounds a Python-style float quotient to f32, as `torch.tensor([...])` does.
const fn per_255(v: f64) -> f32 {
    (v / 255.0) as f32
}

impl Normalization {
    /// The NAS-Bench-201 CIFAR-10 statistics: mean (125.3, 123.0, 113.9)/255,
    /// std (63.0, 62.1, 66.7)/255.
    pub const NB201_CIFAR10: Normalization = Normalization {
        mean: [per_255(125.3), per_255(123.0), per_255(113.9)],
        std: [per_255(63.0), per_255(62.1), per_255(66.7)],
    };

    /// The NAS-Bench-201 CIFAR-100 statistics: mean (129.3, 124.1, 112.4)/255,
    /// std (68.2, 65.4, 70.4)/255.
    pub const NB201_CIFAR100: Normalization = Normalization {
        mean: [per_255(129.3), per_255(124.1), per_255(112.4)],
        std: [per_255(68.2), per_255(65.4), per_255(70.4)],
    };

    /// Plain scaling to [0, 1] (mean 0, std 1).
    pub const IDENTITY: Normalization = Normalization {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// The NAS-Bench-201 statistics for `format`.
    pub fn nb201(format: CifarFormat) -> Normalization {
        match format {
            CifarFormat::Cifar10 => Self::NB201_CIFAR10,
            CifarFormat::Cifar100 => Self::NB201_CIFAR100,
        }
    }
}

/// A batch of images in NCHW order with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBatch {
    /// `n * channels * height * width` values, NCHW.
    pub images: Vec<f32>,
    /// One class label per image.
    pub labels: Vec<i64>,
    /// Number of images.
    pub n: usize,
    /// Channels per image (3).
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Which records were taken, counted across all files read, in batch order.
    pub indices: Vec<usize>,
}

impl ImageBatch {
    /// `[n, channels, height, width]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.n, self.channels, self.height, self.width]
    }

    /// Images `range` as a batch of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ImageBatch {
        let per_image = self.channels * self.height * self.width;
        ImageBatch {
            images: self.images[range.start * per_image..range.end * per_image].to_vec(),
            labels: self.labels[range.clone()].to_vec(),
            n: range.len(),
            channels: self.channels,
            height: self.height,
            width: self.width,
            indices: self.indices[range].to_vec(),
        }
    }
}

/// Why CIFAR data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file is missing or unreadable.
    #[error("cannot read CIFAR file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory without the official training files.
    #[error("no CIFAR training files in directory `{}` (looked for {looked_for})", dir.display())]
    NoTrainingFiles {
        /// The directory searched.
        dir: PathBuf,
        /// The names tried.
        looked_for: String,
    },
    /// A file whose size is not a whole number of records.
    #[error(
        "`{}` is {size} bytes, not a whole number of {record_len}-byte records: truncated or not a CIFAR-10 (3073-byte records) or CIFAR-100 (3074-byte records) binary file",
        path.display()
    )]
    BadSize {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The record length of the requested format.
        record_len: usize,
    },
    /// A label byte outside the class range.
    #[error(
        "`{}` record {record}: label {label} is out of range for {classes} classes",
        path.display()
    )]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// 0-based record index within that file.
        record: usize,
        /// The label byte found.
        label: u8,
        /// Number of classes of the format.
        classes: usize,
    },
    /// A file without a single record.
    #[error("`{}` is empty: a CIFAR binary file holds at least one record", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A batch size of 0 or more than the available records.
    #[error(
        "batch size {requested} is invalid: it must be between 1 and the {available} records available"
    )]
    BadBatchSize {
        /// The batch size asked for.
        requested: usize,
        /// Records available.
        available: usize,
    },
}

/// One file to draw records from.
struct Source {
    path: PathBuf,
    records: usize,
}

/// Loads `batch_size` records from `path` as a normalised NCHW batch.
///
/// `path` is a binary file or a directory holding the official training files
/// (`data_batch_1.bin`..`data_batch_5.bin` or `train.bin`, directly or in the
/// archive's own subfolder), read as one sequence in that order.
/// Without `shuffle_seed` the first `batch_size` records are taken; with one,
/// `batch_size` distinct records are drawn uniformly (ChaCha8 seeded by
/// `seed_from_u64`) and kept in drawn order. Each pixel becomes
/// `(byte / 255 - mean[c]) / std[c]` in f32. Only the records taken are read.
///
/// # Errors
/// A [`DataError`] for a missing or unreadable file, a directory without
/// training files, a size that is not a whole number of records, a label out
/// of range in a record taken, or a batch size of 0 or above the record count.
pub fn load_cifar_batch(
    path: &Path,
    format: CifarFormat,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    norm: &Normalization,
) -> Result<ImageBatch, DataError> {
    crate::util::input::check_file_or_dir(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let files = if path.is_dir() {
        training_files(path, format)?
    } else {
        vec![path.to_path_buf()]
    };
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        // Records are read one at a time, so the bound only keeps the count sane.
        let size = crate::util::input::check_regular_file(&path, MAX_RECORDS * 3074).map_err(
            |source| DataError::Io {
                path: path.clone(),
                source,
            },
        )?;
        if size == 0 {
            return Err(DataError::Empty { path });
        }
        let record_len = format.record_len();
        if size % record_len as u64 != 0 {
            return Err(DataError::BadSize {
                path,
                size,
                record_len,
            });
        }
        let records = usize::try_from(size / record_len as u64).unwrap_or(usize::MAX);
        sources.push(Source { path, records });
    }

    let available = sources
        .iter()
        .map(|s| s.records)
        .fold(0, usize::saturating_add);
    if batch_size == 0 || batch_size > available {
        return Err(DataError::BadBatchSize {
            requested: batch_size,
            available,
        });
    }
    let indices = match shuffle_seed {
        None => (0..batch_size).collect(),
        Some(seed) => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rand::seq::index::sample(&mut rng, available, batch_size).into_vec()
        }
    };

    let mut batch = ImageBatch {
        images: Vec::with_capacity(batch_size * CIFAR_IMAGE_BYTES),
        labels: Vec::with_capacity(batch_size),
        n: batch_size,
        channels: CIFAR_CHANNELS,
        height: CIFAR_SIDE,
        width: CIFAR_SIDE,
        indices: Vec::new(),
    };
    let mut handles: Vec<Option<File>> = sources.iter().map(|_| None).collect();
    let mut record = vec![0u8; format.record_len()];
    for &global in &indices {
        let (file, local) = locate(&sources, global);
        let source = &sources[file];
        read_record(&mut handles[file], &source.path, local, &mut record)?;
        // CIFAR-100 puts the coarse label first; the fine one is the last label byte.
        let label = record[format.label_bytes() - 1];
        if usize::from(label) >= format.num_classes() {
            return Err(DataError::LabelOutOfRange {
                path: source.path.clone(),
                record: local,
                label,
                classes: format.num_classes(),
            });
        }
        batch.labels.push(i64::from(label));
        push_normalized(&mut batch.images, &record[format.label_bytes()..], norm);
    }
    batch.indices = indices;
    Ok(batch)
}

/// The official training files present in `dir` (or its archive subfolder).
fn training_files(dir: &Path, format: CifarFormat) -> Result<Vec<PathBuf>, DataError> {
    let names = format.train_files();
    for candidate in [dir.to_path_buf(), dir.join(format.archive_dir())] {
        let found: Vec<PathBuf> = names
            .iter()
            .map(|name| candidate.join(name))
            .filter(|p| p.is_file())
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Err(DataError::NoTrainingFiles {
        dir: dir.to_path_buf(),
        looked_for: format!("{} there or in {}/", names.join(", "), format.archive_dir()),
    })
}

/// Maps a record index across all sources to (source, index within it).
/// The caller guarantees `global` is below the total record count.
fn locate(sources: &[Source], mut global: usize) -> (usize, usize) {
    for (i, source) in sources.iter().enumerate() {
        if global < source.records {
            return (i, global);
        }
        global -= source.records;
    }
    (sources.len().saturating_sub(1), global)
}

fn read_record(
    handle: &mut Option<File>,
    path: &Path,
    index: usize,
    record: &mut [u8],
) -> Result<(), DataError> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match handle {
        Some(file) => file,
        None => handle.insert(File::open(path).map_err(io_err)?),
    };
    let offset = (index as u64).saturating_mul(record.len() as u64);
    file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    file.read_exact(record).map_err(io_err)
}

/// Appends one CHW image. The operation order mirrors torchvision
/// (`ToTensor` divides in f32, `Normalize` subtracts then divides), which is
/// what makes the result bit-identical.
fn push_normalized(out: &mut Vec<f32>, pixels: &[u8], norm: &Normalization) {
    let plane = pixels.len() / CIFAR_CHANNELS;
    out.extend(pixels.iter().enumerate().map(|(i, &byte)| {
        let c = i / plane;
        (f32::from(byte) / 255.0 - norm.mean[c]) / norm.std[c]
    }));
}

/// A batch from pixels already in memory (the Python binding's NumPy arrays): `pixels` holds
/// `labels.len()` RGB images of `height x width` bytes in NCHW order, normalised exactly as
/// [`load_cifar_batch`] normalises file records, so the same bytes give the same batch.
/// `indices` count the images in the order given.
///
/// # Panics
/// When `pixels.len()` is not `labels.len() * 3 * height * width` (the caller checks shapes).
pub fn batch_from_pixels(
    pixels: &[u8],
    labels: Vec<i64>,
    height: usize,
    width: usize,
    norm: &Normalization,
) -> ImageBatch {
    let n = labels.len();
    let image_len = CIFAR_CHANNELS * height * width;
    assert_eq!(pixels.len(), n * image_len, "pixels do not match the shape");
    let mut images = Vec::with_capacity(pixels.len());
    for image in pixels.chunks_exact(image_len.max(1)) {
        push_normalized(&mut images, image, norm);
    }
    ImageBatch {
        images,
        labels,
        n,
        channels: CIFAR_CHANNELS,
        height,
        width,
        indices: (0..n).collect(),
    }
}

/// A deterministic stand-in batch: standard-normal NCHW images (3 channels)
/// and uniform labels in `0..classes`, both from ChaCha8 seeded with `seed`.
/// A `classes` of 0 is treated as 1 so that this never panics.
pub fn synthetic_batch(
    n: usize,
    classes: usize,
    height: usize,
    width: usize,
    seed: u64,
) -> ImageBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = n * CIFAR_CHANNELS * height * width;
    let images = (0..len).map(|_| rng.sample(StandardNormal)).collect();
    let classes = i64::try_from(classes.max(1)).unwrap_or(i64::MAX);
    let labels = (0..n).map(|_| rng.random_range(0..classes)).collect();
    ImageBatch {
        images,
        labels,
        n,
        channels: CIFAR_CHANNELS,
        height,
        width,
        indices: (0..n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh temp directory, unique per test so tests can run in parallel.
    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("freedarts-cifar-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Records whose labels are given and whose pixels encode the record number.
    fn records(format: CifarFormat, labels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (i, &label) in labels.iter().enumerate() {
            if format == CifarFormat::Cifar100 {
                bytes.push(label / 5);
            }
            bytes.push(label);
            bytes.extend((0..CIFAR_IMAGE_BYTES).map(|p| ((i * 7 + p) % 256) as u8));
        }
        bytes
    }

    /// Pixels handed over in memory become the batch the file reader makes of the same
    /// records, bit for bit.
    #[test]
    fn pixels_in_memory_equal_the_file() {
        let dir = temp_dir("pixels");
        let path = dir.join("five.bin");
        let bytes = records(CifarFormat::Cifar10, &[3, 1, 4, 1, 5]);
        std::fs::write(&path, &bytes).unwrap();
        let norm = Normalization::NB201_CIFAR10;
        let from_file = load_cifar_batch(&path, CifarFormat::Cifar10, 5, None, &norm).unwrap();
        let pixels: Vec<u8> = bytes
            .chunks_exact(CifarFormat::Cifar10.record_len())
            .flat_map(|r| r[1..].to_vec())
            .collect();
        let labels = vec![3, 1, 4, 1, 5];
        let in_memory = batch_from_pixels(&pixels, labels, CIFAR_SIDE, CIFAR_SIDE, &norm);
        assert_eq!(in_memory, from_file);
        // Other sizes keep the plane layout: channel c of a 2x3 image is bytes 6c..6c+6.
        let small = batch_from_pixels(&[0; 18], vec![0], 2, 3, &Normalization::IDENTITY);
        assert_eq!(small.shape(), [1, 3, 2, 3]);
        assert!(small.images.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn formats_and_inference() {
        assert_eq!(CifarFormat::Cifar10.record_len(), 3073);
        assert_eq!(CifarFormat::Cifar100.record_len(), 3074);
        assert_eq!(CifarFormat::Cifar100.num_classes(), 100);
        let infer = |name: &str, classes| CifarFormat::infer(Path::new(name), classes);
        assert_eq!(infer("x/data_batch_3.bin", 100), CifarFormat::Cifar10);
        assert_eq!(infer("test_batch.bin", 100), CifarFormat::Cifar10);
        assert_eq!(infer("x/train.bin", 10), CifarFormat::Cifar100);
        assert_eq!(infer("test.bin", 10), CifarFormat::Cifar100);
        // No such file: the size cannot decide, the head size does.
        assert_eq!(infer("mine.bin", 100), CifarFormat::Cifar100);
        assert_eq!(infer("mine.bin", 10), CifarFormat::Cifar10);
        assert_eq!(infer("mine.bin", 7), CifarFormat::Cifar10);
    }

    #[test]
    fn format_follows_the_file_size_not_the_head() {
        let dir = temp_dir("by-size");
        let ten = dir.join("ten.bin");
        std::fs::write(&ten, records(CifarFormat::Cifar10, &[1, 2, 3])).unwrap();
        let hundred = dir.join("hundred.bin");
        std::fs::write(&hundred, records(CifarFormat::Cifar100, &[1, 2, 3])).unwrap();
        for classes in [10, 100, 7] {
            assert_eq!(CifarFormat::infer(&ten, classes), CifarFormat::Cifar10);
            assert_eq!(CifarFormat::infer(&hundred, classes), CifarFormat::Cifar100);
        }
        let empty = dir.join("empty.bin");
        std::fs::write(&empty, b"").unwrap();
        let e = load_cifar_batch(
            &empty,
            CifarFormat::Cifar10,
            1,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err();
        assert!(matches!(e, DataError::Empty { .. }), "{e}");
        let e = load_cifar_batch(
            Path::new("/dev/zero"),
            CifarFormat::Cifar10,
            1,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn normalization_constants_are_rounded_f64_quotients() {
        let n = Normalization::NB201_CIFAR10;
        assert_eq!(n.mean[0], (125.3f64 / 255.0) as f32);
        assert_eq!(n.std[2], (66.7f64 / 255.0) as f32);
        let n = Normalization::NB201_CIFAR100;
        assert_eq!(n.mean[1], (124.1f64 / 255.0) as f32);
        assert_eq!(n.std[0], (68.2f64 / 255.0) as f32);
        // The f32 quotient differs in the last bit for some of these values,
        // so the choice of rounding matters.
        assert_ne!(n.std[0], 68.2f32 / 255.0f32);
    }

    #[test]
    fn reads_labels_pixels_and_layout() {
        let dir = temp_dir("layout");
        let path = dir.join("mine.bin");
        std::fs::write(&path, records(CifarFormat::Cifar10, &[3, 9, 0])).unwrap();
        let batch = load_cifar_batch(
            &path,
            CifarFormat::Cifar10,
            2,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap();
        assert_eq!(batch.shape(), [2, 3, 32, 32]);
        assert_eq!(batch.labels, [3, 9]);
        assert_eq!(batch.indices, [0, 1]);
        assert_eq!(batch.images.len(), 2 * CIFAR_IMAGE_BYTES);
        // Record 1, green plane, first pixel: byte (7 + 1024) % 256.
        assert_eq!(
            batch.images[CIFAR_IMAGE_BYTES + 1024],
            ((7 + 1024) % 256) as f32 / 255.0
        );

        let norm = Normalization {
            mean: [0.5, 0.25, 0.0],
            std: [2.0, 4.0, 0.5],
        };
        let batch = load_cifar_batch(&path, CifarFormat::Cifar10, 1, None, &norm).unwrap();
        let byte = (2048 % 256) as f32;
        assert_eq!(batch.images[2048], (byte / 255.0 - 0.0) / 0.5);
        assert_eq!(batch.images[5], (5.0 / 255.0 - 0.5) / 2.0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn cifar100_uses_fine_label() {
        let dir = temp_dir("c100");
        let path = dir.join("test.bin");
        std::fs::write(&path, records(CifarFormat::Cifar100, &[49, 33, 99])).unwrap();
        let format = CifarFormat::infer(&path, 10);
        let batch =
            load_cifar_batch(&path, format, 3, None, &Normalization::NB201_CIFAR100).unwrap();
        assert_eq!(batch.labels, [49, 33, 99]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn directory_reads_training_files_in_order() {
        let dir = temp_dir("dir");
        let missing = load_cifar_batch(
            &dir,
            CifarFormat::Cifar10,
            1,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("data_batch_1.bin") && missing.contains("data_batch_5.bin"));
        std::fs::write(
            dir.join("data_batch_2.bin"),
            records(CifarFormat::Cifar10, &[5, 6]),
        )
        .unwrap();
        std::fs::write(
            dir.join("data_batch_1.bin"),
            records(CifarFormat::Cifar10, &[1]),
        )
        .unwrap();
        std::fs::write(
            dir.join("test_batch.bin"),
            records(CifarFormat::Cifar10, &[8]),
        )
        .unwrap();
        assert_eq!(CifarFormat::infer(&dir, 100), CifarFormat::Cifar10);
        let batch = load_cifar_batch(
            &dir,
            CifarFormat::Cifar10,
            3,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap();
        assert_eq!(batch.labels, [1, 5, 6]);
        let too_many = load_cifar_batch(
            &dir,
            CifarFormat::Cifar10,
            4,
            None,
            &Normalization::IDENTITY,
        );
        assert!(matches!(
            too_many,
            Err(DataError::BadBatchSize {
                requested: 4,
                available: 3
            })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let dir = temp_dir("trunc");
        let path = dir.join("data_batch_1.bin");
        let mut bytes = records(CifarFormat::Cifar10, &[1, 2, 3]);
        bytes.truncate(3073 * 2 + 5);
        std::fs::write(&path, bytes).unwrap();
        let err = load_cifar_batch(
            &path,
            CifarFormat::Cifar10,
            1,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("6151 bytes"), "{err}");
        assert!(
            err.contains("3073-byte") && err.contains("truncated"),
            "{err}"
        );
        assert!(err.contains("data_batch_1.bin"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn label_out_of_range_is_a_clear_error() {
        let dir = temp_dir("label");
        let path = dir.join("bad.bin");
        std::fs::write(&path, records(CifarFormat::Cifar10, &[1, 10])).unwrap();
        let err = load_cifar_batch(
            &path,
            CifarFormat::Cifar10,
            2,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DataError::LabelOutOfRange {
                record: 1,
                label: 10,
                classes: 10,
                ..
            }
        ));
        assert!(err.to_string().contains("bad.bin"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_file_and_zero_batch_are_errors() {
        let dir = temp_dir("missing");
        let path = dir.join("nope.bin");
        let err = load_cifar_batch(
            &path,
            CifarFormat::Cifar10,
            1,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Io { .. }));
        assert!(err.to_string().contains("nope.bin"));
        std::fs::write(&path, records(CifarFormat::Cifar10, &[1])).unwrap();
        let err = load_cifar_batch(
            &path,
            CifarFormat::Cifar10,
            0,
            None,
            &Normalization::IDENTITY,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DataError::BadBatchSize {
                requested: 0,
                available: 1
            }
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn shuffle_is_seeded() {
        let dir = temp_dir("shuffle");
        let path = dir.join("many.bin");
        let labels: Vec<u8> = (0..40).map(|i| i % 10).collect();
        std::fs::write(&path, records(CifarFormat::Cifar10, &labels)).unwrap();
        let load = |seed| {
            load_cifar_batch(
                &path,
                CifarFormat::Cifar10,
                16,
                Some(seed),
                &Normalization::IDENTITY,
            )
            .unwrap()
        };
        let (a, b, c) = (load(1), load(1), load(2));
        assert_eq!(a, b);
        assert_ne!(a.indices, c.indices);
        let mut distinct = a.indices.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 16);
        for (k, &i) in a.indices.iter().enumerate() {
            assert_eq!(a.labels[k], i64::from(labels[i]));
            assert_eq!(
                a.images[k * CIFAR_IMAGE_BYTES],
                ((i * 7) % 256) as f32 / 255.0
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn synthetic_batch_is_deterministic() {
        let a = synthetic_batch(4, 10, 8, 8, 7);
        assert_eq!(a, synthetic_batch(4, 10, 8, 8, 7));
        assert_ne!(a.images, synthetic_batch(4, 10, 8, 8, 8).images);
        assert_eq!(a.shape(), [4, 3, 8, 8]);
        assert_eq!(a.images.len(), 4 * 3 * 64);
        assert!(a.labels.iter().all(|&l| (0..10).contains(&l)));
        let mean = a.images.iter().sum::<f32>() / a.images.len() as f32;
        assert!(mean.abs() < 0.2, "mean {mean}");
        assert!(
            synthetic_batch(2, 0, 1, 1, 0)
                .labels
                .iter()
                .all(|&l| l == 0)
        );
    }
}
