//! Parameter registry: the one place where a network's tensors get their PyTorch names,
//! shapes and initialisers. Initialisation, `--init-from` loading, exporting and parameter
//! counting all walk the same list, so they cannot disagree about names or order.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Handle to one registered tensor; an index into [`ParamRegistry::specs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub usize);

/// Handle to a fusion: registered tensors of equal trailing shape concatenated along dim 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FusedId(pub usize);

/// Where a layer finds a tensor on the device: one registered tensor, or a fusion of several
/// (so that, e.g., the convolutions of all edges leaving one node run as one larger GEMM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorRef {
    Param(ParamId),
    Fused(FusedId),
}

impl From<ParamId> for TensorRef {
    fn from(id: ParamId) -> Self {
        Self::Param(id)
    }
}

/// What a registered tensor is, which decides both its initial value and whether it counts as
/// a trainable parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// Conv or linear weight: PyTorch's default kaiming-uniform with a = sqrt(5), which is
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Weight { fan_in: usize },
    /// Linear bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Bias { fan_in: usize },
    /// BatchNorm gamma (initialised to 1).
    BnGamma,
    /// BatchNorm beta (initialised to 0).
    BnBeta,
    /// BatchNorm running mean buffer (0).
    RunningMean,
    /// BatchNorm running variance buffer (1).
    RunningVar,
    /// BatchNorm `num_batches_tracked`: an int64 scalar with no numerical role. Accepted when
    /// loading, never required.
    BatchCounter,
    /// Architecture parameters (alpha): `scale * N(0, 1)`. A supernet registers them after
    /// every weight, so they are drawn last, as the official code draws them.
    Alpha { scale: f64 },
}

impl ParamKind {
    /// True for tensors PyTorch returns from `model.parameters()`: the official parameter count.
    pub fn is_trainable(self) -> bool {
        matches!(
            self,
            Self::Weight { .. } | Self::Bias { .. } | Self::BnGamma | Self::BnBeta
        )
    }

    /// True for tensors that live on the device during a forward pass.
    pub fn is_numeric(self) -> bool {
        !matches!(self, Self::BatchCounter)
    }

    pub fn is_alpha(self) -> bool {
        matches!(self, Self::Alpha { .. })
    }

    /// Conv and linear weights: the tensors the zero-cost literature scores ("prunable").
    pub fn is_weight(self) -> bool {
        matches!(self, Self::Weight { .. })
    }

    /// BatchNorm running statistics: state, never differentiated.
    pub fn is_running_stat(self) -> bool {
        matches!(self, Self::RunningMean | Self::RunningVar)
    }
}

/// One registered tensor.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    /// PyTorch `state_dict` name, e.g. `cells.0.edges.1<-0.2.op.1.weight`.
    pub name: String,
    /// Other names a weights file may use for it (alpha only: `arch_alpha`, or the shared
    /// `alpha_normal` for a per-cell alpha); the first one present is read.
    pub aliases: Vec<String>,
    pub shape: Vec<usize>,
    pub kind: ParamKind,
}

impl ParamSpec {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Ordered list of every tensor of a network, in module construction order (the order PyTorch
/// would create, and so initialise, them).
#[derive(Clone, Debug, Default)]
pub struct ParamRegistry {
    specs: Vec<ParamSpec>,
    fusions: Vec<Vec<ParamId>>,
    /// Tensors that are only read through a fusion, so need no device copy of their own.
    fused_only: Vec<bool>,
}

impl ParamRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, name: impl Into<String>, shape: &[usize], kind: ParamKind) -> ParamId {
        self.specs.push(ParamSpec {
            name: name.into(),
            aliases: Vec::new(),
            shape: shape.to_vec(),
            kind,
        });
        self.fused_only.push(false);
        ParamId(self.specs.len() - 1)
    }

    /// Registers an architecture-parameter matrix under its state_dict name and the other
    /// names a weights file may give it.
    pub fn add_alpha(&mut self, names: &[String], shape: [usize; 2], scale: f64) -> ParamId {
        let id = self.add(names[0].clone(), &shape, ParamKind::Alpha { scale });
        self.specs[id.0].aliases = names[1..].to_vec();
        id
    }

    /// Declares that `members` are read concatenated along dim 0 (and never one by one).
    pub fn fuse(&mut self, members: &[ParamId]) -> TensorRef {
        let tail = &self.specs[members[0].0].shape[1..];
        assert!(
            members.iter().all(|m| &self.specs[m.0].shape[1..] == tail),
            "fused tensors must agree past dim 0"
        );
        for m in members {
            assert!(
                !self.fused_only[m.0],
                "a tensor belongs to one fusion at most"
            );
            self.fused_only[m.0] = true;
        }
        self.fusions.push(members.to_vec());
        TensorRef::Fused(FusedId(self.fusions.len() - 1))
    }

    pub fn fusions(&self) -> &[Vec<ParamId>] {
        &self.fusions
    }

    pub fn is_fused_only(&self, id: ParamId) -> bool {
        self.fused_only[id.0]
    }

    /// Shape of a fusion: the members' shape with dim 0 summed.
    pub fn fused_shape(&self, id: FusedId) -> Vec<usize> {
        let members = &self.fusions[id.0];
        let mut shape = self.specs[members[0].0].shape.clone();
        shape[0] = members.iter().map(|m| self.specs[m.0].shape[0]).sum();
        shape
    }

    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    pub fn spec(&self, id: ParamId) -> &ParamSpec {
        &self.specs[id.0]
    }

    /// Number of trainable parameters, the way `sum(p.numel() for p in model.parameters())`
    /// counts them (architecture parameters not included).
    pub fn trainable_count(&self) -> usize {
        self.specs
            .iter()
            .filter(|s| s.kind.is_trainable())
            .map(ParamSpec::numel)
            .sum()
    }

    /// Draws every tensor with PyTorch's default initialisers, in registration order.
    pub fn initialise(&self, rng: &mut ChaCha8Rng) -> HostParams {
        let values = self
            .specs
            .iter()
            .map(|spec| {
                let n = spec.numel();
                match spec.kind {
                    ParamKind::Weight { fan_in } | ParamKind::Bias { fan_in } => {
                        let bound = 1.0 / (fan_in as f64).sqrt();
                        (0..n)
                            .map(|_| f64::from(rng.random_range(-bound as f32..bound as f32)))
                            .collect()
                    }
                    ParamKind::BnGamma | ParamKind::RunningVar => vec![1.0; n],
                    ParamKind::BnBeta | ParamKind::RunningMean | ParamKind::BatchCounter => {
                        vec![0.0; n]
                    }
                    ParamKind::Alpha { scale } => randn(rng, n, scale),
                }
            })
            .collect();
        HostParams { values }
    }
}

/// Host copy of every registered tensor, as f64 (f32 weights convert exactly), indexed like
/// the registry.
#[derive(Clone, Debug)]
pub struct HostParams {
    pub values: Vec<Vec<f64>>,
}

impl HostParams {
    pub fn get(&self, id: ParamId) -> &[f64] {
        &self.values[id.0]
    }
}

/// Draws `n` values of `scale * N(0, 1)` in float32, as `scale * torch.randn`.
fn randn(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let z: f32 = StandardNormal.sample(rng);
            f64::from(scale as f32 * z)
        })
        .collect()
}
