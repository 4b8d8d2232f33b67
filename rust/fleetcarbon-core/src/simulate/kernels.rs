//! The per-draw loops: the model's equations over every draw of a job or cell.
//!
//! Compiled for baseline x86-64 and for AVX2 + FMA (picked at run time) when
//! the `simd` feature is on. Both builds give identical bits: Rust never fuses
//! `a * b + c` on its own, and every sum runs in a fixed order.

#[cfg(feature = "simd")]
use multiversion::multiversion;

use crate::model::equations::{
    embodied_kgco2e, it_energy_kwh, operational_kgco2e, reserved_embodied,
};
use crate::model::{Activity, EmbodiedFactors, PowerFactors};

/// The sources of every factor a job or cell needs, one value per draw (unused
/// factors point at zeros). `op_factor` is the operational intensity
/// `pue × grid` and `emb_scale` the embodied scale `(1 + facility) /
/// (lifetime × use_rate)`, combined once per draw rather than per job. The
/// job's given energy is `k + k_draws[d]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Srcs<'a> {
    pub k: f64,
    pub k_draws: &'a [f64],
    pub tdp: &'a [f64],
    pub pf: &'a [f64],
    pub host: &'a [f64],
    pub core_w: &'a [f64],
    pub mem_w: &'a [f64],
    pub e_acc: &'a [f64],
    pub e_core: &'a [f64],
    pub e_mem: &'a [f64],
    pub op_factor: &'a [f64],
    pub emb_scale: &'a [f64],
}

/// The energy that meets the grid, when a time-resolved series scales the
/// region's intensity for some jobs (docs/model.md §4.2): operational carbon
/// is then `it_op × pue × grid`, where `it_op` is the IT energy weighted by
/// each job's grid scale.
#[derive(Debug, Clone, Copy)]
pub(super) enum GridEnergy<'a> {
    /// No scale: `it_op` is the IT energy.
    Same,
    /// One job's scale: `it_op = it × scale`.
    Scaled(f64),
    /// A cell's scaled activity, `Σ scale × activity` of its jobs.
    Terms(&'a Activity),
}

const SAME: u8 = 0;
const SCALED: u8 = 1;
const TERMS: u8 = 2;

