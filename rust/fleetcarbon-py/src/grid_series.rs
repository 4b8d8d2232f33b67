//! `GridSeries`: time-resolved grid intensity, converted once per `Factors`.

use fleetcarbon_core::grid_series::GridSeries as CoreSeries;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::convert::as_slice;
use crate::errors::core_error;
use crate::runtime::run;

/// `(integral, covered hours, uncovered hours)` per job.
type WindowArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

/// Intervals of constant intensity, series by series, with their running
/// integrals. See `fleetcarbon._core.pyi`.
#[pyclass(frozen, module = "fleetcarbon._core")]
pub struct GridSeries {
    inner: CoreSeries,
}

#[pymethods]
impl GridSeries {
    #[new]
    #[pyo3(signature = (*, offsets, starts, ends, intensity))]
    fn new(
        py: Python<'_>,
        offsets: PyReadonlyArray1<'_, u64>,
        starts: PyReadonlyArray1<'_, i64>,
        ends: PyReadonlyArray1<'_, i64>,
        intensity: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<Self> {
        let offsets = as_slice("offsets", &offsets)?
            .iter()
            .map(|&o| o as usize)
            .collect();
        let inner = CoreSeries::new(
            offsets,
            as_slice("starts", &starts)?.to_vec(),
            as_slice("ends", &ends)?.to_vec(),
            as_slice("intensity", &intensity)?.to_vec(),
        )
        .map_err(|e| core_error(py, e))?;
        Ok(GridSeries { inner })
    }

    /// Integral of intensity × hours, covered and uncovered hours of every job's window.
    #[pyo3(signature = (series, start, end, *, threads = None))]
    fn windows<'py>(
        &self,
        py: Python<'py>,
        series: PyReadonlyArray1<'_, u32>,
        start: PyReadonlyArray1<'_, i64>,
        end: PyReadonlyArray1<'_, i64>,
        threads: Option<usize>,
    ) -> PyResult<WindowArrays<'py>> {
        let (series, start, end) = (
            as_slice("series", &series)?,
            as_slice("start", &start)?,
            as_slice("end", &end)?,
        );
        let out = run(py, threads, None, |_| {
            self.inner.windows(series, start, end)
        })?;
        let integral = out.iter().map(|w| w.integral).collect();
        let covered = out.iter().map(|w| w.covered_h).collect();
        let uncovered = out.iter().map(|w| w.uncovered_h).collect();
        Ok((
            PyArray1::from_vec(py, integral),
            PyArray1::from_vec(py, covered),
            PyArray1::from_vec(py, uncovered),
        ))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("GridSeries(series={})", self.inner.len())
    }
}
