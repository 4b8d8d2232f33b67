//! Monte Carlo of group totals, with shared factor uncertainty and per-job noise.
//!
//! A factor row (the H100's embodied carbon, region Y's grid intensity) is one
//! uncertain quantity: in draw `d` every job that uses the row sees the same
//! value, drawn from stream `(seed, row key)`. Per-job noise (a job's power
//! fraction, the error of its meter) is drawn from stream `(seed, job key,
//! noise kind)`. Nothing depends on row position, chunking or thread count.
//!
//! Each job's outputs are linear in seven job quantities ("terms"):
//!
//! ```text
//! it    = K + A (tdp · pf + host) + C · core_w + M · mem_w
//! op    = it · pue · grid
//! emb   = (B · E_acc + Bc · E_core + Bm · E_mem) / (lifetime · use_rate) · (1 + s)
//! total = op + emb
//! ```
//!
//! with `K` the metered or measured kWh, `A = n h / 1000`, `C = cores h / 1000`,
//! `M = GB h / 1000` (modelled power only), `B = n h / 8760`,
//! `Bc = cores h / 8760`, `Bm = GB h / 8760`. Jobs whose factors are all shared
//! rows are therefore reduced to per-cell sums of these terms (cell = group ×
//! table rows), and each draw costs O(cells). Jobs with per-job noise or
//! overrides are streamed in fixed blocks. Sums run in a canonical order
//! (jobs sorted by key; cells sorted; blocks merged in order), so results are
//! bit-identical for any thread count, row order and chunking.

use std::collections::HashMap;

use multiversion::multiversion;
use rayon::prelude::*;

use crate::copula::Copula;
use crate::dist::Dist;
use crate::error::{CoreError, CoreResult};
use crate::estimate::{check_jobs, optional, resolve_rows, JobColumns, Rows, HOURS_PER_YEAR};
use crate::factors::{Factor, FactorTables, Table, MISSING, N_FACTORS};
use crate::quantiles;
use crate::rng::{first_uniform, mix64, mixed_draw, stream};
use crate::sampling::fill;
use crate::summation::NeumaierSum;

/// Simulated metrics, in the order of the `group_draws` layout.
pub const METRICS: [&str; 4] = [
    "it_energy_kwh",
    "operational_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
];
const N_METRICS: usize = 4;
/// Jobs per block of the per-job path (fixed: part of the summation order).
const JOB_BLOCK: usize = 4096;
/// Blocks whose partial sums are held at once (bounds memory; not a result parameter).
const BLOCKS_PER_WAVE: usize = 8;

/// Salts that separate the noise streams of one job.
const SALT_POWER_FRACTION: u64 = 1;
const SALT_ENERGY: u64 = 2;
const SALT_POWER: u64 = 3;
const SALT_OVERRIDE: u64 = 0x100;

/// Distribution and stream key of every factor row.
#[derive(Debug, Clone, Default)]
pub struct RowDists {
    /// `dists[f as usize][row]`.
    pub dists: [Vec<Dist>; N_FACTORS],
    /// `keys[f as usize][row]`: a stable key of (table, row key, factor).
    pub keys: [Vec<u64>; N_FACTORS],
    /// Correlation between whole factors (none: rows are independent).
    pub copula: Option<Copula>,
}

/// Declared per-job noise.
#[derive(Debug, Clone, Default)]
pub struct JobNoise<'a> {
    /// Each modelled accelerator job draws its own power fraction from this.
    pub power_fraction: Option<Dist>,
    /// Multiplier of metered energy (its relative measurement error).
    pub energy_relative: Option<Dist>,
    /// Multiplier of measured average power.
    pub power_relative: Option<Dist>,
    /// Per job `(low, high)` around an override: the job's value is then
    /// PERT(low, override, high). NaN where the job gives no bounds.
    pub override_bounds: [Option<(&'a [f64], &'a [f64])>; N_FACTORS],
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Simulation<'a> {
    /// The jobs, as for [`crate::estimate`].
    pub jobs: JobColumns<'a>,
    /// Stable key of each job (a hash of its `job_id`).
    pub job_keys: &'a [u64],
    /// Group of each job.
    pub group: &'a [u32],
    /// Number of groups.
    pub n_groups: usize,
    /// Seed.
    pub seed: u64,
    /// Number of draws.
    pub draws: usize,
    /// Number of the first draw (to extend a run without changing earlier draws).
    pub first_draw: u64,
    /// Per-job quantiles of `total_kgco2e` to report (None: no per-job output).
    pub per_job_quantiles: Option<&'a [f64]>,
    /// Values of empirical distributions.
    pub pool: &'a [f64],
}

/// Results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulationOutput {
    /// `group_draws[(g * 4 + metric) * draws + d]`, metrics as in [`METRICS`].
    pub group_draws: Vec<f64>,
    /// Per-job mean of `total_kgco2e` (empty unless per-job output was asked for).
    pub per_job_mean: Vec<f64>,
    /// `per_job_quantiles[job * n_quantiles + q]` (inverse empirical CDF).
    pub per_job_quantiles: Vec<f64>,
}

/// The seven job quantities the outputs are linear in (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
struct Terms {
    k: f64,
    a: f64,
    c: f64,
    m: f64,
    b: f64,
    bc: f64,
    bm: f64,
}

/// A job's terms, its power basis, and whether it has draws of its own (noise
/// or an override), which routes it through the streamed path.
#[derive(Debug, Clone, Copy)]
struct JobTerms {
    terms: Terms,
    basis: Basis,
    noisy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    Metered,
    Measured,
    Modelled,
}

