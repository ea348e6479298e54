//! The compute device, chosen in one place. The library takes a burn [`Device`] wherever it
//! computes; this module turns a [`Backend`] choice into that device and names the backend of
//! a device for provenance, so a result records what actually ran rather than a fixed string.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// Stack size of the threads that run passes (rayon's pool in the command-line tool and the
/// `score` workers): at least the main thread's, since dropping a deep autodiff graph recurses
/// through it. Only touched pages take memory.
pub const COMPUTE_THREAD_STACK: usize = 64 << 20;

/// The backends this build can compute on. `Cuda` and `Wgpu` exist only when the crate is
/// built with the cargo feature of the same name, which turns on burn's backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// burn's `flex` CPU backend (the default; all reference numbers come from it).
    #[default]
    Cpu,
    /// The first CUDA GPU, through burn's CubeCL CUDA runtime.
    #[cfg(feature = "cuda")]
    Cuda,
    /// The adapter wgpu picks (a high-power GPU first; `CUBECL_WGPU_DEFAULT_DEVICE` overrides).
    #[cfg(feature = "wgpu")]
    Wgpu,
}

impl Backend {
    /// Every backend compiled into this build, the default first.
    pub const ALL: &'static [Backend] = &[
        Backend::Cpu,
        #[cfg(feature = "cuda")]
        Backend::Cuda,
        #[cfg(feature = "wgpu")]
        Backend::Wgpu,
    ];

    /// The name `FromStr` reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            #[cfg(feature = "cuda")]
            Self::Cuda => "cuda",
            #[cfg(feature = "wgpu")]
            Self::Wgpu => "wgpu",
        }
    }

    /// One line on what the backend runs on.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Cpu => "burn's flex backend on the CPU",
            #[cfg(feature = "cuda")]
            Self::Cuda => "burn's CUDA backend on GPU 0",
            #[cfg(feature = "wgpu")]
            Self::Wgpu => "burn's wgpu backend on the adapter wgpu prefers",
        }
    }

    /// The device without autodiff; [`Backend::device`] wraps it.
    fn plain_device(self) -> Device {
        match self {
            Self::Cpu => Device::flex(),
            #[cfg(feature = "cuda")]
            Self::Cuda => Device::cuda(burn::tensor::DeviceIndex::Default),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        }
    }

    /// The autodiff device every computation of the crate runs on (the proxies need
    /// gradients). Lazy: a GPU is opened by the first tensor placed on it.
    pub fn device(self) -> Device {
        self.plain_device().autodiff()
    }

    /// How provenance names the backend, without the autodiff suffix. The CPU text is the one
    /// every result written before the device could be chosen carries, so keep it as it is.
    fn label(self) -> &'static str {
        match self {
            Self::Cpu => "burn flex (CPU)",
            #[cfg(feature = "cuda")]
            Self::Cuda => "burn cuda (GPU 0)",
            #[cfg(feature = "wgpu")]
            Self::Wgpu => "burn wgpu (default adapter)",
        }
    }

    /// [`describe`] of this backend's [`Backend::device`], without building the device.
    pub fn description(self) -> String {
        format!("{} + autodiff", self.label())
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name that this build does not know (or was built without).
#[derive(Debug, thiserror::Error)]
#[error("unknown backend `{name}`; this build has: {}", known_names())]
pub struct UnknownBackend {
    pub name: String,
}

fn known_names() -> String {
    let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
    names.join(", ")
}

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, UnknownBackend> {
        Backend::ALL
            .iter()
            .copied()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBackend { name: s.into() })
    }
}

/// Names the backend `device` runs on, e.g. `burn flex (CPU) + autodiff`: the text of the
/// [`Backend`] whose device it is, or burn's own description of a device built elsewhere.
pub fn describe(device: &Device) -> String {
    // burn compares devices by hardware identity and ignores autodiff, so this finds the
    // backend of an autodiff device as well as of a plain one.
    let base = match Backend::ALL.iter().find(|b| b.plain_device() == *device) {
        Some(b) => b.label().to_string(),
        None => format!("burn {:?}", device.clone().without_autodiff()),
    };
    if device.is_autodiff() {
        format!("{base} + autodiff")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_keeps_the_provenance_text_of_earlier_results() {
        assert_eq!(
            describe(&Backend::Cpu.device()),
            "burn flex (CPU) + autodiff"
        );
        assert_eq!(describe(&Device::flex()), "burn flex (CPU)");
    }

    #[test]
    fn every_backend_describes_its_own_device_and_parses_its_name() {
        for &b in Backend::ALL {
            assert_eq!(describe(&b.device()), b.description());
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
        let err = "tpu".parse::<Backend>().unwrap_err().to_string();
        assert!(err.contains("`tpu`") && err.contains("cpu"), "{err}");
    }
}
