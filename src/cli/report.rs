//! `freedarts report`: a saved search result as an HTML page or drawing.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use freedarts::report::figures::{drawing, html_report};
use freedarts::report::load::{attach_benchmark, load_result};

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
    /// Look the NB201 cell up in this accuracy CSV (replaces accuracies saved in the result).
    #[arg(long, value_name = "FILE.csv")]
    pub benchmark: Option<PathBuf>,
}

pub fn report(args: &ReportArgs) -> Result<()> {
    if args.output.is_none() && args.draw.is_none() {
        bail!("nothing to write: pass --output FILE.html and/or --draw FILE.svg");
    }
    let mut result = load_result(&args.result)?;
    if let Some(bench) = &args.benchmark {
        attach_benchmark(&mut result, &args.result, bench)?;
    }
    if let Some(path) = &args.output {
        std::fs::write(path, html_report(&result))
            .with_context(|| format!("cannot write --output {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.draw {
        let dot = path.extension().is_some_and(|e| e == "dot");
        std::fs::write(path, drawing(&result, dot))
            .with_context(|| format!("cannot write --draw {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
