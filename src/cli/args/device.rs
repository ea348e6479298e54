//! `--device`: where `search`, `score` and `bench` compute. The names and the device come from
//! [`freedarts::device::Backend`], so a backend compiled in is a backend offered here.

use burn::tensor::Device;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use freedarts::device::Backend;

#[derive(clap::Args)]
pub struct DeviceArgs {
    /// Where to compute; `cuda` and `wgpu` exist in builds with the cargo feature of that name.
    #[arg(long, default_value_t = Backend::Cpu, value_parser = backend_parser())]
    pub device: Backend,
}

impl DeviceArgs {
    /// The autodiff device of the chosen backend.
    pub fn device(&self) -> Device {
        self.device.device()
    }
}

/// Possible values (with a line each for `--help`) from the backends of this build.
fn backend_parser() -> impl TypedValueParser<Value = Backend> {
    let names = Backend::ALL
        .iter()
        .map(|b| PossibleValue::new(b.name()).help(b.summary()));
    PossibleValuesParser::new(names).map(|name| {
        name.parse::<Backend>()
            .expect("clap only passes the names of Backend::ALL")
    })
}
