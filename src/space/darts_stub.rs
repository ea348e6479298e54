#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DartsOp {
    None,
    MaxPool3x3,
    AvgPool3x3,
    SkipConnect,
    SepConv3x3,
    SepConv5x5,
    DilConv3x3,
    DilConv5x5,
}
impl DartsOp {
    pub const ALL: [DartsOp; 8] = [
        Self::None,
        Self::MaxPool3x3,
        Self::AvgPool3x3,
        Self::SkipConnect,
        Self::SepConv3x3,
        Self::SepConv5x5,
        Self::DilConv3x3,
        Self::DilConv5x5,
    ];
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        [
            "none",
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5",
        ][self as usize]
    }
}
pub const DARTS_STEPS: usize = 4;
pub const DARTS_EDGES: [(usize, usize); 14] = [
    (2, 0),
    (2, 1),
    (3, 0),
    (3, 1),
    (3, 2),
    (4, 0),
    (4, 1),
    (4, 2),
    (4, 3),
    (5, 0),
    (5, 1),
    (5, 2),
    (5, 3),
    (5, 4),
];
pub fn edge_label(e: usize) -> String {
    format!("{}<-{}", DARTS_EDGES[e].0, DARTS_EDGES[e].1)
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Gene {
    pub op: DartsOp,
    pub input: usize,
}
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CellGenes {
    pub genes: Vec<Gene>,
    pub concat: Vec<usize>,
}
impl CellGenes {
    pub fn to_list_string(&self) -> String {
        format!(
            "[{}]",
            self.genes
                .iter()
                .map(|g| format!("('{}', {})", g.op.name(), g.input))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Genotype {
    pub normal: CellGenes,
    pub reduce: CellGenes,
}
impl std::fmt::Display for Genotype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = |v: &Vec<usize>| {
            format!(
                "[{}]",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        write!(
            f,
            "Genotype(normal={}, normal_concat={}, reduce={}, reduce_concat={})",
            self.normal.to_list_string(),
            c(&self.normal.concat),
            self.reduce.to_list_string(),
            c(&self.reduce.concat)
        )
    }
}
impl serde::Serialize for DartsOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
impl Genotype {
    pub fn by_name(_: &str) -> Option<Genotype> {
        None
    }
}
impl std::str::FromStr for Genotype {
    type Err = std::fmt::Error;
    fn from_str(_: &str) -> Result<Self, Self::Err> {
        Err(std::fmt::Error)
    }
}