/// Add a job's or cell's energy, operational and embodied carbon of every draw
/// into `out` when given (`[metric][draw]`; the total is formed once per group
/// at the end), and write its totals into `totals` when given.
#[cfg_attr(feature = "simd", multiversion(targets("x86_64+avx2+fma")))]
pub(super) fn accumulate(
    a: &Activity,
    s: &Srcs<'_>,
    grid: GridEnergy<'_>,
    draws: usize,
    out: Option<&mut [f64]>,
    totals: Option<&mut [f64]>,
) {
    let accelerator = a.accelerator_kh != 0.0 || a.accelerator_years != 0.0;
    let cpu = a.core_kh != 0.0
        || a.memory_gb_kh != 0.0
        || a.core_years != 0.0
        || a.memory_gb_years != 0.0;
    // Most jobs have accelerator terms or CPU terms, not both: their loops skip
    // the other kind's four streams (its terms are zero, and adding a zero
    // product changes no bit).
    let (scale, op) = match grid {
        GridEnergy::Same => (1.0, *a),
        GridEnergy::Scaled(x) => (x, *a),
        GridEnergy::Terms(op) => (1.0, *op),
    };
    macro_rules! with_grid {
        ($acc:expr, $cpu:expr) => {
            match grid {
                GridEnergy::Same => {
                    accumulate_terms::<$acc, $cpu, SAME>(a, &op, scale, s, draws, out, totals)
                }
                GridEnergy::Scaled(_) => {
                    accumulate_terms::<$acc, $cpu, SCALED>(a, &op, scale, s, draws, out, totals)
                }
                GridEnergy::Terms(_) => {
                    accumulate_terms::<$acc, $cpu, TERMS>(a, &op, scale, s, draws, out, totals)
                }
            }
        };
    }
    match (accelerator, cpu) {
        (true, false) => with_grid!(true, false),
        (false, true) => with_grid!(false, true),
        _ => with_grid!(true, true),
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn accumulate_terms<const ACCELERATOR: bool, const CPU: bool, const GRID: u8>(
    a: &Activity,
    op: &Activity,
    scale: f64,
    s: &Srcs<'_>,
    draws: usize,
    out: Option<&mut [f64]>,
    totals: Option<&mut [f64]>,
) {
    // Re-slicing to one length lets the compiler drop bounds checks and vectorize.
    let (k, tdp, pf, host) = (
        &s.k_draws[..draws],
        &s.tdp[..draws],
        &s.pf[..draws],
        &s.host[..draws],
    );
    let (core_w, mem_w) = (&s.core_w[..draws], &s.mem_w[..draws]);
    let (e_acc, e_core, e_mem) = (&s.e_acc[..draws], &s.e_core[..draws], &s.e_mem[..draws]);
    let (opf, embs) = (&s.op_factor[..draws], &s.emb_scale[..draws]);
    let k0 = s.k;
    // One draw's (energy, operational, embodied), by the model's equations. A
    // macro, not a closure: a closure here was not inlined, which cost a call
    // per draw and all vectorization.
    macro_rules! draw {
        ($d:expr) => {{
            let d = $d;
            let activity = Activity {
                given_kwh: k0 + k[d],
                ..*a
            };
            let power = PowerFactors {
                tdp_w: if ACCELERATOR { tdp[d] } else { 0.0 },
                power_fraction: if ACCELERATOR { pf[d] } else { 0.0 },
                host_power_w: if ACCELERATOR { host[d] } else { 0.0 },
                core_power_w: if CPU { core_w[d] } else { 0.0 },
                memory_power_w_per_gb: if CPU { mem_w[d] } else { 0.0 },
            };
            let embodied = EmbodiedFactors {
                accelerator_embodied_kgco2e: if ACCELERATOR { e_acc[d] } else { 0.0 },
                core_embodied_kgco2e: if CPU { e_core[d] } else { 0.0 },
                memory_embodied_kgco2e_per_gb: if CPU { e_mem[d] } else { 0.0 },
            };
            let it = it_energy_kwh(&activity, &power);
            let it_op = match GRID {
                SAME => it,
                SCALED => it * scale,
                _ => it_energy_kwh(op, &power),
            };
            let reserved = reserved_embodied(&activity, &embodied);
            (
                it,
                operational_kgco2e(it_op, opf[d]),
                embodied_kgco2e(reserved, embs[d]),
            )
        }};
    }
    match (out, totals) {
        (Some(out), Some(tot)) => {
            let (it_out, op_out, emb_out) = split_metrics(out, draws);
            for (d, x) in tot[..draws].iter_mut().enumerate() {
                let (it, op, emb) = draw!(d);
                it_out[d] += it;
                op_out[d] += op;
                emb_out[d] += emb;
                *x = op + emb;
            }
        }
        (Some(out), None) => {
            let (it_out, op_out, emb_out) = split_metrics(out, draws);
            for d in 0..draws {
                let (it, op, emb) = draw!(d);
                it_out[d] += it;
                op_out[d] += op;
                emb_out[d] += emb;
            }
        }
        (None, Some(tot)) => {
            for (d, x) in tot[..draws].iter_mut().enumerate() {
                let (_, op, emb) = draw!(d);
                *x = op + emb;
            }
        }
        (None, None) => {}
    }
}

/// The energy, operational and embodied rows of a `[metric][draw]` block.
#[inline(always)]
fn split_metrics(out: &mut [f64], draws: usize) -> (&mut [f64], &mut [f64], &mut [f64]) {
    let (it_out, rest) = out.split_at_mut(draws);
    let (op_out, rest) = rest.split_at_mut(draws);
    (
        &mut it_out[..draws],
        &mut op_out[..draws],
        &mut rest[..draws],
    )
}

/// Lanes of the per-job sum (a fixed number: part of the summation order).
pub(super) const LANES: usize = 8;

/// Sum of `values` in [`LANES`] interleaved lanes combined pairwise: a fixed
/// order, so the same bits on every build, and no loop-carried dependency.
#[cfg_attr(feature = "simd", multiversion(targets("x86_64+avx2+fma")))]
pub(super) fn lane_sum(values: &[f64]) -> f64 {
    let mut sum = [0.0; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for l in 0..LANES {
            sum[l] += chunk[l];
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        sum[l] += x;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            sum[l] += sum[l + width];
        }
    }
    sum[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{first_uniform, mixed_draw, stream};

    #[test]
    fn specialized_accumulate_equals_the_full_formula() {
        let draws = 37;
        let series = |salt: u64| -> Vec<f64> {
            let s = stream(3, salt);
            (0..draws as u64)
                .map(|d| 0.5 + first_uniform(s, mixed_draw(d)))
                .collect()
        };
        let v: Vec<Vec<f64>> = (0..12).map(series).collect();
        let zeros = vec![0.0; draws];
        let srcs = |k_draws: &'static str| Srcs {
            k: 2.5,
            k_draws: if k_draws == "noisy" { &v[0] } else { &zeros },
            tdp: &v[1],
            pf: &v[2],
            host: &v[3],
            core_w: &v[4],
            mem_w: &v[5],
            e_acc: &v[6],
            e_core: &v[7],
            e_mem: &v[8],
            op_factor: &v[9],
            emb_scale: &v[10],
        };
        let accelerator_job = Activity {
            accelerator_kh: 3.0,
            accelerator_years: 0.01,
            ..Activity::default()
        };
        let cpu_job = Activity {
            core_kh: 0.2,
            memory_gb_kh: 0.7,
            core_years: 0.003,
            memory_gb_years: 0.004,
            ..Activity::default()
        };
        for a in [accelerator_job, cpu_job] {
            for k in ["noisy", "constant"] {
                let (mut out, mut full) = (vec![1.0; 3 * draws], vec![1.0; 3 * draws]);
                let (mut tot, mut full_tot) = (vec![0.0; draws], vec![0.0; draws]);
                accumulate(
                    &a,
                    &srcs(k),
                    GridEnergy::Same,
                    draws,
                    Some(&mut out),
                    Some(&mut tot),
                );
                accumulate_terms::<true, true, SAME>(
                    &a,
                    &a,
                    1.0,
                    &srcs(k),
                    draws,
                    Some(&mut full),
                    Some(&mut full_tot),
                );
                let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&full));
                assert_eq!(bits(&tot), bits(&full_tot));
                assert!(tot.iter().all(|&x| x > 0.0));
            }
        }
    }

    #[test]
    fn lane_sum_is_a_fixed_order_sum() {
        let v: Vec<f64> = (0..1003).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let exact: f64 = v.iter().sum();
        assert!((lane_sum(&v) - exact).abs() < 1e-12);
        assert_eq!(lane_sum(&[]), 0.0);
        assert_eq!(lane_sum(&[3.0]), 3.0);
    }
}
