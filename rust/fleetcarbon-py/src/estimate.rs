//! `estimate`: per-job lifecycle estimate.

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::jobs::Jobs;
use crate::runtime::run;
use crate::tables::Tables;

/// `(power basis codes, float output columns)`.
type EstimateOutput<'py> = (Bound<'py, PyArray1<u8>>, Vec<Bound<'py, PyArray1<f64>>>);

/// Per-job lifecycle estimate. See `fleetcarbon._core.pyi` for the contract.
#[pyfunction]
#[pyo3(signature = (jobs, tables, *, threads = None, progress = None))]
pub fn estimate<'py>(
    py: Python<'py>,
    jobs: &Jobs,
    tables: &Tables,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<EstimateOutput<'py>> {
    let borrows = jobs.borrow(py)?;
    let columns = borrows.columns()?;
    let out = run(py, threads, progress, |control| {
        fleetcarbon_core::estimate(&columns, &tables.inner, control)
    })?;
    let columns = out
        .columns
        .into_iter()
        .map(|c| PyArray1::from_vec(py, c))
        .collect();
    Ok((PyArray1::from_vec(py, out.power_basis), columns))
}

/// IT energy of every job under the modelled basis, ignoring meters (NaN where
/// a factor is missing). See `fleetcarbon._core.pyi`.
#[pyfunction]
#[pyo3(signature = (jobs, tables, *, threads = None))]
pub fn modelled_energy<'py>(
    py: Python<'py>,
    jobs: &Jobs,
    tables: &Tables,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let borrows = jobs.borrow(py)?;
    let columns = borrows.columns()?;
    let out = run(py, threads, None, |control| {
        fleetcarbon_core::modelled_it_energy(&columns, &tables.inner, control)
    })?;
    Ok(PyArray1::from_vec(py, out))
}
