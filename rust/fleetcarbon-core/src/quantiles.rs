//! Quantiles of Monte Carlo draws, one definition for every output.
//!
//! Two methods (Hyndman & Fan 1996 numbering):
//!
//! - [`QuantileMethod::Linear`] (type 7, the default, and `numpy.quantile`'s):
//!   with `h = (n − 1) q`, the value `x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)`;
//! - [`QuantileMethod::InvertedCdf`] (type 1): the order statistic of rank
//!   `⌈q n⌉`, an actual draw.
//!
//! Group summaries (`crate::statistics`), per-job outputs and plots all use
//! [`quantiles_into`], so
//! `_p05` means one thing everywhere. Order statistics are found by selection,
//! never a full sort: values are mapped to integer keys that order as
//! `f64::total_cmp` does (integers compare faster than floats), and the wanted
//! ranks are selected middle first, then each side, so three quantiles cost
//! about two passes. (A histogram of the key range followed by a pass
//! collecting the bins of the wanted ranks measured no faster on 1,000 draws.)

#[cfg(feature = "simd")]
use multiversion::multiversion;

use crate::error::{CoreError, CoreResult};

/// How a quantile is read from `n` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantileMethod {
    /// Hyndman–Fan type 7: linear interpolation between order statistics.
    Linear,
    /// Hyndman–Fan type 1: the inverse empirical CDF.
    InvertedCdf,
}

impl QuantileMethod {
    /// Every method and its name.
    pub const ALL: [(QuantileMethod, &'static str); 2] = [
        (QuantileMethod::Linear, "linear"),
        (QuantileMethod::InvertedCdf, "inverted_cdf"),
    ];

    /// The method called `name`.
    pub fn from_name(name: &str) -> CoreResult<QuantileMethod> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(m, _)| *m)
            .ok_or_else(|| {
                CoreError::invalid(
                    "quantile_method",
                    format!("unknown quantile method {name:?}; use \"linear\" or \"inverted_cdf\""),
                )
            })
    }
}

/// Reusable buffers of [`quantiles_into`].
#[derive(Debug, Default)]
pub struct Scratch {
    keys: Vec<u64>,
    wanted: Vec<(usize, usize)>,
    selected: Vec<u64>,
    plans: Vec<(usize, usize, f64)>,
    values: Vec<f64>,
}

/// The `q`-quantiles of `values` under `method` (NaN for no values).
pub fn quantiles(values: &[f64], qs: &[f64], method: QuantileMethod) -> Vec<f64> {
    let mut out = vec![0.0; qs.len()];
    quantiles_into(values, qs, method, &mut Scratch::default(), &mut out);
    out
}

/// [`quantiles`] into `out` (one value per `q`), with reusable buffers.
pub fn quantiles_into(
    values: &[f64],
    qs: &[f64],
    method: QuantileMethod,
    scratch: &mut Scratch,
    out: &mut [f64],
) {
    let n = values.len();
    if n == 0 {
        out.fill(f64::NAN);
        return;
    }
    let mut plans = std::mem::take(&mut scratch.plans);
    plans.clear();
    plans.extend(qs.iter().map(|&q| plan(q, n, method)));
    let ranks = plans.iter().flat_map(|&(lo, hi, _)| [lo, hi]);
    let mut selected = std::mem::take(&mut scratch.values);
    select_into(values, ranks, scratch, &mut selected);
    for (k, (o, &(_, _, frac))) in out.iter_mut().zip(plans.iter()).enumerate() {
        let (lo, hi) = (selected[2 * k], selected[2 * k + 1]);
        // The same expression for both methods (frac is 0 for type 1).
        *o = if frac == 0.0 {
            lo
        } else {
            lo + frac * (hi - lo)
        };
    }
    scratch.plans = plans;
    scratch.values = selected;
}

