//! Time-resolved grid intensity: each job's energy meets the grid as it was
//! while the job ran (docs/model.md §4.2, "Grid series").
//!
//! A series is a sorted list of non-overlapping intervals `[start, end)` of
//! constant intensity, per region. With power flat over a job's window
//! `[s, e]`, the job's operational intensity is the time mean of the series
//! over the window's covered part, and the annual value elsewhere:
//!
//! `effective = (∫_covered I(t) dt + annual × (e − s − covered)) / (e − s)`.
//!
//! The integral is `F(e) − F(s)` of the series' running integral `F`, found by
//! binary search in prefix sums: O(log intervals) per job, never jobs × hours.
//! The prefix sums are kept in two parts (Neumaier's sum and its compensation),
//! and the parts are differenced separately, so that a short window late in a
//! long series keeps its digits: the error is a few ulps of the window's own
//! integral, not of the running sum. Windows over fewer than [`DIRECT_SPAN`]
//! intervals are summed directly; covered time is counted in exact µs.

use rayon::prelude::*;

use crate::error::{CoreError, CoreResult};
use crate::factors::MISSING;
use crate::summation::NeumaierSum;

/// Microseconds per hour (times are Polars' `Datetime("us", "UTC")` integers).
const US_PER_HOUR: f64 = 3.6e9;

/// The series of several regions, each a contiguous run of intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSeries {
    /// Series `k` holds intervals `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
    /// Interval starts and ends, µs since the epoch (UTC).
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Intensity over each interval, kgCO2e/kWh.
    intensity: Vec<f64>,
    /// Running integral of intensity × hours before each interval, within its
    /// series: `(sum, compensation)`.
    integral_before: Vec<(f64, f64)>,
    /// Covered µs before each interval, within its series (exact integers).
    covered_before: Vec<i64>,
    /// Each series' step when its intervals are contiguous and of one length
    /// (then an interval is found by division, not by search).
    regular_step: Vec<Option<i64>>,
}

/// What one job's window saw of its series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowIntegral {
    /// ∫ intensity dt over the covered part of the window, kgCO2e/kWh × h.
    pub integral: f64,
    /// Hours of the window that the series covers.
    pub covered_h: f64,
    /// Hours of the window that it does not cover (0 exactly when covered).
    pub uncovered_h: f64,
}

/// Windows over fewer intervals than this are summed interval by interval:
/// exact to a few ulps however short the window (the prefix sums' partial
/// terms would cost digits in a window much shorter than its intervals).
pub const DIRECT_SPAN: usize = 4;

