//! Standalone (one op per edge) networks built from a derived architecture: what gets
//! trained after the search, here for sizes and forward passes.

pub mod darts;
