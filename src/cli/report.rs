//! `freedarts report`: a saved search result as an HTML page or drawing.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use freedarts::report::SearchResult;
use freedarts::report::export::architecture_file;
use freedarts::report::figures::{drawing, html_report};
use freedarts::report::load::{LoadError, attach_benchmark, load_result};

use super::args::output::{check_paths, write_text};

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A result written by `freedarts search --json`.
    #[arg(value_name = "RESULT.json")]
    pub result: PathBuf,
    /// The self-contained HTML page to write (cells, heatmaps, benchmark, findings, provenance).
    #[arg(long, short, value_name = "FILE.html")]
    pub output: Option<PathBuf>,
    /// Also draw the cells and heatmaps as SVG, or the cells as Graphviz DOT for a `.dot` name.
    #[arg(long, value_name = "FILE.svg|FILE.dot")]
    pub draw: Option<PathBuf>,
    /// Write the architecture for training elsewhere: FILE.py (an importable `Genotype` /
    /// NB201 string) or any other name for the bare text.
    #[arg(long, value_name = "FILE.py|FILE.txt")]
    pub export_arch: Option<PathBuf>,
    /// Look the NB201 cell up in this accuracy CSV (replaces accuracies saved in the result).
    #[arg(long, value_name = "FILE.csv")]
    pub benchmark: Option<PathBuf>,
}

pub fn report(args: &ReportArgs) -> Result<()> {
    if args.output.is_none() && args.draw.is_none() && args.export_arch.is_none() {
        bail!("nothing to write: pass --output FILE.html, --draw FILE.svg or --export-arch FILE");
    }
    check_paths(
        &[
            ("RESULT", Some(args.result.as_path())),
            ("--benchmark", args.benchmark.as_deref()),
        ],
        &[
            ("--output", args.output.as_deref()),
            ("--draw", args.draw.as_deref()),
            ("--export-arch", args.export_arch.as_deref()),
        ],
    )?;
    let mut result = load_result(&args.result)?;
    if let Some(bench) = &args.benchmark {
        attach_benchmark(&mut result, &args.result, bench).map_err(|e| match e {
            LoadError::NotNb201 { path, space } => anyhow!(
                "{}: --benchmark looks up NAS-Bench-201 cells, but this is a {space} result",
                path.display()
            ),
            e => e.into(),
        })?;
    }
    write_artifacts(
        &result,
        &Artifacts {
            html: args.output.as_deref(),
            html_flag: "--output",
            draw: args.draw.as_deref(),
            export_arch: args.export_arch.as_deref(),
        },
    )?;
    for path in [&args.output, &args.draw, &args.export_arch]
        .into_iter()
        .flatten()
    {
        println!(
            "wrote {}",
            freedarts::util::input::escape_control(&path.display().to_string(), usize::MAX)
        );
    }
    Ok(())
}

/// The files a search result can be turned into; `search` and `report` write the same ones.
pub struct Artifacts<'a> {
    pub html: Option<&'a Path>,
    /// How the HTML path was given (`--html` or `--output`), for error messages.
    pub html_flag: &'a str,
    pub draw: Option<&'a Path>,
    pub export_arch: Option<&'a Path>,
}

pub fn write_artifacts(result: &SearchResult, a: &Artifacts<'_>) -> Result<()> {
    let has_ext = |p: &Path, ext: &str| p.extension().is_some_and(|e| e == ext);
    if let Some(path) = a.html {
        write_text(path, a.html_flag, html_report(result))?;
    }
    if let Some(path) = a.draw {
        write_text(path, "--draw", drawing(result, has_ext(path, "dot")))?;
    }
    if let Some(path) = a.export_arch {
        write_text(
            path,
            "--export-arch",
            architecture_file(result, has_ext(path, "py")),
        )?;
    }
    Ok(())
}
