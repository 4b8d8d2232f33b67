//! Deterministic lifecycle estimate of each job.
//!
//! Per job (units in the names; see `docs/model.md`):
//!
//! - IT energy: metered `energy_kwh`, else measured `avg_power_w` × count × h,
//!   else modelled power × h. Modelled power is
//!   `count × (tdp_w × power_fraction + host_power_w)` for accelerator jobs and
//!   `cpu_cores × core_power_w + memory_gb × memory_power_w_per_gb` for CPU-only jobs.
//! - Facility energy: IT energy × PUE.
//! - Operational: facility energy × location (and market) intensity.
//! - Embodied hardware: embodied kgCO2e of the reserved hardware × h ÷
//!   (lifetime_years × 8760 × use_rate).
//! - Embodied facility: embodied hardware × facility_embodied_fraction.

use rayon::prelude::*;

use crate::error::{CoreError, CoreResult};
use crate::factors::{
    check_indices, check_lengths, Factor, FactorTables, Table, MISSING, N_FACTORS,
};

/// Hours in a (non-leap) year: the amortization convention.
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// Rows per parallel block. Results do not depend on it (each row is independent).
const BLOCK: usize = 16 * 1024;

/// Names of the float output columns, in the order of [`Estimates::columns`].
pub const OUTPUT_COLUMNS: [&str; 8] = [
    "it_energy_kwh",
    "facility_energy_kwh",
    "operational_kgco2e",
    "operational_market_kgco2e",
    "embodied_hardware_kgco2e",
    "embodied_facility_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
];

/// Where a job's IT energy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PowerBasis {
    /// Metered job energy (`energy_kwh`).
    Metered = 0,
    /// Measured average power per accelerator (`avg_power_w`).
    Measured = 1,
    /// Modelled from TDP, power fraction and host share (or CPU and memory).
    Modelled = 2,
}

impl PowerBasis {
    /// Labels, indexed by the `u8` code.
    pub const LABELS: [&'static str; 3] = ["metered", "measured", "modelled"];
}

/// Row index of each job into one table: one value for all jobs, or one per job.
#[derive(Debug, Clone, Copy)]
pub enum RowIndex<'a> {
    /// Every job uses this row ([`MISSING`] for none).
    Constant(u32),
    /// One row per job ([`MISSING`] for none).
    PerJob(&'a [u32]),
}

impl RowIndex<'_> {
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        match self {
            RowIndex::Constant(r) => *r,
            RowIndex::PerJob(rows) => rows[i],
        }
    }
}

/// The numeric columns of the jobs. Optional columns are `None` when absent;
/// inside a column NaN marks "not given for this job" for `energy_kwh`,
/// `avg_power_w` and the overrides.
#[derive(Debug, Clone)]
pub struct JobColumns<'a> {
    /// Reserved wall-clock hours.
    pub duration_h: &'a [f64],
    /// Accelerators reserved (0 for CPU-only jobs).
    pub accelerator_count: Option<&'a [f64]>,
    /// CPU cores reserved.
    pub cpu_cores: Option<&'a [f64]>,
    /// Memory reserved, GB.
    pub memory_gb: Option<&'a [f64]>,
    /// Metered IT energy, kWh (NaN: not metered).
    pub energy_kwh: Option<&'a [f64]>,
    /// Measured average power per accelerator (per job when count is 0), W (NaN: not measured).
    pub avg_power_w: Option<&'a [f64]>,
    /// Accelerator table row.
    pub accelerator: RowIndex<'a>,
    /// CPU table row.
    pub cpu: RowIndex<'a>,
    /// Region table row ([`MISSING`]: take the datacenter's region).
    pub region: RowIndex<'a>,
    /// Datacenter table row ([`MISSING`]: take the region's default datacenter).
    pub datacenter: RowIndex<'a>,
    /// Per-job override of each factor, indexed by `Factor as usize` (NaN: use the table).
    pub overrides: [Option<&'a [f64]>; N_FACTORS],
}

/// Per-job results, one owned column per output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimates {
    /// [`PowerBasis`] code of each job.
    pub power_basis: Vec<u8>,
    /// Float outputs, named by [`OUTPUT_COLUMNS`].
    pub columns: [Vec<f64>; 8],
}

/// Per-job estimate for every job. Fails (never panics) on inconsistent input
/// and on any non-finite result, naming the first offending row.
pub fn estimate(jobs: &JobColumns<'_>, tables: &FactorTables) -> CoreResult<Estimates> {
    let n = jobs.duration_h.len();
    check_jobs(jobs, tables, n)?;
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
    let results: Vec<CoreResult<()>> = blocks
        .into_par_iter()
        .map(|(start, basis, mut cols)| {
            for (k, code) in basis.iter_mut().enumerate() {
                let row = estimate_row(jobs, tables, start + k)?;
                *code = row.basis as u8;
                for (col, value) in cols.iter_mut().zip(row.values) {
                    col[k] = value;
                }
            }
            Ok(())
        })
        .collect();
    // Report the first failing row in row order, whatever the thread schedule.
    results.into_iter().collect::<CoreResult<Vec<()>>>()?;
    Ok(out)
}

