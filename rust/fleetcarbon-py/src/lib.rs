//! Thin PyO3 bindings: extract numpy buffers, release the GIL, call the core,
//! hand owned results back as numpy arrays. No model logic lives here.

use std::panic::{catch_unwind, AssertUnwindSafe};

use fleetcarbon_core::{CoreError, Domain, Factor, FactorTables, JobColumns, RowIndex, N_FACTORS};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

// Output columns are large and short-lived: jemalloc reuses their pages across
// calls (and backs them with huge pages) instead of faulting fresh ones each time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Raise `fleetcarbon.errors.KernelError` (a `ValueError`) with `message`, and
/// the offending row and column when the core names them.
fn kernel_error(
    py: Python<'_>,
    message: String,
    row: Option<usize>,
    column: Option<&str>,
) -> PyErr {
    let class = py
        .import("fleetcarbon.errors")
        .and_then(|m| m.getattr("KernelError"));
    match class.and_then(|c| c.call1((message.clone(), row, column))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(_) => PyValueError::new_err(message),
    }
}

fn core_error(py: Python<'_>, e: CoreError) -> PyErr {
    // Only an overflowed result is the input's fault once validation has passed;
    // Python turns it into NonFiniteResultError naming the job.
    let (row, column) = match &e {
        CoreError::NonFinite { row, column, .. } => (Some(*row), Some(*column)),
        _ => (None, None),
    };
    kernel_error(py, e.to_string(), row, column)
}

/// Run `work` without the GIL, on `threads` threads if given, turning a panic
/// into an error instead of letting it cross into Python.
fn run_detached<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    work: impl FnOnce() -> Result<T, CoreError> + Send,
) -> PyResult<T> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| match threads {
            None => work(),
            Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                Ok(pool) => pool.install(work),
                Err(e) => Err(CoreError::InvalidArgument(format!(
                    "cannot start {n} threads: {e}"
                ))),
            },
        }))
    });
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(core_error(py, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(kernel_error(
                py,
                format!("internal error in the Rust core: {what}"),
                None,
                None,
            ))
        }
    }
}

/// A table row index: one int for all jobs, or a uint32 array with one per job.
#[derive(FromPyObject)]
enum IndexArg<'py> {
    Constant(u32),
    PerJob(PyReadonlyArray1<'py, u32>),
}

fn as_slice<'a, T: numpy::Element>(
    name: &str,
    a: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("'{name}' must be a contiguous 1-d array")))
}

fn opt_slice<'a>(
    name: &str,
    a: &'a Option<PyReadonlyArray1<'_, f64>>,
) -> PyResult<Option<&'a [f64]>> {
    a.as_ref().map(|a| as_slice(name, a)).transpose()
}

fn index<'a>(name: &str, a: &'a IndexArg<'_>) -> PyResult<RowIndex<'a>> {
    Ok(match a {
        IndexArg::Constant(r) => RowIndex::Constant(*r),
        IndexArg::PerJob(rows) => RowIndex::PerJob(as_slice(name, rows)?),
    })
}

/// Extract `{factor name: float64 array}` into per-factor slots, rejecting unknown names.
fn factor_arrays<'py>(
    what: &str,
    dict: &Bound<'py, PyDict>,
) -> PyResult<Vec<(Factor, PyReadonlyArray1<'py, f64>)>> {
    let mut out = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let name: String = key.extract()?;
        let factor = Factor::from_name(&name)
            .ok_or_else(|| PyValueError::new_err(format!("unknown factor '{name}' in {what}")))?;
        out.push((factor, value.extract()?));
    }
    Ok(out)
}

/// `(power basis codes, float output columns)` of [`estimate`].
type EstimateOutput<'py> = (Bound<'py, PyArray1<u8>>, Vec<Bound<'py, PyArray1<f64>>>);