fn job_terms(jobs: &JobColumns<'_>, i: usize) -> (Terms, Basis) {
    let h = jobs.duration_h[i];
    let n = jobs.accelerator_count.map_or(0.0, |c| c[i]);
    let cores = jobs.cpu_cores.map_or(0.0, |c| c[i]);
    let gb = jobs.memory_gb.map_or(0.0, |c| c[i]);
    let mut t = Terms::default();
    let basis = if let Some(e) = optional(jobs.energy_kwh, i) {
        t.k = e;
        Basis::Metered
    } else if let Some(p) = optional(jobs.avg_power_w, i) {
        t.k = p * if n > 0.0 { n } else { 1.0 } * h / 1000.0;
        Basis::Measured
    } else {
        if n > 0.0 {
            t.a = n * h / 1000.0;
        } else {
            t.c = cores * h / 1000.0;
            t.m = gb * h / 1000.0;
        }
        Basis::Modelled
    };
    if n > 0.0 {
        t.b = n * h / HOURS_PER_YEAR;
    } else {
        t.bc = cores * h / HOURS_PER_YEAR;
        t.bm = gb * h / HOURS_PER_YEAR;
    }
    (t, basis)
}

/// The sources of every factor a job or cell needs, one value per draw (unused
/// factors point at zeros). `op_factor` is `pue × grid` and `emb_scale` is
/// `(1 + facility) / (lifetime × use_rate)`, combined once per draw rather
/// than per job. The job's own energy is `k + k_draws[d]`.
#[derive(Debug, Clone, Copy)]
struct Srcs<'a> {
    k: f64,
    k_draws: &'a [f64],
    tdp: &'a [f64],
    pf: &'a [f64],
    host: &'a [f64],
    core_w: &'a [f64],
    mem_w: &'a [f64],
    e_acc: &'a [f64],
    e_core: &'a [f64],
    e_mem: &'a [f64],
    op_factor: &'a [f64],
    emb_scale: &'a [f64],
}

/// Add a job's or cell's energy, operational and embodied carbon of every draw
/// into `out` when given (`[metric][draw]`; the total is formed once per group
/// at the end), and write its totals into `totals` when given. Compiled for
/// AVX2 too (identical bits: Rust never fuses `a * b + c` on its own).
#[multiversion(targets("x86_64+avx2+fma"))]
fn accumulate(
    t: &Terms,
    s: &Srcs<'_>,
    draws: usize,
    out: Option<&mut [f64]>,
    totals: Option<&mut [f64]>,
) {
    let accelerator = t.a != 0.0 || t.b != 0.0;
    let cpu = t.c != 0.0 || t.m != 0.0 || t.bc != 0.0 || t.bm != 0.0;
    // Most jobs have accelerator terms or CPU terms, not both: their loops skip
    // the other kind's four streams (adding their zeros would change no bit).
    match (accelerator, cpu) {
        (true, false) => accumulate_terms::<true, false>(t, s, draws, out, totals),
        (false, true) => accumulate_terms::<false, true>(t, s, draws, out, totals),
        _ => accumulate_terms::<true, true>(t, s, draws, out, totals),
    }
}

