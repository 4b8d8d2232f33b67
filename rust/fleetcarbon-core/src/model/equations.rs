//! The lifecycle equations of `docs/model.md` §4, once.
//!
//! A job's footprint is its **activity** (kWh it metered, accelerator-,
//! core- and GB-hours of modelled power, accelerator-, core- and GB-years of
//! reserved hardware) times **factors** (watts, PUE, grid intensity, embodied
//! carbon, lifetime). Every output is linear in the activity, which is what
//! lets the Monte Carlo sum the activity of many jobs that share factor rows
//! and multiply once per draw. `estimate` evaluates these functions with one
//! job's factors; `simulate` with one draw's.
//!
//! Each function is written term by term in the order of the doc's formula;
//! that order is part of the bit-for-bit contract of `docs/uncertainty.md` §4.

use crate::factors::Factor;

/// Hours in a (non-leap) year: the amortization convention (docs/model.md §4.3).
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// Where a job's IT energy came from (docs/model.md §4.1).
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

/// Which host power and hardware an accelerator job is charged (docs/model.md §4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AcceleratorHost {
    /// The accelerator's `host_power_w` share stands for the whole host; the
    /// job's own cores and memory are not added (fleetcarbon's convention).
    #[default]
    Share,
    /// The job's cores and memory draw power of their own, on top of the
    /// accelerators (GreenAlgorithms4HPC's convention; pair it with
    /// `host_power_w = 0`). Embodied carbon stays the accelerator's, server included.
    Components,
}

/// The quantities a job record gives, as the model reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobQuantities {
    /// Reserved wall-clock hours, `h`.
    pub hours: f64,
    /// Accelerators reserved, `n` (0 for CPU-only jobs).
    pub accelerators: f64,
    /// CPU cores reserved, `c`.
    pub cores: f64,
    /// Memory reserved, GB, `m`.
    pub memory_gb: f64,
    /// Metered IT energy, kWh.
    pub energy_kwh: Option<f64>,
    /// Measured average power per accelerator (per job without accelerators), W.
    pub avg_power_w: Option<f64>,
    /// The share of the reserved cores' power drawn, in [0, 1]: 1 charges the
    /// cores reserved, less charges their measured use (CPU time ÷ cores × h).
    pub core_usage: f64,
    /// Which host power accelerator jobs are charged.
    pub accelerator_host: AcceleratorHost,
}

impl Default for JobQuantities {
    fn default() -> Self {
        JobQuantities {
            hours: 0.0,
            accelerators: 0.0,
            cores: 0.0,
            memory_gb: 0.0,
            energy_kwh: None,
            avg_power_w: None,
            core_usage: 1.0,
            accelerator_host: AcceleratorHost::Share,
        }
    }
}

/// A job's activity: what the factors multiply.
///
/// `*_kh` are thousands of hours (watts × kh = kWh) of modelled power;
/// `*_years` are years of reserved hardware (kgCO2e per unit × years ÷
/// lifetime = amortized kgCO2e). Sums of activities are activities.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activity {
    /// Metered or measured IT energy, kWh (0 when modelled).
    pub given_kwh: f64,
    /// `n h / 1000` of modelled accelerator power.
    pub accelerator_kh: f64,
    /// `c h / 1000` of modelled CPU power (CPU-only jobs).
    pub core_kh: f64,
    /// `m h / 1000` of modelled memory power (CPU-only jobs).
    pub memory_gb_kh: f64,
    /// `n h / 8760`: accelerator-years reserved.
    pub accelerator_years: f64,
    /// `c h / 8760`: core-years reserved (CPU-only jobs).
    pub core_years: f64,
    /// `m h / 8760`: GB-years of memory reserved (CPU-only jobs).
    pub memory_gb_years: f64,
}

