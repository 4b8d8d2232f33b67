//! Progress and cancellation of a running kernel, shared with the caller.
//!
//! A kernel counts the work it has finished and checks, between units of work,
//! whether the caller asked it to stop. The caller (another thread) reads the
//! counts to show progress and sets the flag on an interrupt. Nothing here
//! changes what a kernel computes: only whether it finishes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{CoreError, CoreResult};

/// Progress counters and a stop flag.
#[derive(Debug, Default)]
pub struct Control {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

impl Control {
    /// A fresh control: nothing done, nothing planned, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `units` to the planned work (a kernel calls this once it knows).
    pub fn plan(&self, units: u64) {
        self.total.fetch_add(units, Ordering::Relaxed);
    }

    /// Record `units` of finished work.
    #[inline]
    pub fn advance(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }

    /// `(done, total)` units so far.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Ask the kernel to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `Err(Cancelled)` once [`Control::cancel`] was called.
    #[inline]
    pub fn check(&self) -> CoreResult<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            Err(CoreError::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cancels() {
        let c = Control::new();
        c.plan(10);
        c.advance(3);
        c.advance(4);
        assert_eq!(c.progress(), (7, 10));
        assert!(c.check().is_ok());
        c.cancel();
        assert_eq!(c.check(), Err(CoreError::Cancelled));
    }
}
