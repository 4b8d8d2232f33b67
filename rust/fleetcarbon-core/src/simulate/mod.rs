//! Monte Carlo of group totals, with shared factor uncertainty and per-job noise.
//!
//! A factor row (the H100's embodied carbon, region Y's grid intensity) is one
//! uncertain quantity: in draw `d` every job that uses the row sees the same
//! value, drawn from stream `(seed, row key)`. Per-job noise (a job's power
//! fraction, the error of its meter) is drawn from stream `(seed, job key,
//! noise kind)`. Nothing depends on row position, chunking or thread count.
//!
//! Every output is linear in a job's [`Activity`] (`crate::model`), so jobs
//! whose factors are all shared rows are reduced to per-cell sums of their
//! activity (cell = group × table rows; [`cells`]) and each draw costs
//! O(cells). Jobs with per-job noise or overrides, or all jobs when per-job
//! output is asked for, are streamed in fixed blocks ([`streaming`]). Both
//! paths evaluate the model's equations per draw ([`kernels`]) from the
//! draws of each factor ([`sources`]). Sums run in a canonical order (jobs
//! sorted by key; cells sorted; blocks merged in order), so results are
//! bit-identical for any thread count, row order and chunking.

mod cells;
mod kernels;
pub mod memory;
mod sources;
mod streaming;

use rayon::prelude::*;

use crate::control::Control;
use crate::copula::Copula;
use crate::dist::Dist;
use crate::error::{CoreError, CoreResult};
use crate::factors::{check_indices, check_lengths, Factor, FactorTables, Table, N_FACTORS};
use crate::model::{resolve_rows, Activity, JobColumns, PowerBasis, Rows};
use crate::quantiles::{check_levels, QuantileMethod};
use crate::rng::mixed_draw;

/// Simulated metrics, in the order of the `group_draws` layout.
pub const METRICS: [&str; 4] = [
    "it_energy_kwh",
    "operational_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
];
const N_METRICS: usize = 4;

/// Distribution and stream key of every factor row.
#[derive(Debug, Clone, Default)]
pub struct RowDists {
    /// `dists[f as usize][row]`.
    pub dists: [Vec<Dist>; N_FACTORS],
    /// `keys[f as usize][row]`: a stable key of (table, row key, factor).
    pub keys: [Vec<u64>; N_FACTORS],
    /// Correlation between whole factors (none: rows are independent).
    pub copula: Option<Copula>,
    /// Rows that are mixes of other rows of their table: no distribution of
    /// their own (their `dists` entry is ignored).
    pub mixtures: Vec<Mixture>,
}

/// A table row standing for a known mix of other rows (a cluster's untyped
/// GPUs, 70% of one model and 30% of another): in every draw, each of its
/// factors is the weighted mean of its parts' draws, so it shares their
/// uncertainty with the jobs that name the parts (docs/uncertainty.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    /// The table of the row and its parts.
    pub table: Table,
    /// The mixed row.
    pub row: u32,
    /// `(part row, weight)`: rows of the same table that are not mixes, with
    /// weights > 0 that sum to 1.
    pub parts: Vec<(u32, f64)>,
}

impl Mixture {
    /// Check the mix against a table of `rows` rows in which `mixed` flags the mixed rows.
    fn check(&self, rows: usize, mixed: &[bool]) -> CoreResult<()> {
        let what = format!("mixture row {} of {}", self.row, self.table.name());
        let bad = |why: String| Err(CoreError::invalid("mixtures", format!("{what}: {why}")));
        if self.row as usize >= rows {
            return bad(format!("no such row (the table has {rows})"));
        }
        if self.parts.is_empty() {
            return bad("no parts".into());
        }
        let mut sum = 0.0;
        for &(part, weight) in &self.parts {
            if part as usize >= rows || mixed[part as usize] {
                return bad(format!("part {part} is not a row of its own"));
            }
            if !(weight.is_finite() && weight > 0.0) {
                return bad(format!("weight {weight} is not finite and > 0"));
            }
            sum += weight;
        }
        if (sum - 1.0).abs() > 1e-9 {
            return bad(format!("weights sum to {sum}, not 1"));
        }
        Ok(())
    }
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
    /// Draw (power fraction, energy, power) noise from each job's second
    /// stream of that kind: an independent re-draw with the same
    /// distribution (matrix B of a sensitivity design).
    pub resample: [bool; 3],
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Simulation<'a> {
    /// The jobs, as for [`crate::estimate()`].
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
    /// How per-job quantiles are read from the draws.
    pub quantile_method: QuantileMethod,
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
    /// `per_job_quantiles[job * n_quantiles + q]`.
    pub per_job_quantiles: Vec<f64>,
}

