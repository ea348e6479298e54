//! Building blocks on top of burn: parameter registry, forward-pass context and layers that
//! every search space shares.

pub mod blocks;
pub mod ctx;
pub mod kernels;
pub mod layers;
pub mod model;
pub mod params;
pub mod store;
pub mod weights;
