//! Thin PyO3 bindings of `fleetcarbon-core`, built as `fleetcarbon._core`:
//! typed handles for the tables, the jobs and the uncertainty of a run; numpy
//! buffers in and out; the GIL released around every kernel. No model logic
//! lives here, and nothing is imported from Python.

mod convert;
mod errors;
mod estimate;
mod grid_series;
mod jobs;
mod numeric;
mod runtime;
mod simulate;
mod tables;
mod uncertainty;

use fleetcarbon_core::dist::FAMILIES;
use fleetcarbon_core::quantiles::QuantileMethod;
use fleetcarbon_core::rng::{UNIFORM_MAX, UNIFORM_MIN};
use fleetcarbon_core::Factor;
use pyo3::prelude::*;

// Output columns are large and short-lived: jemalloc reuses their pages across
// calls (and backs them with huge pages) instead of faulting fresh ones each time.
#[cfg(all(feature = "jemalloc", target_os = "linux"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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

/// The largest `threads` accepted (four per core, at least 8, at most 1,024).
#[pyfunction]
fn max_threads() -> usize {
    runtime::max_threads()
}

/// A panic inside a core call, for the tests of its conversion to `InternalError`.
#[pyfunction]
#[allow(clippy::panic)]
fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    runtime::run(py, None, None, |_| -> fleetcarbon_core::CoreResult<()> {
        std::panic::panic_any(message)
    })
}

/// The native module `fleetcarbon._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("OUTPUT_COLUMNS", fleetcarbon_core::OUTPUT_COLUMNS.to_vec())?;
    m.add(
        "POWER_BASIS_LABELS",
        fleetcarbon_core::PowerBasis::LABELS.to_vec(),
    )?;
    m.add("HOURS_PER_YEAR", fleetcarbon_core::model::HOURS_PER_YEAR)?;
    m.add("MISSING", fleetcarbon_core::MISSING)?;
    m.add(
        "SIMULATED_METRICS",
        fleetcarbon_core::simulate::METRICS.to_vec(),
    )?;
    m.add(
        "DISTRIBUTION_FAMILIES",
        FAMILIES
            .iter()
            .map(|(c, n)| (*n, *c))
            .collect::<std::collections::HashMap<_, _>>(),
    )?;
    m.add(
        "QUANTILE_METHODS",
        QuantileMethod::ALL
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>(),
    )?;
    m.add("UNIFORM_MIN", UNIFORM_MIN)?;
    m.add("UNIFORM_MAX", UNIFORM_MAX)?;
    m.add(
        "FleetcarbonError",
        py.get_type::<errors::FleetcarbonError>(),
    )?;
    m.add("KernelError", py.get_type::<errors::KernelError>())?;
    m.add(
        "DistributionError",
        py.get_type::<errors::DistributionError>(),
    )?;
    m.add(
        "CorrelationError",
        py.get_type::<errors::CorrelationError>(),
    )?;
    m.add("InternalError", py.get_type::<errors::InternalError>())?;
    m.add_class::<tables::Tables>()?;
    m.add_class::<grid_series::GridSeries>()?;
    m.add_class::<jobs::Jobs>()?;
    m.add_class::<uncertainty::Uncertainty>()?;
    m.add_function(wrap_pyfunction!(estimate::estimate, m)?)?;
    m.add_function(wrap_pyfunction!(estimate::modelled_energy, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulation_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulate_scenarios, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::grouped_sums, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::running_sums, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::scan_domains, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::quantiles, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::summarize_draws, m)?)?;
    m.add_function(wrap_pyfunction!(numeric::record_keys, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty::describe_distribution, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty::distribution_quantiles, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty::normal_quantile_py, m)?)?;
    m.add_function(wrap_pyfunction!(factor_names, m)?)?;
    m.add_function(wrap_pyfunction!(factor_tables, m)?)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
