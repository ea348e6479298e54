//! A cell as a graph of labelled nodes and op-labelled edges: what each space hands the
//! drawing code, which knows nothing else about the space.

/// A cell as a graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CellGraph {
    /// Caption drawn above the cell (may be empty).
    pub title: String,
    /// Labels of the input nodes (NB201: ["0"]; DARTS: ["c_{k-2}", "c_{k-1}"]).
    pub inputs: Vec<String>,
    /// Labels of the intermediate nodes, in order (NB201: ["1","2"]; DARTS: ["0","1","2","3"]).
    pub intermediates: Vec<String>,
    /// Label of the output node if the cell has one separate from the intermediates (DARTS:
    /// "c_{k}", fed by every node in `concat`), or None (NB201: the last intermediate is the
    /// output).
    pub output: Option<String>,
    /// Indices (into inputs ++ intermediates) of the nodes concatenated into the output.
    pub concat: Vec<usize>,
    /// Edges (from, to, op label) with from/to indexing inputs ++ intermediates.
    pub edges: Vec<(usize, usize, String)>,
}
