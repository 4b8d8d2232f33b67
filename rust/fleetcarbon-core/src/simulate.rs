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

use rayon::prelude::*;

use crate::dist::Dist;
use crate::error::{CoreError, CoreResult};
use crate::estimate::{check_jobs, optional, resolve_rows, JobColumns, Rows, HOURS_PER_YEAR};
use crate::factors::{Factor, FactorTables, Table, MISSING, N_FACTORS};
use crate::rng::{mix64, stream, DrawRng};
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

/// A factor's value in each draw: one constant, or one value per draw.
#[derive(Debug, Clone, Copy)]
enum Src<'a> {
    Const(f64),
    Draws(&'a [f64]),
}

impl Src<'_> {
    #[inline(always)]
    fn at(&self, d: usize) -> f64 {
        match self {
            Src::Const(v) => *v,
            Src::Draws(x) => x[d],
        }
    }
}

/// The sources of every factor a job or cell needs.
#[derive(Debug, Clone, Copy)]
struct Srcs<'a> {
    k: Src<'a>,
    tdp: Src<'a>,
    pf: Src<'a>,
    host: Src<'a>,
    core_w: Src<'a>,
    mem_w: Src<'a>,
    e_acc: Src<'a>,
    e_core: Src<'a>,
    e_mem: Src<'a>,
    life: Src<'a>,
    use_rate: Src<'a>,
    pue: Src<'a>,
    grid: Src<'a>,
    facility: Src<'a>,
}

/// Add a job's or cell's metrics of every draw into `out` (`[metric][draw]`),
/// and its totals into `totals` when given.
fn accumulate(
    t: &Terms,
    s: &Srcs<'_>,
    draws: usize,
    out: &mut [f64],
    mut totals: Option<&mut [f64]>,
) {
    let (has_a, has_c, has_m) = (t.a != 0.0, t.c != 0.0, t.m != 0.0);
    let (has_b, has_bc, has_bm) = (t.b != 0.0, t.bc != 0.0, t.bm != 0.0);
    let has_embodied = has_b || has_bc || has_bm;
    let (it_out, rest) = out.split_at_mut(draws);
    let (op_out, rest) = rest.split_at_mut(draws);
    let (emb_out, total_out) = rest.split_at_mut(draws);
    for d in 0..draws {
        let mut it = s.k.at(d);
        if has_a {
            it += t.a * (s.tdp.at(d) * s.pf.at(d) + s.host.at(d));
        }
        if has_c {
            it += t.c * s.core_w.at(d);
        }
        if has_m {
            it += t.m * s.mem_w.at(d);
        }
        let op = it * s.pue.at(d) * s.grid.at(d);
        let emb = if has_embodied {
            let mut hw = 0.0;
            if has_b {
                hw += t.b * s.e_acc.at(d);
            }
            if has_bc {
                hw += t.bc * s.e_core.at(d);
            }
            if has_bm {
                hw += t.bm * s.e_mem.at(d);
            }
            hw / (s.life.at(d) * s.use_rate.at(d)) * (1.0 + s.facility.at(d))
        } else {
            0.0
        };
        it_out[d] += it;
        op_out[d] += op;
        emb_out[d] += emb;
        total_out[d] += op + emb;
        if let Some(tot) = totals.as_deref_mut() {
            tot[d] = op + emb;
        }
    }
}

/// Draws of every shared factor row that some job uses: `draws[f][row]`
/// (None where the row's distribution is fixed: the table value applies).
struct SharedDraws {
    draws: [Vec<Option<Vec<f64>>>; N_FACTORS],
}

