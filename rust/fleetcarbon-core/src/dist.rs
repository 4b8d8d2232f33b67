//! Probability distributions of uncertain factors, sampled from keyed uniforms.

use crate::error::{CoreError, CoreResult};
use crate::rng::{DrawRng, UNIFORM_MAX, UNIFORM_MIN};
use crate::special::{beta_quantile, normal_cdf, normal_mass, normal_pdf, normal_quantile};

/// PERT's weight of the mode (the classic λ = 4).
pub const PERT_LAMBDA: f64 = 4.0;

/// A distribution. Build it with [`Dist::from_code`], which validates parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Always `value`.
    Fixed(f64),
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Triangular on `[low, high]` with mode `mode`.
    Triangular {
        /// Lower bound.
        low: f64,
        /// Mode.
        mode: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal (may be negative: use it for quantities that can be).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Normal truncated to `[low, high]`, sampled by inverse CDF.
    TruncatedNormal {
        /// Mean of the parent normal.
        mean: f64,
        /// Standard deviation of the parent normal.
        sd: f64,
        /// Lower truncation point.
        low: f64,
        /// Upper truncation point.
        high: f64,
    },
    /// Lognormal: `exp(N(mu, sigma))`, i.e. median `exp(mu)`, geometric sd `exp(sigma)`.
    LogNormal {
        /// Mean of the log.
        mu: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
    /// PERT on `[low, high]` with mode `mode`: `low + (high − low) × Beta(α, β)`,
    /// `α = 1 + λ (mode − low)/(high − low)`, `β = 1 + λ (high − mode)/(high − low)`.
    Pert {
        /// Lower bound.
        low: f64,
        /// Mode.
        mode: f64,
        /// Upper bound.
        high: f64,
        /// Beta shape α.
        alpha: f64,
        /// Beta shape β.
        beta: f64,
    },
    /// Resampling of `len` empirical values stored from `offset` in the pool.
    Empirical {
        /// First value in the pool.
        offset: usize,
        /// Number of values.
        len: usize,
    },
}

/// Codes of the distribution families across the Python boundary.
pub mod code {
    /// [`super::Dist::Fixed`]`(p0)`.
    pub const FIXED: u8 = 0;
    /// [`super::Dist::Uniform`]`(p0, p1)`.
    pub const UNIFORM: u8 = 1;
    /// [`super::Dist::Triangular`]`(low p0, mode p1, high p2)`.
    pub const TRIANGULAR: u8 = 2;
    /// [`super::Dist::Normal`]`(mean p0, sd p1)`.
    pub const NORMAL: u8 = 3;
    /// [`super::Dist::TruncatedNormal`]`(mean p0, sd p1, low p2, high p3)`.
    pub const TRUNCATED_NORMAL: u8 = 4;
    /// [`super::Dist::LogNormal`]`(mu p0, sigma p1)`.
    pub const LOGNORMAL: u8 = 5;
    /// [`super::Dist::Pert`]`(low p0, mode p1, high p2)`.
    pub const PERT: u8 = 6;
    /// [`super::Dist::Empirical`]`(offset p0, len p1)` into the pool, whose slice
    /// must be sorted ascending for [`super::Dist::quantile`] to be the inverse CDF.
    pub const EMPIRICAL: u8 = 7;
}

fn bad(msg: String) -> CoreError {
    CoreError::Distribution(msg)
}

/// The family's name, as the Python classes spell it.
pub fn family_name(family: u8) -> &'static str {
    match family {
        code::FIXED => "Fixed",
        code::UNIFORM => "Uniform",
        code::TRIANGULAR => "Triangular",
        code::NORMAL => "Normal",
        code::TRUNCATED_NORMAL => "TruncatedNormal",
        code::LOGNORMAL => "LogNormal",
        code::PERT => "Pert",
        code::EMPIRICAL => "Empirical",
        _ => "unknown",
    }
}

/// Every family: `(code, name)`.
pub const FAMILIES: [(u8, &str); 8] = [
    (code::FIXED, "Fixed"),
    (code::UNIFORM, "Uniform"),
    (code::TRIANGULAR, "Triangular"),
    (code::NORMAL, "Normal"),
    (code::TRUNCATED_NORMAL, "TruncatedNormal"),
    (code::LOGNORMAL, "LogNormal"),
    (code::PERT, "Pert"),
    (code::EMPIRICAL, "Empirical"),
];