struct RowResult {
    basis: PowerBasis,
    values: [f64; 8],
}

#[inline]
pub(crate) fn optional(column: Option<&[f64]>, i: usize) -> Option<f64> {
    column.map(|c| c[i]).filter(|v| !v.is_nan())
}

#[inline]
fn factor(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    f: Factor,
    i: usize,
    row: u32,
) -> CoreResult<f64> {
    if let Some(v) = optional(jobs.overrides[f as usize], i) {
        return Ok(v);
    }
    if row == MISSING {
        return Err(CoreError::MissingFactor {
            factor: f.name(),
            row: i,
        });
    }
    Ok(tables.column(f)[row as usize])
}

#[inline]
fn estimate_row(jobs: &JobColumns<'_>, tables: &FactorTables, i: usize) -> CoreResult<RowResult> {
    let hours = jobs.duration_h[i];
    let count = jobs.accelerator_count.map_or(0.0, |c| c[i]);
    let cores = jobs.cpu_cores.map_or(0.0, |c| c[i]);
    let memory_gb = jobs.memory_gb.map_or(0.0, |c| c[i]);
    let Rows {
        accelerator,
        cpu,
        region,
        datacenter,
    } = resolve_rows(jobs, tables, i);
    let defaults = 0;
    let get = |f: Factor, row: u32| factor(jobs, tables, f, i, row);
    let has_accelerators = count > 0.0;

    let (basis, it_energy_kwh) = if let Some(e) = optional(jobs.energy_kwh, i) {
        (PowerBasis::Metered, e)
    } else if let Some(p) = optional(jobs.avg_power_w, i) {
        let units = if has_accelerators { count } else { 1.0 };
        (PowerBasis::Measured, p * units * hours / 1000.0)
    } else {
        let watts = if has_accelerators {
            let per_accelerator = get(Factor::TdpW, accelerator)?
                * get(Factor::PowerFraction, defaults)?
                + get(Factor::HostPowerW, accelerator)?;
            count * per_accelerator
        } else {
            cpu_memory(
                cores,
                memory_gb,
                |f| {
                    get(
                        f,
                        if f.table() == Table::Cpu {
                            cpu
                        } else {
                            defaults
                        },
                    )
                },
                [Factor::CorePowerW, Factor::MemoryPowerWPerGb],
            )?
        };
        (PowerBasis::Modelled, watts * hours / 1000.0)
    };

    let facility_energy_kwh = it_energy_kwh * get(Factor::Pue, datacenter)?;
    let grid = get(Factor::GridKgco2ePerKwh, region)?;
    let market = match optional(jobs.overrides[Factor::MarketKgco2ePerKwh as usize], i) {
        Some(v) => v,
        None if region != MISSING => {
            let table_value = tables.column(Factor::MarketKgco2ePerKwh)[region as usize];
            if table_value.is_nan() {
                grid
            } else {
                table_value
            }
        }
        None => grid,
    };
    let operational = facility_energy_kwh * grid;
    let operational_market = facility_energy_kwh * market;

    let hardware_kgco2e = if has_accelerators {
        count * get(Factor::AcceleratorEmbodiedKgco2e, accelerator)?
    } else {
        cpu_memory(
            cores,
            memory_gb,
            |f| {
                get(
                    f,
                    if f.table() == Table::Cpu {
                        cpu
                    } else {
                        defaults
                    },
                )
            },
            [
                Factor::CoreEmbodiedKgco2e,
                Factor::MemoryEmbodiedKgco2ePerGb,
            ],
        )?
    };
    let embodied_hardware = if hardware_kgco2e == 0.0 || hours == 0.0 {
        0.0
    } else {
        let lifetime_h = get(Factor::LifetimeYears, defaults)? * HOURS_PER_YEAR;
        hardware_kgco2e * hours / (lifetime_h * get(Factor::UseRate, defaults)?)
    };
    let embodied_facility = embodied_hardware * get(Factor::FacilityEmbodiedFraction, datacenter)?;
    let embodied = embodied_hardware + embodied_facility;

    // `+ 0.0` turns a negative zero (from a -0.0 input) into 0.0.
    let values = [
        it_energy_kwh + 0.0,
        facility_energy_kwh + 0.0,
        operational + 0.0,
        operational_market + 0.0,
        embodied_hardware + 0.0,
        embodied_facility + 0.0,
        embodied + 0.0,
        operational + embodied + 0.0,
    ];
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            column: OUTPUT_COLUMNS[k],
            row: i,
            value: values[k],
        });
    }
    Ok(RowResult { basis, values })
}

/// The table rows a job uses, after the region/datacenter fallbacks of `docs/model.md` §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Rows {
    pub accelerator: u32,
    pub cpu: u32,
    pub region: u32,
    pub datacenter: u32,
}

