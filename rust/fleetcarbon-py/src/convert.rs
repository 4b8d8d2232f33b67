//! Numpy buffers and Python values to the core's types.

use fleetcarbon_core::{Factor, MISSING};
use numpy::{Element, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::argument_error;

/// A contiguous 1-d view of a numpy array.
pub fn as_slice<'a, T: Element>(name: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| argument_error(format!("'{name}' must be a contiguous 1-d array")))
}

/// The factor called `name`, or an error naming `what` it was given for.
pub fn factor(name: &str, what: &str) -> PyResult<Factor> {
    Factor::from_name(name)
        .ok_or_else(|| argument_error(format!("unknown factor '{name}' in {what}")))
}

/// `{factor name: array}` as `(factor, array)` pairs, rejecting unknown names.
pub fn factor_arrays<T: Element>(
    what: &str,
    dict: &Bound<'_, PyDict>,
) -> PyResult<Vec<(Factor, Py<PyArray1<T>>)>> {
    dict.iter()
        .map(|(key, value)| {
            let name: String = key.extract()?;
            Ok((factor(&name, what)?, value.extract()?))
        })
        .collect()
}

/// A table row index: one row for all jobs, or one per job.
pub enum IndexSpec {
    /// Every job uses this row ([`MISSING`]: none).
    Constant(u32),
    /// One row per job.
    PerJob(Py<PyArray1<u32>>),
}

impl<'py> FromPyObject<'_, 'py> for IndexSpec {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(IndexSpec::Constant(MISSING));
        }
        if let Ok(row) = obj.extract::<u32>() {
            return Ok(IndexSpec::Constant(row));
        }
        Ok(IndexSpec::PerJob(obj.extract()?))
    }
}