impl Dist {
    /// Build a distribution from its family code and parameters, checking them.
    /// The error says what the family needs.
    pub fn from_code(family: u8, p: [f64; 4], pool_len: usize) -> CoreResult<Dist> {
        let name = family_name(family);
        let need = |what: &str| Err(bad(format!("{name} needs {what}, got {p:?}")));
        // Unused parameters are passed as 0, so a NaN is always a mistake; only
        // a truncated normal's bounds may be infinite.
        if p.iter().any(|x| x.is_nan())
            || (family != code::TRUNCATED_NORMAL && p.iter().any(|x| x.is_infinite()))
            || (family == code::TRUNCATED_NORMAL && !(p[0].is_finite() && p[1].is_finite()))
        {
            return need("finite parameters");
        }
        let ordered = |low: f64, mid: f64, high: f64| low <= mid && mid <= high;
        let dist = match family {
            code::FIXED => Dist::Fixed(p[0]),
            code::UNIFORM if p[0] <= p[1] => Dist::Uniform {
                low: p[0],
                high: p[1],
            },
            code::UNIFORM => return need("low <= high"),
            code::TRIANGULAR if ordered(p[0], p[1], p[2]) => Dist::Triangular {
                low: p[0],
                mode: p[1],
                high: p[2],
            },
            code::TRIANGULAR | code::PERT if !ordered(p[0], p[1], p[2]) => {
                return need("low <= mode <= high")
            }
            code::NORMAL if p[1] >= 0.0 => Dist::Normal {
                mean: p[0],
                sd: p[1],
            },
            code::NORMAL => return need("sd >= 0"),
            code::TRUNCATED_NORMAL if !(p[1] > 0.0 && p[2] < p[3]) => {
                return need("sd > 0 and low < high")
            }
            code::TRUNCATED_NORMAL => {
                if normal_mass((p[2] - p[0]) / p[1], (p[3] - p[0]) / p[1]) <= 0.0 {
                    return Err(bad(format!(
                        "{name} {p:?} keeps no probability mass a float can hold (its bounds \
                         lie about 38 or more standard deviations from the mean)"
                    )));
                }
                Dist::TruncatedNormal {
                    mean: p[0],
                    sd: p[1],
                    low: p[2],
                    high: p[3],
                }
            }
            code::LOGNORMAL if p[1] >= 0.0 => Dist::LogNormal {
                mu: p[0],
                sigma: p[1],
            },
            code::LOGNORMAL => return need("a log-scale sigma >= 0"),
            code::PERT => {
                let range = p[2] - p[0];
                if range == 0.0 {
                    Dist::Fixed(p[1])
                } else {
                    Dist::Pert {
                        low: p[0],
                        mode: p[1],
                        high: p[2],
                        alpha: 1.0 + PERT_LAMBDA * (p[1] - p[0]) / range,
                        beta: 1.0 + PERT_LAMBDA * (p[2] - p[1]) / range,
                    }
                }
            }
            code::EMPIRICAL => {
                let (offset, len) = (p[0] as usize, p[1] as usize);
                let whole = |x: f64| x >= 0.0 && x.fract() == 0.0;
                let fits = offset.checked_add(len).is_some_and(|end| end <= pool_len);
                if !(whole(p[0]) && whole(p[1])) || len == 0 || !fits {
                    return Err(bad(format!(
                        "Empirical samples {p:?} outside a pool of {pool_len} values"
                    )));
                }
                Dist::Empirical { offset, len }
            }
            _ => return Err(bad(format!("unknown distribution family {family}"))),
        };
        Ok(dist)
    }

