//! A Gaussian copula that correlates whole factors (docs/uncertainty.md §2).
//!
//! Each correlated factor `f` has a latent standard normal `G_f` per draw; the
//! latents are correlated through the lower Cholesky factor `L` of their
//! correlation matrix, `G = L η`, with `η_f` drawn from the stream of
//! `(seed, "copula:" + factor name)`. Row `r` of factor `f` then has the latent
//! `Z_r = √w_f · G_f + √(1 − w_f) · ε_r`, with `ε_r` from the row's own stream,
//! so two rows of `f` correlate `w_f` and rows of `f` and `h` correlate
//! `√(w_f w_h) · (L Lᵀ)_fh` on the normal scale. The row's value is its
//! distribution's inverse CDF at `Φ(Z_r)`: marginals are unchanged. Everything
//! is keyed by seed, factor, row and draw, never by the jobs, so shards of a
//! fleet still add up to the whole.

use crate::dist::{normal_cdf, normal_quantile, Dist};
use crate::error::{CoreError, CoreResult};
use crate::factors::Factor;
use crate::rng::{first_uniform, fnv1a, stream};

/// The smallest and largest uniform handed to an inverse CDF: `Φ` of a latent
/// beyond ±8.3 rounds to 0 or 1, where some quantiles are infinite.
const U_MIN: f64 = 1.0 / (1u64 << 54) as f64;

/// Correlated factors: `within[k]` is the normal-scale correlation of two rows
/// of `factors[k]`, `cholesky` the row-major lower factor of the factors'
/// latent correlation matrix (`factors.len()²` values).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Copula {
    /// The correlated factors, each once.
    pub factors: Vec<Factor>,
    /// Within-factor correlation of each, in [0, 1].
    pub within: Vec<f64>,
    /// Lower Cholesky factor of the factors' latent correlation matrix.
    pub cholesky: Vec<f64>,
}

impl Copula {
    /// Check the shapes and ranges (the Python layer validates first; this keeps
    /// the kernel from panicking on anything else).
    pub fn check(&self) -> CoreResult<()> {
        let k = self.factors.len();
        let bad = |msg: String| Err(CoreError::InvalidArgument(msg));
        if self.within.len() != k || self.cholesky.len() != k * k {
            return bad(format!(
                "copula of {k} factors needs {k} within-factor values and {} Cholesky values",
                k * k
            ));
        }
        for (i, f) in self.factors.iter().enumerate() {
            if self.factors[..i].contains(f) {
                return bad(format!("factor {} appears twice in the copula", f.name()));
            }
        }
        if let Some(w) = self.within.iter().find(|w| !(0.0..=1.0).contains(*w)) {
            return bad(format!("within-factor correlation {w} outside [0, 1]"));
        }
        for i in 0..k {
            let row = &self.cholesky[i * k..(i + 1) * k];
            if row.iter().any(|x| !x.is_finite())
                || row[i] <= 0.0
                || row[i + 1..].iter().any(|&x| x != 0.0)
            {
                return bad(format!(
                    "copula row {i} is not a lower Cholesky row: {row:?}"
                ));
            }
            let norm: f64 = row.iter().map(|x| x * x).sum();
            if (norm - 1.0).abs() > 1e-9 {
                return bad(format!("copula row {i} does not have unit norm ({norm})"));
            }
        }
        Ok(())
    }

    /// The factor latents `G_f` of every draw (given the mixed draw numbers).
    pub fn latents(&self, seed: u64, mixed_draws: &[u64]) -> Latents {
        let k = self.factors.len();
        let eta: Vec<Vec<f64>> = self
            .factors
            .iter()
            .map(|f| {
                let s = stream(seed, factor_key(*f));
                mixed_draws
                    .iter()
                    .map(|&m| normal_quantile(first_uniform(s, m)))
                    .collect()
            })
            .collect();
        let draws = mixed_draws.len();
        let by_factor = (0..k)
            .map(|i| {
                let row = &self.cholesky[i * k..(i + 1) * k];
                (0..draws)
                    .map(|d| (0..=i).map(|j| row[j] * eta[j][d]).sum())
                    .collect()
            })
            .collect();
        Latents {
            copula: self.clone(),
            by_factor,
        }
    }
}

/// The stream key of factor `f`'s latent.
fn factor_key(f: Factor) -> u64 {
    fnv1a(format!("copula:{}", f.name()).as_bytes())
}

