//! Score files: JSON Lines, a header line with every setting, then one row per architecture
//! (`{"arch": "|...|", "synflow": 1.2e40, "synflow_log": 92.3, "params": 1.1, ...}`). Rows are
//! appended and flushed one at a time, so a killed run leaves a valid prefix (at most one
//! torn last line, which resuming cuts off). Shards of one run concatenate: their headers
//! agree on everything but the shard.

use std::collections::{BTreeSet, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Schema name written in every header.
pub const SCORE_FORMAT: &str = "freedarts.scores/1";

#[derive(Debug, thiserror::Error)]
pub enum ScoreFileError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path} is not a freedarts score file ({why})")]
    NotScoreFile { path: PathBuf, why: String },
    /// Resuming a file whose header differs from this run's in `key`.
    #[error("{path} was written with other settings ({key}: {was} there, {now} now)")]
    SettingsChanged {
        path: PathBuf,
        key: String,
        was: String,
        now: String,
    },
}

impl ScoreFileError {
    /// A resume refused only because the image batch's fingerprint differs: every flag
    /// agrees, the images or labels do not.
    pub fn is_other_images(&self) -> bool {
        matches!(self, Self::SettingsChanged { key, .. } if key.strip_prefix("data.") == Some(BATCH_SHA256))
    }