    /// The expected value.
    pub fn mean(&self, pool: &[f64]) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Triangular { low, mode, high } => (low + mode + high) / 3.0,
            Dist::Normal { mean, .. } => mean,
            Dist::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            } => {
                let (a, b) = ((low - mean) / sd, (high - mean) / sd);
                mean + sd * (normal_pdf(a) - normal_pdf(b)) / normal_mass(a, b)
            }
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
            Dist::Pert {
                low, mode, high, ..
            } => (low + PERT_LAMBDA * mode + high) / (PERT_LAMBDA + 2.0),
            Dist::Empirical { offset, len } => {
                let mut sum = crate::summation::NeumaierSum::default();
                pool[offset..offset + len].iter().for_each(|&x| sum.add(x));
                sum.value() / len as f64
            }
        }
    }

    /// The smallest and largest values the distribution can take.
    pub fn support(&self, pool: &[f64]) -> (f64, f64) {
        match *self {
            Dist::Fixed(v) => (v, v),
            Dist::Uniform { low, high }
            | Dist::Triangular { low, high, .. }
            | Dist::TruncatedNormal { low, high, .. }
            | Dist::Pert { low, high, .. } => (low, high),
            Dist::Normal { mean, sd: 0.0 } => (mean, mean),
            Dist::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Dist::LogNormal { mu, sigma: 0.0 } => {
                let v = libm::exp(mu);
                (v, v)
            }
            Dist::LogNormal { .. } => (0.0, f64::INFINITY),
            Dist::Empirical { offset, len } => pool[offset..offset + len]
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                }),
        }
    }

    /// The range the sampler can reach: the support, except that a normal's
    /// uniforms stay inside `[UNIFORM_MIN, UNIFORM_MAX]`, so its draws stay
    /// within about ±8.2 standard deviations (and a lognormal's above 0).
    pub fn drawn_range(&self, pool: &[f64]) -> (f64, f64) {
        match *self {
            Dist::Normal { mean, sd } => (
                mean + sd * normal_quantile(UNIFORM_MIN),
                mean + sd * normal_quantile(UNIFORM_MAX),
            ),
            Dist::LogNormal { mu, sigma } => (
                libm::exp(mu + sigma * normal_quantile(UNIFORM_MIN)),
                libm::exp(mu + sigma * normal_quantile(UNIFORM_MAX)),
            ),
            _ => self.support(pool),
        }
    }

    /// One sample, using as many uniforms from `rng` as the family needs.
    #[inline]
    pub fn sample(&self, rng: &mut DrawRng, pool: &[f64]) -> f64 {
        match *self {
            Dist::Pert {
                low,
                high,
                alpha,
                beta,
                ..
            } => {
                let x = gamma(alpha, rng);
                let y = gamma(beta, rng);
                low + (high - low) * (x / (x + y))
            }
            _ => self.quantile(rng.uniform(), pool),
        }
    }

    /// The value at probability `u` in (0, 1): the inverse CDF. For every family
    /// but PERT this is what [`Dist::sample`] does with its one uniform; PERT
    /// (sampled there from two Gammas) inverts its Beta CDF numerically. Used
    /// where the uniforms come from a copula.
    #[inline]
    pub fn quantile(&self, u: f64, pool: &[f64]) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { low, high } => low + (high - low) * u,
            Dist::Triangular { low, mode, high } => triangular(low, mode, high, u),
            Dist::Normal { mean, sd } => mean + sd * normal_quantile(u),
            Dist::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            } => {
                let (z_low, z_high) = ((low - mean) / sd, (high - mean) / sd);
                if z_low > 0.0 {
                    // Above the mean Φ rounds towards 1 and loses the tail: invert
                    // the mirror image in the lower tail, still increasing in u.
                    let (a, b) = (normal_cdf(-z_high), normal_cdf(-z_low));
                    let p = b - (b - a) * u;
                    (mean - sd * normal_quantile(p)).clamp(low, high)
                } else {
                    let (a, b) = (normal_cdf(z_low), normal_cdf(z_high));
                    (mean + sd * normal_quantile(a + (b - a) * u)).clamp(low, high)
                }
            }
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * normal_quantile(u)),
            Dist::Pert {
                low,
                high,
                alpha,
                beta,
                ..
            } => low + (high - low) * beta_quantile(alpha, beta, u),
            Dist::Empirical { offset, len } => {
                let k = ((u * len as f64) as usize).min(len - 1);
                pool[offset + k]
            }
        }
    }
}

/// Inverse CDF of the triangular distribution, with its constants computed once.
#[derive(Debug, Clone, Copy)]
pub struct TriangularSampler {
    low: f64,
    high: f64,
    split: f64,
    left: f64,
    right: f64,
}

impl TriangularSampler {
    /// The sampler of Triangular(low, mode, high).
    #[inline]
    pub fn new(low: f64, mode: f64, high: f64) -> Self {
        let range = high - low;
        TriangularSampler {
            low,
            high,
            split: if range == 0.0 {
                0.0
            } else {
                (mode - low) / range
            },
            left: range * (mode - low),
            right: range * (high - mode),
        }
    }

