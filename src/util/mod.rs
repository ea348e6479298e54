//! Small helpers every layer may use: JSON float encoding, the process's resources, the burn
//! version. Nothing here knows about search spaces, proxies or flags.

pub mod input;
pub mod nan_null;
pub mod output;

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

/// Bytes of memory this process may use: the smallest of the memory available now
/// (`MemAvailable`), the cgroup limit (`memory.max`, v2, or `memory.limit_in_bytes`, v1) and
/// the address-space rlimit, where the OS tells; `None` when none is known.
pub fn memory_limit_bytes() -> Option<u64> {
    let mut limits = Vec::new();
    if let Ok(info) = std::fs::read_to_string("/proc/meminfo")
        && let Some(line) = info.lines().find(|l| l.starts_with("MemAvailable:"))
        && let Some(kb) = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
    {
        limits.push(kb.saturating_mul(1024));
    }
    for file in [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ] {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Ok(v) = text.trim().parse::<u64>()
        {
            limits.push(v);
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/self/limits")
        && let Some(line) = text.lines().find(|l| l.starts_with("Max address space"))
        && let Some(v) = line
            .split_whitespace()
            .nth(3)
            .and_then(|v| v.parse::<u64>().ok())
    {
        limits.push(v);
    }
    limits.into_iter().min()
}

/// 1-based ranks in ascending order; tied values share the average of their ranks.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && x[order[j]] == x[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) hold one tie group: ranks i+1..=j, average (i+1+j)/2.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}
