//! `simulate`: the Monte Carlo of group totals.

use fleetcarbon_core::quantiles::QuantileMethod;
use fleetcarbon_core::simulate::Simulation;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::convert::as_slice;
use crate::errors::core_error;
use crate::jobs::Jobs;
use crate::runtime::run;
use crate::tables::Tables;
use crate::uncertainty::Uncertainty;

/// `(group draws [group, metric, draw] flattened, per-job means, per-job quantiles)`.
type SimulateOutput<'py> = (
    Bound<'py, PyArray1<f64>>,
    Option<Bound<'py, PyArray1<f64>>>,
    Option<Bound<'py, PyArray1<f64>>>,
);

/// Each scenario's `[group, metric, draw]` draws and, with `points`, its
/// deterministic `[group, metric]` totals.
type ScenarioArrays<'py> = (
    Vec<Bound<'py, PyArray1<f64>>>,
    Option<Vec<Bound<'py, PyArray1<f64>>>>,
);

/// Bytes the Monte Carlo would hold at its peak (see `fleetcarbon_core::simulate::memory`).
#[pyfunction]
#[pyo3(signature = (
    jobs, tables, uncertainty, *, job_keys, group, n_groups, draws, per_job_quantiles = None
))]
#[allow(clippy::too_many_arguments)]
pub fn simulation_bytes<'py>(
    py: Python<'py>,
    jobs: &Jobs,
    tables: &Tables,
    uncertainty: &Uncertainty,
    job_keys: PyReadonlyArray1<'py, u64>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
    draws: usize,
    per_job_quantiles: Option<Vec<f64>>,
) -> PyResult<u64> {
    let borrows = jobs.borrow(py)?;
    let bounds = uncertainty.borrow_bounds(py);
    let sim = Simulation {
        jobs: borrows.columns()?,
        job_keys: as_slice("job_keys", &job_keys)?,
        group: as_slice("group", &group)?,
        n_groups,
        seed: 0,
        draws,
        first_draw: 0,
        per_job_quantiles: per_job_quantiles.as_deref(),
        quantile_method: QuantileMethod::Linear,
        pool: &uncertainty.pool,
    };
    let noise = uncertainty.noise(&bounds)?;
    run(py, None, None, |_| {
        fleetcarbon_core::simulate::memory::peak_bytes(
            &sim,
            &tables.inner,
            &uncertainty.rows,
            &noise,
        )
    })
}

/// Monte Carlo of group totals. See `fleetcarbon._core.pyi` for the contract.
#[pyfunction]
#[pyo3(signature = (
    jobs, tables, uncertainty, *, job_keys, group, n_groups, seed, draws, first_draw = 0,
    per_job_quantiles = None, quantile_method = "linear", threads = None, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub fn simulate<'py>(
    py: Python<'py>,
    jobs: &Jobs,
    tables: &Tables,
    uncertainty: &Uncertainty,
    job_keys: PyReadonlyArray1<'py, u64>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
    seed: u64,
    draws: usize,
    first_draw: u64,
    per_job_quantiles: Option<Vec<f64>>,
    quantile_method: &str,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<SimulateOutput<'py>> {
    let method = QuantileMethod::from_name(quantile_method).map_err(|e| core_error(py, e))?;
    let borrows = jobs.borrow(py)?;
    let bounds = uncertainty.borrow_bounds(py);
    let sim = Simulation {
        jobs: borrows.columns()?,
        job_keys: as_slice("job_keys", &job_keys)?,
        group: as_slice("group", &group)?,
        n_groups,
        seed,
        draws,
        first_draw,
        per_job_quantiles: per_job_quantiles.as_deref(),
        quantile_method: method,
        pool: &uncertainty.pool,
    };
    let noise = uncertainty.noise(&bounds)?;
    let out = run(py, threads, progress, |control| {
        fleetcarbon_core::simulate::simulate(
            &sim,
            &tables.inner,
            &uncertainty.rows,
            &noise,
            control,
        )
    })?;
    let per_job = per_job_quantiles.is_some();
    Ok((
        PyArray1::from_vec(py, out.group_draws),
        per_job.then(|| PyArray1::from_vec(py, out.per_job_mean)),
        per_job.then(|| PyArray1::from_vec(py, out.per_job_quantiles)),
    ))
}

/// Monte Carlo of several factor scenarios with common random numbers, the
/// jobs reduced once. See `fleetcarbon._core.pyi` for the contract.
#[pyfunction]
#[pyo3(signature = (
    jobs, tables, uncertainties, *, job_keys, group, n_groups, seed, draws, first_draw = 0,
    points = false, threads = None, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub fn simulate_scenarios<'py>(
    py: Python<'py>,
    jobs: &Jobs,
    tables: Vec<PyRef<'py, Tables>>,
    uncertainties: Vec<PyRef<'py, Uncertainty>>,
    job_keys: PyReadonlyArray1<'py, u64>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
    seed: u64,
    draws: usize,
    first_draw: u64,
    points: bool,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<ScenarioArrays<'py>> {
    let invalid = |message: String| {
        core_error(
            py,
            fleetcarbon_core::error::CoreError::invalid("scenarios", message),
        )
    };
    if tables.len() != uncertainties.len() {
        return Err(invalid(format!(
            "{} factor tables but {} uncertainties",
            tables.len(),
            uncertainties.len()
        )));
    }
    let Some(first) = uncertainties.first() else {
        return Err(invalid("no scenario to simulate".into()));
    };
    // One pool and one noise for all: the scenarios differ in their factor rows only.
    if uncertainties.iter().any(|u| u.pool != first.pool) {
        return Err(invalid(
            "the scenarios' empirical distributions differ; give every scenario the same".into(),
        ));
    }
    let borrows = jobs.borrow(py)?;
    let bounds = first.borrow_bounds(py);
    let sim = Simulation {
        jobs: borrows.columns()?,
        job_keys: as_slice("job_keys", &job_keys)?,
        group: as_slice("group", &group)?,
        n_groups,
        seed,
        draws,
        first_draw,
        per_job_quantiles: None,
        quantile_method: QuantileMethod::Linear,
        pool: &first.pool,
    };
    let noise = first.noise(&bounds)?;
    // Scenarios may differ in which noise kinds they re-draw (a sensitivity design).
    let resample: Vec<[bool; 3]> = uncertainties.iter().map(|u| u.resample_noise).collect();
    let pairs: Vec<_> = tables
        .iter()
        .zip(&uncertainties)
        .map(|(t, u)| (&t.inner, &u.rows))
        .collect();
    let outs = run(py, threads, progress, |control| {
        fleetcarbon_core::simulate::simulate_designs(
            &sim, &pairs, &noise, &resample, points, control,
        )
    })?;
    let mut draws_out = Vec::with_capacity(outs.len());
    let mut points_out = Vec::with_capacity(outs.len());
    for run in outs {
        draws_out.push(PyArray1::from_vec(py, run.output.group_draws));
        if let Some(point) = run.point {
            points_out.push(PyArray1::from_vec(py, point));
        }
    }
    Ok((draws_out, points.then_some(points_out)))
}
