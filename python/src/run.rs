//! Running a library call from Python: on its own thread with the GIL released, so other
//! Python threads run meanwhile, while the calling thread waits, hands progress to a Python
//! callback and checks for Ctrl-C. A stopped call returns at once with `KeyboardInterrupt`;
//! the work stops at its next check (between networks when scoring; a search finishes its
//! current pass in the background and its result is dropped).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors;

/// How often the waiting thread looks for signals when the work reports nothing.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

enum Message<T> {
    Progress(usize, usize),
    Done(std::thread::Result<anyhow::Result<T>>),
}

/// The work's side: report progress and learn whether to stop.
pub struct Reporter<T> {
    tx: Sender<Message<T>>,
    stop: Arc<AtomicBool>,
}

impl<T> Reporter<T> {
    /// Sends (done, total) to the caller; `Break` once the caller asked to stop.
    pub fn progress(&self, done: usize, total: usize) -> ControlFlow<()> {
        // A send fails only when the caller has already returned: stop then too.
        if self.tx.send(Message::Progress(done, total)).is_err()
            || self.stop.load(Ordering::Relaxed)
        {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Runs `work` on a worker thread and waits for it without the GIL. `callback`, when given, is
/// called as `callback(done, total)` on the calling thread for every progress report; an
/// exception it raises stops the work and is raised here.
pub fn run<T, F>(py: Python<'_>, callback: Option<Py<PyAny>>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Reporter<T>) -> anyhow::Result<T> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let reporter = Reporter {
        tx: tx.clone(),
        stop: stop.clone(),
    };
    std::thread::Builder::new()
        .name("freedarts".into())
        .spawn(move || {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&reporter)));
            // The caller may have gone (Ctrl-C): nobody is left to tell.
            let _ = tx.send(Message::Done(outcome));
        })
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot start a thread: {e}")))?;
    let outcome = py.detach(move || -> PyResult<T> {
        loop {
            let message = match rx.recv_timeout(SIGNAL_POLL) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "internal error in freedarts: the worker thread ended without a result",
                    ));
                }
            };
            match message {
                Some(Message::Done(Ok(result))) => return result.map_err(|e| errors::to_py(&e)),
                Some(Message::Done(Err(panic))) => return Err(errors::panic_to_py(&*panic)),
                Some(Message::Progress(done, total)) => {
                    if let Some(cb) = &callback {
                        Python::attach(|py| cb.call1(py, (done, total)).map(drop))?;
                    }
                    Python::attach(|py| py.check_signals())?;
                }
                None => Python::attach(|py| py.check_signals())?,
            }
        }
    });
    if outcome.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    outcome
}
