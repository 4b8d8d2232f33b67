//! `Jobs`: the numeric buffers of one call's jobs, built once and lent to
//! every core call of that run (estimate, and each batch of a simulation).

use fleetcarbon_core::model::AcceleratorHost;
use fleetcarbon_core::{Factor, JobColumns, RowIndex, N_FACTORS};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{as_slice, factor_arrays, IndexSpec};
use crate::errors::{argument_error, core_error};

/// Job columns as float64 / uint32 numpy arrays (NaN in an optional column or
/// an override: not given for that job). The arrays are held, not copied.
#[pyclass(frozen, module = "fleetcarbon._core")]
pub struct Jobs {
    duration_h: Py<PyArray1<f64>>,
    quantities: [Option<Py<PyArray1<f64>>>; 7],
    indices: [IndexSpec; 4],
    overrides: Vec<(Factor, Py<PyArray1<f64>>)>,
    accelerator_host: AcceleratorHost,
    len: usize,
}

/// Borrows of a [`Jobs`]' arrays for one call; [`JobBorrows::columns`] lends them to the core.
pub struct JobBorrows<'py> {
    duration_h: PyReadonlyArray1<'py, f64>,
    quantities: [Option<PyReadonlyArray1<'py, f64>>; 7],
    indices: [Result<u32, PyReadonlyArray1<'py, u32>>; 4],
    overrides: Vec<(Factor, PyReadonlyArray1<'py, f64>)>,
    accelerator_host: AcceleratorHost,
}

const QUANTITIES: [&str; 7] = [
    "accelerator_count",
    "cpu_cores",
    "memory_gb",
    "energy_kwh",
    "avg_power_w",
    "core_usage",
    "grid_scale",
];
const INDICES: [&str; 4] = ["accelerator", "cpu", "region", "datacenter"];

#[pymethods]
impl Jobs {
    #[new]
    #[pyo3(signature = (
        *, duration_h, accelerator_count = None, cpu_cores = None, memory_gb = None,
        energy_kwh = None, avg_power_w = None, accelerator = None, cpu = None, region = None,
        datacenter = None, overrides = None, core_usage = None, grid_scale = None,
        accelerator_host = "share"
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        duration_h: Py<PyArray1<f64>>,
        accelerator_count: Option<Py<PyArray1<f64>>>,
        cpu_cores: Option<Py<PyArray1<f64>>>,
        memory_gb: Option<Py<PyArray1<f64>>>,
        energy_kwh: Option<Py<PyArray1<f64>>>,
        avg_power_w: Option<Py<PyArray1<f64>>>,
        accelerator: Option<IndexSpec>,
        cpu: Option<IndexSpec>,
        region: Option<IndexSpec>,
        datacenter: Option<IndexSpec>,
        overrides: Option<&Bound<'_, PyDict>>,
        core_usage: Option<Py<PyArray1<f64>>>,
        grid_scale: Option<Py<PyArray1<f64>>>,
        accelerator_host: &str,
    ) -> PyResult<Self> {
        let accelerator_host = match accelerator_host {
            "share" => AcceleratorHost::Share,
            "components" => AcceleratorHost::Components,
            other => {
                return Err(argument_error(format!(
                    "accelerator_host must be 'share' or 'components', got {other:?}"
                )))
            }
        };
        let missing = || IndexSpec::Constant(fleetcarbon_core::MISSING);
        let jobs = Jobs {
            len: duration_h.bind(py).len()?,
            duration_h,
            quantities: [
                accelerator_count,
                cpu_cores,
                memory_gb,
                energy_kwh,
                avg_power_w,
                core_usage,
                grid_scale,
            ],
            indices: [
                accelerator.unwrap_or_else(missing),
                cpu.unwrap_or_else(missing),
                region.unwrap_or_else(missing),
                datacenter.unwrap_or_else(missing),
            ],
            overrides: match overrides {
                Some(d) => factor_arrays::<f64>("overrides", d)?,
                None => Vec::new(),
            },
            accelerator_host,
        };
        // Fail now, not at the first call, on arrays of the wrong length.
        jobs.borrow(py)?
            .columns()?
            .check_lengths()
            .map_err(|e| core_error(py, e))?;
        Ok(jobs)
    }

    fn __len__(&self) -> usize {
        self.len
    }

    fn __repr__(&self) -> String {
        format!(
            "Jobs({} jobs, {} overrides)",
            self.len,
            self.overrides.len()
        )
    }
}

impl Jobs {
    /// Borrow every array for the duration of one call.
    pub fn borrow<'py>(&self, py: Python<'py>) -> PyResult<JobBorrows<'py>> {
        let index = |spec: &IndexSpec| match spec {
            IndexSpec::Constant(r) => Ok(*r),
            IndexSpec::PerJob(a) => Err(a.bind(py).readonly()),
        };
        Ok(JobBorrows {
            duration_h: self.duration_h.bind(py).readonly(),
            quantities: std::array::from_fn(|k| {
                self.quantities[k].as_ref().map(|a| a.bind(py).readonly())
            }),
            indices: std::array::from_fn(|k| index(&self.indices[k])),
            overrides: self
                .overrides
                .iter()
                .map(|(f, a)| (*f, a.bind(py).readonly()))
                .collect(),
            accelerator_host: self.accelerator_host,
        })
    }
}

impl JobBorrows<'_> {
    /// The core's view of the borrowed arrays.
    pub fn columns(&self) -> PyResult<JobColumns<'_>> {
        let quantity = |k: usize| {
            self.quantities[k]
                .as_ref()
                .map(|a| as_slice(QUANTITIES[k], a))
                .transpose()
        };
        let index = |k: usize| -> PyResult<RowIndex<'_>> {
            Ok(match &self.indices[k] {
                Ok(r) => RowIndex::Constant(*r),
                Err(a) => RowIndex::PerJob(as_slice(INDICES[k], a)?),
            })
        };
        let mut overrides: [Option<&[f64]>; N_FACTORS] = [None; N_FACTORS];
        for (f, a) in &self.overrides {
            overrides[*f as usize] = Some(as_slice(f.name(), a)?);
        }
        Ok(JobColumns {
            duration_h: as_slice("duration_h", &self.duration_h)?,
            accelerator_count: quantity(0)?,
            cpu_cores: quantity(1)?,
            memory_gb: quantity(2)?,
            energy_kwh: quantity(3)?,
            avg_power_w: quantity(4)?,
            accelerator: index(0)?,
            cpu: index(1)?,
            region: index(2)?,
            datacenter: index(3)?,
            overrides,
            core_usage: quantity(5)?,
            grid_scale: quantity(6)?,
            accelerator_host: self.accelerator_host,
        })
    }
}
