//! The synthetic tables and fleet both kernel benchmarks run on.

use fleetcarbon_core::dist::{code, Dist};
use fleetcarbon_core::rng::mix64;
use fleetcarbon_core::simulate::RowDists;
use fleetcarbon_core::{Factor, FactorTables, JobColumns, RowIndex, Table, MISSING, N_FACTORS};

/// 30 accelerators and CPUs, 50 regions, 5 datacenters, one row of defaults.
pub fn tables() -> FactorTables {
    let mut v: [Vec<f64>; N_FACTORS] = Default::default();
    for f in Factor::ALL {
        v[f as usize] = match f.table() {
            Table::Defaults => vec![0.5],
            Table::Region => (0..50).map(|i| 0.1 + i as f64 * 0.01).collect(),
            Table::Datacenter => vec![1.2; 5],
            _ => (0..30).map(|i| 100.0 + i as f64).collect(),
        };
    }
    v[Factor::LifetimeYears as usize] = vec![4.0];
    v[Factor::Pue as usize] = vec![1.1, 1.2, 1.3, 1.4, 1.5];
    v[Factor::FacilityEmbodiedFraction as usize] = vec![0.15; 5];
    match FactorTables::new(v, vec![MISSING; 5], vec![0; 50], 0) {
        Ok(t) => t,
        Err(e) => unreachable!("{e}"),
    }
}

/// `n` accelerator jobs: 1–8 devices, cycling through the accelerators and regions.
pub struct Fleet {
    pub duration: Vec<f64>,
    pub count: Vec<f64>,
    pub accel: Vec<u32>,
    pub region: Vec<u32>,
}

impl Fleet {
    pub fn new(n: usize) -> Self {
        Fleet {
            duration: (0..n).map(|i| 1.0 + (i % 97) as f64 * 0.5).collect(),
            count: (0..n).map(|i| (1u32 << (i % 4)) as f64).collect(),
            accel: (0..n).map(|i| (i % 30) as u32).collect(),
            region: (0..n).map(|i| (i % 50) as u32).collect(),
        }
    }

    /// The kernel's view, with metered energy where given (NaN: modelled).
    pub fn columns<'a>(&'a self, energy_kwh: Option<&'a [f64]>) -> JobColumns<'a> {
        JobColumns {
            duration_h: &self.duration,
            accelerator_count: Some(&self.count),
            cpu_cores: None,
            memory_gb: None,
            energy_kwh,
            avg_power_w: None,
            accelerator: RowIndex::PerJob(&self.accel),
            cpu: RowIndex::Constant(0),
            region: RowIndex::PerJob(&self.region),
            datacenter: RowIndex::Constant(MISSING),
            overrides: [None; N_FACTORS],
            core_usage: None,
            grid_scale: None,
            accelerator_host: fleetcarbon_core::model::AcceleratorHost::Share,
        }
    }
}

/// PERT(0.8 x, x, 1.3 x) on every factor row, keyed by factor and row.
#[allow(dead_code)]
pub fn pert_dists(t: &FactorTables) -> RowDists {
    let mut rd = RowDists::default();
    for f in Factor::ALL {
        let col = t.column(f);
        rd.dists[f as usize] = col
            .iter()
            .map(|&x| {
                Dist::from_code(code::PERT, [x * 0.8, x, x * 1.3, 0.0], 0).unwrap_or(Dist::Fixed(x))
            })
            .collect();
        rd.keys[f as usize] = (0..col.len() as u64)
            .map(|r| mix64(f as u64 * 1000 + r))
            .collect();
    }
    rd
}
