//! The DARTS space as a [`SearchSpace`].

use crate::nn::model::Model;
use crate::spaces::derive::Derivation;

use super::supernet::{DartsConfig, DartsStem, DartsSupernet};
use crate::spaces::{SearchSpace, SpaceError, check_input_size};

impl SearchSpace for DartsConfig {
    fn name(&self) -> &'static str {
        match self.stem {
            DartsStem::Cifar => "darts",
            DartsStem::ImageNet => "darts-imagenet",
        }
    }

    fn describe(&self) -> String {
        format!(
            "DARTS supernet ({:?} stem): C={} cells={} classes={} input {}x{}{}",
            self.stem,
            self.channels,
            self.cells,
            self.classes,
            self.input_size,
            self.input_size,
            if self.alpha_per_cell {
                ", one alpha per cell"
            } else {
                ""
            }
        )
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn input_size(&self) -> usize {
        self.input_size
    }

    fn validate(&self) -> Result<(), SpaceError> {
        if self.channels < 2
            || !self.channels.is_multiple_of(2)
            || self.cells < 3
            || self.classes == 0
        {
            return Err(SpaceError::DartsSizes);
        }
        match self.stem {
            DartsStem::Cifar => {
                check_input_size(self.input_size, 4, "two stride-2 reduction cells")
            }
            DartsStem::ImageNet => check_input_size(
                self.input_size,
                32,
                "three stride-2 stems and two reduction cells",
            ),
        }
    }

    fn supernet(&self) -> Box<dyn Model> {
        Box::new(DartsSupernet::new(*self))
    }

    /// The DARTS code does not make alpha absolute.
    fn official_alpha_abs(&self) -> bool {
        false
    }

    /// Top-2 parse of each group; one Genotype when the groups are (normal, reduce).
    fn derive(&self, groups: &[(String, &[f64])]) -> Derivation {
        Derivation::darts(groups, !self.alpha_per_cell)
    }

    fn reduction_cells(&self) -> Vec<usize> {
        vec![self.cells / 3, 2 * self.cells / 3]
    }
}
