//! NAS-Bench-201 as a [`SearchSpace`] (the supernet) and a [`NetworkSpace`] (TinyNetwork of
//! one cell); one configuration serves both.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::cifar::CifarFormat;
use crate::data::preprocess::NormalizationName;
use crate::nn::model::Model;
use crate::spaces::derive::Derivation;

use super::network::Nb201Network;
use super::supernet::{Nb201Config, Nb201Supernet};
use super::{NB201_EDGES, NB201_NUM_ARCHS, Nb201Arch, Nb201Op};
use crate::spaces::graph::CellGraph;
use crate::spaces::{
    Architecture, Choices, Neighbour, NetworkSpace, SearchSpace, Space, SpaceError,
    check_input_size,
};

impl Space for Nb201Config {
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

    /// NAS-Bench-201's constants of the data set.
    fn normalization(&self, format: CifarFormat, classes: usize) -> NormalizationName {
        NormalizationName::official(false, format, classes)
    }
}

impl SearchSpace for Nb201Config {
    fn supernet(&self) -> Box<dyn Model> {
        Box::new(Nb201Supernet::new(*self))
    }

    /// alpha is in the model state the official NB201 code makes absolute.
    fn official_alpha_abs(&self) -> bool {
        true
    }

    /// Every op, `none` included, on every edge.
    fn choices(&self) -> Choices {
        Choices {
            ops: (0..Nb201Op::ALL.len()).collect(),
            nodes: Vec::new(),
        }
    }

    /// Argmax of the single alpha matrix.
    fn derive(&self, groups: &[(String, &[f64])]) -> Derivation {
        Derivation::nb201(groups[0].1)
    }
}

fn arch_of(arch: Nb201Arch) -> Architecture {
    Architecture::new(arch.to_string())
}

impl NetworkSpace for Nb201Config {
    fn settings(&self) -> serde_json::Value {
        serde_json::json!(self)
    }

    fn parse(&self, text: &str) -> Result<Architecture, String> {
        Nb201Arch::parse(text)
            .map(arch_of)
            .map_err(|e| e.to_string())
    }

    /// All 15,625 cells in `index_in_space` order.
    fn enumerate(&self) -> Option<Vec<Architecture>> {
        Some(Nb201Arch::all().map(arch_of).collect())
    }

    fn sample_limit(&self) -> usize {
        NB201_NUM_ARCHS
    }

    /// A seeded shuffle of all cells cut to `n`, listed in `index_in_space` order.
    fn sample(&self, n: usize, seed: u64) -> Vec<Architecture> {
        let mut all: Vec<Nb201Arch> = Nb201Arch::all().collect();
        all.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        all.truncate(n);
        all.sort_by_key(Nb201Arch::index_in_space);
        all.into_iter().map(arch_of).collect()
    }

    fn network(&self, arch: &Architecture) -> Box<dyn Model> {
        let cell = Nb201Arch::parse(arch.text()).expect("an architecture of this space parses");
        Box::new(Nb201Network::new(*self, cell))
    }

    /// Every other op on each edge in turn: 6 x 4 = 24 cells, edge by edge, ops in column
    /// order.
    fn neighbours(&self, arch: &Architecture) -> Vec<Neighbour> {
        let cell = Nb201Arch::parse(arch.text()).expect("an architecture of this space parses");
        let mut out = Vec::new();
        for (row, &current) in cell.ops.iter().enumerate() {
            for (col, &op) in Nb201Op::ALL.iter().enumerate() {
                if op != current {
                    let mut edited = cell;
                    edited.ops[row] = op;
                    out.push(Neighbour {
                        arch: arch_of(edited),
                        row,
                        col,
                    });
                }
            }
        }
        out
    }
}

impl Nb201Arch {
    /// The cell as a graph: node 0 is the input, node 3 the output; every edge carries its op
    /// (`none` included, drawn as an absent connection by the renderer).
    pub fn cell_graph(&self) -> CellGraph {
        CellGraph {
            title: format!("NB201 cell: {self}"),
            inputs: vec!["0".into()],
            intermediates: vec!["1".into(), "2".into(), "3".into()],
            output: None,
            concat: vec![3],
            edges: NB201_EDGES
                .iter()
                .zip(self.ops.iter())
                .map(|(&(to, from), op)| (from, to, op.name().to_string()))
                .collect(),
        }
    }
}
