//! Numeric helpers over plain arrays: grouped sums, domain scans, quantiles,
//! record keys.

use fleetcarbon_core::quantiles::{quantiles as core_quantiles, QuantileMethod};
use fleetcarbon_core::rng::{fnv1a, mix64};
use fleetcarbon_core::statistics::summarize_rows;
use fleetcarbon_core::Domain;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::convert::as_slice;
use crate::errors::{argument_error, core_error};
use crate::runtime::run;

/// Compensated per-group sums of float64 columns, in a fixed order.
#[pyfunction]
#[pyo3(signature = (group, n_groups, columns, *, threads = None))]
pub fn grouped_sums<'py>(
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
    let sums = run(py, threads, None, |_| {
        fleetcarbon_core::grouped_sums(group, n_groups, &slices)
    })?;
    Ok(sums
        .into_iter()
        .map(|c| PyArray1::from_vec(py, c))
        .collect())
}

/// Running compensated sums of a float64 column (`out[i]` = sum of `values[..=i]`).
#[pyfunction]
pub fn running_sums<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let values = as_slice("values", &values)?;
    let out = py.detach(|| fleetcarbon_core::summation::running_sums(values));
    Ok(PyArray1::from_vec(py, out))
}

/// Domain scan of several float64 columns in one call.
///
/// `domains[k]` is `(low, high, low_inclusive, whole, plausible_high)` for
/// `columns[k]`; returns `(nan, invalid, implausible)` counts per column.
#[pyfunction]
#[pyo3(signature = (columns, domains, *, threads = None))]
pub fn scan_domains<'py>(
    py: Python<'py>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    domains: Vec<(f64, f64, bool, bool, f64)>,
    threads: Option<usize>,
) -> PyResult<Vec<(u64, u64, u64)>> {
    if columns.len() != domains.len() {
        return Err(argument_error("columns and domains differ in length"));
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
    run(py, threads, None, |_| {
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

fn method(py: Python<'_>, name: &str) -> PyResult<QuantileMethod> {
    QuantileMethod::from_name(name).map_err(|e| core_error(py, e))
}

/// The `qs`-quantiles of `values` (see `fleetcarbon.quantiles`).
#[pyfunction]
#[pyo3(signature = (values, qs, *, method = "linear"))]
pub fn quantiles<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
    qs: Vec<f64>,
    method: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let m = method_checked(py, method, &qs)?;
    let values = as_slice("values", &values)?;
    let out = py.detach(|| core_quantiles(values, &qs, m));
    Ok(PyArray1::from_vec(py, out))
}

fn method_checked(py: Python<'_>, name: &str, qs: &[f64]) -> PyResult<QuantileMethod> {
    fleetcarbon_core::quantiles::check_levels(qs).map_err(|e| core_error(py, e))?;
    method(py, name)
}

type Array<'py> = Bound<'py, PyArray1<f64>>;

/// Statistics of each row of `draws` (rows × n, flattened): `(mean, std,
/// quantiles, quantile standard errors)`, the last two rows × len(qs), flattened.
#[pyfunction]
#[pyo3(signature = (draws, n, qs, *, method = "linear"))]
pub fn summarize_draws<'py>(
    py: Python<'py>,
    draws: PyReadonlyArray1<'py, f64>,
    n: usize,
    qs: Vec<f64>,
    method: &str,
) -> PyResult<(Array<'py>, Array<'py>, Array<'py>, Array<'py>)> {
    let m = method_checked(py, method, &qs)?;
    let values = as_slice("draws", &draws)?;
    let s = run(py, None, None, |_| summarize_rows(values, n, &qs, m))?;
    Ok((
        PyArray1::from_vec(py, s.mean),
        PyArray1::from_vec(py, s.std),
        PyArray1::from_vec(py, s.quantiles),
        PyArray1::from_vec(py, s.quantile_se),
    ))
}

/// Separates integer ids from strings whose FNV hash happens to equal the integer.
const INT_KEY_SALT: u64 = 0x1D5E_ED00_0000_0001;

/// Stable 64-bit keys of record ids: integers are mixed, strings hashed (FNV-1a of UTF-8).
#[pyfunction]
pub fn record_keys(py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<Py<PyArray1<u64>>> {
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
