//! Monte Carlo summaries of draws: mean, standard deviation, quantiles and the
//! standard errors of the quantiles, each row in a fixed order.
//!
//! Means and deviations use compensated sums in draw order, so a summary is
//! the same bits on every CPU and build (numpy's reductions can pick SIMD
//! orders at run time).

use rayon::prelude::*;

use crate::error::{CoreError, CoreResult};
use crate::quantiles::{check_levels, quantiles_into, select_into, QuantileMethod, Scratch};
use crate::summation::NeumaierSum;

/// Per-row statistics of a `rows × n` block of draws; quantile outputs are
/// `rows × levels`, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowStatistics {
    /// Mean of each row.
    pub mean: Vec<f64>,
    /// Sample standard deviation (n − 1) of each row.
    pub std: Vec<f64>,
    /// The quantiles of each row.
    pub quantiles: Vec<f64>,
    /// The Monte Carlo standard error of each quantile (NaN where the draws
    /// beyond the quantile are too few to bracket it).
    pub quantile_se: Vec<f64>,
}

/// The ranks whose order statistics bracket quantile `q` of `n` draws with
/// about 68% probability: `n q ± √(n q (1 − q))` (binomial). `None` when the
/// bracket leaves the draws (too few draws beyond the quantile).
fn se_ranks(q: f64, n: usize) -> Option<(usize, usize)> {
    let nq = n as f64 * q;
    let half = (nq * (1.0 - q)).sqrt();
    let (lo, hi) = ((nq - half).floor(), (nq + half).ceil());
    (half > 0.0 && lo >= 0.0 && hi <= (n - 1) as f64).then_some((lo as usize, hi as usize))
}

/// Mean and sample standard deviation (two passes, compensated, in order).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mut sum = NeumaierSum::default();
    values.iter().for_each(|&x| sum.add(x));
    let mean = sum.value() / n;
    let mut squares = NeumaierSum::default();
    values
        .iter()
        .for_each(|&x| squares.add((x - mean) * (x - mean)));
    let std = if values.len() > 1 {
        (squares.value() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    (mean, std)
}

/// Statistics of each row of `draws` (`rows × n`, row-major). A quantile's
/// standard error is half the gap between the order statistics of
/// [`se_ranks`]: distribution-free.
pub fn summarize_rows(
    draws: &[f64],
    n: usize,
    qs: &[f64],
    method: QuantileMethod,
) -> CoreResult<RowStatistics> {
    if n == 0 || draws.len() % n != 0 {
        return Err(CoreError::invalid(
            "draws",
            format!("{} values do not split into rows of {n} draws", draws.len()),
        ));
    }
    check_levels(qs)?;
    let nq = qs.len();
    let rows = draws.len() / n;
    let brackets: Vec<Option<(usize, usize)>> = qs.iter().map(|&q| se_ranks(q, n)).collect();
    let per_row: Vec<(f64, f64, Vec<f64>, Vec<f64>)> = draws
        .par_chunks(n)
        .map_init(
            || (Scratch::default(), Vec::new()),
            |(scratch, selected), values| {
                let (mean, std) = mean_std(values);
                let mut q = vec![0.0; nq];
                quantiles_into(values, qs, method, scratch, &mut q);
                let ranks = brackets.iter().flat_map(|b| {
                    let (lo, hi) = b.unwrap_or((0, 0));
                    [lo, hi]
                });
                select_into(values, ranks, scratch, selected);
                let se = brackets
                    .iter()
                    .enumerate()
                    .map(|(k, b)| match b {
                        Some(_) => (selected[2 * k + 1] - selected[2 * k]) / 2.0,
                        None => f64::NAN,
                    })
                    .collect();
                (mean, std, q, se)
            },
        )
        .collect();
    let mut out = RowStatistics {
        mean: Vec::with_capacity(rows),
        std: Vec::with_capacity(rows),
        quantiles: Vec::with_capacity(rows * nq),
        quantile_se: Vec::with_capacity(rows * nq),
    };
    for (mean, std, q, se) in per_row {
        out.mean.push(mean);
        out.std.push(std);
        out.quantiles.extend(q);
        out.quantile_se.extend(se);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_give_moments_quantiles_and_their_standard_errors() -> CoreResult<()> {
        let n = 400;
        let rows: Vec<f64> = (0..3 * n).map(|i| ((i * 37) % n) as f64).collect();
        let s = summarize_rows(&rows, n, &[0.5, 0.999], QuantileMethod::Linear)?;
        assert_eq!(s.quantiles.len(), 6);
        assert_eq!(s.quantiles[0], 199.5);
        // Ranks 200 ± 10: order statistics 190 and 210.
        assert_eq!(s.quantile_se[0], 10.0);
        assert!(
            s.quantile_se[1].is_nan(),
            "too few draws beyond the 99.9th percentile"
        );
        // 0..400 once each: mean 199.5, variance n (n + 1) / 12.
        assert_eq!(s.mean, vec![199.5; 3]);
        let sd = (400.0_f64 * 401.0 / 12.0).sqrt();
        assert!(s.std.iter().all(|&x| (x - sd).abs() < 1e-12 * sd));
        assert!(summarize_rows(&rows, 7, &[0.5], QuantileMethod::Linear).is_err());
        assert!(summarize_rows(&rows, n, &[1.5], QuantileMethod::Linear).is_err());
        Ok(())
    }

    #[test]
    fn compensated_means_survive_cancellation() {
        let (mean, _) = mean_std(&[1e16, 1.0, -1e16, 1.0]);
        assert_eq!(mean, 0.5);
    }
}