/// A job's activity, its power basis, and whether it has draws of its own
/// (noise or an override), which routes it through the streamed path.
#[derive(Debug, Clone, Copy)]
struct JobTerms {
    activity: Activity,
    basis: PowerBasis,
    own_draws: bool,
    /// Multiplier of the region's grid intensity (1 without a series).
    grid_scale: f64,
}

/// Run the Monte Carlo. Fails (never panics) on inconsistent input. Reports
/// progress to `control` (in cells and jobs evaluated over all draws) and
/// stops with [`CoreError::Cancelled`] when asked.
pub fn simulate(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    noise: &JobNoise<'_>,
    control: &Control,
) -> CoreResult<SimulationOutput> {
    let plan = Plan::new(sim, tables, row_dists, noise)?;
    control.plan(plan.units());
    control.check()?;
    plan.run(sim, tables, row_dists, noise, control)
}

/// One scenario's results from [`simulate_scenarios`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRun {
    /// The Monte Carlo, as [`simulate`] gives it.
    pub output: SimulationOutput,
    /// With `points`: the deterministic model's group totals, `[g * 4 + metric]`
    /// (every factor at its table value, per-job overrides as given, no noise),
    /// summed over the same cells as the draws.
    pub point: Option<Vec<f64>>,
}

/// Run the Monte Carlo of several factor scenarios on the same jobs, with
/// common random numbers: every scenario draws each factor row from the
/// stream of its key and each job's noise from the job's, as [`simulate`]
/// does, so a scenario equal to the first gives the same bits.
///
/// The jobs' reduction to cells is done once: the scenarios must use the same
/// table rows for every job (tables of the same shape and links; values,
/// bounds and distributions may differ). Per-job output is not offered.
/// With `points`, each scenario's deterministic group totals come too, from
/// one more pass over the cells (they agree with summed per-job estimates to
/// rounding). Returns one result per scenario, in order.
pub fn simulate_scenarios(
    sim: &Simulation<'_>,
    scenarios: &[(&FactorTables, &RowDists)],
    noise: &JobNoise<'_>,
    points: bool,
    control: &Control,
) -> CoreResult<Vec<ScenarioRun>> {
    let resample = vec![noise.resample; scenarios.len()];
    simulate_designs(sim, scenarios, noise, &resample, points, control)
}