#[inline(always)]
fn accumulate_terms<const ACCELERATOR: bool, const CPU: bool>(
    t: &Terms,
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
    let (a, c, m, b, bc, bm, k0) = (t.a, t.c, t.m, t.b, t.bc, t.bm, s.k);
    // One draw's (energy, operational, embodied). A macro, not a closure: a
    // closure here was not inlined, which cost a call per draw and all vectorization.
    macro_rules! draw {
        ($d:expr) => {{
            let d = $d;
            let mut it = k0 + k[d];
            // Added term by term, in the order of the full formula.
            if ACCELERATOR {
                it += a * (tdp[d] * pf[d] + host[d]);
            }
            if CPU {
                it += c * core_w[d];
                it += m * mem_w[d];
            }
            let hardware = match (ACCELERATOR, CPU) {
                (true, false) => b * e_acc[d],
                (false, true) => bc * e_core[d] + bm * e_mem[d],
                _ => b * e_acc[d] + bc * e_core[d] + bm * e_mem[d],
            };
            (it, it * opf[d], hardware * embs[d])
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
const LANES: usize = 8;

/// Sum of `values` in [`LANES`] interleaved lanes combined pairwise: a fixed
/// order, so the same bits on every build, and no loop-carried dependency.
#[multiversion(targets("x86_64+avx2+fma"))]
fn lane_sum(values: &[f64]) -> f64 {
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

/// `pue × grid` per (datacenter, region) and `(1 + facility) / (lifetime × use_rate)`
/// per datacenter, for every draw, from the shared rows.
struct Combined {
    op: HashMap<(u32, u32), Vec<f64>>,
    emb: HashMap<u32, Vec<f64>>,
}

fn combined(shared: &SharedDraws, rows: &[Rows], draws: usize) -> CoreResult<Combined> {
    let mut pairs: Vec<(u32, u32)> = rows
        .iter()
        .filter(|r| r.region != MISSING)
        .map(|r| (r.datacenter, r.region))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut datacenters: Vec<u32> = rows.iter().map(|r| r.datacenter).collect();
    datacenters.sort_unstable();
    datacenters.dedup();
    let mut op = HashMap::new();
    for (dc, region) in pairs {
        let pue = shared.src(Factor::Pue, dc, 0)?;
        let grid = shared.src(Factor::GridKgco2ePerKwh, region, 0)?;
        op.insert((dc, region), (0..draws).map(|d| pue[d] * grid[d]).collect());
    }
    let life = shared.src(Factor::LifetimeYears, 0, 0)?;
    let use_rate = shared.src(Factor::UseRate, 0, 0)?;
    let mut emb = HashMap::new();
    for dc in datacenters {
        let facility = shared.src(Factor::FacilityEmbodiedFraction, dc, 0)?;
        let scale = (0..draws).map(|d| (1.0 + facility[d]) / (life[d] * use_rate[d]));
        emb.insert(dc, scale.collect());
    }
    Ok(Combined { op, emb })
}

/// Draws of every shared factor row that some job uses: `draws[f][row]`
/// (a fixed row is its table value repeated, so every source is a slice).
struct SharedDraws {
    draws: [Vec<Option<Vec<f64>>>; N_FACTORS],
}

impl SharedDraws {
    fn src(&self, f: Factor, row: u32, job: usize) -> CoreResult<&[f64]> {
        let missing = CoreError::MissingFactor {
            factor: f.name(),
            row: job,
        };
        if row == MISSING {
            return Err(missing);
        }
        self.draws[f as usize][row as usize]
            .as_deref()
            .ok_or(missing)
    }
}

fn row_of(rows: &Rows, table: Table) -> u32 {
    match table {
        Table::Accelerator => rows.accelerator,
        Table::Cpu => rows.cpu,
        Table::Region => rows.region,
        Table::Datacenter => rows.datacenter,
        Table::Defaults => 0,
    }
}

/// Run the Monte Carlo. Fails (never panics) on inconsistent input.
pub fn simulate(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    noise: &JobNoise<'_>,
) -> CoreResult<SimulationOutput> {
    let jobs = &sim.jobs;
    let n = jobs.duration_h.len();
    check_jobs(jobs, tables, n)?;
    check_inputs(sim, tables, row_dists, noise, n)?;
    let draws = sim.draws;

    let rows: Vec<Rows> = (0..n)
        .into_par_iter()
        .map(|i| resolve_rows(jobs, tables, i))
        .collect();
    let mixed_draws: Vec<u64> = (0..draws as u64)
        .map(|d| mixed_draw(sim.first_draw + d))
        .collect();
    let shared = shared_draws(sim, tables, row_dists, &rows, &mixed_draws)?;
    let combined = combined(&shared, &rows, draws)?;
    let zeros = vec![0.0; draws];
    let ctx = Context {
        sim,
        shared: &shared,
        combined: &combined,
        noise,
        rows: &rows,
        mixed_draws: &mixed_draws,
        zeros: &zeros,
    };

    let per_job = sim.per_job_quantiles.is_some();
    // Jobs with draws of their own reach the group sums through the streamed path;
    // the others through cells, with per-job output or without (same sums).
    let noisy = |i: usize, basis: Basis, t: &Terms| -> bool {
        Factor::ALL
            .iter()
            .any(|&f| optional(jobs.overrides[f as usize], i).is_some())
            || (noise.power_fraction.is_some() && basis == Basis::Modelled && t.a != 0.0)
            || (noise.energy_relative.is_some() && basis == Basis::Metered)
            || (noise.power_relative.is_some() && basis == Basis::Measured)
    };
    let terms: Vec<JobTerms> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (terms, basis) = job_terms(jobs, i);
            let noisy = noisy(i, basis, &terms);
            JobTerms {
                terms,
                basis,
                noisy,
            }
        })
        .collect();

    // Cells: sorting by (group, rows, job key) makes each cell a contiguous run,
    // already in canonical order (job key; ties by position, which unique ids never
    // produce), so the sums depend on the data only, never on row order.
    let mut cell_jobs: Vec<(u32, Rows, u64, usize)> = (0..n)
        .into_par_iter()
        .filter(|&i| !terms[i].noisy)
        .map(|i| (sim.group[i], rows[i], sim.job_keys[i], i))
        .collect();
    cell_jobs.par_sort_unstable();
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for k in 1..=cell_jobs.len() {
        if k == cell_jobs.len()
            || (cell_jobs[k].0, cell_jobs[k].1) != (cell_jobs[start].0, cell_jobs[start].1)
        {
            runs.push(start..k);
            start = k;
        }
    }
    let cell_list: Vec<((u32, Rows), Terms)> = runs
        .into_par_iter()
        .map(|run| {
            let mut sums = [NeumaierSum::default(); 7];
            for &(_, _, _, i) in &cell_jobs[run.clone()] {
                let t = &terms[i].terms;
                for (s, v) in sums.iter_mut().zip([t.k, t.a, t.c, t.m, t.b, t.bc, t.bm]) {
                    s.add(v);
                }
            }
            let v = sums.map(|x| x.value());
            let (g, r, _, _) = cell_jobs[run.start];
            let t = Terms {
                k: v[0],
                a: v[1],
                c: v[2],
                m: v[3],
                b: v[4],
                bc: v[5],
                bm: v[6],
            };
            ((g, r), t)
        })
        .collect();
    // Streamed in (group, job key) order: canonical, and a block then holds few
    // groups. Jobs that add to the group sums come first, in blocks of their own,
    // so per-job output cannot move their block boundaries (nor the sums' bits).
    let mut streamed: Vec<(bool, u32, u64, usize)> = (0..n)
        .into_par_iter()
        .filter(|&i| per_job || terms[i].noisy)
        .map(|i| (!terms[i].noisy, sim.group[i], sim.job_keys[i], i))
        .collect();
    streamed.par_sort_unstable();
    let first_stats_only = streamed.partition_point(|s| !s.0);
    let streamed: Vec<usize> = streamed.into_iter().map(|(_, _, _, i)| i).collect();
    let (grouped, stats_only) = streamed.split_at(first_stats_only);

    // Cells, group by group in parallel: each group's sums are its own.
    let width = N_METRICS * draws;
    let mut group_draws = vec![0.0; sim.n_groups * width];
    let mut by_group: Vec<&[((u32, Rows), Terms)]> = vec![&[]; sim.n_groups];
    let mut start = 0;
    while start < cell_list.len() {
        let g = cell_list[start].0 .0;
        let end = start
            + cell_list[start..]
                .iter()
                .take_while(|c| c.0 .0 == g)
                .count();
        by_group[g as usize] = &cell_list[start..end];
        start = end;
    }
    group_draws
        .par_chunks_mut(width.max(1))
        .zip(by_group.par_iter())
        .try_for_each(|(out, group_cells)| -> CoreResult<()> {
            let mut op_buffer = vec![0.0; draws];
            let mut emb_buffer = vec![0.0; draws];
            for ((_, cell_rows), terms) in group_cells.iter() {
                let lookup = ctx.lookup(cell_rows, usize::MAX);
                let srcs = lookup.srcs(terms, &mut op_buffer, &mut emb_buffer)?;
                accumulate(terms, &srcs, draws, Some(&mut out[..]), None);
            }
            Ok(())
        })?;

    // Streamed jobs: fixed blocks in canonical order, partials merged in block order.
    let nq = sim.per_job_quantiles.map_or(0, <[f64]>::len);
    let mut per_job_mean = if per_job { vec![0.0; n] } else { Vec::new() };
    let mut per_job_q = if per_job {
        vec![0.0; n * nq]
    } else {
        Vec::new()
    };
    let blocks: Vec<&[usize]> = grouped
        .chunks(JOB_BLOCK)
        .chain(stats_only.chunks(JOB_BLOCK))
        .collect();
    // One state per block of a wave, reused wave after wave: no allocation per block.
    let mut states: Vec<BlockState> = (0..BLOCKS_PER_WAVE.min(blocks.len()))
        .map(|_| BlockState::new(sim))
        .collect();
    for wave in blocks.chunks(BLOCKS_PER_WAVE) {
        states
            .par_iter_mut()
            .zip(wave.par_iter())
            .try_for_each(|(state, block)| state.run(&ctx, block, &terms))?;
        for state in &states[..wave.len()] {
            for (slot, &g) in state.groups.iter().enumerate() {
                let out = &mut group_draws[g as usize * width..(g as usize + 1) * width];
                let sums = &state.sums[slot * width..(slot + 1) * width];
                for (o, s) in out.iter_mut().zip(sums) {
                    *o += s;
                }
            }
            for (k, &i) in state.jobs.iter().enumerate() {
                per_job_mean[i] = state.means[k];
                per_job_q[i * nq..(i + 1) * nq]
                    .copy_from_slice(&state.quantiles[k * nq..(k + 1) * nq]);
            }
        }
    }
    // Totals once per group and draw, as operational + embodied.
    for out in group_draws.chunks_mut(width.max(1)) {
        let (parts, total) = out.split_at_mut(3 * draws);
        let (op, emb) = (&parts[draws..2 * draws], &parts[2 * draws..]);
        for ((t, o), e) in total.iter_mut().zip(op).zip(emb) {
            *t = o + e;
        }
    }
    Ok(SimulationOutput {
        group_draws,
        per_job_mean,
        per_job_quantiles: per_job_q,
    })
}

/// The partial sums and per-job results of one block, and its reusable buffers.
struct BlockState {
    /// Groups present, in first-seen order; `sums[slot * width..]` is the
    /// `[metric][draw]` partial of `groups[slot]`.
    groups: Vec<u32>,
    sums: Vec<f64>,
    slot_of_group: HashMap<u32, usize>,
    /// Per-job output (when asked for): job index, mean, quantiles (flat).
    jobs: Vec<usize>,
    means: Vec<f64>,
    quantiles: Vec<f64>,
    totals: Vec<f64>,
    select: quantiles::Scratch,
    scratch: JobScratch,
}

/// Everything the per-job path reads.
struct Context<'a> {
    sim: &'a Simulation<'a>,
    shared: &'a SharedDraws,
    combined: &'a Combined,
    noise: &'a JobNoise<'a>,
    rows: &'a [Rows],
    mixed_draws: &'a [u64],
    zeros: &'a [f64],
}

impl<'a> Context<'a> {
    fn lookup<'b>(&'b self, rows: &'b Rows, job: usize) -> Lookup<'a, 'b> {
        Lookup {
            shared: self.shared,
            combined: self.combined,
            zeros: self.zeros,
            rows,
            job,
            per_job: [None; N_FACTORS],
        }
    }
}

impl BlockState {
    fn new(sim: &Simulation<'_>) -> Self {
        BlockState {
            groups: Vec::new(),
            sums: Vec::new(),
            slot_of_group: HashMap::new(),
            jobs: Vec::new(),
            means: Vec::new(),
            quantiles: Vec::new(),
            totals: vec![0.0; sim.draws],
            select: quantiles::Scratch::default(),
            scratch: JobScratch::new(sim.draws),
        }
    }

    /// Stream the jobs of `block` (in canonical order) into this state.
    /// Stream the jobs of `block` (in canonical order) into this state; a job
    /// adds to its group's sums when it is noisy (otherwise its group gets
    /// it through the cells, and it is here for its per-job statistics only).
    fn run(&mut self, ctx: &Context<'_>, block: &[usize], terms: &[JobTerms]) -> CoreResult<()> {
        let sim = ctx.sim;
        let draws = sim.draws;
        let width = N_METRICS * draws;
        let nq = sim.per_job_quantiles.map_or(0, <[f64]>::len);
        self.groups.clear();
        self.slot_of_group.clear();
        self.jobs.clear();
        self.means.clear();
        self.quantiles.clear();
        for &i in block {
            let JobTerms {
                terms: t,
                basis,
                noisy,
            } = terms[i];
            let out = if noisy {
                let g = sim.group[i];
                let slot = match self.slot_of_group.get(&g) {
                    Some(&slot) => slot,
                    None => {
                        let slot = self.groups.len();
                        self.groups.push(g);
                        self.slot_of_group.insert(g, slot);
                        self.sums
                            .resize(self.sums.len().max((slot + 1) * width), 0.0);
                        self.sums[slot * width..(slot + 1) * width].fill(0.0);
                        slot
                    }
                };
                Some(&mut self.sums[slot * width..(slot + 1) * width])
            } else {
                None
            };
            let srcs = job_srcs(ctx, &t, basis, i, &mut self.scratch)?;
            let totals = sim
                .per_job_quantiles
                .is_some()
                .then_some(&mut self.totals[..]);
            accumulate(&t, &srcs, draws, out, totals);
            if let Some(qs) = sim.per_job_quantiles {
                self.jobs.push(i);
                self.means.push(lane_sum(&self.totals) / draws as f64);
                let start = self.quantiles.len();
                self.quantiles.resize(start + nq, 0.0);
                let out = &mut self.quantiles[start..];
                quantiles::order_statistics_into(&self.totals, qs, &mut self.select, out);
            }
        }
        Ok(())
    }
}

/// Per-job draw buffers, reused across the jobs of a block.
struct JobScratch {
    k: Vec<f64>,
    pf: Vec<f64>,
    op: Vec<f64>,
    emb: Vec<f64>,
    overrides: [Vec<f64>; N_FACTORS],
}

impl JobScratch {
    fn new(draws: usize) -> Self {
        JobScratch {
            k: vec![0.0; draws],
            pf: vec![0.0; draws],
            op: vec![0.0; draws],
            emb: vec![0.0; draws],
            // Sized on first use: most runs override few factors, if any.
            overrides: std::array::from_fn(|_| Vec::new()),
        }
    }
}

fn job_stream(seed: u64, job_key: u64, salt: u64) -> u64 {
    stream(seed, mix64(job_key ^ mix64(salt)))
}

/// Sources of one streamed job: shared rows, per-job overrides (fixed or with
/// bounds) and per-job noise (power fraction; metered or measured energy).
fn job_srcs<'a>(
    ctx: &'a Context<'a>,
    t: &Terms,
    basis: Basis,
    i: usize,
    scratch: &'a mut JobScratch,
) -> CoreResult<Srcs<'a>> {
    let (sim, noise) = (ctx.sim, ctx.noise);
    let jobs = &sim.jobs;
    let key = sim.job_keys[i];
    let JobScratch {
        k,
        pf,
        op,
        emb,
        overrides,
    } = scratch;
    let relative = match basis {
        Basis::Metered => noise.energy_relative.map(|d| (d, SALT_ENERGY)),
        Basis::Measured => noise.power_relative.map(|d| (d, SALT_POWER)),
        Basis::Modelled => None,
    };
    // Noisy metered or measured energy: K × ε(d), with the constant part zero.
    let mut noisy_k = false;
    if let Some((dist, salt)) = relative {
        if t.k != 0.0 {
            fill(
                k,
                &dist,
                job_stream(sim.seed, key, salt),
                ctx.mixed_draws,
                sim.pool,
            );
            k.iter_mut().for_each(|x| *x *= t.k);
            noisy_k = true;
        }
    }
    let mut lookup = ctx.lookup(&ctx.rows[i], i);
    if let Some(dist) = noise.power_fraction {
        if t.a != 0.0 && optional(jobs.overrides[Factor::PowerFraction as usize], i).is_none() {
            let s = job_stream(sim.seed, key, SALT_POWER_FRACTION);
            fill(pf, &dist, s, ctx.mixed_draws, sim.pool);
            lookup.per_job[Factor::PowerFraction as usize] = Some(&pf[..]);
        }
    }
    for (f, buffer) in Factor::ALL.iter().zip(overrides.iter_mut()) {
        let Some(value) = optional(jobs.overrides[*f as usize], i) else {
            continue;
        };
        buffer.resize(ctx.mixed_draws.len(), 0.0);
        let bounds = noise.override_bounds[*f as usize].map(|(lo, hi)| (lo[i], hi[i]));
        match bounds {
            Some((lo, hi)) if !lo.is_nan() && !hi.is_nan() && lo < hi => {
                let dist = Dist::from_code(crate::dist::code::PERT, [lo, value, hi, 0.0], 0)?;
                let s = job_stream(sim.seed, key, SALT_OVERRIDE + *f as u64);
                fill(buffer, &dist, s, ctx.mixed_draws, sim.pool);
            }
            _ => buffer.fill(value),
        }
        lookup.per_job[*f as usize] = Some(&buffer[..]);
    }
    let mut srcs = lookup.srcs(t, op, emb)?;
    if noisy_k {
        srcs.k = 0.0;
        srcs.k_draws = k;
    }
    Ok(srcs)
}