/// Per-job lifecycle estimate. See `fleetcarbon._core.pyi` for the contract.
#[pyfunction]
#[pyo3(signature = (
    *, duration_h, accelerator_count, cpu_cores, memory_gb, energy_kwh, avg_power_w,
    accelerator, cpu, region, datacenter, overrides, table_values,
    datacenter_region, region_default_datacenter, default_datacenter, threads = None
))]
#[allow(clippy::too_many_arguments)]
fn estimate<'py>(
    py: Python<'py>,
    duration_h: PyReadonlyArray1<'py, f64>,
    accelerator_count: Option<PyReadonlyArray1<'py, f64>>,
    cpu_cores: Option<PyReadonlyArray1<'py, f64>>,
    memory_gb: Option<PyReadonlyArray1<'py, f64>>,
    energy_kwh: Option<PyReadonlyArray1<'py, f64>>,
    avg_power_w: Option<PyReadonlyArray1<'py, f64>>,
    accelerator: IndexArg<'py>,
    cpu: IndexArg<'py>,
    region: IndexArg<'py>,
    datacenter: IndexArg<'py>,
    overrides: &Bound<'py, PyDict>,
    table_values: &Bound<'py, PyDict>,
    datacenter_region: PyReadonlyArray1<'py, u32>,
    region_default_datacenter: PyReadonlyArray1<'py, u32>,
    default_datacenter: u32,
    threads: Option<usize>,
) -> PyResult<EstimateOutput<'py>> {
    let mut values: [Vec<f64>; N_FACTORS] = Default::default();
    let mut seen = [false; N_FACTORS];
    for (factor, array) in factor_arrays("table_values", table_values)? {
        values[factor as usize] = as_slice(factor.name(), &array)?.to_vec();
        seen[factor as usize] = true;
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(PyValueError::new_err(format!(
            "table_values lacks factor '{}'",
            Factor::ALL[k].name()
        )));
    }
    let tables = FactorTables::new(
        values,
        as_slice("datacenter_region", &datacenter_region)?.to_vec(),
        as_slice("region_default_datacenter", &region_default_datacenter)?.to_vec(),
        default_datacenter,
    )
    .map_err(|e| core_error(py, e))?;

    let override_arrays = factor_arrays("overrides", overrides)?;
    let mut override_slices: [Option<&[f64]>; N_FACTORS] = [None; N_FACTORS];
    for (factor, array) in &override_arrays {
        override_slices[*factor as usize] = Some(as_slice(factor.name(), array)?);
    }
    let jobs = JobColumns {
        duration_h: as_slice("duration_h", &duration_h)?,
        accelerator_count: opt_slice("accelerator_count", &accelerator_count)?,
        cpu_cores: opt_slice("cpu_cores", &cpu_cores)?,
        memory_gb: opt_slice("memory_gb", &memory_gb)?,
        energy_kwh: opt_slice("energy_kwh", &energy_kwh)?,
        avg_power_w: opt_slice("avg_power_w", &avg_power_w)?,
        accelerator: index("accelerator", &accelerator)?,
        cpu: index("cpu", &cpu)?,
        region: index("region", &region)?,
        datacenter: index("datacenter", &datacenter)?,
        overrides: override_slices,
    };
    let out = run_detached(py, threads, || fleetcarbon_core::estimate(&jobs, &tables))?;
    let columns = out
        .columns
        .into_iter()
        .map(|c| PyArray1::from_vec(py, c))
        .collect();
    Ok((PyArray1::from_vec(py, out.power_basis), columns))
}

/// Compensated per-group sums of float64 columns, in a fixed order.
#[pyfunction]
#[pyo3(signature = (group, n_groups, columns, *, threads = None))]
fn grouped_sums<'py>(
    py: Python<'py>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    threads: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyArray1<f64>>>> {
    let group = as_slice("group", &group)?;
    let slices = columns
        .iter()
        .map(|c| as_slice("columns", c))
        .collect::<PyResult<Vec<&[f64]>>>()?;
    let sums = run_detached(py, threads, || {
        fleetcarbon_core::grouped_sums(group, n_groups, &slices)
    })?;
    Ok(sums
        .into_iter()
        .map(|c| PyArray1::from_vec(py, c))
        .collect())
}

/// Domain scan of several float64 columns in one call.
///
/// `domains[k]` is `(low, high, low_inclusive, whole, plausible_high)` for
/// `columns[k]`; returns `(nan, invalid, implausible)` counts per column.
#[pyfunction]
#[pyo3(signature = (columns, domains, *, threads = None))]
fn scan_domains<'py>(
    py: Python<'py>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    domains: Vec<(f64, f64, bool, bool, f64)>,
    threads: Option<usize>,
) -> PyResult<Vec<(u64, u64, u64)>> {
    if columns.len() != domains.len() {
        return Err(PyValueError::new_err(
            "columns and domains differ in length",
        ));
    }
    let slices = columns
        .iter()
        .map(|c| as_slice("columns", c))
        .collect::<PyResult<Vec<&[f64]>>>()?;
    let domains: Vec<Domain> = domains
        .into_iter()
        .map(|(low, high, low_inclusive, whole, plausible_high)| Domain {
            low,
            high,
            low_inclusive,
            whole,
            plausible_high,
        })
        .collect();
    run_detached(py, threads, || {
        Ok(slices
            .iter()
            .zip(&domains)
            .map(|(values, domain)| {
                let c = fleetcarbon_core::scan(values, domain);
                (c.nan, c.invalid, c.implausible)
            })
            .collect())
    })
}

/// Factor names, in the core's fixed order.
#[pyfunction]
fn factor_names() -> Vec<&'static str> {
    Factor::ALL.iter().map(|f| f.name()).collect()
}

/// Table that holds each factor, aligned with [`factor_names`].
#[pyfunction]
fn factor_tables() -> Vec<&'static str> {
    Factor::ALL.iter().map(|f| f.table().name()).collect()
}

/// The native module `fleetcarbon._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("OUTPUT_COLUMNS", fleetcarbon_core::OUTPUT_COLUMNS.to_vec())?;
    m.add(
        "POWER_BASIS_LABELS",
        fleetcarbon_core::PowerBasis::LABELS.to_vec(),
    )?;
    m.add("HOURS_PER_YEAR", fleetcarbon_core::estimate::HOURS_PER_YEAR)?;
    m.add("MISSING", fleetcarbon_core::MISSING)?;
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(grouped_sums, m)?)?;
    m.add_function(wrap_pyfunction!(scan_domains, m)?)?;
    m.add_function(wrap_pyfunction!(factor_names, m)?)?;
    m.add_function(wrap_pyfunction!(factor_tables, m)?)?;
    Ok(())
}