impl Activity {
    /// The activity and power basis of a job (docs/model.md §4.1 and §4.3).
    ///
    /// For accelerator jobs, `host_power_w` and the accelerator's embodied
    /// carbon already include the host's CPU and memory, so cores and memory
    /// count only for jobs without accelerators, unless the convention is
    /// [`AcceleratorHost::Components`] (then their power counts, not their
    /// embodied carbon). The cores' power is scaled by `core_usage`.
    #[inline(always)]
    pub fn of(q: &JobQuantities) -> (Activity, PowerBasis) {
        let h = q.hours;
        let n = q.accelerators;
        let has_accelerators = n > 0.0;
        let mut a = Activity::default();
        let basis = if let Some(e) = q.energy_kwh {
            a.given_kwh = e;
            PowerBasis::Metered
        } else if let Some(p) = q.avg_power_w {
            a.given_kwh = p * if has_accelerators { n } else { 1.0 } * h / 1000.0;
            PowerBasis::Measured
        } else {
            if has_accelerators {
                a.accelerator_kh = n * h / 1000.0;
            }
            if !has_accelerators || q.accelerator_host == AcceleratorHost::Components {
                a.core_kh = q.cores * q.core_usage * h / 1000.0;
                a.memory_gb_kh = q.memory_gb * h / 1000.0;
            }
            PowerBasis::Modelled
        };
        if has_accelerators {
            a.accelerator_years = n * h / HOURS_PER_YEAR;
        } else {
            a.core_years = q.cores * h / HOURS_PER_YEAR;
            a.memory_gb_years = q.memory_gb * h / HOURS_PER_YEAR;
        }
        (a, basis)
    }

    /// Whether any reserved hardware (and so embodied carbon) is counted.
    #[inline(always)]
    pub fn has_embodied(&self) -> bool {
        self.accelerator_years != 0.0 || self.core_years != 0.0 || self.memory_gb_years != 0.0
    }

    /// Whether the job's footprint depends on factor `f`: its term is non-zero.
    /// A factor the job does not use needs no table row.
    #[inline(always)]
    pub fn uses(&self, f: Factor) -> bool {
        match f {
            Factor::TdpW | Factor::HostPowerW | Factor::PowerFraction => self.accelerator_kh != 0.0,
            Factor::CorePowerW => self.core_kh != 0.0,
            Factor::MemoryPowerWPerGb => self.memory_gb_kh != 0.0,
            Factor::AcceleratorEmbodiedKgco2e => self.accelerator_years != 0.0,
            Factor::CoreEmbodiedKgco2e => self.core_years != 0.0,
            Factor::MemoryEmbodiedKgco2ePerGb => self.memory_gb_years != 0.0,
            Factor::FacilityEmbodiedFraction | Factor::LifetimeYears | Factor::UseRate => {
                self.has_embodied()
            }
            Factor::Pue | Factor::GridKgco2ePerKwh | Factor::MarketKgco2ePerKwh => true,
        }
    }

    /// The seven terms in a fixed order (cells sum them term by term).
    pub fn terms(&self) -> [f64; 7] {
        [
            self.given_kwh,
            self.accelerator_kh,
            self.core_kh,
            self.memory_gb_kh,
            self.accelerator_years,
            self.core_years,
            self.memory_gb_years,
        ]
    }

    /// The inverse of [`Activity::terms`].
    pub fn from_terms(t: [f64; 7]) -> Activity {
        Activity {
            given_kwh: t[0],
            accelerator_kh: t[1],
            core_kh: t[2],
            memory_gb_kh: t[3],
            accelerator_years: t[4],
            core_years: t[5],
            memory_gb_years: t[6],
        }
    }
}

/// The factors of IT power (docs/model.md §3), W or W per unit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PowerFactors {
    /// Accelerator TDP, W.
    pub tdp_w: f64,
    /// Average draw as a fraction of TDP.
    pub power_fraction: f64,
    /// Host share per accelerator, W.
    pub host_power_w: f64,
    /// CPU power per core, W.
    pub core_power_w: f64,
    /// Memory power, W per GB.
    pub memory_power_w_per_gb: f64,
}

/// The embodied carbon per unit of reserved hardware (docs/model.md §3), kgCO2e.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmbodiedFactors {
    /// Per accelerator, server share included.
    pub accelerator_embodied_kgco2e: f64,
    /// Per CPU core, server share included.
    pub core_embodied_kgco2e: f64,
    /// Per GB of memory.
    pub memory_embodied_kgco2e_per_gb: f64,
}