/// [`simulate_scenarios`] with each scenario's own [`JobNoise::resample`]
/// flags (the noise distributions are `noise`'s in all of them).
pub fn simulate_designs(
    sim: &Simulation<'_>,
    scenarios: &[(&FactorTables, &RowDists)],
    noise: &JobNoise<'_>,
    resample: &[[bool; 3]],
    points: bool,
    control: &Control,
) -> CoreResult<Vec<ScenarioRun>> {
    check_lengths("resample", resample.len(), scenarios.len())?;
    let Some(&(first_tables, first_dists)) = scenarios.first() else {
        return Err(CoreError::invalid("scenarios", "no scenario to simulate"));
    };
    if sim.per_job_quantiles.is_some() {
        return Err(CoreError::invalid(
            "per_job_quantiles",
            "scenario runs give group totals only",
        ));
    }
    let plan = Plan::new(sim, first_tables, first_dists, noise)?;
    for (k, &(tables, row_dists)) in scenarios.iter().enumerate().skip(1) {
        let n = sim.jobs.len();
        sim.jobs.check(tables)?;
        check_inputs(sim, tables, row_dists, noise, n)?;
        let moved = (0..n)
            .into_par_iter()
            .find_first(|&i| resolve_rows(&sim.jobs, tables, i) != plan.rows[i]);
        if let Some(i) = moved {
            return Err(CoreError::invalid(
                "scenarios",
                format!(
                    "scenario {k} gives job {i} other table rows than scenario 0; \
                     a scenario that moves jobs between rows needs a run of its own"
                ),
            ));
        }
    }
    control.plan(plan.units() * scenarios.len() as u64);
    control.check()?;
    let point_sim = Simulation {
        draws: 1,
        first_draw: 0,
        ..sim.clone()
    };
    let no_noise = JobNoise::default();
    scenarios
        .iter()
        .zip(resample)
        .map(|(&(tables, row_dists), &flags)| {
            let scenario_noise = JobNoise {
                resample: flags,
                ..noise.clone()
            };
            let output = plan.run(sim, tables, row_dists, &scenario_noise, control)?;
            let point = if points {
                let fixed = at_table_values(tables, row_dists);
                let at = plan.run(&point_sim, tables, &fixed, &no_noise, &Control::new())?;
                Some(at.group_draws)
            } else {
                None
            };
            Ok(ScenarioRun { output, point })
        })
        .collect()
}

/// Every row at its table value: the deterministic model, evaluated by the Monte Carlo paths.
fn at_table_values(tables: &FactorTables, like: &RowDists) -> RowDists {
    let mut fixed = RowDists::default();
    for f in Factor::ALL {
        fixed.dists[f as usize] = tables.column(f).iter().map(|&x| Dist::Fixed(x)).collect();
        fixed.keys[f as usize].clone_from(&like.keys[f as usize]);
    }
    fixed
}

/// What does not depend on the factor values: each job's rows and terms, the
/// cells of the shared-only jobs and the streamed jobs in canonical order.
struct Plan {
    rows: Vec<Rows>,
    terms: Vec<JobTerms>,
    cells: Vec<cells::Cell>,
    /// Streamed jobs: those that add to the group sums first.
    streamed: Vec<usize>,
    /// Where the streamed jobs that only give per-job output begin.
    first_stats_only: usize,
}

impl Plan {
    fn new(
        sim: &Simulation<'_>,
        tables: &FactorTables,
        row_dists: &RowDists,
        noise: &JobNoise<'_>,
    ) -> CoreResult<Plan> {
        let jobs = &sim.jobs;
        let n = jobs.len();
        jobs.check(tables)?;
        check_inputs(sim, tables, row_dists, noise, n)?;
        let rows: Vec<Rows> = (0..n)
            .into_par_iter()
            .map(|i| resolve_rows(jobs, tables, i))
            .collect();
        let per_job = sim.per_job_quantiles.is_some();
        let terms: Vec<JobTerms> = (0..n)
            .into_par_iter()
            .map(|i| {
                let (activity, basis) = Activity::of(&jobs.quantities(i));
                JobTerms {
                    activity,
                    basis,
                    own_draws: sources::has_own_draws(sim, noise, i, basis, &activity),
                    grid_scale: jobs.grid_scale_of(i),
                }
            })
            .collect();
        // Jobs with draws of their own reach the group sums through the streamed
        // path; the others through cells, with per-job output or without (same sums).
        let cell_list = cells::cells(sim.group, &rows, sim.job_keys, &terms);
        // Streamed in (group, job key) order: canonical, and a block then holds few
        // groups. Jobs that add to the group sums come first, in blocks of their own,
        // so per-job output cannot move their block boundaries (nor the sums' bits).
        let mut streamed: Vec<(bool, u32, u64, usize)> = (0..n)
            .into_par_iter()
            .filter(|&i| per_job || terms[i].own_draws)
            .map(|i| (!terms[i].own_draws, sim.group[i], sim.job_keys[i], i))
            .collect();
        streamed.par_sort_unstable();
        let first_stats_only = streamed.partition_point(|s| !s.0);
        Ok(Plan {
            rows,
            terms,
            cells: cell_list,
            streamed: streamed.into_iter().map(|(_, _, _, i)| i).collect(),
            first_stats_only,
        })
    }

