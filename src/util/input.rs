//! Reading input files defensively: every reader checks that its path is a regular file of a
//! plausible size *before* opening it (opening a FIFO with no writer blocks forever, and a
//! device such as `/dev/zero` never ends), reads at most the bound it was given, and accepts a
//! UTF-8 byte-order mark on text.

use std::io::{self, Read};
use std::path::Path;

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// Size bounds of the file kinds the crate reads. A file above its bound is refused before it
/// is read, so a wrong path never makes the process allocate without limit.
pub mod limits {
    use super::MIB;
    /// A `search --json` result (a 20-cell per-cell-alpha DARTS result is under 1 MiB).
    pub const RESULT_JSON: u64 = 64 * MIB;
    /// A NAS-Bench-201 accuracy CSV (the full 15,625-row table is about 1.5 MiB).
    pub const BENCHMARK_CSV: u64 = 256 * MIB;
    /// A score file (15,625 rows of every proxy are about 10 MiB).
    pub const SCORE_FILE: u64 = 1024 * MIB;
    /// An `--archs` list (one architecture a line).
    pub const ARCH_LIST: u64 = 256 * MIB;
    /// The JSON header of a safetensors file (the format's own limit is 100 MB).
    pub const SAFETENSORS_HEADER: u64 = 100_000_000;
}

/// Why an input path was refused before reading.
fn refuse(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, message)
}

/// What a path is, for messages, when it is not a regular file.
fn describe(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks, without opening it, that `path` is a regular file (symbolic links followed) of at
/// most `max_bytes`; returns its size. The error is an [`io::Error`] whose message says what the
/// path is instead (a directory, a FIFO, a device) or how far it is over the bound.
pub fn check_regular_file(path: &Path, max_bytes: u64) -> io::Result<u64> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(refuse(
            io::ErrorKind::InvalidInput,
            format!("it is {}, not a regular file", describe(&meta)),
        ));
    }
    if meta.len() > max_bytes {
        return Err(refuse(
            io::ErrorKind::InvalidData,
            format!(
                "it is {} bytes, above the {max_bytes}-byte limit for this kind of file",
                meta.len()
            ),
        ));
    }
    Ok(meta.len())
}

/// Checks that `path` is a directory or a regular file (no FIFO, device or socket).
pub fn check_file_or_dir(path: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() || meta.is_dir() {
        Ok(())
    } else {
        Err(refuse(
            io::ErrorKind::InvalidInput,
            format!(
                "it is {}, not a regular file or a directory",
                describe(&meta)
            ),
        ))
    }
}

/// Reads a regular file of at most `max_bytes` (checked before opening, and again while
/// reading, in case the file grows).
pub fn read_bounded(path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
    let size = check_regular_file(path, max_bytes)?;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(refuse(
            io::ErrorKind::InvalidData,
            format!("it grew above the {max_bytes}-byte limit while being read"),
        ));
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `max_bytes`, without a leading byte-order mark.
pub fn read_text(path: &Path, max_bytes: u64) -> io::Result<String> {
    let bytes = read_bounded(path, max_bytes)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        refuse(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `text` with control characters (C0, DEL, C1) and bidirectional overrides written as escapes,
/// so that input echoed in a message cannot clear a terminal or hide characters. At most
/// `max_chars` characters are shown; a longer text ends in `...`.
pub fn escape_control(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push_str("...");
            break;
        }
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) => {
                out.push_str(&c.escape_unicode().to_string());
            }
            '\u{2066}'..='\u{2069}' | '\u{feff}' => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_without_blocking() {
        let e = check_regular_file(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = read_bounded(Path::new("/dev/null"), 10).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = check_regular_file(&std::env::temp_dir(), 10).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        assert!(check_file_or_dir(&std::env::temp_dir()).is_ok());
        assert!(check_file_or_dir(Path::new("/dev/zero")).is_err());
    }

    #[test]
    fn size_bound_and_bom() {
        let dir = std::env::temp_dir().join(format!("freedarts-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.txt");
        std::fs::write(&path, "\u{feff}abc").unwrap();
        assert_eq!(read_text(&path, 100).unwrap(), "abc");
        let e = read_text(&path, 4).unwrap_err();
        assert!(e.to_string().contains("4-byte limit"), "{e}");
        std::fs::write(&path, [b'a', 0xff]).unwrap();
        assert!(
            read_text(&path, 100)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("a\0b", 10), "a\\u{0}b");
        assert_eq!(escape_control("\x1b[2J", 10), "\\u{1b}[2J");
        assert_eq!(escape_control("abcdef", 3), "abc...");
        assert_eq!(escape_control("skip_connect", 100), "skip_connect");
    }
}