/// `it_energy_kwh = K + A (tdp_w × power_fraction + host_power_w) + C core_power_w + M memory_power_w_per_gb`
/// (docs/model.md §4.1).
#[inline(always)]
pub fn it_energy_kwh(a: &Activity, p: &PowerFactors) -> f64 {
    a.given_kwh
        + a.accelerator_kh * (p.tdp_w * p.power_fraction + p.host_power_w)
        + a.core_kh * p.core_power_w
        + a.memory_gb_kh * p.memory_power_w_per_gb
}

/// `facility_energy_kwh = it_energy_kwh × pue` (§4.2).
#[inline(always)]
pub fn facility_energy_kwh(it_energy_kwh: f64, pue: f64) -> f64 {
    it_energy_kwh * pue
}

/// kgCO2e per kWh of IT energy: `pue × intensity` (§4.2), with the location
/// (`grid_kgco2e_per_kwh`) or market intensity.
#[inline(always)]
pub fn operational_intensity(pue: f64, kgco2e_per_kwh: f64) -> f64 {
    pue * kgco2e_per_kwh
}

/// `operational_kgco2e = it_energy_kwh × pue × intensity`, given the
/// [`operational_intensity`] (§4.2).
#[inline(always)]
pub fn operational_kgco2e(it_energy_kwh: f64, intensity: f64) -> f64 {
    it_energy_kwh * intensity
}

/// The market-based intensity: the job's or region's market factor, or the
/// location-based one when neither gives one (NaN: not given) (§4.2).
#[inline(always)]
pub fn market_intensity(market_kgco2e_per_kwh: f64, grid_kgco2e_per_kwh: f64) -> f64 {
    if market_kgco2e_per_kwh.is_nan() {
        grid_kgco2e_per_kwh
    } else {
        market_kgco2e_per_kwh
    }
}

/// Embodied carbon of the reserved hardware times the years reserved,
/// kgCO2e·year: `B E_acc + Bc E_core + Bm E_mem` (§4.3).
#[inline(always)]
pub fn reserved_embodied(a: &Activity, e: &EmbodiedFactors) -> f64 {
    a.accelerator_years * e.accelerator_embodied_kgco2e
        + a.core_years * e.core_embodied_kgco2e
        + a.memory_gb_years * e.memory_embodied_kgco2e_per_gb
}

/// `embodied_hardware_kgco2e = reserved / (lifetime_years × use_rate)` (§4.3).
#[inline(always)]
pub fn embodied_hardware_kgco2e(reserved: f64, lifetime_years: f64, use_rate: f64) -> f64 {
    reserved / (lifetime_years * use_rate)
}

/// `embodied_facility_kgco2e = embodied_hardware_kgco2e × facility_embodied_fraction` (§4.3).
#[inline(always)]
pub fn embodied_facility_kgco2e(embodied_hardware: f64, facility_embodied_fraction: f64) -> f64 {
    embodied_hardware * facility_embodied_fraction
}

/// Lifecycle embodied kgCO2e per kgCO2e·year reserved:
/// `(1 + facility_embodied_fraction) / (lifetime_years × use_rate)` (§4.3).
#[inline(always)]
pub fn embodied_scale(facility_embodied_fraction: f64, lifetime_years: f64, use_rate: f64) -> f64 {
    (1.0 + facility_embodied_fraction) / (lifetime_years * use_rate)
}

/// `embodied_kgco2e = reserved × embodied_scale` (hardware plus facility, §4.3).
#[inline(always)]
pub fn embodied_kgco2e(reserved: f64, scale: f64) -> f64 {
    reserved * scale
}