    /// Work units of one run, for progress.
    fn units(&self) -> u64 {
        (self.cells.len() + self.streamed.len()) as u64
    }

    fn run(
        &self,
        sim: &Simulation<'_>,
        tables: &FactorTables,
        row_dists: &RowDists,
        noise: &JobNoise<'_>,
        control: &Control,
    ) -> CoreResult<SimulationOutput> {
        let draws = sim.draws;
        let mixed_draws: Vec<u64> = (0..draws as u64)
            .map(|d| mixed_draw(sim.first_draw + d))
            .collect();
        let shared =
            sources::shared_draws(sim, tables, row_dists, &self.rows, &mixed_draws, control)?;
        let combined = sources::combined(&shared, &self.rows, draws)?;
        let zeros = vec![0.0; draws];
        let ctx = sources::Context {
            sim,
            shared: &shared,
            combined: &combined,
            noise,
            rows: &self.rows,
            mixed_draws: &mixed_draws,
            zeros: &zeros,
        };
        control.check()?;

        let width = N_METRICS * draws;
        let mut group_draws = vec![0.0; sim.n_groups * width];
        cells::accumulate_cells(&ctx, &self.cells, &mut group_draws, width, control)?;
        let (grouped, stats_only) = self.streamed.split_at(self.first_stats_only);
        let blocks: Vec<&[usize]> = grouped
            .chunks(streaming::JOB_BLOCK)
            .chain(stats_only.chunks(streaming::JOB_BLOCK))
            .collect();
        let per_job_out =
            streaming::stream_blocks(&ctx, &blocks, &self.terms, &mut group_draws, control)?;
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
            per_job_mean: per_job_out.means,
            per_job_quantiles: per_job_out.quantiles,
        })
    }
}

