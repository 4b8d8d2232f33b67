//! The exception classes of fleetcarbon, created here so that the bindings
//! import nothing from Python; `fleetcarbon.errors` re-exports them.

use fleetcarbon_core::CoreError;
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    fleetcarbon.errors,
    FleetcarbonError,
    PyValueError,
    "Base class of all fleetcarbon errors about input: a ValueError."
);
create_exception!(
    fleetcarbon.errors,
    KernelError,
    FleetcarbonError,
    "The Rust core refused its input.\n\nAttributes `kind` (the core's error variant), `row` (position of the first offending row in the arrays the core received, or None), `column` (the column, factor or parameter concerned, or None) and `count` (number of offending rows, or None)."
);
create_exception!(
    fleetcarbon.errors,
    DistributionError,
    FleetcarbonError,
    "A distribution's parameters are invalid, or it names an unknown factor or row."
);
create_exception!(
    fleetcarbon.errors,
    CorrelationError,
    DistributionError,
    "A correlation specification that names unknown factors or cannot hold."
);
create_exception!(
    fleetcarbon.errors,
    InternalError,
    PyRuntimeError,
    "A bug in fleetcarbon (not a ValueError, so `except ValueError` cannot hide it): please report it."
);

/// The Python exception for a core error.
pub fn core_error(py: Python<'_>, e: CoreError) -> PyErr {
    match e {
        CoreError::Cancelled => PyKeyboardInterrupt::new_err("interrupted"),
        CoreError::Distribution(message) => DistributionError::new_err(message),
        CoreError::Correlation(message) => CorrelationError::new_err(message),
        other => kernel_error(py, &other),
    }
}

fn kernel_error(py: Python<'_>, e: &CoreError) -> PyErr {
    let err = KernelError::new_err(e.to_string());
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("kind", e.kind())?;
        value.setattr("row", e.row())?;
        value.setattr("column", e.column())?;
        value.setattr("count", e.count())
    };
    match set() {
        Ok(()) => err,
        Err(failure) => failure,
    }
}

/// A panic inside the core, as an [`InternalError`].
pub fn panic_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    InternalError::new_err(format!(
        "internal error in the fleetcarbon Rust core ({what}); this is a bug, please report it \
         with the input that triggered it"
    ))
}

/// A bad argument at the boundary, as a [`FleetcarbonError`].
pub fn argument_error(message: impl Into<String>) -> PyErr {
    FleetcarbonError::new_err(message.into())
}
