//! How a job record reaches the model: its quantities, its table rows after
//! the region/datacenter fallbacks, and each factor's value (docs/model.md §2).

use crate::error::{CoreError, CoreResult};
use crate::factors::{
    check_indices, check_lengths, Factor, FactorTables, Table, MISSING, N_FACTORS,
};
use crate::model::equations::{AcceleratorHost, JobQuantities};

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
    /// Share of the reserved cores' power drawn, in [0, 1] (None or NaN: 1).
    pub core_usage: Option<&'a [f64]>,
    /// Multiplier of the region row's grid intensity, for jobs whose window
    /// met a time-resolved series (docs/model.md §4.2; None or NaN: 1). A
    /// per-job `grid_kgco2e_per_kwh` override ignores it.
    pub grid_scale: Option<&'a [f64]>,
    /// Which host power accelerator jobs are charged.
    pub accelerator_host: AcceleratorHost,
}

impl JobColumns<'_> {
    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.duration_h.len()
    }

    /// Whether there are no jobs.
    pub fn is_empty(&self) -> bool {
        self.duration_h.is_empty()
    }

    /// The quantities of job `i`.
    #[inline(always)]
    pub fn quantities(&self, i: usize) -> JobQuantities {
        JobQuantities {
            hours: self.duration_h[i],
            accelerators: self.accelerator_count.map_or(0.0, |c| c[i]),
            cores: self.cpu_cores.map_or(0.0, |c| c[i]),
            memory_gb: self.memory_gb.map_or(0.0, |c| c[i]),
            energy_kwh: optional(self.energy_kwh, i),
            avg_power_w: optional(self.avg_power_w, i),
            core_usage: optional(self.core_usage, i).unwrap_or(1.0),
            accelerator_host: self.accelerator_host,
        }
    }

    /// Job `i`'s override of factor `f`, if it gives one.
    #[inline(always)]
    pub fn override_of(&self, f: Factor, i: usize) -> Option<f64> {
        optional(self.overrides[f as usize], i)
    }

    /// Job `i`'s multiplier of its region's grid intensity (1 unless a series
    /// gives one; 1 as well where the job overrides the grid intensity).
    #[inline(always)]
    pub fn grid_scale_of(&self, i: usize) -> f64 {
        if self.override_of(Factor::GridKgco2ePerKwh, i).is_some() {
            return 1.0;
        }
        optional(self.grid_scale, i).unwrap_or(1.0)
    }

    /// Whether job `i` overrides any factor.
    pub fn overrides_any(&self, i: usize) -> bool {
        Factor::ALL
            .iter()
            .any(|&f| self.override_of(f, i).is_some())
    }

    /// Check that every column has one value per job.
    pub fn check_lengths(&self) -> CoreResult<()> {
        let n = self.len();
        let float_columns = [
            ("accelerator_count", self.accelerator_count),
            ("cpu_cores", self.cpu_cores),
            ("memory_gb", self.memory_gb),
            ("energy_kwh", self.energy_kwh),
            ("avg_power_w", self.avg_power_w),
            ("core_usage", self.core_usage),
            ("grid_scale", self.grid_scale),
        ];
        for (name, column) in float_columns {
            if let Some(c) = column {
                check_lengths(name, c.len(), n)?;
            }
        }
        for f in Factor::ALL {
            if let Some(c) = self.overrides[f as usize] {
                check_lengths(f.name(), c.len(), n)?;
            }
        }
        Ok(())
    }

    /// Check lengths, and table indices against `tables`.
    pub fn check(&self, tables: &FactorTables) -> CoreResult<()> {
        self.check_lengths()?;
        let n = self.len();
        let index_columns = [
            ("accelerator", self.accelerator, Table::Accelerator),
            ("cpu", self.cpu, Table::Cpu),
            ("region", self.region, Table::Region),
            ("datacenter", self.datacenter, Table::Datacenter),
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
}

#[inline(always)]
fn optional(column: Option<&[f64]>, i: usize) -> Option<f64> {
    column.map(|c| c[i]).filter(|v| !v.is_nan())
}

/// The table rows a job uses, after the region/datacenter fallbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rows {
    /// Accelerator row ([`MISSING`]: none).
    pub accelerator: u32,
    /// CPU row ([`MISSING`]: none).
    pub cpu: u32,
    /// Region row ([`MISSING`]: none; then the job must override the grid intensity).
    pub region: u32,
    /// Datacenter row (always resolved).
    pub datacenter: u32,
}

impl Rows {
    /// The row of `table` (the defaults table has one row, 0).
    #[inline(always)]
    pub fn of(&self, table: Table) -> u32 {
        match table {
            Table::Accelerator => self.accelerator,
            Table::Cpu => self.cpu,
            Table::Region => self.region,
            Table::Datacenter => self.datacenter,
            Table::Defaults => 0,
        }
    }
}

/// The rows of job `i` (docs/model.md §2): a job without a region takes its
/// datacenter's region; a job without a datacenter takes its region's default
/// datacenter, or the global default when it has neither.
#[inline]
pub fn resolve_rows(jobs: &JobColumns<'_>, tables: &FactorTables, i: usize) -> Rows {
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

/// The value of factor `f` for job `i` (docs/model.md §2): its override, else
/// its table row's value. `Ok(None)` when it has neither, which is an error
/// only for a factor the job uses (see [`crate::model::Activity::uses`]).
/// A NaN market factor in the table means "same as location-based".
#[inline(always)]
pub fn factor_value(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    rows: &Rows,
    f: Factor,
    i: usize,
) -> Option<f64> {
    if let Some(v) = jobs.override_of(f, i) {
        return Some(v);
    }
    let row = rows.of(f.table());
    (row != MISSING).then(|| tables.column(f)[row as usize])
}

/// [`factor_value`] of a factor the job uses: a missing value is an error
/// naming the factor and the job's position.
#[inline(always)]
pub fn required_factor(
    jobs: &JobColumns<'_>,
    tables: &FactorTables,
    rows: &Rows,
    f: Factor,
    i: usize,
) -> CoreResult<f64> {
    factor_value(jobs, tables, rows, f, i).ok_or(CoreError::MissingFactor {
        factor: f.name(),
        row: i,
        count: 1,
    })
}
