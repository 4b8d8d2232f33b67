//! Exact quantiles of one job's draws by selection, never a full sort.
//!
//! The quantile `q` of `n` values is the order statistic of rank `ceil(q n)`
//! (the inverse empirical CDF). Values are mapped to integer keys that order
//! as `f64::total_cmp` does (integers compare faster than floats), and the
//! wanted ranks are selected middle first, then each side, so three quantiles
//! cost about two passes. (A histogram of the key range followed by a pass
//! collecting the bins of the wanted ranks measured no faster on 1,000 draws.)

use multiversion::multiversion;

/// Reusable buffers of [`order_statistics_into`].
#[derive(Debug, Default)]
pub struct Scratch {
    keys: Vec<u64>,
    wanted: Vec<(usize, usize)>,
    selected: Vec<u64>,
}

/// The `q`-quantiles of `values` (inverse empirical CDF; NaN for no values).
pub fn order_statistics(values: &[f64], qs: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; qs.len()];
    order_statistics_into(values, qs, &mut Scratch::default(), &mut out);
    out
}

/// [`order_statistics`] into `out` (one value per `q`), with reusable buffers.
pub fn order_statistics_into(values: &[f64], qs: &[f64], scratch: &mut Scratch, out: &mut [f64]) {
    let n = values.len();
    if n == 0 {
        out.fill(f64::NAN);
        return;
    }
    let Scratch {
        keys,
        wanted,
        selected,
    } = scratch;
    wanted.clear();
    wanted.extend(qs.iter().enumerate().map(|(k, &q)| (rank(q, n), k)));
    wanted.sort_unstable();
    keys.resize(n, 0);
    to_keys(values, keys);
    selected.clear();
    selected.resize(qs.len(), 0);
    select_ranks(keys, 0, wanted, selected);
    for (o, &key) in out.iter_mut().zip(selected.iter()) {
        *o = from_key(key);
    }
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

#[multiversion(targets("x86_64+avx2+fma"))]
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
