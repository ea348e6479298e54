//! ZiCo (Li et al., "Zero-shot NAS via inverse coefficient of variation on gradients", ICLR
//! 2023): the batch is split in two halves and the cross-entropy gradient of every conv and
//! linear weight taken on each (float32, BatchNorm in train mode). Per weight tensor, the sum
//! over its entries of mean|g| / std(g) across the halves (population std; entries whose std
//! is 0 left out); score = sum over tensors of the logarithm of that sum (tensors whose sum is
//! 0 left out), as the ZiCo code computes it.

use crate::nn::ctx::{BnMode, Precision};

use super::super::network::by_member;
use super::super::pass::{self, Input, Objective, PassSpec, ReluMasks};
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target, per_element};

/// Halves the batch is split into.
const SPLITS: usize = 2;

#[derive(Clone, Copy, Debug, Default)]
pub struct Zico;

/// ZiCo of per-split gradients: `grads[split][tensor]` holds one tensor's gradient entries.
pub fn zico_of(grads: &[Vec<Vec<f64>>]) -> f64 {
    let splits = grads.len() as f64;
    let tensors = grads.first().map_or(0, Vec::len);
    let mut total = 0.0;
    for t in 0..tensors {
        let len = grads[0][t].len();
        let mut sum = 0.0;
        for i in 0..len {
            let mean = grads.iter().map(|g| g[t][i]).sum::<f64>() / splits;
            let var = grads.iter().map(|g| (g[t][i] - mean).powi(2)).sum::<f64>() / splits;
            let std = var.sqrt();
            if std > 0.0 {
                let mean_abs = grads.iter().map(|g| g[t][i].abs()).sum::<f64>() / splits;
                sum += mean_abs / std;
            }
        }
        if sum != 0.0 {
            total += sum.ln();
        }
    }
    total
}

impl Measure for Zico {
    fn name(&self) -> &'static str {
        "zico"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear weights of ln sum(mean|g| / std g), gradients of two half batches (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let batch = s.batch(self.name())?;
        let mut grads = Vec::with_capacity(SPLITS);
        for k in 0..SPLITS {
            let part = batch.slice(k * batch.n / SPLITS..(k + 1) * batch.n / SPLITS);
            let spec = PassSpec {
                precision: Precision::F32,
                bn: BnMode::Train,
                transform: &pass::untouched,
                select: pass::weights,
                input: Input::Batch(&part),
                objective: Objective::CrossEntropy,
                input_grad: false,
                probe: None,
                relu: ReluMasks::Plain,
            };
            let result = s.run(spec)?;
            let tensors = per_element(&result, |_, g| g);
            let members: Vec<Vec<f64>> = by_member(s, &tensors, |t| &t.score)
                .into_iter()
                .map(<[f64]>::to_vec)
                .collect();
            grads.push(members);
        }
        Ok(Saliency::total(zico_of(&grads)))
    }
}

#[cfg(test)]
mod tests {
    use super::zico_of;

    #[test]
    fn zico_by_hand() {
        // One tensor of two entries over two splits: g = (1, 3) and (-1, 1).
        // Entry 0: mean|g| 2, std 1 -> 2. Entry 1: mean|g| 1, std 1 -> 1. ln(2 + 1).
        let grads = vec![vec![vec![1.0, -1.0]], vec![vec![3.0, 1.0]]];
        assert!((zico_of(&grads) - 3.0f64.ln()).abs() < 1e-15);
        // An entry with the same gradient in both splits has std 0 and is left out; a tensor
        // whose entries all are adds nothing.
        let grads = vec![
            vec![vec![2.0, 5.0], vec![7.0]],
            vec![vec![2.0, 1.0], vec![7.0]],
        ];
        // Entry (0, 1): mean|g| 3, std 2 -> 1.5.
        assert!((zico_of(&grads) - 1.5f64.ln()).abs() < 1e-15);
    }
}
