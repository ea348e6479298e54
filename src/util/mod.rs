//! Small helpers every layer may use: JSON float encoding, the process's resources, the burn
//! version. Nothing here knows about search spaces, proxies or flags.

pub mod nan_null;

/// Version of burn this binary was built against (kept in step with Cargo.toml).
pub const BURN_VERSION: &str = "0.22";

/// Threads the CPU backend may use: RAYON_NUM_THREADS if set, else the available cores.
pub fn worker_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Peak resident memory of this process in MB (Linux `VmHWM`), if the OS tells.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `text` on one line: every control character (and the Unicode line and paragraph
/// separators) becomes a space, so text from any file can go into a comment without ending it.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}