impl SharedDraws {
    fn src<'a>(
        &'a self,
        tables: &FactorTables,
        f: Factor,
        row: u32,
        job: usize,
    ) -> CoreResult<Src<'a>> {
        if row == MISSING {
            return Err(CoreError::MissingFactor {
                factor: f.name(),
                row: job,
            });
        }
        Ok(match &self.draws[f as usize][row as usize] {
            Some(v) => Src::Draws(v),
            None => Src::Const(tables.column(f)[row as usize]),
        })
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
    let shared = shared_draws(sim, tables, row_dists, &rows)?;

    // Canonical order: by job key (ties by position, which unique job ids never produce).
    let mut order: Vec<usize> = (0..n).collect();
    order.par_sort_unstable_by_key(|&i| (sim.job_keys[i], i));

    let per_job = sim.per_job_quantiles.is_some();
    let noisy = |i: usize, basis: Basis, t: &Terms| -> bool {
        per_job
            || Factor::ALL
                .iter()
                .any(|&f| optional(jobs.overrides[f as usize], i).is_some())
            || (noise.power_fraction.is_some() && basis == Basis::Modelled && t.a != 0.0)
            || (noise.energy_relative.is_some() && basis == Basis::Metered)
            || (noise.power_relative.is_some() && basis == Basis::Measured)
    };

    let mut cells: HashMap<(u32, Rows), [NeumaierSum; 7]> = HashMap::new();
    let mut streamed: Vec<usize> = Vec::new();
    for &i in &order {
        let (t, basis) = job_terms(jobs, i);
        if noisy(i, basis, &t) {
            streamed.push(i);
            continue;
        }
        let sums = cells.entry((sim.group[i], rows[i])).or_default();
        for (s, v) in sums.iter_mut().zip([t.k, t.a, t.c, t.m, t.b, t.bc, t.bm]) {
            s.add(v);
        }
    }
    let mut cell_list: Vec<((u32, Rows), Terms)> = cells
        .into_iter()
        .map(|(key, s)| {
            let v = s.map(|x| x.value());
            let terms = Terms {
                k: v[0],
                a: v[1],
                c: v[2],
                m: v[3],
                b: v[4],
                bc: v[5],
                bm: v[6],
            };
            (key, terms)
        })
        .collect();
    cell_list.sort_unstable_by_key(|(key, _)| *key);

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
            for ((_, cell_rows), terms) in group_cells.iter() {
                let srcs = shared_srcs(tables, &shared, cell_rows, terms, usize::MAX, None)?;
                accumulate(terms, &srcs, draws, out, None);
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
    let blocks: Vec<&[usize]> = streamed.chunks(JOB_BLOCK).collect();
    for wave in blocks.chunks(BLOCKS_PER_WAVE) {
        let partials: Vec<CoreResult<BlockResult>> = wave
            .par_iter()
            .map(|block| stream_block(sim, tables, &shared, noise, &rows, block))
            .collect();
        for partial in partials {
            let partial = partial?;
            for (g, sums) in &partial.groups {
                let out = &mut group_draws[*g as usize * width..(*g as usize + 1) * width];
                for (o, s) in out.iter_mut().zip(sums) {
                    *o += s;
                }
            }
            for (i, mean, qs) in partial.jobs {
                per_job_mean[i] = mean;
                per_job_q[i * nq..(i + 1) * nq].copy_from_slice(&qs);
            }
        }
    }
    Ok(SimulationOutput {
        group_draws,
        per_job_mean,
        per_job_quantiles: per_job_q,
    })
}

struct BlockResult {
    /// Partial `[metric][draw]` sums of each group present, in first-seen order.
    groups: Vec<(u32, Vec<f64>)>,
    /// `(job, mean, quantiles)` of each job, when per-job output is on.
    jobs: Vec<(usize, f64, Vec<f64>)>,
}

fn stream_block(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    shared: &SharedDraws,
    noise: &JobNoise<'_>,
    rows: &[Rows],
    block: &[usize],
) -> CoreResult<BlockResult> {
    let draws = sim.draws;
    let width = N_METRICS * draws;
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<(u32, Vec<f64>)> = Vec::new();
    let mut jobs_out = Vec::new();
    let mut totals = vec![0.0; draws];
    let mut scratch = JobScratch::new(draws);
    for &i in block {
        let (mut t, basis) = job_terms(&sim.jobs, i);
        let g = sim.group[i];
        let slot = *index.entry(g).or_insert_with(|| {
            groups.push((g, vec![0.0; width]));
            groups.len() - 1
        });
        let srcs = job_srcs(
            sim,
            tables,
            shared,
            noise,
            &rows[i],
            &mut t,
            basis,
            i,
            &mut scratch,
        )?;
        let want_totals = sim.per_job_quantiles.is_some();
        accumulate(
            &t,
            &srcs,
            draws,
            &mut groups[slot].1,
            want_totals.then_some(&mut totals[..]),
        );
        if let Some(qs) = sim.per_job_quantiles {
            let mean = totals.iter().sum::<f64>() / draws as f64;
            jobs_out.push((i, mean, order_statistics(&mut totals, qs)));
        }
    }
    Ok(BlockResult {
        groups,
        jobs: jobs_out,
    })
}