/// `(lower rank, upper rank, weight of the upper)` of quantile `q` of `n` values.
fn plan(q: f64, n: usize, method: QuantileMethod) -> (usize, usize, f64) {
    match method {
        QuantileMethod::InvertedCdf => {
            let r = rank(q, n);
            (r, r, 0.0)
        }
        QuantileMethod::Linear => {
            let h = (n - 1) as f64 * q;
            let lo = (h.floor() as usize).min(n - 1);
            (lo, (lo + 1).min(n - 1), h - lo as f64)
        }
    }
}

/// Refuse quantile levels outside [0, 1].
pub fn check_levels(qs: &[f64]) -> CoreResult<()> {
    match qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        Some(q) => Err(CoreError::invalid(
            "quantiles",
            format!("quantile level {q} is outside [0, 1]"),
        )),
        None => Ok(()),
    }
}

/// The order statistics of `values` at `ranks` (0-based, each `< values.len()`),
/// in the order given, into `out`.
pub(crate) fn select_into(
    values: &[f64],
    ranks: impl Iterator<Item = usize>,
    scratch: &mut Scratch,
    out: &mut Vec<f64>,
) {
    let Scratch {
        keys,
        wanted,
        selected,
        ..
    } = scratch;
    wanted.clear();
    wanted.extend(ranks.enumerate().map(|(slot, r)| (r, slot)));
    wanted.sort_unstable();
    keys.resize(values.len(), 0);
    to_keys(values, keys);
    selected.clear();
    selected.resize(wanted.len(), 0);
    select_ranks(keys, 0, wanted, selected);
    out.clear();
    out.extend(selected.iter().map(|&k| from_key(k)));
}

/// The 0-based rank `ceil(q n) - 1`, where a product within rounding of an
/// integer counts as that integer (`0.07 * 100.0` is 7.000000000000001).
fn rank(q: f64, n: usize) -> usize {
    let x = q * n as f64;
    let nearest = x.round();
    let k = if (x - nearest).abs() <= 8.0 * f64::EPSILON * nearest.max(1.0) {
        nearest
    } else {
        x.ceil()
    };
    (k as usize).clamp(1, n) - 1
}

/// A key that orders as `f64::total_cmp`: flip every bit of negatives, and the
/// sign bit of the rest.
#[inline(always)]
fn to_key(x: f64) -> u64 {
    let bits = x.to_bits();
    bits ^ (((bits as i64 >> 63) as u64) | (1 << 63))
}

fn from_key(key: u64) -> f64 {
    let sign_was_clear = key >> 63 == 1;
    f64::from_bits(if sign_was_clear {
        key ^ (1 << 63)
    } else {
        !key
    })
}

#[cfg_attr(feature = "simd", multiversion(targets("x86_64+avx2+fma")))]
fn to_keys(values: &[f64], keys: &mut [u64]) {
    for (k, &x) in keys.iter_mut().zip(values) {
        *k = to_key(x);
    }
}

