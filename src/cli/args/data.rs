//! `--data PATH|synthetic`, `--batch-size` and `--shuffle-seed`: the image batch of the
//! proxies that need data (`search` and `score`).

use std::convert::Infallible;
use std::path::PathBuf;

use freedarts::data::cifar::CifarFormat;
use freedarts::search::DataSource;

/// The batch size when none is given (a preset may choose its own then).
pub const DEFAULT_BATCH: usize = 64;

#[derive(clap::Args)]
pub struct DataArgs {
    /// Images for the proxies that need data: a CIFAR-10/100 binary file, a directory of the
    /// official batch files, or `synthetic` for seeded Gaussian images.
    #[arg(long, value_name = "PATH|synthetic", value_parser = parse_source)]
    pub data: Option<DataSource>,
    /// Images in the batch, 1 to 65536 (and at most the records of --data) [default: 64, or
    /// the preset's].
    #[arg(long, value_parser = super::range(1, super::bounds::BATCH))]
    pub batch_size: Option<usize>,
    /// Draw the batch at random with this seed instead of taking the first images in order.
    #[arg(long)]
    pub shuffle_seed: Option<u64>,
    /// Record layout of a CIFAR binary file [default: told by the official file name, else by
    /// the file size when only one layout divides it, else by --classes (100: cifar100)].
    #[arg(long, value_enum)]
    pub cifar_format: Option<CifarFormatArg>,
}

/// CIFAR record layouts on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CifarFormatArg {
    /// 1 label byte + 3072 pixel bytes per record.
    Cifar10,
    /// 2 label bytes (coarse, fine; the fine label is used) + 3072 pixel bytes.
    Cifar100,
}

impl DataArgs {
    /// The batch size given, else the default.
    pub fn batch(&self) -> usize {
        self.batch_size.unwrap_or(DEFAULT_BATCH)
    }

    pub fn cifar_format(&self) -> Option<CifarFormat> {
        self.cifar_format.map(|f| match f {
            CifarFormatArg::Cifar10 => CifarFormat::Cifar10,
            CifarFormatArg::Cifar100 => CifarFormat::Cifar100,
        })
    }
}

/// The one spelling of the synthetic source; anything else is a path, checked when it is read
/// (so the error names the file the library failed on).
fn parse_source(text: &str) -> Result<DataSource, Infallible> {
    Ok(if text == "synthetic" {
        DataSource::Synthetic
    } else {
        DataSource::Cifar(PathBuf::from(text))
    })
}
