//! Throughput of the estimate kernel and the grouped sums, against a bare
//! streaming loop (the memory-bandwidth bound). Run: `cargo bench -p fleetcarbon-core`.

use std::hint::black_box;
use std::time::Instant;

use fleetcarbon_core::{
    estimate, grouped_sums, Factor, FactorTables, JobColumns, RowIndex, MISSING, N_FACTORS,
};

fn tables() -> FactorTables {
    let mut v: [Vec<f64>; N_FACTORS] = Default::default();
    for f in Factor::ALL {
        v[f as usize] = match f.table() {
            fleetcarbon_core::Table::Defaults => vec![0.5],
            fleetcarbon_core::Table::Region => (0..50).map(|i| 0.1 + i as f64 * 0.01).collect(),
            fleetcarbon_core::Table::Datacenter => vec![1.2; 5],
            _ => (0..30).map(|i| 100.0 + i as f64).collect(),
        };
    }
    v[Factor::LifetimeYears as usize] = vec![4.0];
    v[Factor::Pue as usize] = vec![1.1, 1.2, 1.3, 1.4, 1.5];
    match FactorTables::new(v, vec![MISSING; 5], vec![0; 50], 0) {
        Ok(t) => t,
        Err(e) => unreachable!("{e}"),
    }
}

fn median_ms(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

fn main() {
    let n = 1_000_000;
    let duration: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.5 + 0.1).collect();
    let count: Vec<f64> = (0..n).map(|i| (1u32 << (i % 4)) as f64).collect();
    let energy: Vec<f64> = (0..n)
        .map(|i| if i % 10 == 0 { 5.0 } else { f64::NAN })
        .collect();
    let accel: Vec<u32> = (0..n).map(|i| (i % 30) as u32).collect();
    let region: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
    let jobs = JobColumns {
        duration_h: &duration,
        accelerator_count: Some(&count),
        cpu_cores: None,
        memory_gb: None,
        energy_kwh: Some(&energy),
        avg_power_w: None,
        accelerator: RowIndex::PerJob(&accel),
        cpu: RowIndex::Constant(0),
        region: RowIndex::PerJob(&region),
        datacenter: RowIndex::Constant(MISSING),
        overrides: [None; N_FACTORS],
    };
    let t = tables();
    let kernel = median_ms(|| drop(black_box(estimate(&jobs, &t))), 11);
    // Bytes touched: 3 f64 + 2 u32 in, 8 f64 + 1 u8 out per job.
    let bytes = n as f64 * (3.0 * 8.0 + 2.0 * 4.0 + 8.0 * 8.0 + 1.0);
    let stream = median_ms(
        || {
            let out: Vec<Vec<f64>> = (0..8)
                .map(|k| duration.iter().map(|d| d * (k as f64 + 1.0)).collect())
                .collect();
            black_box(out);
        },
        11,
    );
    let group: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
    let sums = median_ms(
        || {
            drop(black_box(grouped_sums(
                &group,
                50,
                &[&duration, &count, &energy],
            )))
        },
        11,
    );
    println!(
        "estimate kernel, 1e6 jobs: {kernel:.1} ms ({:.1} ns/job, {:.2} GB/s effective)",
        kernel * 1e6 / n as f64,
        bytes / kernel / 1e6
    );
    println!(
        "bare stream writing 8 f64 columns: {stream:.1} ms (bound, ratio {:.2})",
        kernel / stream
    );
    println!("grouped sums, 1e6 rows x 3 columns, 50 groups: {sums:.1} ms");
}
