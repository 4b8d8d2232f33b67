//! `Uncertainty`: the distributions of every factor row, the copula and the
//! per-job noise of one simulation, built once and reused by its batches;
//! and the distribution helpers the Python classes call.

use fleetcarbon_core::copula::Copula;
use fleetcarbon_core::dist::Dist;
use fleetcarbon_core::simulate::{JobNoise, Mixture, RowDists};
use fleetcarbon_core::special::normal_quantile;
use fleetcarbon_core::{Factor, Table, N_FACTORS};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{as_slice, factor};
use crate::errors::{argument_error, core_error};

/// A distribution across the boundary: `(family code, [p0, p1, p2, p3])`.
pub type DistSpec = (u8, [f64; 4]);

/// Per-job `(low, high)` arrays of one factor.
type Bounds = (Py<PyArray1<f64>>, Py<PyArray1<f64>>);

/// A mixed row across the boundary: `(table name, row, part rows, weights)`.
type MixtureSpec = (String, u32, Vec<u32>, Vec<f64>);

/// Distributions of the factor rows, their stream keys, the copula and the
/// per-job noise.
#[pyclass(frozen, module = "fleetcarbon._core")]
pub struct Uncertainty {
    pub rows: RowDists,
    pub pool: Vec<f64>,
    noise: [Option<Dist>; 3],
    /// Which noise kinds draw from their second stream (see `JobNoise::resample`).
    pub resample_noise: [bool; 3],
    override_bounds: Vec<(Factor, Bounds)>,
}

/// Borrows of the per-job override bounds for one call.
pub struct BoundsBorrows<'py> {
    arrays: Vec<(
        Factor,
        PyReadonlyArray1<'py, f64>,
        PyReadonlyArray1<'py, f64>,
    )>,
}

#[pymethods]
impl Uncertainty {
    #[new]
    #[pyo3(signature = (
        *, families, params, keys, pool = None, copula = None, power_fraction_noise = None,
        energy_noise = None, power_noise = None, override_bounds = None, mixtures = None,
        resample_noise = (false, false, false)
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        families: &Bound<'_, PyDict>,
        params: &Bound<'_, PyDict>,
        keys: &Bound<'_, PyDict>,
        pool: Option<Vec<f64>>,
        copula: Option<(Vec<String>, Vec<f64>)>,
        power_fraction_noise: Option<DistSpec>,
        energy_noise: Option<DistSpec>,
        power_noise: Option<DistSpec>,
        override_bounds: Option<&Bound<'_, PyDict>>,
        mixtures: Option<Vec<MixtureSpec>>,
        resample_noise: (bool, bool, bool),
    ) -> PyResult<Self> {
        let pool = pool.unwrap_or_default();
        let pool_len = pool.len();
        let dist = |spec: DistSpec| Dist::from_code(spec.0, spec.1, pool_len);
        let mut rows = RowDists::default();
        for (key, codes) in families.iter() {
            let name: String = key.extract()?;
            let f = factor(&name, "families")?;
            let codes: PyReadonlyArray1<'_, u8> = codes.extract()?;
            let lacks = |what: &str| argument_error(format!("{what} lacks '{name}'"));
            let p: PyReadonlyArray1<'_, f64> = params
                .get_item(&name)?
                .ok_or_else(|| lacks("params"))?
                .extract()?;
            let k: PyReadonlyArray1<'_, u64> = keys
                .get_item(&name)?
                .ok_or_else(|| lacks("keys"))?
                .extract()?;
            let (codes, p) = (as_slice("families", &codes)?, as_slice("params", &p)?);
            if p.len() != 4 * codes.len() {
                return Err(argument_error(format!(
                    "params of '{name}' needs 4 values per row"
                )));
            }
            rows.dists[f as usize] = codes
                .iter()
                .zip(p.chunks_exact(4))
                .map(|(&c, p)| dist((c, [p[0], p[1], p[2], p[3]])))
                .collect::<Result<_, _>>()
                .map_err(|e| core_error(py, e))?;
            rows.keys[f as usize] = as_slice("keys", &k)?.to_vec();
        }
        if let Some((names, rank)) = copula {
            let factors = names
                .iter()
                .map(|n| factor(n, "copula"))
                .collect::<PyResult<_>>()?;
            let c = Copula { factors, rank };
            c.check().map_err(|e| core_error(py, e))?;
            rows.copula = Some(c);
        }
        for (table, row, parts, weights) in mixtures.unwrap_or_default() {
            let table = Table::from_name(&table)
                .ok_or_else(|| argument_error(format!("unknown table '{table}' in mixtures")))?;
            if parts.len() != weights.len() {
                return Err(argument_error("mixtures: one weight per part"));
            }
            rows.mixtures.push(Mixture {
                table,
                row,
                parts: parts.into_iter().zip(weights).collect(),
            });
        }
        let noise =
            |spec: Option<DistSpec>| spec.map(dist).transpose().map_err(|e| core_error(py, e));
        let override_bounds = match override_bounds {
            None => Vec::new(),
            Some(d) => d
                .iter()
                .map(|(key, value)| {
                    let name: String = key.extract()?;
                    Ok((factor(&name, "override_bounds")?, value.extract()?))
                })
                .collect::<PyResult<_>>()?,
        };
        let noise = [
            noise(power_fraction_noise)?,
            noise(energy_noise)?,
            noise(power_noise)?,
        ];
        Ok(Uncertainty {
            rows,
            pool,
            noise,
            resample_noise: [resample_noise.0, resample_noise.1, resample_noise.2],
            override_bounds,
        })
    }
}