impl GridSeries {
    /// Build series from their intervals, concatenated series by series.
    ///
    /// Within a series, intervals must be sorted, non-empty (`start < end`) and
    /// non-overlapping (gaps are allowed); intensities finite and ≥ 0.
    pub fn new(
        offsets: Vec<usize>,
        starts: Vec<i64>,
        ends: Vec<i64>,
        intensity: Vec<f64>,
    ) -> CoreResult<GridSeries> {
        let n = starts.len();
        let invalid = |why: String| Err(CoreError::invalid("grid_series", why));
        if ends.len() != n || intensity.len() != n {
            return invalid(format!(
                "{n} starts, {} ends and {} intensities",
                ends.len(),
                intensity.len()
            ));
        }
        if offsets.first() != Some(&0)
            || offsets.last() != Some(&n)
            || offsets.windows(2).any(|w| w[0] > w[1])
        {
            return invalid(format!("offsets must rise from 0 to {n}"));
        }
        let mut integral_before = vec![(0.0, 0.0); n];
        let mut covered_before = vec![0i64; n];
        for w in offsets.windows(2) {
            let (mut integral, mut covered) = (NeumaierSum::default(), 0i64);
            for k in w[0]..w[1] {
                if starts[k] >= ends[k] {
                    return invalid(format!("interval {k} does not end after it starts"));
                }
                if k > w[0] && starts[k] < ends[k - 1] {
                    return invalid(format!("interval {k} overlaps the one before"));
                }
                if !(intensity[k].is_finite() && intensity[k] >= 0.0) {
                    return invalid(format!("interval {k} has intensity {}", intensity[k]));
                }
                integral_before[k] = integral.parts();
                covered_before[k] = covered;
                integral.add(intensity[k] * hours_between(starts[k], ends[k]));
                covered += ends[k] - starts[k];
            }
        }
        let regular_step = offsets
            .windows(2)
            .map(|w| {
                let step = ends[w[0]] - starts[w[0]];
                (w[0]..w[1])
                    .all(|k| ends[k] - starts[k] == step && (k == w[0] || starts[k] == ends[k - 1]))
                    .then_some(step)
            })
            .collect();
        Ok(GridSeries {
            regular_step,
            offsets,
            starts,
            ends,
            intensity,
            integral_before,
            covered_before,
        })
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integral and covered hours of series `k` over `[s, e]` (µs, `s ≤ e`).
    pub fn window(&self, k: usize, s: i64, e: i64) -> WindowIntegral {
        let (lo, hi) = (self.offsets[k], self.offsets[k + 1]);
        let starts = &self.starts[lo..hi];
        let step = self.regular_step[k];
        // Index of the last interval starting at or before t (None: before all).
        let at = |t: i64| match step {
            Some(step) if t >= starts[0] => {
                Some((((t - starts[0]) / step) as usize).min(hi - lo - 1))
            }
            Some(_) => None,
            None => starts.partition_point(|&a| a <= t).checked_sub(1),
        };
        let (first, last) = (at(s), at(e));
        let Some(last) = last else {
            return WindowIntegral {
                uncovered_h: hours_between(s, e),
                ..WindowIntegral::default()
            };
        };
        let first_index = first.unwrap_or(0);
        let (integral, covered_us) = if last - first_index < DIRECT_SPAN {
            let (mut integral, mut covered) = (NeumaierSum::default(), 0i64);
            for j in lo + first_index..=lo + last {
                let overlap = (self.ends[j].min(e) - self.starts[j].max(s)).max(0);
                integral.add(self.intensity[j] * hours_between(0, overlap));
                covered += overlap;
            }
            (integral.value(), covered)
        } else {
            let (end, end_us) = self.running(lo + last, e);
            let (start, start_us) = match first {
                Some(j) => self.running(lo + j, s),
                None => (Split::default(), 0),
            };
            (end.minus(&start), end_us - start_us)
        };
        WindowIntegral {
            integral,
            covered_h: hours_between(0, covered_us),
            uncovered_h: hours_between(covered_us, e - s),
        }
    }

    /// Running integral and covered µs of interval `j`'s series up to `t`, for
    /// `t` at or after the start of interval `j`.
    #[inline]
    fn running(&self, j: usize, t: i64) -> (Split, i64) {
        let partial = t.min(self.ends[j]) - self.starts[j];
        let integral = Split::new(
            self.integral_before[j],
            self.intensity[j] * hours_between(0, partial),
        );
        (integral, self.covered_before[j] + partial)
    }
}

/// What a job's window makes of its region's annual value (docs/model.md §4.2).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobIntensity {
    /// The time mean over the window, annual value for uncovered hours (NaN: no series).
    pub effective: f64,
    /// `effective / annual` (NaN: no series, or an annual value that is not > 0).
    pub scale: f64,
    /// Share of the window the series covers.
    pub share: f64,
    /// [`COVERED`], [`PARTIAL`] or [`UNCOVERED`] (no series, or no overlap).
    pub coverage: u8,
}

/// The series covers the whole window.
pub const COVERED: u8 = 0;
/// It covers part of the window.
pub const PARTIAL: u8 = 1;
/// No series, or none of the window.
pub const UNCOVERED: u8 = 2;

