//! Identity of the model's factors and the tables that hold them.
//!
//! Every factor lives in exactly one table (accelerators, CPUs, regions,
//! datacenters, or the one-row defaults table). A job points at one row of
//! each table, and any factor can be overridden per job. Keeping the table
//! row identity (instead of resolving values per job up front) is what lets
//! the Monte Carlo treat one table row as one shared uncertain quantity.

use crate::error::{CoreError, CoreResult};

/// Sentinel row index meaning "this job has no row in that table".
pub const MISSING: u32 = u32::MAX;

/// The factor tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Accelerator models (per-accelerator power and embodied carbon).
    Accelerator,
    /// CPU families (per-core power and embodied carbon).
    Cpu,
    /// Grid regions (location- and market-based intensity).
    Region,
    /// Datacenters (PUE and facility embodied surcharge).
    Datacenter,
    /// Global defaults: a table with exactly one row.
    Defaults,
}

impl Table {
    /// All tables, in a fixed order.
    pub const ALL: [Table; 5] = [
        Table::Accelerator,
        Table::Cpu,
        Table::Region,
        Table::Datacenter,
        Table::Defaults,
    ];

    /// Name used in error messages and across the Python boundary.
    pub fn name(self) -> &'static str {
        match self {
            Table::Accelerator => "accelerators",
            Table::Cpu => "cpus",
            Table::Region => "regions",
            Table::Datacenter => "datacenters",
            Table::Defaults => "defaults",
        }
    }

    /// The table called `name` (as [`Table::name`] spells it).
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Position in [`Table::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A factor of the model. The name is also the per-job override column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Factor {
    /// Accelerator thermal design power, W.
    TdpW = 0,
    /// Host power share per accelerator, W.
    HostPowerW,
    /// Embodied carbon per accelerator incl. its server share, kgCO2e.
    AcceleratorEmbodiedKgco2e,
    /// CPU power per core, W.
    CorePowerW,
    /// Embodied carbon per CPU core incl. its server share, kgCO2e.
    CoreEmbodiedKgco2e,
    /// Location-based grid intensity, kgCO2e/kWh.
    GridKgco2ePerKwh,
    /// Market-based intensity, kgCO2e/kWh (NaN in the table: same as location).
    MarketKgco2ePerKwh,
    /// Power usage effectiveness, dimensionless, >= 1.
    Pue,
    /// Facility (construction, non-IT) embodied surcharge on hardware embodied.
    FacilityEmbodiedFraction,
    /// Average accelerator draw as a fraction of TDP (modelled power).
    PowerFraction,
    /// Hardware lifetime, years.
    LifetimeYears,
    /// Fleet use rate: share of lifetime hours that are allocated to jobs.
    UseRate,
    /// Memory power, W per GB.
    MemoryPowerWPerGb,
    /// Memory embodied carbon, kgCO2e per GB.
    MemoryEmbodiedKgco2ePerGb,
}

/// Number of factors.
pub const N_FACTORS: usize = 14;

impl Factor {
    /// All factors, in the order of their discriminants.
    pub const ALL: [Factor; N_FACTORS] = [
        Factor::TdpW,
        Factor::HostPowerW,
        Factor::AcceleratorEmbodiedKgco2e,
        Factor::CorePowerW,
        Factor::CoreEmbodiedKgco2e,
        Factor::GridKgco2ePerKwh,
        Factor::MarketKgco2ePerKwh,
        Factor::Pue,
        Factor::FacilityEmbodiedFraction,
        Factor::PowerFraction,
        Factor::LifetimeYears,
        Factor::UseRate,
        Factor::MemoryPowerWPerGb,
        Factor::MemoryEmbodiedKgco2ePerGb,
    ];

    /// Column name of the factor, in its table and as a per-job override.
    pub fn name(self) -> &'static str {
        match self {
            Factor::TdpW => "tdp_w",
            Factor::HostPowerW => "host_power_w",
            Factor::AcceleratorEmbodiedKgco2e => "accelerator_embodied_kgco2e",
            Factor::CorePowerW => "core_power_w",
            Factor::CoreEmbodiedKgco2e => "core_embodied_kgco2e",
            Factor::GridKgco2ePerKwh => "grid_kgco2e_per_kwh",
            Factor::MarketKgco2ePerKwh => "market_kgco2e_per_kwh",
            Factor::Pue => "pue",
            Factor::FacilityEmbodiedFraction => "facility_embodied_fraction",
            Factor::PowerFraction => "power_fraction",
            Factor::LifetimeYears => "lifetime_years",
            Factor::UseRate => "use_rate",
            Factor::MemoryPowerWPerGb => "memory_power_w_per_gb",
            Factor::MemoryEmbodiedKgco2ePerGb => "memory_embodied_kgco2e_per_gb",
        }
    }

    /// Look a factor up by its column name.
    pub fn from_name(name: &str) -> Option<Factor> {
        Factor::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The table that holds this factor.
    #[inline(always)]
    pub fn table(self) -> Table {
        match self {
            Factor::TdpW | Factor::HostPowerW | Factor::AcceleratorEmbodiedKgco2e => {
                Table::Accelerator
            }
            Factor::CorePowerW | Factor::CoreEmbodiedKgco2e => Table::Cpu,
            Factor::GridKgco2ePerKwh | Factor::MarketKgco2ePerKwh => Table::Region,
            Factor::Pue | Factor::FacilityEmbodiedFraction => Table::Datacenter,
            Factor::PowerFraction
            | Factor::LifetimeYears
            | Factor::UseRate
            | Factor::MemoryPowerWPerGb
            | Factor::MemoryEmbodiedKgco2ePerGb => Table::Defaults,
        }
    }
}

/// Factor values per table row, plus the links between tables.
#[derive(Debug, Clone, Default)]
pub struct FactorTables {
    /// `values[f as usize][row]` is factor `f` for that row of its table.
    values: [Vec<f64>; N_FACTORS],
    /// Region row of each datacenter row ([`MISSING`] if the datacenter spans regions).
    pub datacenter_region: Vec<u32>,
    /// Default datacenter row of each region row.
    pub region_default_datacenter: Vec<u32>,
    /// Datacenter row used by jobs that name neither a region nor a datacenter.
    pub default_datacenter: u32,
}

impl FactorTables {
    /// Build the tables from one column per factor and the table links.
    ///
    /// All factors of one table must have the same number of rows, the
    /// defaults table must have exactly one row, and the links must point
    /// inside their target tables.
    pub fn new(
        values: [Vec<f64>; N_FACTORS],
        datacenter_region: Vec<u32>,
        region_default_datacenter: Vec<u32>,
        default_datacenter: u32,
    ) -> CoreResult<Self> {
        let tables = FactorTables {
            values,
            datacenter_region,
            region_default_datacenter,
            default_datacenter,
        };
        for table in Table::ALL {
            let mut rows: Option<usize> = None;
            for f in Factor::ALL.into_iter().filter(|f| f.table() == table) {
                let n = tables.column(f).len();
                match rows {
                    None => rows = Some(n),
                    Some(expected) if expected != n => {
                        return Err(CoreError::LengthMismatch {
                            column: format!("{}.{}", table.name(), f.name()),
                            expected,
                            actual: n,
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        if tables.len(Table::Defaults) != 1 {
            return Err(CoreError::invalid(
                "defaults",
                format!(
                    "the defaults table must have exactly one row, got {}",
                    tables.len(Table::Defaults)
                ),
            ));
        }
        check_lengths(
            "datacenters.region",
            tables.datacenter_region.len(),
            tables.len(Table::Datacenter),
        )?;
        check_lengths(
            "regions.default_datacenter",
            tables.region_default_datacenter.len(),
            tables.len(Table::Region),
        )?;
        check_indices(
            "datacenters.region",
            &tables.datacenter_region,
            tables.len(Table::Region),
            true,
        )?;
        check_indices(
            "regions.default_datacenter",
            &tables.region_default_datacenter,
            tables.len(Table::Datacenter),
            false,
        )?;
        check_indices(
            "default_datacenter",
            &[tables.default_datacenter],
            tables.len(Table::Datacenter),
            false,
        )?;
        Ok(tables)
    }

    /// Values of one factor, one per row of its table.
    #[inline(always)]
    pub fn column(&self, factor: Factor) -> &[f64] {
        &self.values[factor as usize]
    }

    /// Number of rows of a table.
    pub fn len(&self, table: Table) -> usize {
        Factor::ALL
            .into_iter()
            .find(|f| f.table() == table)
            .map_or(0, |f| self.column(f).len())
    }

    /// Whether every table is empty.
    pub fn is_empty(&self) -> bool {
        Table::ALL.into_iter().all(|t| self.len(t) == 0)
    }
}

/// Fail unless `actual == expected`.
pub(crate) fn check_lengths(column: &str, actual: usize, expected: usize) -> CoreResult<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(CoreError::LengthMismatch {
            column: column.to_owned(),
            expected,
            actual,
        })
    }
}

/// Fail on the first index that is out of range (`MISSING` allowed if `allow_missing`).
pub(crate) fn check_indices(
    column: &str,
    indices: &[u32],
    table_len: usize,
    allow_missing: bool,
) -> CoreResult<()> {
    let valid = |&i: &u32| (allow_missing && i == MISSING) || (i as usize) < table_len;
    match indices.iter().position(|i| !valid(i)) {
        None => Ok(()),
        Some(row) => Err(CoreError::IndexOutOfRange {
            column: column.to_owned(),
            row,
            index: indices[row],
            table_len,
            count: indices.iter().filter(|i| !valid(i)).count(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in Factor::ALL {
            assert_eq!(Factor::from_name(f.name()), Some(f));
            assert_eq!(Factor::ALL[f as usize], f);
        }
        let mut names: Vec<_> = Factor::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), N_FACTORS);
        assert_eq!(Factor::from_name("nope"), None);
    }

    #[test]
    fn tables_reject_ragged_columns_and_bad_links() {
        let mut values: [Vec<f64>; N_FACTORS] = Default::default();
        for f in Factor::ALL {
            values[f as usize] = match f.table() {
                Table::Defaults => vec![1.0],
                _ => vec![1.0, 2.0],
            };
        }
        assert!(FactorTables::new(values.clone(), vec![0, MISSING], vec![0, 1], 0).is_ok());
        assert!(matches!(
            FactorTables::new(values.clone(), vec![0, 5], vec![0, 1], 0),
            Err(CoreError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            FactorTables::new(values.clone(), vec![0, 0], vec![0, MISSING], 0),
            Err(CoreError::IndexOutOfRange { .. })
        ));
        values[Factor::HostPowerW as usize] = vec![1.0];
        assert!(matches!(
            FactorTables::new(values, vec![0, 0], vec![0, 1], 0),
            Err(CoreError::LengthMismatch { .. })
        ));
    }
}
