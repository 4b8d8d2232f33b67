//! Throughput of the Monte Carlo kernel per job-draw, against a bare
//! RNG-plus-FMA loop (the machine's limit). Run: `cargo bench -p fleetcarbon-core`.

use std::hint::black_box;
use std::time::Instant;

use fleetcarbon_core::dist::{code, Dist};
use fleetcarbon_core::quantiles::QuantileMethod;
use fleetcarbon_core::rng::{first_uniform, mix64, mixed_draw, stream};
use fleetcarbon_core::simulate::{simulate, JobNoise, Simulation};
use fleetcarbon_core::Control;
use multiversion::multiversion;
use rayon::prelude::*;

mod common;

/// The machine's floor for job-draw evaluations: one keyed uniform and one
/// fused multiply-add per (job, draw), on all threads, vectorized as the kernels
/// are. Returns the sum so that the work cannot be optimized away.
fn rng_fma_floor(jobs: u64, draws: u64) -> f64 {
    let mixed: Vec<u64> = (0..draws).map(mixed_draw).collect();
    (0..jobs)
        .into_par_iter()
        .map(|j| uniform_fma_sum(stream(1, j), &mixed))
        .sum()
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn uniform_fma_sum(stream_key: u64, mixed: &[u64]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0; LANES];
    let chunks = mixed.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for l in 0..LANES {
            acc[l] = first_uniform(stream_key, chunk[l]).mul_add(1.5, acc[l]);
        }
    }
    for &m in rest {
        acc[0] = first_uniform(stream_key, m).mul_add(1.5, acc[0]);
    }
    acc.iter().sum()
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

fn main() {
    let n = 200_000;
    let draws = 1000;
    let fleet = common::Fleet::new(n);
    let keys: Vec<u64> = (0..n as u64).map(|i| mix64(i + 1)).collect();
    let group: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
    let jobs = fleet.columns(None);
    let t = common::tables();
    let rd = common::pert_dists(&t);
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
        quantile_method: QuantileMethod::Linear,
        pool: &[],
    };
    let noise = JobNoise {
        power_fraction: Dist::from_code(code::TRIANGULAR, [0.4, 0.75, 1.0, 0.0], 0).ok(),
        ..JobNoise::default()
    };
    let evals = (n * draws) as f64;
    let (_, shared) = time(|| {
        black_box(simulate(
            &sim(false),
            &t,
            &rd,
            &JobNoise::default(),
            &Control::new(),
        ))
    });
    let (_, noisy) = time(|| black_box(simulate(&sim(false), &t, &rd, &noise, &Control::new())));
    let (_, per_job) = time(|| {
        black_box(simulate(
            &sim(true),
            &t,
            &rd,
            &JobNoise::default(),
            &Control::new(),
        ))
    });
    let (_, both) = time(|| black_box(simulate(&sim(true), &t, &rd, &noise, &Control::new())));
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