/// Where each factor of a job or cell comes from: per-job draws (noise, or an
/// override, constant or with bounds), or the shared row.
struct Lookup<'a, 'b> {
    shared: &'a SharedDraws,
    combined: &'a Combined,
    zeros: &'a [f64],
    rows: &'b Rows,
    job: usize,
    per_job: [Option<&'a [f64]>; N_FACTORS],
}

impl<'a> Lookup<'a, '_> {
    fn src(&self, f: Factor) -> CoreResult<&'a [f64]> {
        match self.per_job[f as usize] {
            Some(x) => Ok(x),
            None => self.shared.src(f, row_of(self.rows, f.table()), self.job),
        }
    }

    /// Sources of every factor whose term is non-zero (zeros otherwise). The
    /// combined factors come from the cache unless a job sets a part itself,
    /// in which case they are computed into `op_buffer` / `emb_buffer`.
    fn srcs(
        &self,
        t: &Terms,
        op_buffer: &'a mut [f64],
        emb_buffer: &'a mut [f64],
    ) -> CoreResult<Srcs<'a>> {
        let get = |f: Factor, needed: bool| -> CoreResult<&'a [f64]> {
            if needed {
                self.src(f)
            } else {
                Ok(self.zeros)
            }
        };
        let shared = |parts: &[Factor]| parts.iter().all(|&f| self.per_job[f as usize].is_none());
        let (a, b) = (t.a != 0.0, t.b != 0.0);
        let embodied = b || t.bc != 0.0 || t.bm != 0.0;
        let op_parts = [Factor::Pue, Factor::GridKgco2ePerKwh];
        let cached_op = self
            .combined
            .op
            .get(&(self.rows.datacenter, self.rows.region));
        let op_factor: &'a [f64] = match cached_op {
            Some(v) if shared(&op_parts) => v,
            _ => {
                let (pue, grid) = (self.src(Factor::Pue)?, self.src(Factor::GridKgco2ePerKwh)?);
                for ((x, p), g) in op_buffer.iter_mut().zip(pue).zip(grid) {
                    *x = p * g;
                }
                op_buffer
            }
        };
        let emb_parts = [
            Factor::FacilityEmbodiedFraction,
            Factor::LifetimeYears,
            Factor::UseRate,
        ];
        let emb_scale: &'a [f64] = if !embodied {
            self.zeros
        } else {
            match self.combined.emb.get(&self.rows.datacenter) {
                Some(v) if shared(&emb_parts) => v,
                _ => {
                    let facility = self.src(Factor::FacilityEmbodiedFraction)?;
                    let (life, use_rate) =
                        (self.src(Factor::LifetimeYears)?, self.src(Factor::UseRate)?);
                    for (d, x) in emb_buffer.iter_mut().enumerate() {
                        *x = (1.0 + facility[d]) / (life[d] * use_rate[d]);
                    }
                    emb_buffer
                }
            }
        };
        Ok(Srcs {
            k: t.k,
            k_draws: self.zeros,
            tdp: get(Factor::TdpW, a)?,
            pf: get(Factor::PowerFraction, a)?,
            host: get(Factor::HostPowerW, a)?,
            core_w: get(Factor::CorePowerW, t.c != 0.0)?,
            mem_w: get(Factor::MemoryPowerWPerGb, t.m != 0.0)?,
            e_acc: get(Factor::AcceleratorEmbodiedKgco2e, b)?,
            e_core: get(Factor::CoreEmbodiedKgco2e, t.bc != 0.0)?,
            e_mem: get(Factor::MemoryEmbodiedKgco2ePerGb, t.bm != 0.0)?,
            op_factor,
            emb_scale,
        })
    }
}

