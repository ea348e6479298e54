//! The command line: every subcommand's flags and handler, and the argument groups they share.
//! Flag names live here only; the library reports typed errors that the handlers put in the
//! words of their flags.

pub mod args;
pub mod bench;
pub mod correlate;
pub mod errors;
pub mod info;
pub mod report;
pub mod score;
pub mod search;

/// The cause chain on one line, without a backtrace, skipping causes that the message before
/// already quotes.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let msg = errors::in_flag_words(cause).unwrap_or_else(|| cause.to_string());
        if !text.contains(&msg) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&msg);
        }
    }
    // Echoed input (an op name, a path, a JSON string) may hold control characters; they are
    // shown escaped. Newlines stay: some errors list their problems one a line.
    text.split('\n')
        .map(|line| freedarts::util::input::escape_control(line, usize::MAX))
        .collect::<Vec<_>>()
        .join("\n")
}
