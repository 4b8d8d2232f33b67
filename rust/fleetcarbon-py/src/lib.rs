//! Thin PyO3 bindings: extract numpy buffers, release the GIL, call the core,
//! hand owned results back as numpy arrays. No model logic lives here.

use std::panic::{catch_unwind, AssertUnwindSafe};

use fleetcarbon_core::copula::Copula;
use fleetcarbon_core::dist::Dist;
use fleetcarbon_core::rng::{fnv1a, mix64};
use fleetcarbon_core::simulate::{JobNoise, RowDists, Simulation};
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

/// The job arrays as numpy borrows; [`JobArrays::columns`] lends them to the core.
struct JobArrays<'py> {
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
    overrides: Vec<(Factor, PyReadonlyArray1<'py, f64>)>,
}

impl JobArrays<'_> {
    fn columns(&self) -> PyResult<JobColumns<'_>> {
        let mut overrides: [Option<&[f64]>; N_FACTORS] = [None; N_FACTORS];
        for (factor, array) in &self.overrides {
            overrides[*factor as usize] = Some(as_slice(factor.name(), array)?);
        }
        Ok(JobColumns {
            duration_h: as_slice("duration_h", &self.duration_h)?,
            accelerator_count: opt_slice("accelerator_count", &self.accelerator_count)?,
            cpu_cores: opt_slice("cpu_cores", &self.cpu_cores)?,
            memory_gb: opt_slice("memory_gb", &self.memory_gb)?,
            energy_kwh: opt_slice("energy_kwh", &self.energy_kwh)?,
            avg_power_w: opt_slice("avg_power_w", &self.avg_power_w)?,
            accelerator: index("accelerator", &self.accelerator)?,
            cpu: index("cpu", &self.cpu)?,
            region: index("region", &self.region)?,
            datacenter: index("datacenter", &self.datacenter)?,
            overrides,
        })
    }
}

/// Factor tables from `{factor name: values per row}` plus the links between tables.
fn factor_tables_from(
    py: Python<'_>,
    table_values: &Bound<'_, PyDict>,
    datacenter_region: &PyReadonlyArray1<'_, u32>,
    region_default_datacenter: &PyReadonlyArray1<'_, u32>,
    default_datacenter: u32,
) -> PyResult<FactorTables> {
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
    FactorTables::new(
        values,
        as_slice("datacenter_region", datacenter_region)?.to_vec(),
        as_slice("region_default_datacenter", region_default_datacenter)?.to_vec(),
        default_datacenter,
    )
    .map_err(|e| core_error(py, e))
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
    let tables = factor_tables_from(
        py,
        table_values,
        &datacenter_region,
        &region_default_datacenter,
        default_datacenter,
    )?;
    let arrays = JobArrays {
        duration_h,
        accelerator_count,
        cpu_cores,
        memory_gb,
        energy_kwh,
        avg_power_w,
        accelerator,
        cpu,
        region,
        datacenter,
        overrides: factor_arrays("overrides", overrides)?,
    };
    let jobs = arrays.columns()?;
    let out = run_detached(py, threads, || fleetcarbon_core::estimate(&jobs, &tables))?;
    let columns = out
        .columns
        .into_iter()
        .map(|c| PyArray1::from_vec(py, c))
        .collect();
    Ok((PyArray1::from_vec(py, out.power_basis), columns))
}

/// A distribution across the boundary: `(family code, [p0, p1, p2, p3])`.
type DistArg = (u8, [f64; 4]);

fn dist(spec: Option<DistArg>, pool_len: usize, py: Python<'_>) -> PyResult<Option<Dist>> {
    spec.map(|(family, p)| Dist::from_code(family, p, pool_len).map_err(|e| core_error(py, e)))
        .transpose()
}

/// `(group draws [group, metric, draw] flattened, per-job means, per-job quantiles)`.
type SimulateOutput<'py> = (
    Bound<'py, PyArray1<f64>>,
    Option<Bound<'py, PyArray1<f64>>>,
    Option<Bound<'py, PyArray1<f64>>>,
);