/// Draw every non-fixed factor row that some job's rows point at.
fn shared_draws(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    rows: &[Rows],
    mixed_draws: &[u64],
) -> CoreResult<SharedDraws> {
    let mut used: [Vec<bool>; 5] =
        std::array::from_fn(|k| vec![false; tables.len(Table::ALL[k]).max(1)]);
    for r in rows {
        for (k, table) in Table::ALL.iter().enumerate() {
            let row = row_of(r, *table);
            if row != MISSING {
                used[k][row as usize] = true;
            }
        }
    }
    let mut wanted: Vec<(Factor, usize)> = Vec::new();
    for f in Factor::ALL {
        let k = Table::ALL.iter().position(|t| *t == f.table()).unwrap_or(0);
        let rows_of_f = row_dists.dists[f as usize].len();
        wanted.extend(
            (0..rows_of_f)
                .filter(|&row| used[k][row])
                .map(|row| (f, row)),
        );
    }
    let latents = match &row_dists.copula {
        Some(c) => Some(c.latents(sim.seed, mixed_draws)?),
        None => None,
    };
    let sampled: Vec<((Factor, usize), Vec<f64>)> = wanted
        .into_par_iter()
        .map(|(f, row)| {
            let dist = row_dists.dists[f as usize][row];
            let s = stream(sim.seed, row_dists.keys[f as usize][row]);
            let correlated = || {
                latents
                    .as_ref()
                    .and_then(|l| l.row_values(f, &dist, s, mixed_draws, sim.pool))
            };
            let values = match dist {
                Dist::Fixed(v) => vec![v; sim.draws],
                _ => match correlated() {
                    Some(values) => values,
                    None => {
                        let mut values = vec![0.0; sim.draws];
                        fill(&mut values, &dist, s, mixed_draws, sim.pool);
                        values
                    }
                },
            };
            ((f, row), values)
        })
        .collect();
    let mut draws: [Vec<Option<Vec<f64>>>; N_FACTORS] =
        std::array::from_fn(|f| vec![None; row_dists.dists[f].len()]);
    for ((f, row), values) in sampled {
        draws[f as usize][row] = Some(values);
    }
    Ok(SharedDraws { draws })
}