/// Per-job draw buffers, reused across the jobs of a block.
struct JobScratch {
    k: Vec<f64>,
    pf: Vec<f64>,
    overrides: [Vec<f64>; N_FACTORS],
}

impl JobScratch {
    fn new(draws: usize) -> Self {
        JobScratch {
            k: vec![0.0; draws],
            pf: vec![0.0; draws],
            overrides: std::array::from_fn(|_| vec![0.0; draws]),
        }
    }
}

fn fill(buffer: &mut [f64], dist: &Dist, stream_key: u64, first_draw: u64, pool: &[f64]) {
    for (d, x) in buffer.iter_mut().enumerate() {
        *x = dist.sample(&mut DrawRng::new(stream_key, first_draw + d as u64), pool);
    }
}

fn job_stream(seed: u64, job_key: u64, salt: u64) -> u64 {
    stream(seed, mix64(job_key ^ mix64(salt)))
}

/// Sources of one streamed job: shared rows, per-job overrides (fixed or with
/// bounds) and per-job noise. May scale `t.k` per draw through the scratch.
#[allow(clippy::too_many_arguments)]
fn job_srcs<'a>(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    shared: &'a SharedDraws,
    noise: &JobNoise<'_>,
    rows: &Rows,
    t: &mut Terms,
    basis: Basis,
    i: usize,
    scratch: &'a mut JobScratch,
) -> CoreResult<Srcs<'a>> {
    let jobs = &sim.jobs;
    let key = sim.job_keys[i];
    let JobScratch { k, pf, overrides } = scratch;
    let relative = match basis {
        Basis::Metered => noise.energy_relative.map(|d| (d, SALT_ENERGY)),
        Basis::Measured => noise.power_relative.map(|d| (d, SALT_POWER)),
        Basis::Modelled => None,
    };
    let k_src = match relative {
        Some((dist, salt)) if t.k != 0.0 => {
            fill(
                k,
                &dist,
                job_stream(sim.seed, key, salt),
                sim.first_draw,
                sim.pool,
            );
            k.iter_mut().for_each(|x| *x *= t.k);
            Src::Draws(k)
        }
        _ => Src::Const(t.k),
    };
    let mut pf_noise = None;
    if let Some(dist) = noise.power_fraction {
        if t.a != 0.0 && optional(jobs.overrides[Factor::PowerFraction as usize], i).is_none() {
            fill(
                pf,
                &dist,
                job_stream(sim.seed, key, SALT_POWER_FRACTION),
                sim.first_draw,
                sim.pool,
            );
            pf_noise = Some(&pf[..]);
        }
    }
    let mut per_job: [Option<&'a [f64]>; N_FACTORS] = [None; N_FACTORS];
    let mut constants: [Option<f64>; N_FACTORS] = [None; N_FACTORS];
    for (f, buffer) in Factor::ALL.iter().zip(overrides.iter_mut()) {
        let Some(value) = optional(jobs.overrides[*f as usize], i) else {
            continue;
        };
        let bounds = noise.override_bounds[*f as usize].map(|(lo, hi)| (lo[i], hi[i]));
        match bounds {
            Some((lo, hi)) if !lo.is_nan() && !hi.is_nan() && lo < hi => {
                let dist = Dist::from_code(crate::dist::code::PERT, [lo, value, hi, 0.0], 0)?;
                let salt = SALT_OVERRIDE + *f as u64;
                fill(
                    buffer,
                    &dist,
                    job_stream(sim.seed, key, salt),
                    sim.first_draw,
                    sim.pool,
                );
                per_job[*f as usize] = Some(&buffer[..]);
            }
            _ => constants[*f as usize] = Some(value),
        }
    }
    let mut srcs = shared_srcs(tables, shared, rows, t, i, Some((&per_job, &constants)))?;
    srcs.k = k_src;
    if let Some(x) = pf_noise {
        srcs.pf = Src::Draws(x);
    }
    Ok(srcs)
}

