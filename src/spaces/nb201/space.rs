//! NAS-Bench-201 as a [`SearchSpace`].

use crate::nn::model::Model;
use crate::spaces::derive::Derivation;

use super::supernet::{Nb201Config, Nb201Supernet};
use crate::spaces::{SearchSpace, SpaceError, check_input_size};

impl SearchSpace for Nb201Config {
    fn name(&self) -> &'static str {
        "nb201"
    }

    fn describe(&self) -> String {
        format!(
            "NB201 supernet: C={} N={} classes={} input {}x{}",
            self.channels, self.cells_per_stage, self.classes, self.input_size, self.input_size
        )
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn input_size(&self) -> usize {
        self.input_size
    }

    fn validate(&self) -> Result<(), SpaceError> {
        if self.channels == 0 || self.cells_per_stage == 0 || self.classes == 0 {
            return Err(SpaceError::Nb201Sizes);
        }
        check_input_size(self.input_size, 4, "two stride-2 reductions")
    }

    fn supernet(&self) -> Box<dyn Model> {
        Box::new(Nb201Supernet::new(*self))
    }

    /// alpha is in the model state the official NB201 code makes absolute.
    fn official_alpha_abs(&self) -> bool {
        true
    }

    /// Argmax of the single alpha matrix.
    fn derive(&self, groups: &[(String, &[f64])]) -> Derivation {
        Derivation::nb201(groups[0].1)
    }
}
