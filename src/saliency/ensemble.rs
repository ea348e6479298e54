//! Rank-aggregated proxies: several measures read as one. A proxy set is written `a` (one
//! measure), `a+b+c` (mean rank) or `a*b*c` (product of ranks, AZ-NAS, arXiv 2403.19232:
//! the sum of ln(rank / n), so a candidate must rank well on every measure). Ranks are taken
//! within the candidates being compared (the networks of a score file, the removals of one
//! supernet edge), 1 for the worst and n for the best; ties share their mean rank and a value
//! that is not a number ranks below every number. A member written `-a` ranks the other way
//! round (smaller values of `a` rank higher), for a measure whose low values are the wanted
//! ones in some use (the gradient norm of a network that does not explode, for example).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Measure, measure_by_name};

/// How the ranks of several measures combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Mean of the ranks (`a+b`).
    Mean,
    /// Sum of ln(rank / n) (`a*b`), AZ-NAS's product of ranks.
    Product,
}

/// One measure or a rank aggregate of several.
#[derive(Clone, Debug)]
pub struct ProxySet {
    pub measures: Vec<&'static dyn Measure>,
    pub aggregate: Aggregate,
    /// Per member: written `-name`, its values rank smallest first.
    pub inverted: Vec<bool>,
}

impl PartialEq for ProxySet {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Why a proxy set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProxySetError {
    #[error("unknown proxy `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("`{0}` mixes `+` and `*`: use one aggregation")]
    Mixed(String),
    #[error("proxy `{0}` is listed twice")]
    Repeated(String),
    #[error("empty proxy name in `{0}`")]
    Empty(String),
}

impl ProxySet {
    /// Reads `a`, `a+b+...` or `a*b*...`, each member optionally `-name`.
    pub fn parse(text: &str) -> Result<Self, ProxySetError> {
        let text = text.trim();
        let (aggregate, sep) = match (text.contains('+'), text.contains('*')) {
            (true, true) => return Err(ProxySetError::Mixed(text.into())),
            (false, true) => (Aggregate::Product, '*'),
            _ => (Aggregate::Mean, '+'),
        };
        let mut measures: Vec<&'static dyn Measure> = Vec::new();
        let mut inverted = Vec::new();
        for member in text.split(sep).map(str::trim) {
            let (name, minus) = match member.strip_prefix('-') {
                Some(rest) => (rest.trim_start(), true),
                None => (member, false),
            };
            if name.is_empty() {
                return Err(ProxySetError::Empty(text.into()));
            }
            let m = measure_by_name(name).ok_or_else(|| ProxySetError::Unknown {
                name: name.into(),
                known: super::all_measures()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            if measures.iter().any(|k| k.name() == m.name()) {
                return Err(ProxySetError::Repeated(name.into()));
            }
            measures.push(m);
            inverted.push(minus);
        }
        Ok(Self {
            measures,
            aggregate,
            inverted,
        })
    }

    pub fn needs_data(&self) -> bool {
        self.measures.iter().any(|m| m.needs_data())
    }

    /// Member `m`'s value `v` turned larger-is-better for this set (negated for `-name`).
    pub fn orient(&self, m: usize, v: f64) -> f64 {
        if self.inverted[m] { -v } else { v }
    }

    /// One combined value per candidate (larger is better) from `values[measure][candidate]`.
    /// A single measure gives its own values back (negated for `-name`).
    pub fn combine(&self, values: &[Vec<f64>]) -> Vec<f64> {
        let oriented: Vec<Vec<f64>> = values
            .iter()
            .enumerate()
            .map(|(m, column)| column.iter().map(|&v| self.orient(m, v)).collect())
            .collect();
        if let [only] = oriented.as_slice() {
            return only.clone();
        }
        self.aggregate.of_ranks(&oriented)
    }
}

impl Aggregate {
    /// One value per candidate (larger is better) from the ranks of every column of
    /// `values[column][candidate]`, ranked within the column.
    pub fn of_ranks(self, values: &[Vec<f64>]) -> Vec<f64> {
        let n = values.first().map_or(0, Vec::len);
        let ranks: Vec<Vec<f64>> = values.iter().map(|v| ranks(v)).collect();
        (0..n)
            .map(|i| match self {
                Self::Mean => ranks.iter().map(|r| r[i]).sum::<f64>() / ranks.len() as f64,
                Self::Product => ranks.iter().map(|r| (r[i] / n as f64).ln()).sum(),
            })
            .collect()
    }
}

impl fmt::Display for ProxySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.aggregate {
            Aggregate::Mean => "+",
            Aggregate::Product => "*",
        };
        let names: Vec<String> = self
            .measures
            .iter()
            .zip(&self.inverted)
            .map(|(m, &minus)| format!("{}{}", if minus { "-" } else { "" }, m.name()))
            .collect();
        f.write_str(&names.join(sep))
    }
}

impl Serialize for ProxySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProxySet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Ranks 1 (worst) to n (best); ties share their mean rank; NaN ranks lowest.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let keyed: Vec<f64> = values
        .iter()
        .map(|&v| if v.is_nan() { f64::NEG_INFINITY } else { v })
        .collect();
    crate::util::average_ranks(&keyed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties_and_put_nan_last() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, f64::NAN]), vec![3.5, 2.0, 3.5, 1.0]);
    }

    #[test]
    fn parse_and_print_round_trip() {
        let set = ProxySet::parse("nwot + synflow").unwrap();
        assert_eq!(set.to_string(), "nwot+synflow");
        assert_eq!(set.aggregate, Aggregate::Mean);
        assert_eq!(
            ProxySet::parse("zen*nwot").unwrap().aggregate,
            Aggregate::Product
        );
        assert!(ProxySet::parse("zen*nwot+snip").is_err());
        assert!(ProxySet::parse("zen+zen").is_err());
        assert!(ProxySet::parse("zen+").is_err());
        assert!(ProxySet::parse("bogus").is_err());
        let set = ProxySet::parse("synflow * -grad_norm").unwrap();
        assert_eq!(set.to_string(), "synflow*-grad_norm");
        assert_eq!(set.inverted, vec![false, true]);
        assert!(ProxySet::parse("synflow*-").is_err());
        assert!(ProxySet::parse("zen+-zen").is_err());
    }

    #[test]
    fn mean_and_product_of_ranks_by_hand() {
        // Candidate ranks: a = [1, 2, 3], b = [3, 1, 2].
        let values = vec![vec![0.1, 0.5, 0.9], vec![7.0, -1.0, 2.0]];
        let mean = ProxySet::parse("nwot+zen").unwrap().combine(&values);
        assert_eq!(mean, vec![2.0, 1.5, 2.5]);
        let product = ProxySet::parse("nwot*zen").unwrap().combine(&values);
        let expect = [
            (1.0f64 / 3.0).ln() + 1.0f64.ln(),
            (2.0f64 / 3.0).ln() + (1.0f64 / 3.0).ln(),
            1.0f64.ln() + (2.0f64 / 3.0).ln(),
        ];
        for (a, b) in product.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15);
        }
        // `-zen` ranks b = [7, -1, 2] as [1, 3, 2]; alone, it is the negated values.
        let inverted = ProxySet::parse("nwot+-zen").unwrap().combine(&values);
        assert_eq!(inverted, vec![1.0, 2.5, 2.5]);
        let alone = ProxySet::parse("-zen").unwrap().combine(&values[1..]);
        assert_eq!(alone, vec![-7.0, 1.0, -2.0]);
    }
}
