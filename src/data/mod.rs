//! Image batches for the data-dependent proxies.

pub mod cifar;
mod fingerprint;
pub mod preprocess;