/// `total_kgco2e = operational_kgco2e + embodied_kgco2e` (§4).
#[inline(always)]
pub fn total_kgco2e(operational: f64, embodied: f64) -> f64 {
    operational + embodied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn activity_follows_the_basis_rules() {
        let q = JobQuantities {
            hours: 10.0,
            accelerators: 8.0,
            cores: 64.0,
            memory_gb: 512.0,
            ..JobQuantities::default()
        };
        let (a, basis) = Activity::of(&q);
        assert_eq!(basis, PowerBasis::Modelled);
        assert_eq!(a.accelerator_kh, 0.08);
        assert_eq!((a.core_kh, a.memory_gb_kh, a.core_years), (0.0, 0.0, 0.0));
        assert!(close(a.accelerator_years, 80.0 / 8760.0));
        let metered = JobQuantities {
            energy_kwh: Some(5.0),
            avg_power_w: Some(300.0),
            ..q
        };
        let (a, basis) = Activity::of(&metered);
        assert_eq!(
            (basis, a.given_kwh, a.accelerator_kh),
            (PowerBasis::Metered, 5.0, 0.0)
        );
        let measured = JobQuantities {
            avg_power_w: Some(300.0),
            ..q
        };
        let (a, basis) = Activity::of(&measured);
        assert_eq!(basis, PowerBasis::Measured);
        assert!(close(a.given_kwh, 300.0 * 8.0 * 10.0 / 1000.0));
        let cpu = JobQuantities {
            accelerators: 0.0,
            ..q
        };
        let (a, _) = Activity::of(&cpu);
        assert!(close(a.core_kh, 0.64) && close(a.memory_gb_kh, 5.12));
        assert!(!a.uses(Factor::TdpW) && a.uses(Factor::CorePowerW));
        assert!(Activity::default().uses(Factor::Pue));
        assert!(!Activity::default().uses(Factor::LifetimeYears));
    }

    #[test]
    fn conventions_add_components_and_scale_cores_by_their_use() {
        let q = JobQuantities {
            hours: 10.0,
            accelerators: 4.0,
            cores: 32.0,
            memory_gb: 100.0,
            core_usage: 0.5,
            ..JobQuantities::default()
        };
        let (share, _) = Activity::of(&q);
        assert_eq!((share.core_kh, share.memory_gb_kh), (0.0, 0.0));
        let (components, _) = Activity::of(&JobQuantities {
            accelerator_host: AcceleratorHost::Components,
            ..q
        });
        assert!(close(components.core_kh, 32.0 * 0.5 * 10.0 / 1000.0));
        assert!(close(components.memory_gb_kh, 1.0));
        // Embodied stays the accelerators' (their server share included).
        assert_eq!(components.core_years, 0.0);
        assert_eq!(components.accelerator_years, share.accelerator_years);
        let (cpu, _) = Activity::of(&JobQuantities {
            accelerators: 0.0,
            ..q
        });
        assert!(close(cpu.core_kh, 0.16) && close(cpu.core_years, 320.0 / 8760.0));
        // Fractional accelerators: the same share of power and of embodied carbon.
        let (slice, _) = Activity::of(&JobQuantities {
            accelerators: 1.0 / 7.0,
            ..q
        });
        assert!(close(
            slice.accelerator_kh / share.accelerator_kh,
            1.0 / 28.0
        ));
        assert!(close(
            slice.accelerator_years / share.accelerator_years,
            1.0 / 28.0
        ));
    }

    #[test]
    fn equations_match_the_documented_hand_calculation() {
        // docs/model.md: 8 × (700 × 0.5 + 100) W × 10 h = 36 kWh; PUE 1.2; 0.5 kg/kWh.
        let (a, _) = Activity::of(&JobQuantities {
            hours: 10.0,
            accelerators: 8.0,
            ..JobQuantities::default()
        });
        let p = PowerFactors {
            tdp_w: 700.0,
            power_fraction: 0.5,
            host_power_w: 100.0,
            ..PowerFactors::default()
        };
        let it = it_energy_kwh(&a, &p);
        assert!(close(it, 36.0));
        assert!(close(facility_energy_kwh(it, 1.2), 43.2));
        let op = operational_kgco2e(it, operational_intensity(1.2, 0.5));
        assert!(close(op, 21.6));
        let e = EmbodiedFactors {
            accelerator_embodied_kgco2e: 1000.0,
            ..EmbodiedFactors::default()
        };
        let reserved = reserved_embodied(&a, &e);
        let hw = embodied_hardware_kgco2e(reserved, 4.0, 1.0);
        assert!(close(hw, 8.0 * 1000.0 * 10.0 / (4.0 * 8760.0)));
        assert!(close(embodied_facility_kgco2e(hw, 0.1), hw * 0.1));
        let emb = embodied_kgco2e(reserved, embodied_scale(0.1, 4.0, 1.0));
        assert!(close(emb, hw * 1.1));
        assert!(close(total_kgco2e(op, emb), 21.6 + hw * 1.1));
        assert_eq!(market_intensity(f64::NAN, 0.4), 0.4);
        assert_eq!(market_intensity(0.0, 0.4), 0.0);
    }
}
