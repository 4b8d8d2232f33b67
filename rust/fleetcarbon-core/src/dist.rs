//! Probability distributions of uncertain factors, sampled from keyed uniforms.

use crate::error::{CoreError, CoreResult};
use crate::rng::DrawRng;

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
    CoreError::InvalidArgument(msg)
}

impl Dist {
    /// Build a distribution from its family code and parameters, checking them.
    pub fn from_code(family: u8, p: [f64; 4], pool_len: usize) -> CoreResult<Dist> {
        if p.iter().any(|x| x.is_infinite()) && family != code::TRUNCATED_NORMAL {
            return Err(bad(format!("infinite parameter in {p:?}")));
        }
        let ordered = |low: f64, mid: f64, high: f64| low <= mid && mid <= high;
        let dist = match family {
            code::FIXED if p[0].is_finite() => Dist::Fixed(p[0]),
            code::UNIFORM if p[0] <= p[1] => Dist::Uniform {
                low: p[0],
                high: p[1],
            },
            code::TRIANGULAR if ordered(p[0], p[1], p[2]) => Dist::Triangular {
                low: p[0],
                mode: p[1],
                high: p[2],
            },
            code::NORMAL if p[1] >= 0.0 => Dist::Normal {
                mean: p[0],
                sd: p[1],
            },
            code::TRUNCATED_NORMAL
                if p[1] > 0.0
                    && p[2] < p[3]
                    && normal_mass((p[2] - p[0]) / p[1], (p[3] - p[0]) / p[1]) > 0.0 =>
            {
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
            code::PERT if ordered(p[0], p[1], p[2]) => {
                let range = p[2] - p[0];
                if range == 0.0 {
                    Dist::Fixed(p[1])
                } else {
                    Dist::Pert {
                        low: p[0],
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
                        "empirical samples {p:?} outside a pool of {pool_len}"
                    )));
                }
                Dist::Empirical { offset, len }
            }
            _ => {
                return Err(bad(format!(
                    "invalid distribution: family {family}, parameters {p:?}"
                )))
            }
        };
        if p.iter().take(4).any(|x| x.is_nan()) && family != code::EMPIRICAL {
            // Unused parameters are passed as 0, so a NaN is always a mistake.
            return Err(bad(format!("NaN parameter in {p:?}")));
        }
        Ok(dist)
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
            } => low + (high - low) * beta_quantile(alpha, beta, u),
            Dist::Empirical { offset, len } => {
                let k = ((u * len as f64) as usize).min(len - 1);
                pool[offset + k]
            }
        }
    }
}

/// Regularized incomplete beta function `I_x(a, b)`: the CDF of Beta(a, b),
/// by its continued fraction (Numerical Recipes 3rd ed., §6.4), about 1e-15.
pub fn beta_cdf(a: f64, b: f64, x: f64) -> f64 {
    Beta::new(a, b).cdf(x)
}

/// Quantile of Beta(a, b) at `p` in (0, 1).
pub fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    Beta::new(a, b).quantile(p)
}

/// Beta(a, b) with its normalizing constant computed once.
#[derive(Debug, Clone, Copy)]
struct Beta {
    a: f64,
    b: f64,
    /// `ln Γ(a + b) − ln Γ(a) − ln Γ(b)`.
    ln_norm: f64,
}

impl Beta {
    fn new(a: f64, b: f64) -> Self {
        let ln_norm = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b);
        Beta { a, b, ln_norm }
    }

    fn cdf(&self, x: f64) -> f64 {
        let (a, b) = (self.a, self.b);
        if x <= 0.0 {
            return 0.0;
        }
        if x >= 1.0 {
            return 1.0;
        }
        let front = libm::exp(self.ln_norm + a * libm::log(x) + b * libm::log(1.0 - x));
        // The fraction converges fast below the mean-ish split; use the symmetry above it.
        if x < (a + 1.0) / (a + b + 2.0) {
            front * beta_fraction(a, b, x) / a
        } else {
            1.0 - front * beta_fraction(b, a, 1.0 - x) / b
        }
    }

    fn density(&self, x: f64) -> f64 {
        let (a, b) = (self.a, self.b);
        libm::exp(self.ln_norm + (a - 1.0) * libm::log(x) + (b - 1.0) * libm::log(1.0 - x))
    }

    /// Newton steps on the CDF from the mean, kept inside a shrinking bracket
    /// (bisection when a step leaves it).
    fn quantile(&self, p: f64) -> f64 {
        if p <= 0.0 {
            return 0.0;
        }
        if p >= 1.0 {
            return 1.0;
        }
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        let mut x = self.a / (self.a + self.b);
        for _ in 0..200 {
            let f = self.cdf(x) - p;
            if f == 0.0 {
                return x;
            }
            if f < 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let newton = x - f / self.density(x);
            let next = if newton > lo && newton < hi && newton.is_finite() {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - x).abs() <= 4.0 * f64::EPSILON * x.max(f64::MIN_POSITIVE) || hi - lo <= 0.0 {
                return next;
            }
            x = next;
        }
        x
    }
}

