//! One-pass domain checks over numeric input columns.
//!
//! Validation is numeric work too: a single pass per column counts the values
//! outside their domain, so that the common case (clean input) costs one read
//! of each buffer. The Python layer builds detailed messages only when a count
//! is non-zero.

use rayon::prelude::*;

/// Rows per parallel block.
const BLOCK: usize = 64 * 1024;

/// The valid domain of a column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    /// Lower bound.
    pub low: f64,
    /// Upper bound (inclusive).
    pub high: f64,
    /// Whether `low` itself is valid.
    pub low_inclusive: bool,
    /// Whether values must be whole numbers.
    pub whole: bool,
    /// Values above this are valid but implausible.
    pub plausible_high: f64,
}

/// What a scan found; NaN values are counted apart (they may stand for nulls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    /// NaN values.
    pub nan: u64,
    /// Non-NaN values outside the domain (including infinities).
    pub invalid: u64,
    /// Valid values above `plausible_high`.
    pub implausible: u64,
}

impl ScanCounts {
    fn merge(self, other: ScanCounts) -> ScanCounts {
        ScanCounts {
            nan: self.nan + other.nan,
            invalid: self.invalid + other.invalid,
            implausible: self.implausible + other.implausible,
        }
    }
}

/// Count NaN, invalid and implausible values of `values` against `domain`.
pub fn scan(values: &[f64], domain: &Domain) -> ScanCounts {
    let &Domain {
        low,
        high,
        low_inclusive,
        whole,
        plausible_high,
    } = domain;
    // Branch-free counting (booleans summed as integers) so the loop vectorizes;
    // the whole-number test is hoisted into its own loop.
    let count = |chunk: &[f64], check_whole: bool| {
        let mut c = ScanCounts::default();
        for &x in chunk {
            let nan = x.is_nan();
            let above_low = if low_inclusive { x >= low } else { x > low };
            let mut valid = x.is_finite() & above_low & (x <= high);
            if check_whole {
                valid &= x.fract() == 0.0;
            }
            c.nan += u64::from(nan);
            c.invalid += u64::from(!valid & !nan);
            c.implausible += u64::from(valid & (x > plausible_high));
        }
        c
    };
    values
        .par_chunks(BLOCK)
        .map(|chunk| {
            if whole {
                count(chunk, true)
            } else {
                count(chunk, false)
            }
        })
        .reduce(ScanCounts::default, ScanCounts::merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NON_NEGATIVE: Domain = Domain {
        low: 0.0,
        high: f64::INFINITY,
        low_inclusive: true,
        whole: false,
        plausible_high: 100.0,
    };

    #[test]
    fn counts_each_kind_once() {
        let v = [
            0.0,
            1.5,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            150.0,
            f64::NEG_INFINITY,
        ];
        assert_eq!(
            scan(&v, &NON_NEGATIVE),
            ScanCounts {
                nan: 1,
                invalid: 3,
                implausible: 1
            }
        );
    }

    #[test]
    fn whole_numbers_and_open_bounds() {
        let d = Domain {
            low: 0.0,
            high: 1.0,
            low_inclusive: false,
            whole: false,
            plausible_high: f64::INFINITY,
        };
        assert_eq!(scan(&[0.0, 0.5, 1.0, 1.1], &d).invalid, 2);
        let whole = Domain {
            whole: true,
            ..NON_NEGATIVE
        };
        assert_eq!(scan(&[1.0, 2.5, 3.0], &whole).invalid, 1);
    }

    #[test]
    fn large_input_counts_are_exact() {
        let v: Vec<f64> = (0..5 * BLOCK + 3)
            .map(|i| if i % 7 == 0 { -1.0 } else { 1.0 })
            .collect();
        let expected = v.iter().filter(|&&x| x < 0.0).count() as u64;
        assert_eq!(scan(&v, &NON_NEGATIVE).invalid, expected);
    }
}