impl Uncertainty {
    /// Borrow the per-job bounds for one call.
    pub fn borrow_bounds<'py>(&self, py: Python<'py>) -> BoundsBorrows<'py> {
        BoundsBorrows {
            arrays: self
                .override_bounds
                .iter()
                .map(|(f, (lo, hi))| (*f, lo.bind(py).readonly(), hi.bind(py).readonly()))
                .collect(),
        }
    }

    /// The core's per-job noise, over borrowed bounds.
    pub fn noise<'a>(&self, bounds: &'a BoundsBorrows<'_>) -> PyResult<JobNoise<'a>> {
        let mut override_bounds: [Option<(&[f64], &[f64])>; N_FACTORS] = [None; N_FACTORS];
        for (f, lo, hi) in &bounds.arrays {
            override_bounds[*f as usize] = Some((as_slice("low", lo)?, as_slice("high", hi)?));
        }
        Ok(JobNoise {
            power_fraction: self.noise[0],
            energy_relative: self.noise[1],
            power_relative: self.noise[2],
            override_bounds,
            resample: self.resample_noise,
        })
    }
}

/// `(mean, support low, support high, drawn low, drawn high)` of a distribution,
/// after checking its parameters (a `DistributionError` says what is wrong).
#[pyfunction]
#[pyo3(signature = (family, params, samples = None))]
pub fn describe_distribution(
    py: Python<'_>,
    family: u8,
    params: [f64; 4],
    samples: Option<Vec<f64>>,
) -> PyResult<(f64, f64, f64, f64, f64)> {
    let pool = samples.unwrap_or_default();
    let dist = Dist::from_code(family, params, pool.len()).map_err(|e| core_error(py, e))?;
    let (lo, hi) = dist.support(&pool);
    let (dlo, dhi) = dist.drawn_range(&pool);
    Ok((dist.mean(&pool), lo, hi, dlo, dhi))
}

/// The distribution's quantiles at `qs` (each in (0, 1)): its inverse CDF.
#[pyfunction]
#[pyo3(signature = (family, params, qs, samples = None))]
pub fn distribution_quantiles(
    py: Python<'_>,
    family: u8,
    params: [f64; 4],
    qs: Vec<f64>,
    samples: Option<Vec<f64>>,
) -> PyResult<Vec<f64>> {
    let pool = samples.unwrap_or_default();
    let dist = Dist::from_code(family, params, pool.len()).map_err(|e| core_error(py, e))?;
    if let Some(q) = qs.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
        return Err(argument_error(format!(
            "quantiles must lie in (0, 1), got {q}"
        )));
    }
    Ok(qs.iter().map(|&q| dist.quantile(q, &pool)).collect())
}

/// The standard normal quantile at `p` in (0, 1), as the samplers compute it (AS241).
#[pyfunction(name = "normal_quantile")]
pub fn normal_quantile_py(p: f64) -> PyResult<f64> {
    if !(p > 0.0 && p < 1.0) {
        return Err(argument_error(format!("p must lie in (0, 1), got {p}")));
    }
    Ok(normal_quantile(p))
}