impl GridSeries {
    /// [`JobIntensity`] of many jobs: [`GridSeries::window`] combined with
    /// each job's annual value `annual[i]`, in one pass.
    pub fn intensities(
        &self,
        series: &[u32],
        start: &[i64],
        end: &[i64],
        annual: &[f64],
    ) -> CoreResult<Vec<JobIntensity>> {
        self.check_jobs(series, start, end)?;
        if annual.len() != series.len() {
            return Err(CoreError::invalid(
                "grid_series",
                format!("{} jobs but {} annual values", series.len(), annual.len()),
            ));
        }
        Ok((0..series.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(|i| {
                if series[i] == MISSING || start[i] == end[i] {
                    return JobIntensity {
                        effective: f64::NAN,
                        scale: f64::NAN,
                        share: 0.0,
                        coverage: UNCOVERED,
                    };
                }
                let w = self.window(series[i] as usize, start[i], end[i]);
                // The mean over the window as integrated (whole µs), so that a
                // constant series gives its value to the last bits.
                let hours = w.covered_h + w.uncovered_h;
                let effective = (w.integral + annual[i] * w.uncovered_h) / hours;
                JobIntensity {
                    effective,
                    scale: if annual[i] > 0.0 {
                        effective / annual[i]
                    } else {
                        f64::NAN
                    },
                    share: w.covered_h / hours,
                    coverage: if w.uncovered_h == 0.0 {
                        COVERED
                    } else if w.covered_h > 0.0 {
                        PARTIAL
                    } else {
                        UNCOVERED
                    },
                }
            })
            .collect())
    }

    /// Each job's start within `[start, start + delay]` (µs) that minimizes the
    /// carbon of its window (power flat, length kept; `annual[i]` for hours the
    /// series does not cover). The window's integral is piecewise linear in its
    /// start, with kinks where either end crosses an interval boundary, so the
    /// minimum is at one of those starts or at an end of the range: all are
    /// evaluated exactly (O(boundaries in the range) windows per job). Ties go
    /// to the earliest start. Jobs without a series keep their start.
    pub fn cleanest_starts(
        &self,
        series: &[u32],
        start: &[i64],
        end: &[i64],
        annual: &[f64],
        delay: &[i64],
    ) -> CoreResult<Vec<i64>> {
        self.check_jobs(series, start, end)?;
        let n = series.len();
        if annual.len() != n || delay.len() != n {
            return Err(CoreError::invalid(
                "grid_series",
                format!(
                    "{n} jobs but {} annual values and {} delays",
                    annual.len(),
                    delay.len()
                ),
            ));
        }
        if let Some(i) = (0..n).find(|&i| delay[i] < 0) {
            return Err(CoreError::invalid(
                "grid_series",
                format!("job {i} has a negative delay"),
            ));
        }
        Ok((0..n)
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let (s0, length) = (start[i], end[i] - start[i]);
                if series[i] == MISSING || delay[i] == 0 {
                    return s0;
                }
                let k = series[i] as usize;
                let last = s0 + delay[i];
                let carbon = |s: i64| {
                    let w = self.window(k, s, s + length);
                    w.integral + annual[i] * w.uncovered_h
                };
                let (mut best, mut best_value) = (s0, carbon(s0));
                let mut consider = |s: i64| {
                    if s > s0 && s <= last {
                        let value = carbon(s);
                        if value < best_value || (value == best_value && s < best) {
                            best = s;
                            best_value = value;
                        }
                    }
                };
                consider(last);
                let (lo, hi) = (self.offsets[k], self.offsets[k + 1]);
                // Intervals that end after the range's first window starts and
                // start before its last window ends.
                let first = lo + self.ends[lo..hi].partition_point(|&b| b <= s0);
                for j in first..hi {
                    if self.starts[j] > last + length {
                        break;
                    }
                    for boundary in [self.starts[j], self.ends[j]] {
                        consider(boundary);
                        consider(boundary - length);
                    }
                }
                best
            })
            .collect())
    }

    fn check_jobs(&self, series: &[u32], start: &[i64], end: &[i64]) -> CoreResult<()> {
        let n = series.len();
        if start.len() != n || end.len() != n {
            return Err(CoreError::invalid(
                "grid_series",
                format!("{n} jobs but {} starts and {} ends", start.len(), end.len()),
            ));
        }
        if let Some(i) = (0..n).find(|&i| series[i] != MISSING && series[i] as usize >= self.len())
        {
            return Err(CoreError::invalid(
                "grid_series",
                format!("job {i} names series {} of {}", series[i], self.len()),
            ));
        }
        if let Some(i) = (0..n).find(|&i| start[i] > end[i]) {
            return Err(CoreError::invalid(
                "grid_series",
                format!("job {i} ends before it starts"),
            ));
        }
        Ok(())
    }
}