fn check_inputs(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    noise: &JobNoise<'_>,
    n: usize,
) -> CoreResult<()> {
    check_lengths("job_keys", sim.job_keys.len(), n)?;
    check_lengths("group", sim.group.len(), n)?;
    if sim.draws == 0 {
        return Err(CoreError::invalid("draws", "draws must be at least 1"));
    }
    if sim.n_groups > n.max(1) {
        return Err(CoreError::invalid(
            "n_groups",
            format!("{} groups for {n} jobs", sim.n_groups),
        ));
    }
    check_indices("group", sim.group, sim.n_groups, false)?;
    for f in Factor::ALL {
        let rows = tables.len(f.table());
        check_lengths(
            &format!("distributions of {}", f.name()),
            row_dists.dists[f as usize].len(),
            rows,
        )?;
        check_lengths(
            &format!("keys of {}", f.name()),
            row_dists.keys[f as usize].len(),
            rows,
        )?;
        if let Some((lo, hi)) = noise.override_bounds[f as usize] {
            check_lengths(&format!("{}_low", f.name()), lo.len(), n)?;
            check_lengths(&format!("{}_high", f.name()), hi.len(), n)?;
        }
    }
    if let Some(copula) = &row_dists.copula {
        copula.check()?;
    }
    let mut mixed: [Vec<bool>; 5] = std::array::from_fn(|k| vec![false; tables.len(Table::ALL[k])]);
    for m in &row_dists.mixtures {
        let flags = &mut mixed[m.table.index()];
        if let Some(flag) = flags.get_mut(m.row as usize) {
            if *flag {
                return Err(CoreError::invalid(
                    "mixtures",
                    format!("row {} of {} is mixed twice", m.row, m.table.name()),
                ));
            }
            *flag = true;
        }
    }
    for m in &row_dists.mixtures {
        m.check(tables.len(m.table), &mixed[m.table.index()])?;
    }
    if let Some(qs) = sim.per_job_quantiles {
        check_levels(qs)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::code;
    use crate::estimate::estimate;
    use crate::factors::MISSING;
    use crate::model::{RowIndex, OUTPUT_COLUMNS};
    use crate::rng::mix64;

    /// Two accelerators, one CPU, two regions, one datacenter, defaults.
    fn tables() -> FactorTables {
        accelerator_tables([700.0, 300.0], [100.0, 50.0], [1000.0, 400.0])
    }

    /// [`tables`] with the accelerator rows given (tdp, host power, embodied).
    fn accelerator_tables<const N: usize>(
        tdp: [f64; N],
        host: [f64; N],
        embodied: [f64; N],
    ) -> FactorTables {
        let mut v: [Vec<f64>; N_FACTORS] = Default::default();
        let mut set = |f: Factor, x: Vec<f64>| v[f as usize] = x;
        set(Factor::TdpW, tdp.to_vec());
        set(Factor::HostPowerW, host.to_vec());
        set(Factor::AcceleratorEmbodiedKgco2e, embodied.to_vec());
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
            core_usage: None,
            grid_scale: None,
            accelerator_host: crate::model::AcceleratorHost::Share,
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
            quantile_method: QuantileMethod::InvertedCdf,
            pool: &[],
        }
    }

    /// Uniform ±20% around every table value.
    fn spread_dists(t: &FactorTables) -> RowDists {
        let mut rd = fixed_dists(t);
        for f in Factor::ALL {
            rd.dists[f as usize] = t
                .column(f)
                .iter()
                .map(|&x| {
                    if x.is_nan() || x == 0.0 {
                        Dist::Fixed(x)
                    } else {
                        Dist::Uniform {
                            low: 0.8 * x,
                            high: 1.2 * x,
                        }
                    }
                })
                .collect();
        }
        rd
    }

    #[test]
    fn scenarios_share_the_reduction_and_the_random_numbers() -> CoreResult<()> {
        let f = fleet(2000);
        let base = tables();
        let cheaper = accelerator_tables([700.0, 300.0], [100.0, 50.0], [600.0, 200.0]);
        let (base_d, cheaper_d) = (spread_dists(&base), spread_dists(&cheaper));
        let s = sim(&f, 64, None);
        let noise = JobNoise::default();
        let runs = simulate_scenarios(
            &s,
            &[(&base, &base_d), (&cheaper, &cheaper_d), (&base, &base_d)],
            &noise,
            true,
            &Control::new(),
        )?;
        let both: Vec<SimulationOutput> = runs.iter().map(|r| r.output.clone()).collect();
        // The points are the deterministic estimate's group sums, to rounding.
        let det = estimate(&jobs(&f), &cheaper, &Control::new())?;
        let point = runs[1].point.clone().unwrap_or_default();
        for g in 0..3usize {
            let expected: f64 = (0..2000)
                .filter(|&i| f.group[i] as usize == g)
                .map(|i| det.columns[7][i])
                .sum();
            let got = point[g * 4 + 3];
            assert!(
                (got - expected).abs() <= 1e-9 * expected.abs(),
                "{got} vs {expected}"
            );
        }
        let alone = simulate(&s, &cheaper, &cheaper_d, &noise, &Control::new())?;
        // Each scenario is bit for bit its own run, and a repeat of the first is the first.
        assert_eq!(both[1], alone);
        assert_eq!(both[0], both[2]);
        assert_eq!(
            both[0],
            simulate(&s, &base, &base_d, &noise, &Control::new())?
        );
        // Same energy draws in both (common random numbers); embodied lower in every draw.
        let draws = 64;
        for g in 0..3 {
            let at = |out: &SimulationOutput, m: usize, d: usize| {
                out.group_draws[(g * 4 + m) * draws + d]
            };
            for d in 0..draws {
                assert_eq!(at(&both[0], 0, d).to_bits(), at(&both[1], 0, d).to_bits());
                assert!(at(&both[1], 2, d) < at(&both[0], 2, d));
            }
        }
        Ok(())
    }

    #[test]
    fn resampled_noise_is_a_second_independent_stream() -> CoreResult<()> {
        let f = fleet(500);
        let t = tables();
        let rd = fixed_dists(&t);
        let noise = JobNoise {
            power_fraction: Some(Dist::Uniform {
                low: 0.3,
                high: 0.9,
            }),
            ..JobNoise::default()
        };
        let s = sim(&f, 32, None);
        let runs = simulate_designs(
            &s,
            &[(&t, &rd), (&t, &rd), (&t, &rd)],
            &noise,
            &[[false; 3], [true, false, false], [false, true, true]],
            false,
            &Control::new(),
        )?;
        let energy = |k: usize| runs[k].output.group_draws[..32].to_vec();
        assert_ne!(energy(0), energy(1), "the power fraction is drawn again");
        // Re-drawing kinds the run has no noise of changes nothing.
        assert_eq!(runs[0].output, runs[2].output);
        assert_eq!(
            runs[0].output,
            simulate(&s, &t, &rd, &noise, &Control::new())?
        );
        let short = simulate_designs(&s, &[(&t, &rd)], &noise, &[], false, &Control::new());
        assert!(short.is_err());
        Ok(())
    }

    #[test]
    fn scenarios_that_move_jobs_between_rows_are_refused() -> CoreResult<()> {
        let f = fleet(100);
        let base = tables();
        let mut v: [Vec<f64>; N_FACTORS] = Default::default();
        for fac in Factor::ALL {
            v[fac as usize] = base.column(fac).to_vec();
        }
        // Region 1's jobs now default to another datacenter row.
        v[Factor::Pue as usize] = vec![1.2, 1.5];
        v[Factor::FacilityEmbodiedFraction as usize] = vec![0.1, 0.1];
        let moved = FactorTables::new(v, vec![MISSING, MISSING], vec![0, 1], 0)?;
        let s = sim(&f, 8, None);
        let result = simulate_scenarios(
            &s,
            &[(&base, &fixed_dists(&base)), (&moved, &fixed_dists(&moved))],
            &JobNoise::default(),
            false,
            &Control::new(),
        );
        assert!(
            matches!(
                result,
                Err(CoreError::InvalidArgument {
                    parameter: "scenarios",
                    ..
                })
            ),
            "{result:?}"
        );
        let none = simulate_scenarios(&s, &[], &JobNoise::default(), false, &Control::new());
        assert!(none.is_err());
        Ok(())
    }

    #[test]
    fn fixed_distributions_reproduce_the_deterministic_estimate() -> CoreResult<()> {
        let t = tables();
        let f = fleet(1000);
        let det = estimate(&jobs(&f), &t, &Control::new())?;
        for per_job in [None, Some(&[0.5][..])] {
            let out = simulate(
                &sim(&f, 3, per_job),
                &t,
                &fixed_dists(&t),
                &JobNoise::default(),
                &Control::new(),
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
                    // The same equations: a fixed draw is the estimate, bit for bit.
                    let total = det.columns[7][i];
                    assert_eq!(out.per_job_quantiles[i].to_bits(), total.to_bits());
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
        let out = simulate(
            &sim(&f, 50, None),
            &t,
            &rd,
            &JobNoise::default(),
            &Control::new(),
        )?;
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
        let f = fleet(3 * streaming::JOB_BLOCK + 5);
        let mut rd = fixed_dists(&t);
        rd.dists[Factor::Pue as usize][0] = Dist::from_code(code::PERT, [1.1, 1.2, 1.6, 0.0], 0)?;
        let noise = JobNoise {
            power_fraction: Some(Dist::from_code(code::TRIANGULAR, [0.3, 0.6, 1.0, 0.0], 0)?),
            ..JobNoise::default()
        };
        let qs = [0.05, 0.5, 0.95];
        let many = simulate(&sim(&f, 20, Some(&qs)), &t, &rd, &noise, &Control::new())?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| CoreError::invalid("threads", e.to_string()))?;
        let one =
            pool.install(|| simulate(&sim(&f, 20, Some(&qs)), &t, &rd, &noise, &Control::new()))?;
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
        let reversed = simulate(&sim(&g, 20, Some(&qs)), &t, &rd, &noise, &Control::new())?;
        assert_eq!(many.group_draws, reversed.group_draws);
        let n = f.duration.len();
        assert_eq!(many.per_job_mean[0], reversed.per_job_mean[n - 1]);
        Ok(())
    }

    #[test]
    fn a_mixture_row_is_its_parts_in_every_draw() -> CoreResult<()> {
        // Row 2 is 70% row 0 and 30% row 1; its own table values and
        // distribution are placeholders that must be ignored.
        let t = accelerator_tables(
            [700.0, 300.0, 0.0],
            [100.0, 50.0, 0.0],
            [1000.0, 400.0, 0.0],
        );
        let mut rd = fixed_dists(&t);
        for (f, lo, hi) in [
            (Factor::TdpW, 0.8, 1.1),
            (Factor::AcceleratorEmbodiedKgco2e, 0.5, 2.0),
        ] {
            for row in 0..2 {
                let v = t.column(f)[row];
                rd.dists[f as usize][row] =
                    Dist::from_code(code::PERT, [v * lo, v, v * hi, 0.0], 0)?;
            }
        }
        rd.mixtures = vec![Mixture {
            table: Table::Accelerator,
            row: 2,
            parts: vec![(0, 0.7), (1, 0.3)],
        }];
        let n = 40;
        let base = fleet(n);
        let mixed = Fleet {
            accel: vec![2; n],
            energy: vec![f64::NAN; n],
            ..fleet(n)
        };
        // The same jobs split by hand into their parts, 0.7 and 0.3 of each count.
        let twice = |v: &Vec<f64>| [v.clone(), v.clone()].concat();
        let split = Fleet {
            duration: twice(&base.duration),
            count: [
                base.count.iter().map(|c| 0.7 * c).collect::<Vec<_>>(),
                base.count.iter().map(|c| 0.3 * c).collect(),
            ]
            .concat(),
            // CPU-only jobs (count 0) once: their second half describes nothing.
            cores: [base.cores.clone(), vec![0.0; n]].concat(),
            energy: vec![f64::NAN; 2 * n],
            accel: [vec![0; n], vec![1; n]].concat(),
            region: [base.region.clone(), base.region.clone()].concat(),
            keys: (0..2 * n as u64).map(|i| mix64(i + 99)).collect(),
            group: [base.group.clone(), base.group.clone()].concat(),
        };
        let run = |f: &Fleet| {
            simulate(
                &sim(f, 200, None),
                &t,
                &rd,
                &JobNoise::default(),
                &Control::new(),
            )
        };
        let (a, b) = (run(&mixed)?, run(&split)?);
        for (x, y) in a.group_draws.iter().zip(&b.group_draws) {
            assert!((x - y).abs() <= 1e-12 * y.abs(), "{x} vs {y}");
        }
        // The parts' uncertainty reaches the mixed jobs: the draws vary.
        let first = a.group_draws[3 * 200];
        assert!(a.group_draws[3 * 200..4 * 200].iter().any(|&x| x != first));
        // A mixture of a mixture, weights that do not sum to 1, or a bad part are errors.
        for parts in [
            vec![(2, 1.0)],
            vec![(0, 0.5), (1, 0.4)],
            vec![(9, 1.0)],
            vec![(0, f64::NAN)],
        ] {
            let mut bad = rd.clone();
            bad.mixtures[0].parts = parts;
            let out = simulate(
                &sim(&mixed, 2, None),
                &t,
                &bad,
                &JobNoise::default(),
                &Control::new(),
            );
            assert!(
                matches!(out, Err(CoreError::InvalidArgument { .. })),
                "{out:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn bad_inputs_are_errors() {
        let t = tables();
        let f = fleet(10);
        let mut s = sim(&f, 0, None);
        assert!(simulate(
            &s,
            &t,
            &fixed_dists(&t),
            &JobNoise::default(),
            &Control::new()
        )
        .is_err());
        s.draws = 2;
        s.n_groups = 2;
        assert!(simulate(
            &s,
            &t,
            &fixed_dists(&t),
            &JobNoise::default(),
            &Control::new()
        )
        .is_err());
        let short = RowDists::default();
        s.n_groups = 3;
        assert!(simulate(&s, &t, &short, &JobNoise::default(), &Control::new()).is_err());
    }
}