/// Factor latents of one run.
#[derive(Debug, Clone)]
pub struct Latents {
    copula: Copula,
    by_factor: Vec<Vec<f64>>,
}

impl Latents {
    /// Draws of one row of factor `f` with distribution `dist` whose own stream
    /// is `row_stream`, or `None` when `f` is not correlated.
    pub fn row_values(
        &self,
        f: Factor,
        dist: &Dist,
        row_stream: u64,
        mixed_draws: &[u64],
        pool: &[f64],
    ) -> Option<Vec<f64>> {
        let k = self.copula.factors.iter().position(|&g| g == f)?;
        let w = self.copula.within[k];
        let (shared, own) = (w.sqrt(), (1.0 - w).sqrt());
        let values = self.by_factor[k]
            .iter()
            .zip(mixed_draws)
            .map(|(&g, &m)| {
                let z = shared * g + own * normal_quantile(first_uniform(row_stream, m));
                dist.quantile(normal_cdf(z).clamp(U_MIN, 1.0 - U_MIN), pool)
            })
            .collect();
        Some(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::code;
    use crate::rng::mixed_draw;

    fn spearman(a: &[f64], b: &[f64]) -> f64 {
        let ranks = |v: &[f64]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
            let mut r = vec![0.0; v.len()];
            for (rank, i) in idx.into_iter().enumerate() {
                r[i] = rank as f64;
            }
            r
        };
        let (ra, rb) = (ranks(a), ranks(b));
        let n = a.len() as f64;
        let m = (n - 1.0) / 2.0;
        let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - m) * (y - m)).sum();
        let var: f64 = ra.iter().map(|x| (x - m) * (x - m)).sum();
        cov / var
    }

    #[test]
    fn rows_correlate_as_specified_with_unchanged_marginals() -> CoreResult<()> {
        // Two factors with a 0.6 latent correlation; rows within each correlate 0.5.
        let c = 0.6_f64;
        let copula = Copula {
            factors: vec![Factor::Pue, Factor::GridKgco2ePerKwh],
            within: vec![0.5, 0.5],
            cholesky: vec![1.0, 0.0, c, (1.0 - c * c).sqrt()],
        };
        copula.check()?;
        let n = 40_000;
        let mixed: Vec<u64> = (0..n).map(mixed_draw).collect();
        let latents = copula.latents(5, &mixed);
        let pert = Dist::from_code(code::PERT, [1.1, 1.3, 2.0, 0.0], 0)?;
        let values = |f: Factor, row: u64| {
            latents
                .row_values(f, &pert, stream(5, row), &mixed, &[])
                .unwrap_or_default()
        };
        let (a, b, x) = (
            values(Factor::Pue, 1),
            values(Factor::Pue, 2),
            values(Factor::GridKgco2ePerKwh, 3),
        );
        // Spearman of a normal-scale correlation r is (6/π) asin(r/2).
        let expected = |r: f64| 6.0 / std::f64::consts::PI * (r / 2.0).asin();
        assert!((spearman(&a, &b) - expected(0.5)).abs() < 0.02);
        assert!((spearman(&a, &x) - expected(0.5 * c)).abs() < 0.02);
        let mean = a.iter().sum::<f64>() / n as f64;
        assert!(
            (mean - (1.1 + 4.0 * 1.3 + 2.0) / 6.0).abs() < 0.005,
            "{mean}"
        );
        assert!(latents
            .row_values(Factor::TdpW, &pert, 1, &mixed, &[])
            .is_none());
        Ok(())
    }

    #[test]
    fn malformed_copulas_are_errors() {
        let ok = Copula {
            factors: vec![Factor::Pue],
            within: vec![1.0],
            cholesky: vec![1.0],
        };
        assert!(ok.check().is_ok());
        let mut bad = ok.clone();
        bad.within = vec![1.5];
        assert!(bad.check().is_err());
        let mut bad = ok.clone();
        bad.cholesky = vec![0.5];
        assert!(bad.check().is_err());
        let mut bad = ok;
        bad.factors = vec![Factor::Pue, Factor::Pue];
        bad.within = vec![1.0, 1.0];
        bad.cholesky = vec![1.0, 0.0, 0.0, 1.0];
        assert!(bad.check().is_err());
    }
}
