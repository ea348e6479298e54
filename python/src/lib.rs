//! `freedarts._native`: the extension module behind the `freedarts` Python package. Every
//! function here converts Python arguments to library settings, calls the same library
//! function as the command line, and hands the result back as the CLI's JSON text; the Python
//! package turns that into result objects and NumPy arrays.

mod errors;
mod misc;
mod options;
mod run;
mod score;
mod search;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    m.add_function(wrap_pyfunction!(score::score, m)?)?;
    m.add_function(wrap_pyfunction!(misc::correlate, m)?)?;
    m.add_function(wrap_pyfunction!(misc::parse_genotype, m)?)?;
    m.add_function(wrap_pyfunction!(misc::parse_nb201, m)?)?;
    m.add_function(wrap_pyfunction!(proxies, m)?)?;
    Ok(())
}

/// Every whole-network proxy `score` knows: (name, larger_is_better, needs_data, description).
#[pyfunction]
fn proxies() -> Vec<(&'static str, bool, bool, &'static str)> {
    freedarts::saliency::all_measures()
        .iter()
        .map(|p| {
            (
                p.name(),
                p.larger_is_better(),
                p.needs_data(),
                p.description(),
            )
        })
        .collect()
}
