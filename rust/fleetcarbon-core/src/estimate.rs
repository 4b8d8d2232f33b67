//! Deterministic lifecycle estimate of every job: [`crate::model::footprint`]
//! evaluated per row, in parallel blocks.

use rayon::prelude::*;

use crate::control::Control;
use crate::error::{CoreError, CoreResult, RowErrors};
use crate::factors::FactorTables;
use crate::model::equations::it_energy_kwh;
use crate::model::{
    footprint, resolve_rows, Activity, JobColumns, JobFactors, JobQuantities, OUTPUT_COLUMNS,
};

/// Rows per parallel block (and per progress step). Results do not depend on
/// it: each row is independent.
const BLOCK: usize = 16 * 1024;

/// Per-job results, one owned column per output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimates {
    /// [`crate::model::PowerBasis`] code of each job.
    pub power_basis: Vec<u8>,
    /// Float outputs, named by [`OUTPUT_COLUMNS`].
    pub columns: [Vec<f64>; 8],
}

/// Per-job estimate for every job.
///
/// Fails (never panics) on inconsistent input and on any non-finite result,
/// naming the first offending row and counting them all. Reports progress in
/// rows to `control`, and stops with [`CoreError::Cancelled`] when asked.
pub fn estimate(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    control: &Control,
) -> CoreResult<Estimates> {
    let n = jobs.len();
    jobs.check(tables)?;
    control.plan(n as u64);
    let mut out = Estimates {
        power_basis: vec![0; n],
        columns: std::array::from_fn(|_| vec![0.0; n]),
    };
    let mut column_chunks: Vec<std::slice::ChunksMut<'_, f64>> = out
        .columns
        .iter_mut()
        .map(|c| c.chunks_mut(BLOCK))
        .collect();
    let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
    for (b, basis) in out.power_basis.chunks_mut(BLOCK).enumerate() {
        let cols: Vec<&mut [f64]> = column_chunks
            .iter_mut()
            .filter_map(Iterator::next)
            .collect();
        blocks.push((b * BLOCK, basis, cols));
    }
    let results: Vec<CoreResult<RowErrors>> = blocks
        .into_par_iter()
        .map(|(start, basis, mut cols)| {
            control.check()?;
            let mut errors = RowErrors::default();
            for (k, code) in basis.iter_mut().enumerate() {
                match estimate_row(jobs, tables, start + k) {
                    Ok((b, values)) => {
                        *code = b;
                        for (col, value) in cols.iter_mut().zip(values) {
                            col[k] = value;
                        }
                    }
                    Err(e) => errors.record(e),
                }
            }
            control.advance(basis.len() as u64);
            Ok(errors)
        })
        .collect();
    // Blocks merge in row order: the first failing row, whatever the schedule.
    let mut errors = RowErrors::default();
    for r in results {
        errors.merge(r?);
    }
    errors.into_result()?;
    Ok(out)
}

/// The IT energy of every metered or measured job under the modelled basis,
/// ignoring its meter (NaN for the other jobs, and where the model lacks a
/// factor the job would need). For plausibility checks: a metered value far
/// from what the job's hardware would draw is more likely a unit mistake than
/// a measurement.
pub fn modelled_it_energy(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    control: &Control,
) -> CoreResult<Vec<f64>> {
    jobs.check(tables)?;
    let n = jobs.len();
    control.plan(n as u64);
    let mut out = vec![0.0; n];
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .try_for_each(|(b, chunk)| -> CoreResult<()> {
            control.check()?;
            for (k, x) in chunk.iter_mut().enumerate() {
                let i = b * BLOCK + k;
                let given = jobs.quantities(i);
                if given.energy_kwh.is_none() && given.avg_power_w.is_none() {
                    *x = f64::NAN;
                    continue;
                }
                let quantities = JobQuantities {
                    energy_kwh: None,
                    avg_power_w: None,
                    ..given
                };
                let (activity, _) = Activity::of(&quantities);
                let rows = resolve_rows(jobs, tables, i);
                *x = match JobFactors::resolve(jobs, tables, &rows, &activity, i) {
                    Ok(factors) => it_energy_kwh(&activity, &factors.power),
                    Err(_) => f64::NAN,
                };
            }
            control.advance(chunk.len() as u64);
            Ok(())
        })?;
    Ok(out)
}

