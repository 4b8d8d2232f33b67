//! Special functions of the samplers: the standard normal's CDF and quantile,
//! and the Beta distribution's CDF and quantile (for PERT under a copula).
//!
//! Part of the reproducibility contract (docs/uncertainty.md §4): they use the
//! pure-Rust `libm` crate, never the C library, so that results do not depend
//! on the CPU.

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

/// Standard normal density.
#[inline]
pub fn normal_pdf(x: f64) -> f64 {
    if x.is_infinite() {
        0.0
    } else {
        libm::exp(-0.5 * x * x) / (2.0 * std::f64::consts::PI).sqrt()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn normal_quantile_matches_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((normal_quantile(0.5)).abs() < 1e-16);
        assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-12);
        for p in [1e-6, 0.01, 0.2, 0.6, 0.99] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-14 * p.max(1e-3) * 1e3);
        }
    }
}
