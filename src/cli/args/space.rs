//! `--space` and the skeleton flags of a supernet (`search`, `bench`, `info`).

use anyhow::{Result, ensure};

use super::{bounds, range};

use freedarts::search::SpaceConfig;
use freedarts::spaces::darts::supernet::DartsConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

/// Search spaces on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SpaceArg {
    /// NAS-Bench-201 cell, 6 edges x 5 ops (defaults C=16, N=5, CIFAR-10 head, 32x32).
    Nb201,
    /// DARTS cell, 14 edges x 8 ops (defaults 8 cells, C=16, CIFAR-10 head, 32x32).
    Darts,
    /// DARTS cell on the ImageNet supernet (14 cells, C=48, 1000 classes, 224x224).
    DartsImagenet,
}

#[derive(clap::Args)]
pub struct SpaceArgs {
    /// Search space.
    #[arg(long, value_enum, default_value_t = SpaceArg::Nb201)]
    pub space: SpaceArg,
    /// Initial width C, 1 to 4096 (DARTS: even) [default: 16; 48 for darts-imagenet].
    #[arg(long, value_parser = range(1, bounds::CHANNELS))]
    pub channels: Option<usize>,
    /// NB201: search cells per stage N, 1 to 1000 [default: 5].
    #[arg(long, value_parser = range(1, bounds::CELLS))]
    pub cells_per_stage: Option<usize>,
    /// DARTS: number of cells L, reductions at L/3 and 2L/3 [default: 8; 14 for darts-imagenet;
    /// 20 searches at evaluation depth]. 3 to 1000.
    #[arg(long, value_parser = range(3, bounds::CELLS))]
    pub cells: Option<usize>,
    /// DARTS: give every cell its own alpha and derive one cell per alpha.
    #[arg(long)]
    pub alpha_per_cell: bool,
    /// Classes of the linear head [default: 10; 1000 for darts-imagenet]. CIFAR-100: 100;
    /// ImageNet16-120: 120. 1 to 100000.
    #[arg(long, value_parser = range(1, bounds::CLASSES))]
    pub classes: Option<usize>,
    /// Input height and width, 4 to 4096 [default: 32; 224 for darts-imagenet].
    /// ImageNet16-120: 16.
    #[arg(long, value_parser = range(1, bounds::INPUT_SIZE))]
    pub input_size: Option<usize>,
}

impl SpaceArgs {
    /// The skeleton, refusing flags of the other space (the library never sees them).
    pub fn config(&self) -> Result<SpaceConfig> {
        let nb201_only = |flag: &str, set: bool| {
            ensure!(!set, "{flag} applies to --space nb201 only");
            Ok(())
        };
        let darts_only = |flag: &str, set: bool| {
            ensure!(
                !set,
                "{flag} applies to --space darts and darts-imagenet only"
            );
            Ok(())
        };
        Ok(match self.space {
            SpaceArg::Nb201 => {
                darts_only("--cells", self.cells.is_some())?;
                darts_only("--alpha-per-cell", self.alpha_per_cell)?;
                let d = Nb201Config::default();
                SpaceConfig::Nb201(Nb201Config {
                    channels: self.channels.unwrap_or(d.channels),
                    cells_per_stage: self.cells_per_stage.unwrap_or(d.cells_per_stage),
                    classes: self.classes.unwrap_or(d.classes),
                    input_size: self.input_size.unwrap_or(d.input_size),
                })
            }
            SpaceArg::Darts | SpaceArg::DartsImagenet => {
                nb201_only("--cells-per-stage", self.cells_per_stage.is_some())?;
                let d = if self.space == SpaceArg::Darts {
                    DartsConfig::cifar(8)
                } else {
                    DartsConfig::imagenet()
                };
                SpaceConfig::Darts(DartsConfig {
                    channels: self.channels.unwrap_or(d.channels),
                    cells: self.cells.unwrap_or(d.cells),
                    classes: self.classes.unwrap_or(d.classes),
                    input_size: self.input_size.unwrap_or(d.input_size),
                    alpha_per_cell: self.alpha_per_cell,
                    ..d
                })
            }
        })
    }
}
