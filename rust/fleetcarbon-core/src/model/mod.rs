//! The lifecycle model of `docs/model.md`, in one place.
//!
//! - [`equations`]: the equations of §4, one function each, named as in the doc;
//! - [`records`]: how a job record reaches them: its quantities, its table rows
//!   after the region/datacenter fallbacks, and each factor's value (§2);
//! - this module: a job's whole [`Footprint`] from its activity and factors.
//!
//! `crate::estimate` evaluates [`footprint`] per job. `crate::simulate`
//! evaluates the same equations per draw (sums of [`Activity`] over jobs
//! that share factor rows, times each draw's factors).

pub mod equations;
pub mod records;

pub use equations::{
    AcceleratorHost, Activity, EmbodiedFactors, JobQuantities, PowerBasis, PowerFactors,
    HOURS_PER_YEAR,
};
pub use records::{factor_value, required_factor, resolve_rows, JobColumns, RowIndex, Rows};

use crate::error::CoreResult;
use crate::factors::{Factor, FactorTables};
use equations as eq;

/// Names of the outputs of [`footprint`], in the order of [`Footprint::values`].
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

/// Every factor of one job, as the equations take them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobFactors {
    /// IT power factors.
    pub power: PowerFactors,
    /// Embodied carbon per unit of hardware.
    pub embodied: EmbodiedFactors,
    /// Power usage effectiveness.
    pub pue: f64,
    /// Location-based grid intensity, kgCO2e/kWh.
    pub grid_kgco2e_per_kwh: f64,
    /// Market-based intensity, kgCO2e/kWh (NaN: same as location-based).
    pub market_kgco2e_per_kwh: f64,
    /// Datacenter construction surcharge on hardware embodied carbon.
    pub facility_embodied_fraction: f64,
    /// Hardware lifetime, years.
    pub lifetime_years: f64,
    /// Share of the lifetime allocated to jobs.
    pub use_rate: f64,
}

impl JobFactors {
    /// The factors of job `i` with rows `rows` and activity `activity`: each
    /// from its override or table row. A factor the job does not use may lack
    /// both (it reads 0, and its term is 0); one it uses may not.
    #[inline(always)]
    pub fn resolve(
        jobs: &JobColumns<'_>,
        tables: &FactorTables,
        rows: &Rows,
        activity: &Activity,
        i: usize,
    ) -> CoreResult<JobFactors> {
        // A macro, not a closure: the closure was not inlined, which made the
        // estimate kernel twice as slow.
        macro_rules! get {
            ($f:expr) => {{
                let f = $f;
                if activity.uses(f) && f != Factor::MarketKgco2ePerKwh {
                    required_factor(jobs, tables, rows, f, i)?
                } else {
                    let absent = if f == Factor::MarketKgco2ePerKwh {
                        f64::NAN
                    } else {
                        0.0
                    };
                    factor_value(jobs, tables, rows, f, i).unwrap_or(absent)
                }
            }};
        }
        Ok(JobFactors {
            power: PowerFactors {
                tdp_w: get!(Factor::TdpW),
                power_fraction: get!(Factor::PowerFraction),
                host_power_w: get!(Factor::HostPowerW),
                core_power_w: get!(Factor::CorePowerW),
                memory_power_w_per_gb: get!(Factor::MemoryPowerWPerGb),
            },
            embodied: EmbodiedFactors {
                accelerator_embodied_kgco2e: get!(Factor::AcceleratorEmbodiedKgco2e),
                core_embodied_kgco2e: get!(Factor::CoreEmbodiedKgco2e),
                memory_embodied_kgco2e_per_gb: get!(Factor::MemoryEmbodiedKgco2ePerGb),
            },
            pue: get!(Factor::Pue),
            grid_kgco2e_per_kwh: get!(Factor::GridKgco2ePerKwh) * jobs.grid_scale_of(i),
            market_kgco2e_per_kwh: get!(Factor::MarketKgco2ePerKwh),
            facility_embodied_fraction: get!(Factor::FacilityEmbodiedFraction),
            lifetime_years: get!(Factor::LifetimeYears),
            use_rate: get!(Factor::UseRate),
        })
    }
}

/// A job's energy and lifecycle carbon (docs/model.md §4).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Footprint {
    /// IT energy, kWh.
    pub it_energy_kwh: f64,
    /// IT energy × PUE, kWh.
    pub facility_energy_kwh: f64,
    /// Location-based operational carbon, kgCO2e.
    pub operational_kgco2e: f64,
    /// Market-based operational carbon, kgCO2e.
    pub operational_market_kgco2e: f64,
    /// Amortized manufacturing of the reserved hardware, kgCO2e.
    pub embodied_hardware_kgco2e: f64,
    /// Datacenter construction share, kgCO2e.
    pub embodied_facility_kgco2e: f64,
    /// Hardware plus facility embodied carbon, kgCO2e.
    pub embodied_kgco2e: f64,
    /// Operational (location-based) plus embodied, kgCO2e.
    pub total_kgco2e: f64,
}

impl Footprint {
    /// The outputs in the order of [`OUTPUT_COLUMNS`].
    pub fn values(&self) -> [f64; 8] {
        [
            self.it_energy_kwh,
            self.facility_energy_kwh,
            self.operational_kgco2e,
            self.operational_market_kgco2e,
            self.embodied_hardware_kgco2e,
            self.embodied_facility_kgco2e,
            self.embodied_kgco2e,
            self.total_kgco2e,
        ]
    }
}

/// The footprint of one job. A job without reserved hardware (or hours) has
/// no embodied carbon, whatever its lifetime factors.
#[inline(always)]
pub fn footprint(a: &Activity, f: &JobFactors) -> Footprint {
    let it = eq::it_energy_kwh(a, &f.power);
    let market = eq::market_intensity(f.market_kgco2e_per_kwh, f.grid_kgco2e_per_kwh);
    let operational =
        eq::operational_kgco2e(it, eq::operational_intensity(f.pue, f.grid_kgco2e_per_kwh));
    let (embodied_hardware, embodied_facility, embodied) = if a.has_embodied() {
        let reserved = eq::reserved_embodied(a, &f.embodied);
        let hardware = eq::embodied_hardware_kgco2e(reserved, f.lifetime_years, f.use_rate);
        let scale = eq::embodied_scale(f.facility_embodied_fraction, f.lifetime_years, f.use_rate);
        (
            hardware,
            eq::embodied_facility_kgco2e(hardware, f.facility_embodied_fraction),
            eq::embodied_kgco2e(reserved, scale),
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    Footprint {
        it_energy_kwh: it,
        facility_energy_kwh: eq::facility_energy_kwh(it, f.pue),
        operational_kgco2e: operational,
        operational_market_kgco2e: eq::operational_kgco2e(
            it,
            eq::operational_intensity(f.pue, market),
        ),
        embodied_hardware_kgco2e: embodied_hardware,
        embodied_facility_kgco2e: embodied_facility,
        embodied_kgco2e: embodied,
        total_kgco2e: eq::total_kgco2e(operational, embodied),
    }
}
