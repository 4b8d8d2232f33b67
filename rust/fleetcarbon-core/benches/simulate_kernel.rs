//! Throughput of the Monte Carlo kernel per job-draw, against a bare
//! RNG-plus-FMA loop (the machine's limit). Run: `cargo bench -p fleetcarbon-core`.

use std::hint::black_box;
use std::time::Instant;

use fleetcarbon_core::dist::{code, Dist};
use fleetcarbon_core::rng::mix64;
use fleetcarbon_core::simulate::{rng_fma_floor, simulate, JobNoise, RowDists, Simulation};
use fleetcarbon_core::{Factor, FactorTables, JobColumns, RowIndex, Table, MISSING, N_FACTORS};

fn tables() -> FactorTables {
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

fn pert_dists(t: &FactorTables) -> RowDists {
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

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

fn main() {
    let n = 200_000;
    let draws = 1000;
    let duration: Vec<f64> = (0..n).map(|i| 1.0 + (i % 97) as f64 * 0.5).collect();
    let count: Vec<f64> = (0..n).map(|i| (1u32 << (i % 4)) as f64).collect();
    let accel: Vec<u32> = (0..n).map(|i| (i % 30) as u32).collect();
    let region: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
    let keys: Vec<u64> = (0..n as u64).map(|i| mix64(i + 1)).collect();
    let group: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
    let jobs = JobColumns {
        duration_h: &duration,
        accelerator_count: Some(&count),
        cpu_cores: None,
        memory_gb: None,
        energy_kwh: None,
        avg_power_w: None,
        accelerator: RowIndex::PerJob(&accel),
        cpu: RowIndex::Constant(0),
        region: RowIndex::PerJob(&region),
        datacenter: RowIndex::Constant(MISSING),
        overrides: [None; N_FACTORS],
    };
    let t = tables();
    let rd = pert_dists(&t);
    let qs = [0.05, 0.5, 0.95];
    let sim = |per_job: bool| Simulation {
        jobs: jobs.clone(),
        job_keys: &keys,
        group: &group,
        n_groups: 50,
        seed: 1,
        draws,
        first_draw: 0,
        per_job_quantiles: per_job.then_some(&qs[..]),
        pool: &[],
    };
    let noise = JobNoise {
        power_fraction: Dist::from_code(code::TRIANGULAR, [0.4, 0.75, 1.0, 0.0], 0).ok(),
        ..JobNoise::default()
    };
    let evals = (n * draws) as f64;
    let (_, shared) = time(|| black_box(simulate(&sim(false), &t, &rd, &JobNoise::default())));
    let (_, noisy) = time(|| black_box(simulate(&sim(false), &t, &rd, &noise)));
    let (_, per_job) = time(|| black_box(simulate(&sim(true), &t, &rd, &JobNoise::default())));
    let (_, both) = time(|| black_box(simulate(&sim(true), &t, &rd, &noise)));
    // The machine's limit: one keyed uniform and one FMA per job-draw, on all threads.
    let (_, bare) = time(|| black_box(rng_fma_floor(n as u64, draws as u64)));
    let ns = |s: f64| s * 1e9 / evals;
    println!("simulate, {n} jobs x {draws} draws:");
    println!(
        "  shared uncertainty only (cells): {:.2} ns/job-draw",
        ns(shared)
    );
    println!(
        "  + per-job power-fraction noise:  {:.2} ns/job-draw",
        ns(noisy)
    );
    println!(
        "  per-job quantiles, no noise:     {:.2} ns/job-draw",
        ns(per_job)
    );
    println!(
        "  per-job quantiles + noise:       {:.2} ns/job-draw",
        ns(both)
    );
    println!(
        "  bare RNG + FMA loop:             {:.2} ns/job-draw",
        ns(bare)
    );
}