/// Monte Carlo of group totals. See `fleetcarbon._core.pyi` for the contract.
#[pyfunction]
#[pyo3(signature = (
    *, duration_h, accelerator_count, cpu_cores, memory_gb, energy_kwh, avg_power_w,
    accelerator, cpu, region, datacenter, overrides, table_values,
    datacenter_region, region_default_datacenter, default_datacenter,
    dist_families, dist_params, row_keys, job_keys, group, n_groups, seed, draws,
    first_draw = 0, power_fraction_noise = None, energy_noise = None, power_noise = None,
    override_bounds = None, per_job_quantiles = None, pool = None, copula = None,
    threads = None
))]
#[allow(clippy::too_many_arguments)]
fn simulate<'py>(
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
    dist_families: &Bound<'py, PyDict>,
    dist_params: &Bound<'py, PyDict>,
    row_keys: &Bound<'py, PyDict>,
    job_keys: PyReadonlyArray1<'py, u64>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
    seed: u64,
    draws: usize,
    first_draw: u64,
    power_fraction_noise: Option<DistArg>,
    energy_noise: Option<DistArg>,
    power_noise: Option<DistArg>,
    override_bounds: Option<&Bound<'py, PyDict>>,
    per_job_quantiles: Option<Vec<f64>>,
    pool: Option<PyReadonlyArray1<'py, f64>>,
    copula: Option<(Vec<String>, Vec<f64>)>,
    threads: Option<usize>,
) -> PyResult<SimulateOutput<'py>> {
    let tables = factor_tables_from(
        py,
        table_values,
        &datacenter_region,
        &region_default_datacenter,
        default_datacenter,
    )?;
    let arrays = JobArrays {
        duration_h,
        accelerator_count,
        cpu_cores,
        memory_gb,
        energy_kwh,
        avg_power_w,
        accelerator,
        cpu,
        region,
        datacenter,
        overrides: factor_arrays("overrides", overrides)?,
    };
    let jobs = arrays.columns()?;
    let pool_slice: &[f64] = match &pool {
        Some(p) => as_slice("pool", p)?,
        None => &[],
    };
    let mut row_dists = RowDists::default();
    for (key, families) in dist_families.iter() {
        let name: String = key.extract()?;
        let factor = Factor::from_name(&name).ok_or_else(|| {
            PyValueError::new_err(format!("unknown factor '{name}' in dist_families"))
        })?;
        let families: PyReadonlyArray1<'py, u8> = families.extract()?;
        let params: PyReadonlyArray1<'py, f64> = dist_params
            .get_item(&name)?
            .ok_or_else(|| PyValueError::new_err(format!("dist_params lacks '{name}'")))?
            .extract()?;
        let keys: PyReadonlyArray1<'py, u64> = row_keys
            .get_item(&name)?
            .ok_or_else(|| PyValueError::new_err(format!("row_keys lacks '{name}'")))?
            .extract()?;
        let families = as_slice("dist_families", &families)?;
        let params = as_slice("dist_params", &params)?;
        if params.len() != 4 * families.len() {
            return Err(PyValueError::new_err(format!(
                "dist_params of '{name}' needs 4 values per row"
            )));
        }
        row_dists.dists[factor as usize] = families
            .iter()
            .zip(params.chunks_exact(4))
            .map(|(&family, p)| Dist::from_code(family, [p[0], p[1], p[2], p[3]], pool_slice.len()))
            .collect::<Result<_, _>>()
            .map_err(|e| core_error(py, e))?;
        row_dists.keys[factor as usize] = as_slice("row_keys", &keys)?.to_vec();
    }
    if let Some((names, rank)) = copula {
        let factors = names
            .iter()
            .map(|name| {
                Factor::from_name(name).ok_or_else(|| {
                    PyValueError::new_err(format!("unknown factor '{name}' in copula"))
                })
            })
            .collect::<PyResult<_>>()?;
        row_dists.copula = Some(Copula { factors, rank });
    }
    let bounds_arrays: Vec<(
        Factor,
        PyReadonlyArray1<'py, f64>,
        PyReadonlyArray1<'py, f64>,
    )> = match override_bounds {
        None => Vec::new(),
        Some(dict) => dict
            .iter()
            .map(|(key, value)| {
                let name: String = key.extract()?;
                let factor = Factor::from_name(&name).ok_or_else(|| {
                    PyValueError::new_err(format!("unknown factor '{name}' in override_bounds"))
                })?;
                let (lo, hi): (PyReadonlyArray1<'py, f64>, PyReadonlyArray1<'py, f64>) =
                    value.extract()?;
                Ok((factor, lo, hi))
            })
            .collect::<PyResult<_>>()?,
    };
    let mut noise = JobNoise {
        power_fraction: dist(power_fraction_noise, pool_slice.len(), py)?,
        energy_relative: dist(energy_noise, pool_slice.len(), py)?,
        power_relative: dist(power_noise, pool_slice.len(), py)?,
        override_bounds: [None; N_FACTORS],
    };
    for (factor, lo, hi) in &bounds_arrays {
        noise.override_bounds[*factor as usize] =
            Some((as_slice("low", lo)?, as_slice("high", hi)?));
    }
    let sim = Simulation {
        jobs,
        job_keys: as_slice("job_keys", &job_keys)?,
        group: as_slice("group", &group)?,
        n_groups,
        seed,
        draws,
        first_draw,
        per_job_quantiles: per_job_quantiles.as_deref(),
        pool: pool_slice,
    };
    let out = run_detached(py, threads, || {
        fleetcarbon_core::simulate::simulate(&sim, &tables, &row_dists, &noise)
    })?;
    let per_job = per_job_quantiles.is_some();
    Ok((
        PyArray1::from_vec(py, out.group_draws),
        per_job.then(|| PyArray1::from_vec(py, out.per_job_mean)),
        per_job.then(|| PyArray1::from_vec(py, out.per_job_quantiles)),
    ))
}