/// Select the ranks `wanted` (sorted `(rank, output slot)`, all within
/// `offset..offset + values.len()`): the middle rank first, then each side.
fn select_ranks(values: &mut [u64], offset: usize, wanted: &[(usize, usize)], out: &mut [u64]) {
    if wanted.is_empty() {
        return;
    }
    let (r, _) = wanted[wanted.len() / 2];
    let (left, x, right) = values.select_nth_unstable(r - offset);
    let below = wanted.partition_point(|&(w, _)| w < r);
    let above = wanted.partition_point(|&(w, _)| w <= r);
    for &(_, k) in &wanted[below..above] {
        out[k] = *x;
    }
    select_ranks(left, offset, &wanted[..below], out);
    select_ranks(right, r + 1, &wanted[above..], out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{mix64, DrawRng};

    fn by_sorting(values: &[f64], qs: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = values.len();
        qs.iter()
            .map(|&q| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
            .collect()
    }

    fn order_statistics(values: &[f64], qs: &[f64]) -> Vec<f64> {
        quantiles(values, qs, QuantileMethod::InvertedCdf)
    }

    /// numpy's type 7 as the Python layer computed it before it moved here.
    fn linear_by_sorting(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    }

    #[test]
    fn order_statistics_match_sorting() {
        let v: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let qs = [0.05, 0.5, 0.95, 0.0, 1.0, 0.5, 0.951];
        let got = order_statistics(&v, &qs);
        assert_eq!(got, vec![49.0, 499.0, 949.0, 0.0, 999.0, 499.0, 950.0]);
        let signed: Vec<f64> = v.iter().map(|x| x - 500.0).collect();
        assert_eq!(order_statistics(&signed, &[0.5]), vec![-1.0]);
    }

    #[test]
    fn linear_quantiles_interpolate_as_numpy_does() {
        let v: Vec<f64> = (0..1001)
            .map(|i| (DrawRng::new(mix64(3), i).uniform() * 7.0).exp())
            .collect();
        let qs = [0.0, 0.05, 0.123, 0.5, 0.95, 0.999, 1.0];
        let got = quantiles(&v, &qs, QuantileMethod::Linear);
        for (&q, &x) in qs.iter().zip(&got) {
            assert_eq!(x.to_bits(), linear_by_sorting(&v, q).to_bits(), "q = {q}");
        }
        // 0..=4: the median of an even count lies halfway.
        assert_eq!(
            quantiles(&[4.0, 1.0, 3.0, 2.0], &[0.5], QuantileMethod::Linear),
            [2.5]
        );
        assert_eq!(quantiles(&[7.0], &[0.3], QuantileMethod::Linear), [7.0]);
    }

    #[test]
    fn ranks_ignore_rounding_of_q_times_n() {
        assert_eq!(rank(0.07, 100), 6);
        assert_eq!(rank(0.05, 1000), 49);
        assert_eq!(rank(0.951, 1000), 950);
        assert_eq!(rank(0.0, 10), 0);
        assert_eq!(rank(1.0, 10), 9);
        assert_eq!(rank(0.5, 3), 1);
        for n in 1..300 {
            for k in 0..=n {
                // q = k/n exactly as a user would write it: the rank is k - 1.
                let q = k as f64 / n as f64;
                assert_eq!(rank(q, n), k.max(1) - 1, "{k}/{n}");
            }
        }
    }

    #[test]
    fn keys_order_as_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(to_key(w[0]) < to_key(w[1]), "{w:?}");
        }
        for x in xs {
            assert_eq!(from_key(to_key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn method_names_round_trip() {
        for (m, name) in QuantileMethod::ALL {
            assert_eq!(QuantileMethod::from_name(name), Ok(m));
        }
        assert!(QuantileMethod::from_name("nearest").is_err());
    }

    #[test]
    fn awkward_samples_match_sorting() {
        let qs = [0.05, 0.25, 0.5, 0.5, 0.95, 0.999, 0.0, 1.0];
        let mut cases: Vec<Vec<f64>> = vec![
            vec![3.0],
            vec![2.0; 100],
            vec![1.0, -1.0],
            (0..1000)
                .map(|i| if i % 3 == 0 { 1.0 } else { 2.0 })
                .collect(),
            // A heavy tail: nearly everything in the lowest bins.
            (0..2000)
                .map(|i| (DrawRng::new(mix64(7), i).uniform() * 40.0).exp())
                .collect(),
            (0..777)
                .map(|i| DrawRng::new(mix64(8), i).uniform() - 0.5)
                .collect(),
            vec![0.0, -0.0, 0.0, -0.0, 1.0],
        ];
        cases.push((0..5000).map(|i| (i % 17) as f64 * 1e-300).collect());
        for v in &cases {
            let got = order_statistics(v, &qs);
            let want = by_sorting(v, &qs);
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{} values", v.len());
        }
        assert!(order_statistics(&[], &[0.5])[0].is_nan());
    }
}