/// A running sum in three parts: Neumaier's sum, its compensation, and the
/// partial interval's term.
#[derive(Debug, Clone, Copy, Default)]
struct Split {
    sum: f64,
    compensation: f64,
    partial: f64,
}

impl Split {
    #[inline]
    fn new((sum, compensation): (f64, f64), partial: f64) -> Split {
        Split {
            sum,
            compensation,
            partial,
        }
    }

    /// `self − other`, part by part (the large parts cancel first, exactly or nearly).
    #[inline]
    fn minus(&self, other: &Split) -> f64 {
        (self.sum - other.sum)
            + ((self.compensation - other.compensation) + (self.partial - other.partial))
    }
}

/// Hours from `a` to `b` (µs); exact differences first, then one rounding.
#[inline]
fn hours_between(a: i64, b: i64) -> f64 {
    (b - a) as f64 / US_PER_HOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cleanest_start_is_found_among_the_boundaries() -> CoreResult<()> {
        let h = US_PER_HOUR as i64;
        // Hourly over a day: dirty, except a clean hour at 14:00 and a cleaner one at 03:00.
        let values: Vec<f64> = (0..24)
            .map(|t| match t {
                3 => 0.05,
                14 => 0.1,
                _ => 0.5,
            })
            .collect();
        let starts: Vec<i64> = (0..24).map(|t| t * h).collect();
        let ends: Vec<i64> = (1..25).map(|t| t * h).collect();
        let g = GridSeries::new(vec![0, 24], starts, ends, values)?;
        let jobs = [
            (10 * h, h, 8 * h),
            (10 * h, h, 0),
            (0, h, 24 * h),
            (h / 2, h, h),
        ];
        let series = vec![0u32; jobs.len()];
        let start: Vec<i64> = jobs.iter().map(|j| j.0).collect();
        let end: Vec<i64> = jobs.iter().map(|j| j.0 + j.1).collect();
        let delay: Vec<i64> = jobs.iter().map(|j| j.2).collect();
        let best = g.cleanest_starts(&series, &start, &end, &[0.3; 4], &delay)?;
        // Within 8 h of 10:00: the 14:00 hour; no delay allowed: unchanged; a whole
        // day: 03:00; half an hour of room from 00:30: as late as allowed (01:30
        // still meets a dirty hour, so any start is as good: the earliest wins).
        assert_eq!(best, vec![14 * h, 10 * h, 3 * h, h / 2]);
        // Beyond the series the annual value applies: a cleaner annual pulls out.
        let outside = g.cleanest_starts(&[0], &[20 * h], &[21 * h], &[0.01], &[10 * h])?;
        assert_eq!(outside, vec![24 * h]);
        let none = g.cleanest_starts(&[MISSING], &[5], &[7], &[0.3], &[100])?;
        assert_eq!(none, vec![5]);
        assert!(g.cleanest_starts(&[0], &[0], &[h], &[0.3], &[-1]).is_err());
        Ok(())
    }

    const H: i64 = 3_600_000_000;

    /// Region 0: hourly 0.1, 0.2, ... for 200 h from t = 0, with a 5 h gap at
    /// hours 100–105; region 1: one day at 0.5.
    fn series() -> CoreResult<GridSeries> {
        let mut starts = Vec::new();
        let mut intensity = Vec::new();
        for h in 0..200 {
            if (100..105).contains(&h) {
                continue;
            }
            starts.push(h * H);
            intensity.push(0.1 * ((h % 7) + 1) as f64);
        }
        let n0 = starts.len();
        let mut ends: Vec<i64> = starts.iter().map(|s| s + H).collect();
        starts.push(0);
        ends.push(24 * H);
        intensity.push(0.5);
        GridSeries::new(vec![0, n0, n0 + 1], starts, ends, intensity)
    }

    /// The integral by brute force, minute by minute (intensities are per hour).
    fn brute(s: i64, e: i64) -> (f64, f64) {
        let minute = H / 60;
        let (mut integral, mut covered) = (0.0, 0.0);
        let mut t = s;
        while t < e {
            let h = t.div_euclid(H);
            let step = (minute - t.rem_euclid(minute)).min(e - t);
            if (0..200).contains(&h) && !(100..105).contains(&h) {
                integral += 0.1 * ((h % 7) + 1) as f64 * step as f64 / H as f64;
                covered += step as f64 / H as f64;
            }
            t += step;
        }
        (integral, covered)
    }

    #[test]
    fn windows_match_brute_force_on_both_paths() -> CoreResult<()> {
        let g = series()?;
        let cases = [
            (10 * H + H / 4, 10 * H + H / 2), // inside one interval
            (-5 * H, 3 * H + 17),             // starts before the series
            (95 * H + 1234, 110 * H),         // across the gap
            (3 * H + 99, 180 * H + H / 3),    // long: prefix sums
            (150 * H, 250 * H),               // ends after the series
            (-10 * H, 300 * H),               // covers it all
            (101 * H, 104 * H),               // inside the gap
            (500 * H, 600 * H),               // after it
            (7 * H, 7 * H),                   // empty window
        ];
        for (s, e) in cases {
            let w = g.window(0, s, e);
            let (integral, covered) = brute(s, e);
            assert!(
                (w.integral - integral).abs() <= 1e-9 * integral.max(1.0),
                "{s} {e}: {w:?}"
            );
            assert!(
                (w.covered_h - covered).abs() <= 1e-9 * covered.max(1.0),
                "{s} {e}: {w:?}"
            );
            // Covered and uncovered time are exact µs, and add up to the window.
            assert_eq!(w.covered_h + w.uncovered_h, (e - s) as f64 / H as f64);
        }
        let day = g.window(1, 12 * H, 36 * H);
        assert_eq!(
            day,
            WindowIntegral {
                integral: 6.0,
                covered_h: 12.0,
                uncovered_h: 12.0,
            }
        );
        Ok(())
    }

    #[test]
    fn a_constant_series_gives_its_value_exactly_enough() -> CoreResult<()> {
        let n = 10_000;
        let starts: Vec<i64> = (0..n).map(|h| h * H).collect();
        let ends: Vec<i64> = starts.iter().map(|s| s + H).collect();
        let g = GridSeries::new(vec![0, n as usize], starts, ends, vec![0.37; n as usize])?;
        for (s, e) in [(17, 3 * H), (5 * H + 3, 9_000 * H + 11), (H / 3, 70 * H)] {
            let w = g.window(0, s, e);
            let mean = w.integral / w.covered_h;
            assert!((mean - 0.37).abs() <= 1e-12 * 0.37, "{mean}");
        }
        Ok(())
    }

    #[test]
    fn regular_series_found_by_division_agree_with_search() -> CoreResult<()> {
        // The same intensities, once regular and once with interval 5 split in two
        // halves (irregular: found by binary search).
        let n = 50i64;
        let value = |h: i64| 0.05 + 0.01 * (h % 9) as f64;
        let starts: Vec<i64> = (0..n).map(|h| 1_000 + h * H).collect();
        let ends: Vec<i64> = starts.iter().map(|s| s + H).collect();
        let values: Vec<f64> = (0..n).map(value).collect();
        let regular = GridSeries::new(
            vec![0, n as usize],
            starts.clone(),
            ends.clone(),
            values.clone(),
        )?;
        let mut split = (starts, ends, values);
        split.0.insert(6, 1_000 + 5 * H + H / 2);
        split.1.insert(5, 1_000 + 5 * H + H / 2);
        split.2.insert(5, value(5));
        let irregular = GridSeries::new(vec![0, n as usize + 1], split.0, split.1, split.2)?;
        assert!(regular.regular_step[0].is_some() && irregular.regular_step[0].is_none());
        for (s, e) in [
            (0, 3 * H),
            (999, 1_001),
            (5 * H, 40 * H + 7),
            (49 * H, 60 * H),
            (-H, -1),
        ] {
            let (a, b) = (regular.window(0, s, e), irregular.window(0, s, e));
            assert!(
                (a.integral - b.integral).abs() <= 1e-12 * a.integral.max(1e-300),
                "{a:?} {b:?}"
            );
            assert!((a.covered_h - b.covered_h).abs() <= 1e-12 * a.covered_h.max(1e-300));
        }
        Ok(())
    }

    #[test]
    fn intensities_combine_windows_with_the_annual_value() -> CoreResult<()> {
        let g = series()?;
        // Region 0 is 0.1 in hour 0 and 0.2 in hour 1; annual 0.4.
        let out = g.intensities(
            &[0, 0, MISSING, 0, 1],
            &[0, H / 2, 0, -2 * H, 0],
            &[H, 3 * H / 2, H, -H, H],
            &[0.4, 0.4, 0.4, 0.4, 0.0],
        )?;
        assert_eq!(
            (out[0].effective, out[0].coverage, out[0].share),
            (0.1, COVERED, 1.0)
        );
        assert!((out[1].effective - 0.15).abs() < 1e-15 && (out[1].scale - 0.375).abs() < 1e-15);
        assert!(out[2].effective.is_nan() && out[2].coverage == UNCOVERED);
        assert_eq!(
            (out[3].effective, out[3].coverage, out[3].share),
            (0.4, UNCOVERED, 0.0)
        );
        // An annual value of 0 cannot be scaled.
        assert!(out[4].effective == 0.5 && out[4].scale.is_nan());
        assert!(g.intensities(&[0], &[0], &[H], &[]).is_err());
        Ok(())
    }

    #[test]
    fn bad_series_and_jobs_are_errors() -> CoreResult<()> {
        let bad = [
            (vec![0, 2], vec![0, H / 2], vec![H, 2 * H], vec![0.1, 0.1]), // overlap
            (vec![0, 1], vec![H], vec![H], vec![0.1]),                    // empty interval
            (vec![0, 1], vec![0], vec![H], vec![f64::NAN]),               // NaN
            (vec![0, 1], vec![0], vec![H], vec![-0.1]),                   // negative
            (vec![0, 2], vec![0], vec![H], vec![0.1]),                    // offsets
        ];
        for (offsets, starts, ends, intensity) in bad {
            assert!(GridSeries::new(offsets, starts, ends, intensity).is_err());
        }
        let g = series()?;
        let annual = [0.4, 0.4];
        assert!(g.intensities(&[0, 2], &[0, 0], &[1, 1], &annual).is_err());
        assert!(g.intensities(&[0], &[5], &[1], &[0.4]).is_err());
        let out = g.intensities(&[MISSING, 1], &[0, 0], &[H, H], &annual)?;
        assert!(out[0].effective.is_nan() && (out[0].share, out[0].coverage) == (0.0, UNCOVERED));
        assert_eq!(
            (out[1].effective, out[1].share, out[1].coverage),
            (0.5, 1.0, COVERED)
        );
        Ok(())
    }
}
