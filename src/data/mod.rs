//! Image batches for the data-dependent proxies.

pub mod cifar;
pub mod preprocess;