    /// The value at probability `u`. Written with selects and one square root,
    /// not a branch that mispredicts half the time, so loops over it vectorize.
    #[inline(always)]
    pub fn at(&self, u: f64) -> f64 {
        // Arms blended by a 0/1 weight (exact, as every term is finite) so that
        // loops over this vectorize: low + sqrt(u·left) or high - sqrt((1-u)·right).
        let w = f64::from(u8::from(u < self.split));
        let root = (w * (u * self.left) + (1.0 - w) * ((1.0 - u) * self.right)).sqrt();
        w * self.low + (1.0 - w) * self.high + (2.0 * w - 1.0) * root
    }
}

/// Inverse CDF of the triangular distribution.
#[inline]
pub fn triangular(low: f64, mode: f64, high: f64, u: f64) -> f64 {
    TriangularSampler::new(low, mode, high).at(u)
}

/// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via the `U^(1/shape)` boost.
fn gamma(shape: f64, rng: &mut DrawRng) -> f64 {
    if shape < 1.0 {
        let boost = libm::pow(rng.uniform(), 1.0 / shape);
        return gamma(shape + 1.0, rng) * boost;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal_quantile(rng.uniform());
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.uniform();
        if libm::log(u) < 0.5 * x * x + d - d * v + d * libm::log(v) {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn moments(dist: &Dist, n: u64) -> (f64, f64) {
        let s = stream(9, 1);
        let xs: Vec<f64> = (0..n)
            .map(|d| dist.sample(&mut DrawRng::new(s, d), &[]))
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn empirical_slices_must_lie_in_the_pool() {
        assert!(Dist::from_code(code::EMPIRICAL, [1.0, 2.0, 0.0, 0.0], 3).is_ok());
        for p in [
            [-1.0, 2.0],
            [2.0, 2.0],
            [0.5, 1.0],
            [0.0, 0.0],
            [1e300, 1e300],
        ] {
            assert!(
                Dist::from_code(code::EMPIRICAL, [p[0], p[1], 0.0, 0.0], 3).is_err(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn truncated_normal_far_tails_stay_finite_and_ordered() -> CoreResult<()> {
        for far in [
            [40.0, f64::INFINITY],
            [f64::NEG_INFINITY, -40.0],
            [40.0, 41.0],
        ] {
            let p = [0.0, 1.0, far[0], far[1]];
            assert!(
                Dist::from_code(code::TRUNCATED_NORMAL, p, 0).is_err(),
                "{far:?}"
            );
        }
        for k in [0.5, 7.0, 8.0, 12.0, 30.0] {
            for (low, high) in [(k, f64::INFINITY), (f64::NEG_INFINITY, -k)] {
                let dist = Dist::from_code(code::TRUNCATED_NORMAL, [0.0, 1.0, low, high], 0)?;
                let xs: Vec<f64> = (1..1000)
                    .map(|i| dist.quantile(f64::from(i) / 1000.0, &[]))
                    .collect();
                assert!(
                    xs.iter().all(|x| x.is_finite() && (low..=high).contains(x)),
                    "{k}"
                );
                assert!(xs.windows(2).all(|w| w[0] <= w[1]), "not increasing at {k}");
                // Far out, the conditional mean is about k + 1/k (Mills ratio).
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                let expected = k + 1.0 / k;
                if k >= 7.0 {
                    assert!(
                        (mean.abs() - expected).abs() < 0.02 * expected,
                        "{k}: {mean}"
                    );
                }
                assert!(
                    xs.windows(2).filter(|w| w[0] < w[1]).count() > 900,
                    "{k}: ties"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn pert_quantiles_match_pert_sampling() -> CoreResult<()> {
        let pert = Dist::from_code(code::PERT, [1.0, 2.0, 6.0, 0.0], 0)?;
        let n = 200_000;
        let s = stream(4, 4);
        let mut sampled: Vec<f64> = (0..n)
            .map(|d| pert.sample(&mut DrawRng::new(s, d), &[]))
            .collect();
        let mut inverted: Vec<f64> = (0..n)
            .map(|d| pert.quantile(DrawRng::new(s, d).uniform(), &[]))
            .collect();
        sampled.sort_by(f64::total_cmp);
        inverted.sort_by(f64::total_cmp);
        // Same distribution: means near (1 + 4*2 + 6)/6 = 2.5, and a two-sample KS
        // distance below its alpha = 0.001 critical value.
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(&sampled) - 2.5).abs() < 0.01 && (mean(&inverted) - 2.5).abs() < 0.01);
        let (mut i, mut j, mut ks) = (0, 0, 0.0_f64);
        while i < sampled.len() && j < inverted.len() {
            if sampled[i] <= inverted[j] {
                i += 1;
            } else {
                j += 1;
            }
            ks = ks.max((i as f64 - j as f64).abs() / n as f64);
        }
        assert!(ks < 1.949 * (2.0 / n as f64).sqrt(), "KS {ks}");
        Ok(())
    }

    #[test]
    fn sample_moments_match_closed_forms() -> CoreResult<()> {
        let n = 400_000;
        let cases = [
            (
                code::UNIFORM,
                [2.0, 4.0, 0.0, 0.0],
                3.0,
                (4.0f64 - 2.0) / 12f64.sqrt(),
            ),
            (
                code::TRIANGULAR,
                [0.0, 1.0, 4.0, 0.0],
                5.0 / 3.0,
                (13.0f64 / 18.0).sqrt(),
            ),
            (code::NORMAL, [10.0, 2.0, 0.0, 0.0], 10.0, 2.0),
            (
                code::LOGNORMAL,
                [0.0, 0.5, 0.0, 0.0],
                (0.125f64).exp(),
                ((0.25f64.exp() - 1.0) * 0.25f64.exp()).sqrt(),
            ),
            // PERT(0, 1, 4): alpha = 2, beta = 4, mean = (0 + 4 + 4)/6, var = 16 * ab/((a+b)^2 (a+b+1)).
            (
                code::PERT,
                [0.0, 1.0, 4.0, 0.0],
                8.0 / 6.0,
                (16.0f64 * 8.0 / (36.0 * 7.0)).sqrt(),
            ),
        ];
        for (family, p, mean, sd) in cases {
            let d = Dist::from_code(family, p, 0)?;
            let (m, s) = moments(&d, n);
            let se = sd / (n as f64).sqrt();
            assert!((m - mean).abs() < 5.0 * se, "{d:?}: mean {m} vs {mean}");
            assert!((s - sd).abs() < 0.01 * sd, "{d:?}: sd {s} vs {sd}");
        }
        Ok(())
    }

    #[test]
    fn truncated_normal_stays_inside_and_has_the_right_mean() -> CoreResult<()> {
        let d = Dist::from_code(code::TRUNCATED_NORMAL, [0.0, 1.0, 0.0, f64::INFINITY], 0)?;
        let s = stream(3, 3);
        let xs: Vec<f64> = (0..200_000)
            .map(|k| d.sample(&mut DrawRng::new(s, k), &[]))
            .collect();
        assert!(xs.iter().all(|&x| x >= 0.0));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - (2.0 / std::f64::consts::PI).sqrt()).abs() < 0.005);
        Ok(())
    }

    #[test]
    fn bad_parameters_are_errors_and_pert_of_a_point_is_fixed() {
        assert!(Dist::from_code(code::TRIANGULAR, [2.0, 1.0, 3.0, 0.0], 0).is_err());
        assert!(Dist::from_code(code::NORMAL, [0.0, -1.0, 0.0, 0.0], 0).is_err());
        assert!(Dist::from_code(code::UNIFORM, [f64::NAN, 1.0, 0.0, 0.0], 0).is_err());
        assert!(Dist::from_code(code::EMPIRICAL, [0.0, 5.0, 0.0, 0.0], 3).is_err());
        assert!(Dist::from_code(99, [0.0; 4], 0).is_err());
        assert_eq!(
            Dist::from_code(code::PERT, [2.0, 2.0, 2.0, 0.0], 0),
            Ok(Dist::Fixed(2.0))
        );
    }

    #[test]
    fn empirical_resamples_the_pool() -> CoreResult<()> {
        let pool = [5.0, 1.0, 2.0, 3.0, 9.0];
        let d = Dist::from_code(code::EMPIRICAL, [1.0, 3.0, 0.0, 0.0], pool.len())?;
        let s = stream(1, 1);
        let mut seen = [false; 3];
        for k in 0..1000 {
            let x = d.sample(&mut DrawRng::new(s, k), &pool);
            seen[(x - 1.0) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
        Ok(())
    }
}
