//! `GridSeries`: time-resolved grid intensity, converted once per `Factors`.

use fleetcarbon_core::grid_series::GridSeries as CoreSeries;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::convert::as_slice;
use crate::errors::core_error;
use crate::runtime::run;

/// `(effective, scale, share, coverage)` per job.
type IntensityArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u8>>,
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

    /// Each job's effective intensity, scale, covered share and coverage code.
    #[pyo3(signature = (series, start, end, annual, *, threads = None))]
    fn intensities<'py>(
        &self,
        py: Python<'py>,
        series: PyReadonlyArray1<'_, u32>,
        start: PyReadonlyArray1<'_, i64>,
        end: PyReadonlyArray1<'_, i64>,
        annual: PyReadonlyArray1<'_, f64>,
        threads: Option<usize>,
    ) -> PyResult<IntensityArrays<'py>> {
        let (series, start, end, annual) = (
            as_slice("series", &series)?,
            as_slice("start", &start)?,
            as_slice("end", &end)?,
            as_slice("annual", &annual)?,
        );
        let out = run(py, threads, None, |_| {
            self.inner.intensities(series, start, end, annual)
        })?;
        Ok((
            PyArray1::from_vec(py, out.iter().map(|j| j.effective).collect()),
            PyArray1::from_vec(py, out.iter().map(|j| j.scale).collect()),
            PyArray1::from_vec(py, out.iter().map(|j| j.share).collect()),
            PyArray1::from_vec(py, out.iter().map(|j| j.coverage).collect()),
        ))
    }

    /// Each job's start within `[start, start + delay]` that minimizes its window's carbon.
    #[pyo3(signature = (series, start, end, annual, delay, *, threads = None))]
    #[allow(clippy::too_many_arguments)]
    fn cleanest_starts<'py>(
        &self,
        py: Python<'py>,
        series: PyReadonlyArray1<'_, u32>,
        start: PyReadonlyArray1<'_, i64>,
        end: PyReadonlyArray1<'_, i64>,
        annual: PyReadonlyArray1<'_, f64>,
        delay: PyReadonlyArray1<'_, i64>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let (series, start, end, annual, delay) = (
            as_slice("series", &series)?,
            as_slice("start", &start)?,
            as_slice("end", &end)?,
            as_slice("annual", &annual)?,
            as_slice("delay", &delay)?,
        );
        let out = run(py, threads, None, |_| {
            self.inner
                .cleanest_starts(series, start, end, annual, delay)
        })?;
        Ok(PyArray1::from_vec(py, out))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("GridSeries(series={})", self.inner.len())
    }
}
