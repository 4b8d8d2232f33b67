//! Compensated, fixed-order summation.
//!
//! Totals are reported to users and compared across runs, so they must not
//! depend on the thread schedule. Rows are cut into fixed-size blocks; each
//! block is summed with Neumaier's compensated algorithm, and block partials
//! are merged in block order. The result depends only on the data and its
//! row order, never on the number of threads.

use rayon::prelude::*;

use crate::error::{CoreError, CoreResult};
use crate::factors::check_lengths;

/// Rows per block. Part of the reproducibility contract: changing it changes
/// the last bits of totals.
const BLOCK: usize = 64 * 1024;

/// Upper bound on block-level accumulators held at once (blocks × groups × columns);
/// beyond it the sum runs in one sequential pass to bound memory.
const MAX_PARALLEL_ACCUMULATORS: usize = 1 << 22;

/// Neumaier's improved Kahan–Babuška summation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NeumaierSum {
    sum: f64,
    compensation: f64,
}

impl NeumaierSum {
    /// Add one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// Merge another partial sum into this one.
    #[inline]
    pub fn merge(&mut self, other: &NeumaierSum) {
        self.add(other.sum);
        self.compensation += other.compensation;
    }

    /// The compensated total.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }

    /// The running sum and its compensation, unrounded.
    #[inline]
    pub fn parts(&self) -> (f64, f64) {
        (self.sum, self.compensation)
    }
}

/// Running compensated sums: `out[i]` is the Neumaier sum of `values[..=i]`.
///
/// The same bits on every platform (unlike an extended-precision `cumsum`),
/// and within a few ulps of the exact prefix sums however the terms cancel.
pub fn running_sums(values: &[f64]) -> Vec<f64> {
    let mut sum = NeumaierSum::default();
    values
        .iter()
        .map(|&x| {
            sum.add(x);
            sum.value()
        })
        .collect()
}

/// Per-group compensated sums of several columns.
///
/// `group[i]` is the group of row `i` (`< n_groups`). Returns
/// `sums[column][group]`. Deterministic for a given row order, whatever the
/// thread count.
pub fn grouped_sums(
    group: &[u32],
    n_groups: usize,
    columns: &[&[f64]],
) -> CoreResult<Vec<Vec<f64>>> {
    let n = group.len();
    // Groups come from rows, so there cannot be more groups than rows (or one, when empty).
    if n_groups > n.max(1) {
        return Err(CoreError::invalid(
            "n_groups",
            format!("{n_groups} groups for {n} rows: a group index cannot exceed the rows"),
        ));
    }
    for (k, c) in columns.iter().enumerate() {
        check_lengths(&format!("column {k}"), c.len(), n)?;
    }
    crate::factors::check_indices("group", group, n_groups, false)?;
    let width = columns.len();
    let sum_block = |start: usize, end: usize| {
        let mut acc = vec![NeumaierSum::default(); n_groups * width];
        for i in start..end {
            let base = group[i] as usize * width;
            for (k, c) in columns.iter().enumerate() {
                acc[base + k].add(c[i]);
            }
        }
        acc
    };
    let n_blocks = n.div_ceil(BLOCK).max(1);
    let total =
        if n_blocks.saturating_mul(n_groups).saturating_mul(width) <= MAX_PARALLEL_ACCUMULATORS {
            let partials: Vec<Vec<NeumaierSum>> = (0..n_blocks)
                .into_par_iter()
                .map(|b| sum_block(b * BLOCK, ((b + 1) * BLOCK).min(n)))
                .collect();
            let mut total = vec![NeumaierSum::default(); n_groups * width];
            for partial in &partials {
                for (t, p) in total.iter_mut().zip(partial) {
                    t.merge(p);
                }
            }
            total
        } else {
            sum_block(0, n)
        };
    Ok((0..width)
        .map(|k| {
            (0..n_groups)
                .map(|g| total[g * width + k].value())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_sums_survive_cancellation() {
        let values = [1e16, 1.0, -1e16, 1.0, 3.0, -5.0];
        let out = running_sums(&values);
        assert_eq!(out, vec![1e16, 1e16 + 1.0, 1.0, 2.0, 5.0, 0.0]);
        assert!(running_sums(&[]).is_empty());
    }

    #[test]
    fn compensated_sum_beats_naive_on_cancellation() {
        let values = [1e16, 1.0, -1e16, 1.0];
        let mut s = NeumaierSum::default();
        values.iter().for_each(|&v| s.add(v));
        assert_eq!(s.value(), 2.0);
        assert_ne!(values.iter().sum::<f64>(), 2.0);
    }

    #[test]
    fn grouped_sums_match_exact_integer_sums() -> CoreResult<()> {
        let n = 3 * BLOCK + 11;
        let group: Vec<u32> = (0..n).map(|i| (i % 7) as u32).collect();
        let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..n).map(|_| 0.1).collect();
        let sums = grouped_sums(&group, 7, &[&a, &b])?;
        for (g, (&total, &tenths)) in sums[0].iter().zip(&sums[1]).enumerate() {
            let exact: u64 = (0..n as u64).filter(|i| i % 7 == g as u64).sum();
            assert_eq!(total, exact as f64);
            let count = (0..n).filter(|i| i % 7 == g).count() as f64;
            assert!((tenths - 0.1 * count).abs() < 1e-9);
        }
        Ok(())
    }

    #[test]
    fn same_result_on_one_thread_and_many() -> CoreResult<()> {
        let n = 5 * BLOCK;
        let group: Vec<u32> = (0..n).map(|i| ((i * 31) % 13) as u32).collect();
        let a: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin() * 1e6).collect();
        let many = grouped_sums(&group, 13, &[&a])?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| CoreError::invalid("threads", e.to_string()))?;
        let one = pool.install(|| grouped_sums(&group, 13, &[&a]))?;
        for (a, b) in many[0].iter().zip(&one[0]) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        Ok(())
    }

    #[test]
    fn bad_group_index_is_an_error() {
        assert!(grouped_sums(&[0, 3], 2, &[&[1.0, 2.0]]).is_err());
        assert!(grouped_sums(&[0, 1], 2, &[&[1.0]]).is_err());
        assert!(grouped_sums(&[0, 1], 1 << 40, &[&[1.0, 2.0]]).is_err());
    }

    #[test]
    fn empty_input_gives_zero_sums() -> CoreResult<()> {
        assert_eq!(grouped_sums(&[], 1, &[&[]])?, vec![vec![0.0]]);
        Ok(())
    }
}