/// Rows of job `i`: a missing region comes from the datacenter, a missing datacenter
/// from the region's default (or the global default when both are missing).
#[inline]
pub(crate) fn resolve_rows(jobs: &JobColumns<'_>, tables: &FactorTables, i: usize) -> Rows {
    let mut region = jobs.region.get(i);
    let mut datacenter = jobs.datacenter.get(i);
    if region == MISSING && datacenter != MISSING {
        region = tables.datacenter_region[datacenter as usize];
    }
    if datacenter == MISSING {
        datacenter = if region == MISSING {
            tables.default_datacenter
        } else {
            tables.region_default_datacenter[region as usize]
        };
    }
    Rows {
        accelerator: jobs.accelerator.get(i),
        cpu: jobs.cpu.get(i),
        region,
        datacenter,
    }
}

/// `cores × per_core + memory_gb × per_gb`, looking a factor up only when its quantity is non-zero.
#[inline]
fn cpu_memory(
    cores: f64,
    memory_gb: f64,
    get: impl Fn(Factor) -> CoreResult<f64>,
    [per_core, per_gb]: [Factor; 2],
) -> CoreResult<f64> {
    let mut total = 0.0;
    if cores != 0.0 {
        total += cores * get(per_core)?;
    }
    if memory_gb != 0.0 {
        total += memory_gb * get(per_gb)?;
    }
    Ok(total)
}

pub(crate) fn check_jobs(jobs: &JobColumns<'_>, tables: &FactorTables, n: usize) -> CoreResult<()> {
    let float_columns = [
        ("accelerator_count", jobs.accelerator_count),
        ("cpu_cores", jobs.cpu_cores),
        ("memory_gb", jobs.memory_gb),
        ("energy_kwh", jobs.energy_kwh),
        ("avg_power_w", jobs.avg_power_w),
    ];
    for (name, column) in float_columns {
        if let Some(c) = column {
            check_lengths(name, c.len(), n)?;
        }
    }
    for f in Factor::ALL {
        if let Some(c) = jobs.overrides[f as usize] {
            check_lengths(f.name(), c.len(), n)?;
        }
    }
    let index_columns = [
        ("accelerator", jobs.accelerator, Table::Accelerator),
        ("cpu", jobs.cpu, Table::Cpu),
        ("region", jobs.region, Table::Region),
        ("datacenter", jobs.datacenter, Table::Datacenter),
    ];
    for (name, index, table) in index_columns {
        let len = tables.len(table);
        match index {
            RowIndex::Constant(r) => check_indices(name, &[r], len, true)?,
            RowIndex::PerJob(rows) => {
                check_lengths(name, rows.len(), n)?;
                check_indices(name, rows, len, true)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn modelled_accelerator_job_matches_hand_calculation() -> CoreResult<()> {
        let out = estimate(&jobs(&[10.0], &[8.0], &[0]), &tables())?;
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
        let out = estimate(&jobs(&[10.0], &[8.0], &[1]), &tables())?;
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
        let out = estimate(&j, &tables())?;
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
        let out = estimate(&j, &tables())?;
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
        let out = estimate(&j, &tables())?;
        assert!(close(out.columns[1][0], out.columns[0][0] * 1.2));
        assert!(close(out.columns[1][1], out.columns[0][1] * 1.5));
        Ok(())
    }

    #[test]
    fn missing_region_without_override_is_an_error_not_a_nan() {
        let err = estimate(&jobs(&[1.0, 1.0], &[1.0, 1.0], &[0, MISSING]), &tables());
        assert_eq!(
            err,
            Err(CoreError::MissingFactor {
                factor: "grid_kgco2e_per_kwh",
                row: 1
            })
        );
    }

    #[test]
    fn non_finite_results_are_reported() {
        let life = [0.0];
        let mut j = jobs(&[1.0], &[1.0], &[0]);
        j.overrides[Factor::LifetimeYears as usize] = Some(&life);
        assert!(matches!(
            estimate(&j, &tables()),
            Err(CoreError::NonFinite {
                column: "embodied_hardware_kgco2e",
                ..
            })
        ));
    }

    #[test]
    fn bad_lengths_and_indices_are_errors() {
        assert!(matches!(
            estimate(&jobs(&[1.0, 1.0], &[1.0], &[0, 0]), &tables()),
            Err(CoreError::LengthMismatch { .. })
        ));
        assert!(matches!(
            estimate(&jobs(&[1.0], &[1.0], &[7]), &tables()),
            Err(CoreError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn many_rows_across_blocks_are_independent_of_position() -> CoreResult<()> {
        let n = 3 * BLOCK + 17;
        let duration: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.5).collect();
        let count: Vec<f64> = (0..n).map(|i| (1 << (i % 4)) as f64).collect();
        let region: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let out = estimate(&jobs(&duration, &count, &region), &tables())?;
        for i in [0, BLOCK - 1, BLOCK, 2 * BLOCK + 5, n - 1] {
            let single = estimate(
                &jobs(&duration[i..=i], &count[i..=i], &region[i..=i]),
                &tables(),
            )?;
            for k in 0..8 {
                assert_eq!(out.columns[k][i].to_bits(), single.columns[k][0].to_bits());
            }
        }
        Ok(())
    }
}