type JobOverrides<'a, 'b> = (
    &'b [Option<&'a [f64]>; N_FACTORS],
    &'b [Option<f64>; N_FACTORS],
);

/// Sources of a cell (or a job, with its overrides): a factor is looked up only
/// if one of its terms is non-zero; unused factors get a placeholder.
fn shared_srcs<'a>(
    tables: &FactorTables,
    shared: &'a SharedDraws,
    rows: &Rows,
    t: &Terms,
    job: usize,
    overrides: Option<JobOverrides<'a, '_>>,
) -> CoreResult<Srcs<'a>> {
    let get = |f: Factor, needed: bool| -> CoreResult<Src<'a>> {
        if !needed {
            return Ok(Src::Const(0.0));
        }
        if let Some((per_job, constants)) = overrides {
            if let Some(x) = per_job[f as usize] {
                return Ok(Src::Draws(x));
            }
            if let Some(v) = constants[f as usize] {
                return Ok(Src::Const(v));
            }
        }
        shared.src(tables, f, row_of(rows, f.table()), job)
    };
    let (a, b) = (t.a != 0.0, t.b != 0.0);
    let embodied = b || t.bc != 0.0 || t.bm != 0.0;
    Ok(Srcs {
        k: Src::Const(t.k),
        tdp: get(Factor::TdpW, a)?,
        pf: get(Factor::PowerFraction, a)?,
        host: get(Factor::HostPowerW, a)?,
        core_w: get(Factor::CorePowerW, t.c != 0.0)?,
        mem_w: get(Factor::MemoryPowerWPerGb, t.m != 0.0)?,
        e_acc: get(Factor::AcceleratorEmbodiedKgco2e, b)?,
        e_core: get(Factor::CoreEmbodiedKgco2e, t.bc != 0.0)?,
        e_mem: get(Factor::MemoryEmbodiedKgco2ePerGb, t.bm != 0.0)?,
        life: get(Factor::LifetimeYears, embodied)?,
        use_rate: get(Factor::UseRate, embodied)?,
        pue: get(Factor::Pue, true)?,
        grid: get(Factor::GridKgco2ePerKwh, true)?,
        facility: get(Factor::FacilityEmbodiedFraction, embodied)?,
    })
}

/// Draw every non-fixed factor row that some job's rows point at.
fn shared_draws(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    rows: &[Rows],
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
        for (row, dist) in row_dists.dists[f as usize].iter().enumerate() {
            if used[k][row] && !dist.is_fixed() {
                wanted.push((f, row));
            }
        }
    }
    let sampled: Vec<((Factor, usize), Vec<f64>)> = wanted
        .into_par_iter()
        .map(|(f, row)| {
            let dist = row_dists.dists[f as usize][row];
            let s = stream(sim.seed, row_dists.keys[f as usize][row]);
            let mut values = vec![0.0; sim.draws];
            fill(&mut values, &dist, s, sim.first_draw, sim.pool);
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

/// The `q`-quantiles of `values` by the inverse empirical CDF (order statistic
/// `ceil(q n)`), selecting in place in O(n) per quantile.
pub fn order_statistics(values: &mut [f64], qs: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![f64::NAN; qs.len()];
    }
    let rank = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    let mut wanted: Vec<(usize, usize)> =
        qs.iter().enumerate().map(|(k, &q)| (rank(q), k)).collect();
    wanted.sort_unstable();
    let mut out = vec![0.0; qs.len()];
    let mut lo = 0;
    for (r, k) in wanted {
        if r >= lo {
            let (_, x, _) = values[lo..].select_nth_unstable_by(r - lo, f64::total_cmp);
            out[k] = *x;
            lo = r;
        } else {
            out[k] = values[r];
        }
    }
    out
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
    fn order_statistics_match_sorting() {
        let mut v: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let qs = [0.05, 0.5, 0.95, 0.0, 1.0];
        let got = order_statistics(&mut v, &qs);
        assert_eq!(got, vec![49.0, 499.0, 949.0, 0.0, 999.0]);
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