/// The machine's floor for job-draw evaluations: one keyed uniform and one
/// fused multiply-add per (job, draw), on all threads, vectorized as the kernels
/// are (AVX2 and FMA where the CPU has them). Returns the sum so that the work
/// cannot be optimized away. Benchmarks time it next to [`simulate`].
pub fn rng_fma_floor(jobs: u64, draws: u64) -> f64 {
    let mixed: Vec<u64> = (0..draws).map(mixed_draw).collect();
    (0..jobs)
        .into_par_iter()
        .map(|j| uniform_fma_sum(stream(1, j), &mixed))
        .sum()
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn uniform_fma_sum(stream_key: u64, mixed: &[u64]) -> f64 {
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
    lane_sum(&acc)
}

fn check_inputs(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    noise: &JobNoise<'_>,
    n: usize,
) -> CoreResult<()> {
    let len = |column: &str, actual: usize, expected: usize| {
        crate::factors::check_lengths(column, actual, expected)
    };
    len("job_keys", sim.job_keys.len(), n)?;
    len("group", sim.group.len(), n)?;
    if sim.draws == 0 {
        return Err(CoreError::InvalidArgument(
            "draws must be at least 1".to_owned(),
        ));
    }
    if sim.n_groups > n.max(1) {
        return Err(CoreError::InvalidArgument(format!(
            "{} groups for {n} jobs",
            sim.n_groups
        )));
    }
    if let Some(row) = sim.group.iter().position(|&g| g as usize >= sim.n_groups) {
        return Err(CoreError::IndexOutOfRange {
            column: "group".to_owned(),
            row,
            index: sim.group[row],
            table_len: sim.n_groups,
        });
    }
    for f in Factor::ALL {
        let rows = tables.len(f.table());
        len(
            &format!("distributions of {}", f.name()),
            row_dists.dists[f as usize].len(),
            rows,
        )?;
        len(
            &format!("keys of {}", f.name()),
            row_dists.keys[f as usize].len(),
            rows,
        )?;
        if let Some((lo, hi)) = noise.override_bounds[f as usize] {
            len(&format!("{}_low", f.name()), lo.len(), n)?;
            len(&format!("{}_high", f.name()), hi.len(), n)?;
        }
    }
    if let Some(copula) = &row_dists.copula {
        copula.check()?;
    }
    if let Some(qs) = sim.per_job_quantiles {
        if qs.iter().any(|q| !(0.0..=1.0).contains(q)) {
            return Err(CoreError::InvalidArgument(format!(
                "quantiles {qs:?} outside [0, 1]"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::code;
    use crate::estimate::{estimate, RowIndex, OUTPUT_COLUMNS};

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
        let accelerator_job = Terms {
            a: 3.0,
            b: 0.01,
            ..Terms::default()
        };
        let cpu_job = Terms {
            c: 0.2,
            m: 0.7,
            bc: 0.003,
            bm: 0.004,
            ..Terms::default()
        };
        for t in [accelerator_job, cpu_job] {
            for k in ["noisy", "constant"] {
                let (mut out, mut full) = (vec![1.0; 3 * draws], vec![1.0; 3 * draws]);
                let (mut tot, mut full_tot) = (vec![0.0; draws], vec![0.0; draws]);
                accumulate(&t, &srcs(k), draws, Some(&mut out), Some(&mut tot));
                accumulate_terms::<true, true>(
                    &t,
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

    /// Two accelerators, one CPU, two regions, one datacenter, defaults.
    fn tables() -> FactorTables {
        let mut v: [Vec<f64>; N_FACTORS] = Default::default();
        let mut set = |f: Factor, x: Vec<f64>| v[f as usize] = x;
        set(Factor::TdpW, vec![700.0, 300.0]);
        set(Factor::HostPowerW, vec![100.0, 50.0]);
        set(Factor::AcceleratorEmbodiedKgco2e, vec![1000.0, 400.0]);
        set(Factor::CorePowerW, vec![10.0]);
        set(Factor::CoreEmbodiedKgco2e, vec![5.0]);
        set(Factor::GridKgco2ePerKwh, vec![0.5, 0.1]);
        set(Factor::MarketKgco2ePerKwh, vec![f64::NAN, f64::NAN]);
        set(Factor::Pue, vec![1.2]);
        set(Factor::FacilityEmbodiedFraction, vec![0.1]);
        set(Factor::PowerFraction, vec![0.5]);
        set(Factor::LifetimeYears, vec![4.0]);
        set(Factor::UseRate, vec![1.0]);
        set(Factor::MemoryPowerWPerGb, vec![0.5]);
        set(Factor::MemoryEmbodiedKgco2ePerGb, vec![1.0]);
        match FactorTables::new(v, vec![0], vec![0, 0], 0) {
            Ok(t) => t,
            Err(e) => unreachable!("{e}"),
        }
    }

    fn fixed_dists(t: &FactorTables) -> RowDists {
        let mut rd = RowDists::default();
        for f in Factor::ALL {
            rd.dists[f as usize] = t.column(f).iter().map(|&x| Dist::Fixed(x)).collect();
            rd.keys[f as usize] = (0..t.column(f).len() as u64)
                .map(|r| mix64(f as u64 * 1000 + r))
                .collect();
        }
        rd
    }

    struct Fleet {
        duration: Vec<f64>,
        count: Vec<f64>,
        cores: Vec<f64>,
        energy: Vec<f64>,
        accel: Vec<u32>,
        region: Vec<u32>,
        keys: Vec<u64>,
        group: Vec<u32>,
    }

    fn fleet(n: usize) -> Fleet {
        Fleet {
            duration: (0..n).map(|i| 1.0 + (i % 13) as f64).collect(),
            count: (0..n)
                .map(|i| {
                    if i % 5 == 0 {
                        0.0
                    } else {
                        (1 << (i % 3)) as f64
                    }
                })
                .collect(),
            cores: (0..n).map(|i| (i % 7) as f64 + 1.0).collect(),
            energy: (0..n)
                .map(|i| if i % 11 == 0 { 3.0 } else { f64::NAN })
                .collect(),
            accel: (0..n).map(|i| (i % 2) as u32).collect(),
            region: (0..n).map(|i| (i % 2) as u32).collect(),
            keys: (0..n as u64).map(|i| mix64(i + 17)).collect(),
            group: (0..n).map(|i| (i % 3) as u32).collect(),
        }
    }

    fn jobs(f: &Fleet) -> JobColumns<'_> {
        JobColumns {
            duration_h: &f.duration,
            accelerator_count: Some(&f.count),
            cpu_cores: Some(&f.cores),
            memory_gb: None,
            energy_kwh: Some(&f.energy),
            avg_power_w: None,
            accelerator: RowIndex::PerJob(&f.accel),
            cpu: RowIndex::Constant(0),
            region: RowIndex::PerJob(&f.region),
            datacenter: RowIndex::Constant(MISSING),
            overrides: [None; N_FACTORS],
        }
    }

    fn sim<'a>(f: &'a Fleet, draws: usize, per_job: Option<&'a [f64]>) -> Simulation<'a> {
        Simulation {
            jobs: jobs(f),
            job_keys: &f.keys,
            group: &f.group,
            n_groups: 3,
            seed: 7,
            draws,
            first_draw: 0,
            per_job_quantiles: per_job,
            pool: &[],
        }
    }

    #[test]
    fn fixed_distributions_reproduce_the_deterministic_estimate() -> CoreResult<()> {
        let t = tables();
        let f = fleet(1000);
        let det = estimate(&jobs(&f), &t)?;
        for per_job in [None, Some(&[0.5][..])] {
            let out = simulate(
                &sim(&f, 3, per_job),
                &t,
                &fixed_dists(&t),
                &JobNoise::default(),
            )?;
            for (m, name) in METRICS.iter().enumerate() {
                let k = OUTPUT_COLUMNS.iter().position(|c| c == name).unwrap_or(0);
                for g in 0..3u32 {
                    let expected: f64 = (0..1000)
                        .filter(|&i| f.group[i] == g)
                        .map(|i| det.columns[k][i])
                        .sum();
                    for d in 0..3 {
                        let got = out.group_draws[(g as usize * 4 + m) * 3 + d];
                        assert!(
                            (got - expected).abs() <= 1e-9 * expected.abs(),
                            "{name} g{g}: {got} vs {expected}"
                        );
                    }
                }
            }
            if per_job.is_some() {
                for i in 0..1000 {
                    let total = det.columns[7][i];
                    assert!((out.per_job_mean[i] - total).abs() <= 1e-12 * total.abs());
                }
            }
        }
        Ok(())
    }

    #[test]
    fn shared_factor_is_shared_and_noise_is_independent() -> CoreResult<()> {
        let t = tables();
        let f = fleet(600);
        let mut rd = fixed_dists(&t);
        rd.dists[Factor::GridKgco2ePerKwh as usize][0] =
            Dist::from_code(code::UNIFORM, [0.0, 1.0, 0.0, 0.0], 0)?;
        let out = simulate(&sim(&f, 50, None), &t, &rd, &JobNoise::default())?;
        // All three groups use region 0, so their operational totals move together.
        let op = |g: usize| -> Vec<f64> {
            (0..50)
                .map(|d| out.group_draws[(g * 4 + 1) * 50 + d])
                .collect()
        };
        let (a, b) = (op(0), op(1));
        let corr = correlation(&a, &b);
        assert!(corr > 0.95, "shared factor: correlation {corr}");
        Ok(())
    }

    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn identical_for_any_thread_count_and_job_order() -> CoreResult<()> {
        let t = tables();
        let f = fleet(3 * JOB_BLOCK + 5);
        let mut rd = fixed_dists(&t);
        rd.dists[Factor::Pue as usize][0] = Dist::from_code(code::PERT, [1.1, 1.2, 1.6, 0.0], 0)?;
        let noise = JobNoise {
            power_fraction: Some(Dist::from_code(code::TRIANGULAR, [0.3, 0.6, 1.0, 0.0], 0)?),
            ..JobNoise::default()
        };
        let qs = [0.05, 0.5, 0.95];
        let many = simulate(&sim(&f, 20, Some(&qs)), &t, &rd, &noise)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| CoreError::InvalidArgument(e.to_string()))?;
        let one = pool.install(|| simulate(&sim(&f, 20, Some(&qs)), &t, &rd, &noise))?;
        assert_eq!(many, one);
        // Reverse the jobs: same per-group draws, bit for bit.
        let rev = |v: &Vec<f64>| v.iter().rev().copied().collect::<Vec<_>>();
        let g = Fleet {
            duration: rev(&f.duration),
            count: rev(&f.count),
            cores: rev(&f.cores),
            energy: rev(&f.energy),
            accel: f.accel.iter().rev().copied().collect(),
            region: f.region.iter().rev().copied().collect(),
            keys: f.keys.iter().rev().copied().collect(),
            group: f.group.iter().rev().copied().collect(),
        };
        let reversed = simulate(&sim(&g, 20, Some(&qs)), &t, &rd, &noise)?;
        assert_eq!(many.group_draws, reversed.group_draws);
        let n = f.duration.len();
        assert_eq!(many.per_job_mean[0], reversed.per_job_mean[n - 1]);
        Ok(())
    }

    #[test]
    fn bad_inputs_are_errors() {
        let t = tables();
        let f = fleet(10);
        let mut s = sim(&f, 0, None);
        assert!(simulate(&s, &t, &fixed_dists(&t), &JobNoise::default()).is_err());
        s.draws = 2;
        s.n_groups = 2;
        assert!(simulate(&s, &t, &fixed_dists(&t), &JobNoise::default()).is_err());
        let short = RowDists::default();
        s.n_groups = 3;
        assert!(simulate(&s, &t, &short, &JobNoise::default()).is_err());
    }
}
