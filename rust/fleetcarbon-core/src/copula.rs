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

use crate::dist::Dist;
use crate::error::{CoreError, CoreResult};
use crate::factors::Factor;
use crate::rng::{first_uniform, fnv1a, stream, UNIFORM_MAX, UNIFORM_MIN};
use crate::special::{normal_cdf, normal_quantile};

// `Φ` of a latent beyond ±8.2 rounds to 0 or 1, where some quantiles are
// infinite: clamp to the sampler's own range of uniforms.
const U_MIN: f64 = UNIFORM_MIN;
const U_MAX: f64 = UNIFORM_MAX;

/// Correlated factors and their Spearman rank correlations, `rank[i * k + j]`
/// for `k` factors: the diagonal holds each factor's within-factor value (1 for
/// a factor of one row, NaN when not given), the rest the value between a row
/// of one factor and a row of the other (0: none). The normal-scale values, and the Cholesky factor, are
/// computed here with the `libm` crate so that they are the same bits on every
/// CPU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Copula {
    /// The correlated factors, each once.
    pub factors: Vec<Factor>,
    /// Rank correlations, row-major `k × k`, symmetric.
    pub rank: Vec<f64>,
}

/// Normal-scale correlation of a Gaussian copula with Spearman correlation `rho`.
fn pearson(rho: f64) -> f64 {
    if rho.abs() == 1.0 {
        rho
    } else {
        2.0 * libm::sin(std::f64::consts::PI * rho / 6.0)
    }
}

impl Copula {
    /// Check shapes and ranges, and that the correlations can hold together.
    pub fn check(&self) -> CoreResult<()> {
        self.factorize().map(|_| ())
    }

    /// Within-factor normal-scale correlations and the row-major lower Cholesky
    /// factor of the factors' latent correlation matrix. Errors name the
    /// factors and the limit they break.
    fn factorize(&self) -> CoreResult<(Vec<f64>, Vec<f64>)> {
        let k = self.factors.len();
        let bad = |msg: String| Err(CoreError::Correlation(msg));
        if self.rank.len() != k * k {
            return bad(format!(
                "a copula of {k} factors needs {} rank correlations, got {}",
                k * k,
                self.rank.len()
            ));
        }
        for (i, f) in self.factors.iter().enumerate() {
            if self.factors[..i].contains(f) {
                return bad(format!("{} appears twice in the correlations", f.name()));
            }
        }
        let name = |i: usize| self.factors[i].name();
        let r = |i: usize, j: usize| self.rank[i * k + j];
        let mut within = Vec::with_capacity(k);
        for i in 0..k {
            let rho = r(i, i);
            // NaN: not given (an error only for a factor that a pair names).
            if !rho.is_nan() && !(0.0..=1.0).contains(&rho) {
                return bad(format!(
                    "correlation[{:?}] = {rho}: a within-factor rank correlation must be in [0, 1]",
                    name(i)
                ));
            }
            within.push(pearson(rho));
        }
        let mut latent = vec![0.0; k * k];
        for i in 0..k {
            latent[i * k + i] = 1.0;
            for j in 0..i {
                let (a, b) = (name(j), name(i));
                let (rho, mirror) = (r(i, j), r(j, i));
                if rho != mirror {
                    return bad(format!(
                        "the rank correlation of {a} and {b} is given as {mirror} and {rho}"
                    ));
                }
                if rho == 0.0 {
                    continue;
                }
                if !(rho > -1.0 && rho < 1.0) {
                    return bad(format!(
                        "correlation[({a:?}, {b:?})] = {rho}: a rank correlation between \
                         factors must be in (-1, 1)"
                    ));
                }
                for f in [j, i] {
                    if within[f] == 0.0 {
                        return bad(format!(
                            "correlation[({a:?}, {b:?})]: the rows of {} are independent \
                             (within-factor correlation 0), so they cannot all correlate with \
                             another factor",
                            name(f)
                        ));
                    }
                }
                for f in [j, i] {
                    if within[f].is_nan() {
                        return bad(format!(
                            "correlation[({a:?}, {b:?})]: {f} has several rows; give their \
                             correlation too, e.g. correlation={{{f:?}: 0.5, ...}}",
                            f = name(f)
                        ));
                    }
                }
                let scale = (within[i] * within[j]).sqrt();
                let c = pearson(rho) / scale;
                if c.abs() >= 1.0 {
                    let limit = (6.0 / std::f64::consts::PI) * libm::asin(scale / 2.0);
                    return bad(format!(
                        "correlation[({a:?}, {b:?})] = {rho}: with the within-factor \
                         correlations given, rows of {a} and {b} can only have a rank \
                         correlation of less than {limit:.4} in magnitude"
                    ));
                }
                latent[i * k + j] = c;
                latent[j * k + i] = c;
            }
        }
        // A factor without a within-factor value correlates with nothing: its rows
        // are independent.
        for w in within.iter_mut().filter(|w| w.is_nan()) {
            *w = 0.0;
        }
        // Cholesky–Banachiewicz; a pivot near 0 means the set cannot hold.
        let mut lower = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let dot: f64 = (0..j).map(|m| lower[i * k + m] * lower[j * k + m]).sum();
                if i == j {
                    let pivot = latent[i * k + i] - dot;
                    if pivot.is_nan() || pivot <= 1e-12 {
                        let names: Vec<&str> = self.factors.iter().map(|f| f.name()).collect();
                        return bad(format!(
                            "the correlations between {names:?} contradict each other (their \
                             latent correlation matrix is not positive definite)"
                        ));
                    }
                    lower[i * k + i] = pivot.sqrt();
                } else {
                    lower[i * k + j] = (latent[i * k + j] - dot) / lower[j * k + j];
                }
            }
        }
        Ok((within, lower))
    }

    /// The factor latents `G_f` of every draw (given the mixed draw numbers).
    pub fn latents(&self, seed: u64, mixed_draws: &[u64]) -> CoreResult<Latents> {
        let (within, lower) = self.factorize()?;
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
                let row = &lower[i * k..(i + 1) * k];
                (0..draws)
                    .map(|d| (0..=i).map(|j| row[j] * eta[j][d]).sum())
                    .collect()
            })
            .collect();
        Ok(Latents {
            factors: self.factors.clone(),
            within,
            by_factor,
        })
    }
}