#[inline(always)]
fn estimate_row(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    i: usize,
) -> CoreResult<(u8, [f64; 8])> {
    let (activity, basis) = Activity::of(&jobs.quantities(i));
    let rows = resolve_rows(jobs, tables, i);
    let factors = JobFactors::resolve(jobs, tables, &rows, &activity, i)?;
    // `+ 0.0` turns a negative zero (from a -0.0 input) into 0.0.
    let values = footprint(&activity, &factors).values().map(|v| v + 0.0);
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            column: OUTPUT_COLUMNS[k],
            row: i,
            value: values[k],
            count: 1,
        });
    }
    Ok((basis as u8, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factors::{Factor, MISSING, N_FACTORS};
    use crate::model::{PowerBasis, RowIndex};

    /// One accelerator (700 W TDP, 100 W host, 1000 kg), one CPU row (10 W/core, 5 kg/core),
    /// two regions (0.5 and 0.1 kg/kWh, the second with a market factor of 0), one datacenter
    /// (PUE 1.2, facility 10%), defaults: power fraction 0.5, lifetime 4 y, use rate 1,
    /// memory 0.5 W/GB and 1 kg/GB.
    fn tables() -> FactorTables {
        let mut v: [Vec<f64>; N_FACTORS] = Default::default();
        let set = |v: &mut [Vec<f64>; N_FACTORS], f: Factor, x: Vec<f64>| v[f as usize] = x;
        set(&mut v, Factor::TdpW, vec![700.0]);
        set(&mut v, Factor::HostPowerW, vec![100.0]);
        set(&mut v, Factor::AcceleratorEmbodiedKgco2e, vec![1000.0]);
        set(&mut v, Factor::CorePowerW, vec![10.0]);
        set(&mut v, Factor::CoreEmbodiedKgco2e, vec![5.0]);
        set(&mut v, Factor::GridKgco2ePerKwh, vec![0.5, 0.1]);
        set(&mut v, Factor::MarketKgco2ePerKwh, vec![f64::NAN, 0.0]);
        set(&mut v, Factor::Pue, vec![1.2]);
        set(&mut v, Factor::FacilityEmbodiedFraction, vec![0.1]);
        set(&mut v, Factor::PowerFraction, vec![0.5]);
        set(&mut v, Factor::LifetimeYears, vec![4.0]);
        set(&mut v, Factor::UseRate, vec![1.0]);
        set(&mut v, Factor::MemoryPowerWPerGb, vec![0.5]);
        set(&mut v, Factor::MemoryEmbodiedKgco2ePerGb, vec![1.0]);
        match FactorTables::new(v, vec![0], vec![0, 0], 0) {
            Ok(t) => t,
            Err(e) => unreachable!("test tables are valid: {e}"),
        }
    }

    fn jobs<'a>(duration: &'a [f64], count: &'a [f64], region: &'a [u32]) -> JobColumns<'a> {
        JobColumns {
            duration_h: duration,
            accelerator_count: Some(count),
            cpu_cores: None,
            memory_gb: None,
            energy_kwh: None,
            avg_power_w: None,
            accelerator: RowIndex::Constant(0),
            cpu: RowIndex::Constant(0),
            region: RowIndex::PerJob(region),
            datacenter: RowIndex::Constant(MISSING),
            overrides: [None; N_FACTORS],
            core_usage: None,
            grid_scale: None,
            accelerator_host: crate::model::AcceleratorHost::Share,
        }
    }

    fn run(j: &JobColumns<'_>) -> CoreResult<Estimates> {
        estimate(j, &tables(), &Control::new())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn modelled_accelerator_job_matches_hand_calculation() -> CoreResult<()> {
        let out = run(&jobs(&[10.0], &[8.0], &[0]))?;
        // 8 × (700 × 0.5 + 100) W × 10 h = 36 kWh; × 1.2 = 43.2 kWh; × 0.5 = 21.6 kg.
        let c = &out.columns;
        assert!(close(c[0][0], 36.0));
        assert!(close(c[1][0], 43.2));
        assert!(close(c[2][0], 21.6));
        assert!(
            close(c[3][0], 21.6),
            "market falls back to location when the table has no market factor"
        );
        // 8 × 1000 kg × 10 h / (4 × 8760 h) = 2.2831 kg; facility +10%.
        let hw = 8.0 * 1000.0 * 10.0 / (4.0 * 8760.0);
        assert!(close(c[4][0], hw));
        assert!(close(c[5][0], hw * 0.1));
        assert!(close(c[6][0], hw * 1.1));
        assert!(close(c[7][0], 21.6 + hw * 1.1));
        assert_eq!(out.power_basis, vec![PowerBasis::Modelled as u8]);
        Ok(())
    }

    #[test]
    fn market_factor_from_region_table() -> CoreResult<()> {
        let out = run(&jobs(&[10.0], &[8.0], &[1]))?;
        assert!(close(out.columns[2][0], 43.2 * 0.1));
        assert_eq!(out.columns[3][0], 0.0);
        Ok(())
    }

    #[test]
    fn basis_precedence_metered_then_measured_then_modelled() -> CoreResult<()> {
        let energy = [5.0, f64::NAN, f64::NAN];
        let power = [999.0, 300.0, f64::NAN];
        let mut j = jobs(&[2.0, 2.0, 2.0], &[4.0, 4.0, 4.0], &[0, 0, 0]);
        j.energy_kwh = Some(&energy);
        j.avg_power_w = Some(&power);
        let out = run(&j)?;
        assert_eq!(out.power_basis, vec![0, 1, 2]);
        assert!(close(out.columns[0][0], 5.0));
        assert!(close(out.columns[0][1], 300.0 * 4.0 * 2.0 / 1000.0));
        assert!(close(out.columns[0][2], 4.0 * 450.0 * 2.0 / 1000.0));
        Ok(())
    }

    #[test]
    fn cpu_only_job_uses_cores_and_memory() -> CoreResult<()> {
        let cores = [16.0];
        let memory = [64.0];
        let mut j = jobs(&[3.0], &[0.0], &[0]);
        j.cpu_cores = Some(&cores);
        j.memory_gb = Some(&memory);
        let out = run(&j)?;
        let it = (16.0 * 10.0 + 64.0 * 0.5) * 3.0 / 1000.0;
        assert!(close(out.columns[0][0], it));
        let hw = (16.0 * 5.0 + 64.0 * 1.0) * 3.0 / (4.0 * 8760.0);
        assert!(close(out.columns[4][0], hw));
        Ok(())
    }

    #[test]
    fn overrides_win_over_tables() -> CoreResult<()> {
        let pue = [f64::NAN, 1.5];
        let mut j = jobs(&[1.0, 1.0], &[1.0, 1.0], &[0, 0]);
        j.overrides[Factor::Pue as usize] = Some(&pue);
        let out = run(&j)?;
        assert!(close(out.columns[1][0], out.columns[0][0] * 1.2));
        assert!(close(out.columns[1][1], out.columns[0][1] * 1.5));
        Ok(())
    }

    #[test]
    fn missing_region_without_override_is_an_error_not_a_nan() {
        let err = run(&jobs(
            &[1.0, 1.0, 1.0],
            &[1.0, 1.0, 1.0],
            &[0, MISSING, MISSING],
        ));
        assert_eq!(
            err,
            Err(CoreError::MissingFactor {
                factor: "grid_kgco2e_per_kwh",
                row: 1,
                count: 2,
            })
        );
    }

    #[test]
    fn non_finite_results_are_reported_with_their_count() {
        let life = [0.0, 4.0, 0.0];
        let mut j = jobs(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0], &[0, 0, 0]);
        j.overrides[Factor::LifetimeYears as usize] = Some(&life);
        assert!(matches!(
            run(&j),
            Err(CoreError::NonFinite {
                column: "embodied_hardware_kgco2e",
                row: 0,
                count: 2,
                ..
            })
        ));
    }

    #[test]
    fn zero_hours_have_no_embodied_carbon_whatever_the_lifetime() -> CoreResult<()> {
        let life = [0.0];
        let mut j = jobs(&[0.0], &[1.0], &[0]);
        j.overrides[Factor::LifetimeYears as usize] = Some(&life);
        let out = run(&j)?;
        assert_eq!(out.columns[6][0], 0.0);
        Ok(())
    }

    #[test]
    fn bad_lengths_and_indices_are_errors() {
        assert!(matches!(
            run(&jobs(&[1.0, 1.0], &[1.0], &[0, 0])),
            Err(CoreError::LengthMismatch { .. })
        ));
        assert!(matches!(
            run(&jobs(&[1.0], &[1.0], &[7])),
            Err(CoreError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn modelled_energy_ignores_meters() -> CoreResult<()> {
        let energy = [5.0, f64::NAN];
        let mut j = jobs(&[10.0, 10.0], &[8.0, 8.0], &[0, 0]);
        j.energy_kwh = Some(&energy);
        let modelled = modelled_it_energy(&j, &tables(), &Control::new())?;
        assert!(close(modelled[0], 36.0) && modelled[1].is_nan());
        Ok(())
    }

    #[test]
    fn cancelled_runs_stop_and_progress_counts_rows() -> CoreResult<()> {
        let n = 2 * BLOCK + 3;
        let (d, c, r) = (vec![1.0; n], vec![1.0; n], vec![0; n]);
        let control = Control::new();
        estimate(&jobs(&d, &c, &r), &tables(), &control)?;
        assert_eq!(control.progress(), (n as u64, n as u64));
        control.cancel();
        let stopped = estimate(&jobs(&d, &c, &r), &tables(), &control);
        assert_eq!(stopped, Err(CoreError::Cancelled));
        Ok(())
    }

    #[test]
    fn many_rows_across_blocks_are_independent_of_position() -> CoreResult<()> {
        let n = 3 * BLOCK + 17;
        let duration: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.5).collect();
        let count: Vec<f64> = (0..n).map(|i| (1 << (i % 4)) as f64).collect();
        let region: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let out = run(&jobs(&duration, &count, &region))?;
        for i in [0, BLOCK - 1, BLOCK, 2 * BLOCK + 5, n - 1] {
            let single = run(&jobs(&duration[i..=i], &count[i..=i], &region[i..=i]))?;
            for k in 0..8 {
                assert_eq!(out.columns[k][i].to_bits(), single.columns[k][0].to_bits());
            }
        }
        Ok(())
    }
}
