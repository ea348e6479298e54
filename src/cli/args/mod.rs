//! Argument groups that several subcommands flatten into theirs, each parsed in one place.

pub mod data;
pub mod device;
pub mod output;
pub mod space;

/// The documented range of an integer flag; clap refuses a value outside it with one line
/// naming the flag and the range.
pub fn range(lo: u64, hi: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(lo..=hi)
}

/// A proxy or rank aggregate (`a`, `a+b`, `a*b`) as a flag value.
pub fn parse_proxy_set(
    text: &str,
) -> std::result::Result<freedarts::saliency::ensemble::ProxySet, String> {
    freedarts::saliency::ensemble::ProxySet::parse(text).map_err(|e| e.to_string())
}

/// Upper bounds of the size flags (the memory estimate refuses most large networks earlier;
/// these keep the arithmetic and the build loops finite).
pub mod bounds {
    pub const CHANNELS: u64 = 4096;
    pub const CELLS: u64 = 1000;
    pub const CLASSES: u64 = 100_000;
    pub const INPUT_SIZE: u64 = 4096;
    pub const BATCH: u64 = 65_536;
    pub const REPEATS: u64 = 100_000;
    pub const JOBS: u64 = 1024;
}
