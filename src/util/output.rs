//! Writing output files without damaging what was there: every output goes to a temporary
//! file in the destination's folder and is renamed into place once complete, so a full disk or
//! a killed run leaves the old file intact and no half-written new one; and an output path that
//! names one of the command's inputs is refused before anything runs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The path an output at `path` really lands on: a symbolic link is followed (so the file it
/// points to is replaced, not the link), a missing file is placed in its canonical folder.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file")
            })?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Ok(std::fs::canonicalize(parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// Checks that `path` can be replaced by a new file: it is missing or a regular file (a
/// directory, FIFO or device is refused: replacing one by a file is never what was meant).
pub fn check_output_path(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "it is a {}, not a regular file; outputs are written to a temporary file and \
                 renamed into place",
                if meta.is_dir() {
                    "directory"
                } else {
                    "special file (FIFO, device or socket)"
                }
            ),
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => resolve(path).map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. On any failure the temporary file is removed and `path` is left as
/// it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for a writer callback (large outputs streamed by a library).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    check_output_path(path)?;
    let target = resolve(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        // Keep the permissions of the file replaced.
        if let Ok(meta) = std::fs::metadata(&target) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether two paths name the same file: the same device and inode when both exist, else the
/// same canonical path.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return x.dev() == y.dev() && x.ino() == y.ino();
    }
    matches!((resolve(a), resolve(b)), (Ok(x), Ok(y)) if x == y)
}

/// A path with the flag (or argument name) that gave it.
pub type Labelled<'a> = (&'a str, &'a Path);

/// The first (output, input) pair of labelled paths that name the same file, or two outputs
/// that do.
pub fn find_clash<'a>(
    inputs: &[Labelled<'a>],
    outputs: &[Labelled<'a>],
) -> Option<(Labelled<'a>, Labelled<'a>)> {
    for (i, out) in outputs.iter().enumerate() {
        for input in inputs.iter().chain(&outputs[..i]) {
            if same_file(out.1, input.1) {
                return Some((*out, *input));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("freedarts-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let failed = write_atomic_with(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
        assert!(write_atomic(&dir, b"x").is_err());
        assert!(write_atomic(Path::new("/dev/null"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn clashes_are_found_through_other_spellings() {
        let dir = std::env::temp_dir().join(format!("freedarts-clash-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let a = dir.join("a.json");
        std::fs::write(&a, "{}").unwrap();
        let other = dir.join("sub/../a.json");
        assert!(same_file(&a, &other));
        assert!(!same_file(&a, &dir.join("b.json")));
        assert!(same_file(
            &dir.join("new.json"),
            &dir.join("sub/../new.json")
        ));
        let clash = find_clash(&[("RESULT", a.as_path())], &[("--output", other.as_path())]);
        assert_eq!(clash.unwrap().0.0, "--output");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