    /// A resume refused because a proxy of the same name is defined otherwise: the file was
    /// written by a build that computes it differently.
    pub fn is_other_definition(&self) -> bool {
        matches!(self, Self::SettingsChanged { key, .. } if key.starts_with("proxies.") && key.ends_with(".description"))
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ScoreFileError {
    let path = path.to_path_buf();
    move |source| ScoreFileError::Io {
        action,
        path,
        source,
    }
}

/// One parsed line of a score file.
pub enum ScoreLine {
    Header(Map<String, Value>),
    Row(Map<String, Value>),
}

/// Parses every complete line of `text`; `lines` numbers them for errors.
fn parse_lines(path: &Path, text: &str) -> Result<Vec<ScoreLine>, ScoreFileError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| ScoreFileError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| err(format!("not a JSON object: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(err("expected a JSON object".into()));
        };
        if let Some(header) = map.remove("header") {
            let Value::Object(header) = header else {
                return Err(err("`header` must be an object".into()));
            };
            out.push(ScoreLine::Header(header));
        } else if map.get("arch").is_some_and(Value::is_string) {
            out.push(ScoreLine::Row(map));
        } else {
            return Err(err("a row needs an `arch` string".into()));
        }
    }
    Ok(out)
}

/// Checks the layout: a `freedarts.scores/1` header first, and no other header.
fn check_layout(path: &Path, lines: &[ScoreLine]) -> Result<(), ScoreFileError> {
    let not = |why: &str| ScoreFileError::NotScoreFile {
        path: path.to_path_buf(),
        why: why.into(),
    };
    match lines.first() {
        None => return Err(not("no header line")),
        Some(ScoreLine::Row(_)) => return Err(not("the first line is not a header")),
        Some(ScoreLine::Header(h)) => {
            let format = h.get("format").and_then(Value::as_str).unwrap_or("none");
            if format != SCORE_FORMAT {
                return Err(not(&format!(
                    "format `{format}`, expected `{SCORE_FORMAT}`"
                )));
            }
        }
    }
    if lines[1..].iter().any(|l| matches!(l, ScoreLine::Header(_))) {
        return Err(not(
            "a second header: files are concatenated rows, give shards to correlate as separate files",
        ));
    }
    Ok(())
}

/// Reads a whole score file (for `correlate`).
pub fn read_score_file(path: &Path) -> Result<Vec<ScoreLine>, ScoreFileError> {
    let text = crate::util::input::read_text(path, crate::util::input::limits::SCORE_FILE)
        .map_err(io("read", path))?;
    let lines = parse_lines(path, &text)?;
    check_layout(path, &lines)?;
    Ok(lines)
}

/// A score file open for appending, with the archs it already holds.
pub struct ScoreWriter {
    path: PathBuf,
    file: std::fs::File,
    pub done: HashSet<String>,
    /// The file did not exist (or was empty) before this run: a run that fails before its
    /// first row removes it again ([`ScoreWriter::discard_if_unused`]).
    pub created: bool,
    rows_written: usize,
}

impl ScoreWriter {
    /// Opens `path` for the run described by `header`: creates it, or resumes it when it
    /// holds rows of the same run (cutting off a torn last line).
    pub fn open(path: &Path, header: &Map<String, Value>) -> Result<Self, ScoreFileError> {
        // A FIFO or device here would block or never end: only a regular file is resumed.
        let existing = match std::fs::metadata(path) {
            Ok(_) => Some(
                crate::util::input::read_bounded(path, crate::util::input::limits::SCORE_FILE)
                    .map_err(io("read", path))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io("read", path)(e)),
        };
        let created = existing
            .as_ref()
            .is_none_or(|b| b.iter().all(u8::is_ascii_whitespace));
        let mut done = HashSet::new();
        let mut needs_header = true;
        if let Some(bytes) = existing.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) {
            // Validate before touching anything: only a score file of ours gets its torn
            // last line cut off.
            let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let text = String::from_utf8_lossy(&bytes[..complete]);
            let lines = parse_lines(path, &text).map_err(|e| match e {
                ScoreFileError::Line {
                    line: 1, message, ..
                } => ScoreFileError::NotScoreFile {
                    path: path.to_path_buf(),
                    why: format!("line 1: {message}"),
                },
                e => e,
            })?;
            check_layout(path, &lines)?;
            for line in &lines {
                if let ScoreLine::Header(old) = line {
                    check_same_settings(path, old, header)?;
                }
            }
            if complete < bytes.len() {
                // Only what this writer could have torn is cut: the start of a row. Anything
                // else after the last newline is someone else's text, and stays.
                let tail = String::from_utf8_lossy(&bytes[complete..]);
                if !tail.starts_with("{\"arch\":") && !tail.starts_with("{\"header\":") {
                    return Err(ScoreFileError::NotScoreFile {
                        path: path.to_path_buf(),
                        why: format!(
                            "it ends in `{}` without a newline, which is not a torn row \
                             of this program; it is left as it is",
                            tail.chars().take(40).collect::<String>()
                        ),
                    });
                }
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io("open", path))?;
                file.set_len(complete as u64)
                    .map_err(io("truncate", path))?;
            }
            for line in lines {
                match line {
                    ScoreLine::Header(_) => needs_header = false,
                    ScoreLine::Row(row) => {
                        done.insert(row["arch"].as_str().unwrap_or_default().to_string());
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io("open", path))?;
        let mut writer = Self {
            path: path.to_path_buf(),
            file,
            done,
            created,
            rows_written: 0,
        };
        if needs_header {
            let mut line = Map::new();
            line.insert("header".into(), Value::Object(header.clone()));
            writer.write_line(&Value::Object(line).to_string())?;
        }
        Ok(writer)
    }

    /// Appends one row (keys in the order given) and flushes it.
    pub fn write_row(&mut self, fields: &[(String, Value)]) -> Result<(), ScoreFileError> {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
            .collect();
        self.write_line(&format!("{{{}}}", body.join(",")))?;
        self.rows_written += 1;
        Ok(())
    }

    /// After a failed run: removes the file when this run created it and wrote no row, so a
    /// refused run leaves no header-only file that a corrected rerun would refuse.
    pub fn discard_if_unused(self) {
        if self.created && self.rows_written == 0 {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn write_line(&mut self, line: &str) -> Result<(), ScoreFileError> {
        // One write per line, so a kill tears at most the last line.
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(io("write", &self.path))
    }
}

fn check_same_settings(
    path: &Path,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScoreFileError> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (was, now) = (old.get(key), new.get(key));
        let difference = match (key.as_str(), was, now) {
            ("data", Some(was), Some(now)) => batch_difference(was, now),
            ("proxies", Some(was), Some(now)) => proxy_difference(was, now),
            _ => (was != now).then(|| (key.clone(), show(was), show(now))),
        };
        if let Some((key, was, now)) = difference {
            return Err(ScoreFileError::SettingsChanged {
                path: path.to_path_buf(),
                key,
                was,
                now,
            });
        }
    }
    Ok(())
}

fn show(v: Option<&Value>) -> String {
    v.map_or("absent".to_string(), Value::to_string)
}

/// The first difference of two headers' `proxies`: the list of names when those differ,
/// else the first proxy whose definition differs, as (`proxies.<name>.<field>`, there, now).
fn proxy_difference(old: &Value, new: &Value) -> Option<(String, String, String)> {
    if old == new {
        return None;
    }
    let names = |v: &Value| -> Vec<Value> {
        v.as_array()
            .map(|ps| ps.iter().map(|p| p["name"].clone()).collect())
            .unwrap_or_default()
    };
    let (was_names, now_names) = (names(old), names(new));
    let whole = || Some(("proxies".into(), old.to_string(), new.to_string()));
    if was_names != now_names {
        return Some((
            "proxies".into(),
            Value::from(was_names).to_string(),
            Value::from(now_names).to_string(),
        ));
    }
    let (Some(was), Some(now)) = (old.as_array(), new.as_array()) else {
        return whole();
    };
    for (a, b) in was.iter().zip(now) {
        let (Value::Object(a), Value::Object(b)) = (a, b) else {
            return whole();
        };
        let fields: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        // The description first: it is what tells the reader what changed.
        let mut fields: Vec<&String> = fields.into_iter().collect();
        fields.sort_by_key(|f| *f != "description");
        for field in fields {
            if a.get(field) != b.get(field) {
                let name = a.get("name").and_then(Value::as_str).unwrap_or("?");
                return Some((
                    format!("proxies.{name}.{field}"),
                    show(a.get(field)),
                    show(b.get(field)),
                ));
            }
        }
    }
    whole()
}

/// The key holding the fingerprint of the image batch ([`ImageBatch::sha256`]).
///
/// [`ImageBatch::sha256`]: crate::data::cifar::ImageBatch::sha256
pub const BATCH_SHA256: &str = "batch_sha256";

/// The first field in which two headers' `data` differ, as (`data.<field>`, value there,
/// value now), or `None` when they describe the same image batch. With a fingerprint on both
/// sides the images and labels decide, not the path they were read from, so a run resumes
/// from another directory or from a copy of the data, and a data file changed under the same
/// path is caught. A file of an earlier build, without a fingerprint, is compared on its
/// other fields, as it always was.
pub fn batch_difference(old: &Value, new: &Value) -> Option<(String, String, String)> {
    let (Value::Object(a), Value::Object(b)) = (old, new) else {
        return (old != new).then(|| ("data".into(), old.to_string(), new.to_string()));
    };
    let fingerprinted = a.contains_key(BATCH_SHA256) && b.contains_key(BATCH_SHA256);
    // The fingerprint last: a changed flag (`--batch-size`) changes it too, and the flag is
    // the difference to name.
    let keys: BTreeSet<&str> = a.keys().chain(b.keys()).map(String::as_str).collect();
    keys.into_iter()
        .filter(|&k| k != BATCH_SHA256 && !(fingerprinted && k == "source"))
        .chain(fingerprinted.then_some(BATCH_SHA256))
        .find(|&k| a.get(k) != b.get(k))
        .map(|k| (format!("data.{k}"), show(a.get(k)), show(b.get(k))))
}
