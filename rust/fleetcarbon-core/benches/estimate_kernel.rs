//! Throughput of the estimate kernel and the grouped sums, against a bare
//! streaming loop (the memory-bandwidth bound). Run: `cargo bench -p fleetcarbon-core`.

use std::hint::black_box;
use std::time::Instant;

use fleetcarbon_core::{estimate, grouped_sums, Control};

mod common;

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
    let fleet = common::Fleet::new(n);
    let duration = &fleet.duration;
    let energy: Vec<f64> = (0..n)
        .map(|i| if i % 10 == 0 { 5.0 } else { f64::NAN })
        .collect();
    let jobs = fleet.columns(Some(&energy));
    let t = common::tables();
    let kernel = median_ms(|| drop(black_box(estimate(&jobs, &t, &Control::new()))), 11);
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
                &[duration, &fleet.count, &energy],
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