/// Benchmark helper: the bare RNG-plus-FMA loop over `jobs × draws`, timed by the caller.
#[pyfunction]
#[pyo3(signature = (jobs, draws, *, threads = None))]
fn rng_fma_floor(py: Python<'_>, jobs: u64, draws: u64, threads: Option<usize>) -> PyResult<f64> {
    run_detached(py, threads, || {
        Ok(fleetcarbon_core::simulate::rng_fma_floor(jobs, draws))
    })
}

/// Stable 64-bit keys of record ids: integers are mixed, strings hashed (FNV-1a of UTF-8).
#[pyfunction]
fn record_keys(py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<Py<PyArray1<u64>>> {
    if let Ok(ints) = ids.extract::<PyReadonlyArray1<'_, i64>>() {
        let ints = as_slice("ids", &ints)?;
        let keys: Vec<u64> = py.detach(|| {
            ints.iter()
                .map(|&i| mix64(i as u64 ^ INT_KEY_SALT))
                .collect()
        });
        return Ok(PyArray1::from_vec(py, keys).unbind());
    }
    let strings: Vec<String> = ids.extract()?;
    let keys: Vec<u64> = py.detach(|| strings.iter().map(|s| fnv1a(s.as_bytes())).collect());
    Ok(PyArray1::from_vec(py, keys).unbind())
}

/// Separates integer ids from strings whose FNV hash happens to equal the integer.
const INT_KEY_SALT: u64 = 0x1D5E_ED00_0000_0001;

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
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(record_keys, m)?)?;
    m.add_function(wrap_pyfunction!(rng_fma_floor, m)?)?;
    m.add(
        "SIMULATED_METRICS",
        fleetcarbon_core::simulate::METRICS.to_vec(),
    )?;
    m.add_function(wrap_pyfunction!(factor_names, m)?)?;
    m.add_function(wrap_pyfunction!(factor_tables, m)?)?;
    Ok(())
}