/// The continued fraction of `I_x(a, b)`, by the modified Lentz method.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=500 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Probability mass of the standard normal between `z_low` and `z_high`,
/// from the tail nearer to the interval (accurate far from the mean).
pub fn normal_mass(z_low: f64, z_high: f64) -> f64 {
    if z_low > 0.0 {
        normal_cdf(-z_low) - normal_cdf(-z_high)
    } else {
        normal_cdf(z_high) - normal_cdf(z_low)
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

/// Standard normal CDF.
#[inline]
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile: Wichura's AS241 (PPND16), about 1e-16 relative accuracy.
/// The coefficients are transcribed as published (Applied Statistics 37(3), 1988).
#[inline]
pub fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= NORMAL_CENTRAL {
        normal_quantile_central(q)
    } else {
        normal_quantile_tail(p, q)
    }
}

/// Half-width of AS241's central region in `q = p - 0.5`.
pub const NORMAL_CENTRAL: f64 = 0.425;

/// AS241's central region (`|p - 0.5| <= 0.425`, 85% of uniforms): one rational
/// function, branch-free, so loops over it vectorize.
#[allow(clippy::inconsistent_digit_grouping, clippy::excessive_precision)]
#[inline(always)]
pub fn normal_quantile_central(q: f64) -> f64 {
    let r = 0.180625 - q * q;
    q * (((((((2509.080_928_730_122_7 * r + 33430.575_583_588_128) * r + 67265.770_927_008_7)
        * r
        + 45921.953_931_549_87)
        * r
        + 13731.693_765_509_461)
        * r
        + 1971.590_950_306_551_3)
        * r
        + 133.141_667_891_784_38)
        * r
        + 3.387_132_872_796_366_5)
        / (((((((5226.495_278_852_545 * r + 28729.085_735_721_943) * r + 39307.895_800_092_71)
            * r
            + 21213.794_301_586_597)
            * r
            + 5394.196_021_424_751)
            * r
            + 687.187_007_492_057_9)
            * r
            + 42.313_330_701_600_91)
            * r
            + 1.0)
}

/// AS241's tails (`|p - 0.5| > 0.425`), given `p` and `q = p - 0.5`.
#[allow(clippy::inconsistent_digit_grouping, clippy::excessive_precision)]
#[inline]
pub fn normal_quantile_tail(p: f64, q: f64) -> f64 {
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-libm::log(r)).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        (((((((7.745_450_142_783_414e-4 * r + 0.022_723_844_989_269_184) * r
            + 0.241_780_725_177_450_6)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_546)
            * r
            + 1.423_437_110_749_683_5)
            / (((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r
                + 0.015_198_666_563_616_457)
                * r
                + 0.148_103_976_427_480_08)
                * r
                + 0.689_767_334_985_1)
                * r
                + 1.676_384_830_183_803_8)
                * r
                + 2.053_191_626_637_759)
                * r
                + 1.0)
    } else {
        let r = r - 5.0;
        (((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 1.242_660_947_388_078_4e-3)
            * r
            + 2.653_218_952_657_612_4e-2)
            * r
            + 0.296_560_571_828_504_9)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103)
            / (((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446e-7) * r
                + 1.846_318_317_510_054_8e-5)
                * r
                + 7.868_691_311_456_133e-4)
                * r
                + 1.487_536_129_085_061_5e-2)
                * r
                + 0.136_929_880_922_735_8)
                * r
                + 0.599_832_206_555_888)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
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
    fn beta_cdf_matches_closed_forms_and_inverts() {
        // Integer a, b: I_x(a, b) = sum_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^(a+b-1-j).
        let binomial =
            |n: i32, k: i32| (1..=k).fold(1.0, |c, i| c * f64::from(n - k + i) / f64::from(i));
        for (a, b) in [(1, 1), (2, 3), (5, 1), (3, 4), (1, 5)] {
            let n = a + b - 1;
            for x in [1e-6_f64, 0.01, 0.2, 0.5, 0.77, 0.999] {
                let exact: f64 = (a..=n)
                    .map(|j| binomial(n, j) * x.powi(j) * (1.0 - x).powi(n - j))
                    .sum();
                let got = beta_cdf(f64::from(a), f64::from(b), x);
                assert!(
                    (got - exact).abs() < 1e-14 * exact.max(1e-3),
                    "{a} {b} {x}: {got} vs {exact}"
                );
            }
        }
        for (a, b) in [(1.0, 5.0), (3.4, 1.6), (1.0, 1.0), (4.9, 4.9), (1.2, 3.1)] {
            for p in [1e-12, 1e-6, 0.05, 0.5, 0.9, 1.0 - 1e-9] {
                let x = beta_quantile(a, b, p);
                assert!((0.0..=1.0).contains(&x));
                assert!(
                    (beta_cdf(a, b, x) - p).abs() < 1e-13 * p.max(1e-2),
                    "{a} {b} {p}"
                );
            }
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
    fn normal_quantile_matches_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((normal_quantile(0.5)).abs() < 1e-16);
        assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-12);
        for p in [1e-6, 0.01, 0.2, 0.6, 0.99] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-14 * p.max(1e-3) * 1e3);
        }
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
