//! The DARTS space as a [`SearchSpace`] (the search supernet, [`DartsConfig`]) and a
//! [`NetworkSpace`] (NetworkCIFAR / NetworkImageNet of a genotype, [`EvalConfig`]).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::cifar::CifarFormat;
use crate::data::preprocess::NormalizationName;
use crate::nn::model::Model;
use crate::spaces::derive::Derivation;

use super::network::{DartsEvalNet, EvalConfig};
use super::supernet::{DartsConfig, DartsStem, DartsSupernet};
use super::{CellGenes, DARTS_STEPS, DartsOp, Genotype, by_name, node_rows};
use crate::spaces::graph::CellGraph;
use crate::spaces::{
    Architecture, Choices, NetworkSpace, SearchSpace, Space, SpaceError, check_input_size,
};

fn name_of(stem: DartsStem) -> &'static str {
    match stem {
        DartsStem::Cifar => "darts",
        DartsStem::ImageNet => "darts-imagenet",
    }
}

/// The shape checks both networks share: the factorized reductions halve the width, the
/// reduction cells sit at 1/3 and 2/3 of the depth, and the stems and reductions halve the
/// image.
fn check_shape(
    channels: usize,
    cells: usize,
    classes: usize,
    input_size: usize,
    stem: DartsStem,
) -> Result<(), SpaceError> {
    if channels < 2 || !channels.is_multiple_of(2) || cells < 3 || classes == 0 {
        return Err(SpaceError::DartsSizes);
    }
    match stem {
        DartsStem::Cifar => check_input_size(input_size, 4, "two stride-2 reduction cells"),
        DartsStem::ImageNet => check_input_size(
            input_size,
            32,
            "three stride-2 stems and two reduction cells",
        ),
    }
}

impl Space for DartsConfig {
    fn name(&self) -> &'static str {
        name_of(self.stem)
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
        check_shape(
            self.channels,
            self.cells,
            self.classes,
            self.input_size,
            self.stem,
        )
    }

    /// The DARTS code's CIFAR-10 constants (NAS-Bench-201's for CIFAR-100, which the DARTS
    /// code has none for).
    fn normalization(&self, format: CifarFormat, classes: usize) -> NormalizationName {
        NormalizationName::official(true, format, classes)
    }
}

impl SearchSpace for DartsConfig {
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

    /// The non-`none` ops; every intermediate node keeps two of its in-edges.
    fn choices(&self) -> Choices {
        Choices {
            ops: (1..DartsOp::ALL.len()).collect(),
            nodes: (2..2 + DARTS_STEPS).map(|n| (node_rows(n), 2)).collect(),
        }
    }
}

impl Space for EvalConfig {
    fn name(&self) -> &'static str {
        name_of(self.stem)
    }

    fn describe(&self) -> String {
        let network = match self.stem {
            DartsStem::Cifar => "NetworkCIFAR",
            DartsStem::ImageNet => "NetworkImageNet",
        };
        format!(
            "{network} evaluation network: C={} cells={} classes={} input {}x{}",
            self.channels, self.cells, self.classes, self.input_size, self.input_size
        )
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn input_size(&self) -> usize {
        self.input_size
    }

    fn validate(&self) -> Result<(), SpaceError> {
        check_shape(
            self.channels,
            self.cells,
            self.classes,
            self.input_size,
            self.stem,
        )
    }

    /// The DARTS code's CIFAR-10 constants (NAS-Bench-201's for CIFAR-100, which the DARTS
    /// code has none for).
    fn normalization(&self, format: CifarFormat, classes: usize) -> NormalizationName {
        NormalizationName::official(true, format, classes)
    }
}

fn arch_of(genotype: &Genotype) -> Architecture {
    Architecture::new(genotype.to_string())
}

/// Far beyond any study's sample and far below the space's size; it bounds the memory of the
/// list.
const DARTS_SAMPLE_LIMIT: usize = 1_000_000;

impl NetworkSpace for EvalConfig {
    fn settings(&self) -> serde_json::Value {
        serde_json::json!(self)
    }

    /// `Genotype(...)` text, or DARTS_V1 / DARTS_V2 / DARTS.
    fn parse(&self, text: &str) -> Result<Architecture, String> {
        match by_name(text) {
            Some(g) => Ok(arch_of(&g)),
            None => Genotype::parse(text)
                .map(|g| arch_of(&g))
                .map_err(|e| e.to_string()),
        }
    }

    /// About 10^18 genotypes: not listed.
    fn enumerate(&self) -> Option<Vec<Architecture>> {
        None
    }

    fn sample_limit(&self) -> usize {
        DARTS_SAMPLE_LIMIT
    }

    /// Distinct uniformly random genotypes, in drawing order.
    fn sample(&self, n: usize, seed: u64) -> Vec<Architecture> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut seen = std::collections::HashSet::new();
        let mut archs = Vec::with_capacity(n);
        while archs.len() < n {
            let g = Genotype::random(&mut rng);
            if seen.insert(g.clone()) {
                archs.push(arch_of(&g));
            }
        }
        archs
    }

    fn network(&self, arch: &Architecture) -> Box<dyn Model> {
        let genotype = Genotype::parse(arch.text()).expect("an architecture of this space parses");
        Box::new(DartsEvalNet::new(*self, &genotype))
    }
}

impl CellGenes {
    /// The cell as a graph: the two cell inputs, four nodes, and the output that concatenates
    /// the nodes of `concat`.
    pub fn cell_graph(&self, title: String) -> CellGraph {
        CellGraph {
            title,
            inputs: vec!["c_{k-2}".into(), "c_{k-1}".into()],
            intermediates: (0..DARTS_STEPS).map(|i| i.to_string()).collect(),
            output: Some("c_{k}".into()),
            concat: self.concat.clone(),
            edges: self
                .genes
                .iter()
                .enumerate()
                .map(|(k, g)| (g.input, 2 + k / 2, g.op.name().to_string()))
                .collect(),
        }
    }
}