/// The stream key of factor `f`'s latent.
fn factor_key(f: Factor) -> u64 {
    fnv1a(format!("copula:{}", f.name()).as_bytes())
}

/// Factor latents of one run.
#[derive(Debug, Clone)]
pub struct Latents {
    factors: Vec<Factor>,
    within: Vec<f64>,
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
        let k = self.factors.iter().position(|&g| g == f)?;
        let w = self.within[k];
        let (shared, own) = (w.sqrt(), (1.0 - w).sqrt());
        let values = self.by_factor[k]
            .iter()
            .zip(mixed_draws)
            .map(|(&g, &m)| {
                let z = shared * g + own * normal_quantile(first_uniform(row_stream, m));
                dist.quantile(normal_cdf(z).clamp(U_MIN, U_MAX), pool)
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
    use crate::special::normal_cdf;

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
        // Rows within each factor: rank 0.5; between the factors: rank 0.3.
        let copula = Copula {
            factors: vec![Factor::Pue, Factor::GridKgco2ePerKwh],
            rank: vec![0.5, 0.3, 0.3, 0.5],
        };
        copula.check()?;
        let n = 40_000;
        let mixed: Vec<u64> = (0..n).map(mixed_draw).collect();
        let latents = copula.latents(5, &mixed)?;
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
        assert!((spearman(&a, &b) - 0.5).abs() < 0.02);
        assert!((spearman(&a, &x) - 0.3).abs() < 0.02);
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
    fn latent_extremes_stay_inside_the_open_interval() -> CoreResult<()> {
        let normal = Dist::from_code(code::NORMAL, [0.0, 1.0, 0.0, 0.0], 0)?;
        for z in [-40.0, -8.5, 8.5, 40.0] {
            let x = normal.quantile(normal_cdf(z).clamp(U_MIN, U_MAX), &[]);
            assert!(x.is_finite() && x.abs() < 8.3, "{z}: {x}");
        }
        Ok(())
    }

    #[test]
    fn malformed_copulas_are_errors() {
        let one = |rank: Vec<f64>, factors: Vec<Factor>| Copula { factors, rank }.check();
        assert!(one(vec![1.0], vec![Factor::Pue]).is_ok());
        assert!(one(vec![1.5], vec![Factor::Pue]).is_err());
        assert!(one(vec![1.0, 1.0], vec![Factor::Pue]).is_err());
        let two = vec![Factor::Pue, Factor::UseRate];
        assert!(one(vec![1.0, 0.3, 0.3, 1.0], two.clone()).is_ok());
        assert!(one(vec![1.0, 0.3, 0.2, 1.0], two.clone()).is_err());
        // Rows correlated 0.2 within cannot correlate 0.5 with another factor's.
        assert!(one(vec![0.2, 0.5, 0.5, 1.0], two).is_err());
        assert!(one(vec![1.0, 0.0, 0.0, 1.0], vec![Factor::Pue, Factor::Pue]).is_err());
        // Three factors pairwise -0.9 cannot hold together.
        let three = vec![Factor::Pue, Factor::UseRate, Factor::LifetimeYears];
        let r = -0.9;
        assert!(one(vec![1.0, r, r, r, 1.0, r, r, r, 1.0], three).is_err());
    }
}
