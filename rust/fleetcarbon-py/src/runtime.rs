//! Running core work off the GIL: cached thread pools, progress reports and
//! Ctrl-C between units of work, and panics turned into `InternalError`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fleetcarbon_core::{Control, CoreResult};
use pyo3::prelude::*;
use rayon::ThreadPool;

use crate::errors::{argument_error, core_error, panic_error, InternalError};

/// How often the waiting thread checks for Ctrl-C and reports progress.
const POLL: Duration = Duration::from_millis(50);

/// The largest thread count accepted: four per core (at least 8), at most 1,024.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (4 * cores).clamp(8, 1024)
}

/// The pool of `threads` threads, built once per count; `None`: rayon's global pool.
fn pool(threads: Option<usize>) -> PyResult<Option<Arc<ThreadPool>>> {
    let Some(n) = threads else {
        return Ok(None);
    };
    let cap = max_threads();
    if n == 0 || n > cap {
        return Err(argument_error(format!(
            "threads must be between 1 and {cap} (4 per core), got {n}"
        )));
    }
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut pools = pools
        .lock()
        .map_err(|_| InternalError::new_err("thread pool cache poisoned"))?;
    if let Some(p) = pools.get(&n) {
        return Ok(Some(Arc::clone(p)));
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| argument_error(format!("cannot start {n} threads: {e}")))?;
    let built = Arc::new(built);
    pools.insert(n, Arc::clone(&built));
    Ok(Some(built))
}

/// Run `work` without the GIL, on `threads` threads if given.
///
/// The calling thread waits, and every [`POLL`] it takes the GIL to check for
/// signals (Ctrl-C cancels the work at its next check and raises
/// `KeyboardInterrupt`) and to call `progress(done, total)` with the core's
/// counts. A panic becomes `InternalError`.
pub fn run<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(&Control) -> CoreResult<T> + Send,
) -> PyResult<T> {
    let pool = pool(threads)?;
    let control = Control::new();
    let mut stop: Option<PyErr> = None;
    let outcome = py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = channel();
            let control = &control;
            scope.spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| match &pool {
                    Some(p) => p.install(|| work(control)),
                    None => work(control),
                }));
                // The receiver outlives this thread (the scope joins it first).
                let _ = tx.send(result);
            });
            loop {
                match rx.recv_timeout(POLL) {
                    Ok(result) => return Some(result),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) if stop.is_none() => {
                        let checked = Python::attach(|py| -> PyResult<()> {
                            py.check_signals()?;
                            report(py, progress.as_ref(), control)
                        });
                        if let Err(e) = checked {
                            stop = Some(e);
                            control.cancel();
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        })
    });
    if let Some(e) = stop {
        return Err(e);
    }
    match outcome {
        Some(Ok(Ok(value))) => {
            report(py, progress.as_ref(), &control)?;
            Ok(value)
        }
        Some(Ok(Err(e))) => Err(core_error(py, e)),
        Some(Err(panic)) => Err(panic_error(panic.as_ref())),
        None => Err(InternalError::new_err("the core's worker thread vanished")),
    }
}

fn report(py: Python<'_>, progress: Option<&Py<PyAny>>, control: &Control) -> PyResult<()> {
    if let Some(callback) = progress {
        let (done, total) = control.progress();
        callback.call1(py, (done, total))?;
    }
    Ok(())
}
