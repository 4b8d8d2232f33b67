//! Where each draw's factor values come from: the shared rows' draws (with
//! their combined operational intensity and embodied scale), a job's own
//! noise, or its overrides.

use std::collections::HashMap;

use rayon::prelude::*;

use super::kernels::Srcs;
use super::{JobNoise, RowDists, Simulation};
use crate::control::Control;
use crate::dist::{code, Dist};
use crate::error::{CoreError, CoreResult};
use crate::factors::{Factor, FactorTables, Table, MISSING, N_FACTORS};
use crate::model::equations::{embodied_scale, operational_intensity};
use crate::model::{Activity, PowerBasis, Rows};
use crate::rng::{mix64, stream};
use crate::sampling::fill;

/// Salts that separate the noise streams of one job.
const SALT_POWER_FRACTION: u64 = 1;
const SALT_ENERGY: u64 = 2;
const SALT_POWER: u64 = 3;
const SALT_OVERRIDE: u64 = 0x100;
/// Flips a noise kind's salt to a second, independent stream ([`JobNoise::resample`]).
const SALT_RESAMPLED: u64 = 0x5EED_0000_0000;

/// The salt of a noise kind, on its second stream when the kind is resampled.
fn noise_salt(salt: u64, resampled: bool) -> u64 {
    if resampled {
        salt ^ SALT_RESAMPLED
    } else {
        salt
    }
}

/// Draws of every shared factor row that some job uses: `draws[f][row]`
/// (a fixed row is its table value repeated, so every source is a slice).
pub(super) struct SharedDraws {
    draws: [Vec<Option<Vec<f64>>>; N_FACTORS],
}

impl SharedDraws {
    /// The draws of factor `f`'s row `row`; a missing row is an error naming `job`.
    pub(super) fn src(&self, f: Factor, row: u32, job: usize) -> CoreResult<&[f64]> {
        let missing = CoreError::MissingFactor {
            factor: f.name(),
            row: job,
            count: 1,
        };
        if row == MISSING {
            return Err(missing);
        }
        self.draws[f as usize][row as usize]
            .as_deref()
            .ok_or(missing)
    }
}

/// Draw every non-fixed factor row that some job's rows point at.
pub(super) fn shared_draws(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    rows: &[Rows],
    mixed_draws: &[u64],
    control: &Control,
) -> CoreResult<SharedDraws> {
    let used = used_rows(tables, rows, row_dists);
    let mut mixed: [Vec<bool>; 5] = std::array::from_fn(|k| vec![false; used[k].len()]);
    for m in &row_dists.mixtures {
        mixed[m.table.index()][m.row as usize] = true;
    }
    let mut wanted: Vec<(Factor, usize)> = Vec::new();
    for f in Factor::ALL {
        let k = f.table().index();
        let rows_of_f = row_dists.dists[f as usize].len();
        wanted.extend(
            (0..rows_of_f)
                .filter(|&row| used[k][row] && !mixed[k][row])
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
            control.check()?;
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
            Ok(((f, row), values))
        })
        .collect::<CoreResult<_>>()?;
    let mut draws: [Vec<Option<Vec<f64>>>; N_FACTORS] =
        std::array::from_fn(|f| vec![None; row_dists.dists[f].len()]);
    for ((f, row), values) in sampled {
        draws[f as usize][row] = Some(values);
    }
    for m in &row_dists.mixtures {
        if !used[m.table.index()][m.row as usize] {
            continue;
        }
        for f in Factor::ALL.into_iter().filter(|f| f.table() == m.table) {
            let column = &draws[f as usize];
            let parts: Option<Vec<(&[f64], f64)>> = m
                .parts
                .iter()
                .map(|&(part, w)| column.get(part as usize)?.as_deref().map(|d| (d, w)))
                .collect();
            if let Some(parts) = parts {
                let values = (0..sim.draws)
                    .map(|d| parts.iter().map(|(x, w)| w * x[d]).sum())
                    .collect();
                draws[f as usize][m.row as usize] = Some(values);
            }
        }
    }
    Ok(SharedDraws { draws })
}

/// Which rows of each table some job points at, the parts of every used mixture included.
pub(super) fn used_rows(
    tables: &FactorTables,
    rows: &[Rows],
    row_dists: &RowDists,
) -> [Vec<bool>; 5] {
    let mut used: [Vec<bool>; 5] =
        std::array::from_fn(|k| vec![false; tables.len(Table::ALL[k]).max(1)]);
    for r in rows {
        for (k, table) in Table::ALL.iter().enumerate() {
            let row = r.of(*table);
            if row != MISSING {
                used[k][row as usize] = true;
            }
        }
    }
    for m in &row_dists.mixtures {
        // Bounds-checked: the memory estimate runs before the inputs are checked.
        let used = &mut used[m.table.index()];
        if used.get(m.row as usize) == Some(&true) {
            for &(part, _) in &m.parts {
                if let Some(u) = used.get_mut(part as usize) {
                    *u = true;
                }
            }
        }
    }
    used
}

/// The operational intensity `pue × grid` per (datacenter, region) and the
/// embodied scale `(1 + facility) / (lifetime × use_rate)` per datacenter, for
/// every draw, from the shared rows.
pub(super) struct Combined {
    op: HashMap<(u32, u32), Vec<f64>>,
    emb: HashMap<u32, Vec<f64>>,
}

pub(super) fn combined(shared: &SharedDraws, rows: &[Rows], draws: usize) -> CoreResult<Combined> {
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
        let intensity = (0..draws).map(|d| operational_intensity(pue[d], grid[d]));
        op.insert((dc, region), intensity.collect());
    }
    let life = shared.src(Factor::LifetimeYears, 0, 0)?;
    let use_rate = shared.src(Factor::UseRate, 0, 0)?;
    let mut emb = HashMap::new();
    for dc in datacenters {
        let facility = shared.src(Factor::FacilityEmbodiedFraction, dc, 0)?;
        let scale = (0..draws).map(|d| embodied_scale(facility[d], life[d], use_rate[d]));
        emb.insert(dc, scale.collect());
    }
    Ok(Combined { op, emb })
}

/// Everything the per-draw sources of a job or cell are read from.
pub(super) struct Context<'a> {
    pub sim: &'a Simulation<'a>,
    pub shared: &'a SharedDraws,
    pub combined: &'a Combined,
    pub noise: &'a JobNoise<'a>,
    pub rows: &'a [Rows],
    pub mixed_draws: &'a [u64],
    pub zeros: &'a [f64],
}

impl<'a> Context<'a> {
    /// The sources of a cell (or a job without draws of its own) with `rows`.
    pub(super) fn lookup<'b>(&'b self, rows: &'b Rows, job: usize) -> Lookup<'a, 'b> {
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

/// Where each factor of a job or cell comes from: per-job draws (noise, or an
/// override, constant or with bounds), or the shared row.
pub(super) struct Lookup<'a, 'b> {
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
            None => self.shared.src(f, self.rows.of(f.table()), self.job),
        }
    }

    /// Sources of every factor the activity uses (zeros for the others). The
    /// combined factors come from the cache unless a job sets a part itself,
    /// in which case they are computed into `op_buffer` / `emb_buffer`.
    pub(super) fn srcs(
        &self,
        a: &Activity,
        op_buffer: &'a mut [f64],
        emb_buffer: &'a mut [f64],
    ) -> CoreResult<Srcs<'a>> {
        let get = |f: Factor| -> CoreResult<&'a [f64]> {
            if a.uses(f) {
                self.src(f)
            } else {
                Ok(self.zeros)
            }
        };
        let shared = |parts: &[Factor]| parts.iter().all(|&f| self.per_job[f as usize].is_none());
        let op_parts = [Factor::Pue, Factor::GridKgco2ePerKwh];
        let cached_op = self
            .combined
            .op
            .get(&(self.rows.datacenter, self.rows.region));
        let op_factor: &'a [f64] = match cached_op {
            Some(v) if shared(&op_parts) => v,
            _ => {
                let (pue, grid) = (self.src(Factor::Pue)?, self.src(Factor::GridKgco2ePerKwh)?);
                for ((x, &p), &g) in op_buffer.iter_mut().zip(pue).zip(grid) {
                    *x = operational_intensity(p, g);
                }
                op_buffer
            }
        };
        let emb_parts = [
            Factor::FacilityEmbodiedFraction,
            Factor::LifetimeYears,
            Factor::UseRate,
        ];
        let emb_scale: &'a [f64] = if !a.has_embodied() {
            self.zeros
        } else {
            match self.combined.emb.get(&self.rows.datacenter) {
                Some(v) if shared(&emb_parts) => v,
                _ => {
                    let facility = self.src(Factor::FacilityEmbodiedFraction)?;
                    let (life, use_rate) =
                        (self.src(Factor::LifetimeYears)?, self.src(Factor::UseRate)?);
                    for (d, x) in emb_buffer.iter_mut().enumerate() {
                        *x = embodied_scale(facility[d], life[d], use_rate[d]);
                    }
                    emb_buffer
                }
            }
        };
        Ok(Srcs {
            k: a.given_kwh,
            k_draws: self.zeros,
            tdp: get(Factor::TdpW)?,
            pf: get(Factor::PowerFraction)?,
            host: get(Factor::HostPowerW)?,
            core_w: get(Factor::CorePowerW)?,
            mem_w: get(Factor::MemoryPowerWPerGb)?,
            e_acc: get(Factor::AcceleratorEmbodiedKgco2e)?,
            e_core: get(Factor::CoreEmbodiedKgco2e)?,
            e_mem: get(Factor::MemoryEmbodiedKgco2ePerGb)?,
            op_factor,
            emb_scale,
        })
    }
}

/// Per-job draw buffers, reused across the jobs of a block.
pub(super) struct JobScratch {
    k: Vec<f64>,
    pf: Vec<f64>,
    op: Vec<f64>,
    emb: Vec<f64>,
    overrides: [Vec<f64>; N_FACTORS],
}

impl JobScratch {
    pub(super) fn new(draws: usize) -> Self {
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

/// Whether job `i` has draws of its own (per-job noise or an override), which
/// routes it through the streamed path.
pub(super) fn has_own_draws(
    sim: &Simulation<'_>,
    noise: &JobNoise<'_>,
    i: usize,
    basis: PowerBasis,
    a: &Activity,
) -> bool {
    sim.jobs.overrides_any(i)
        || (noise.power_fraction.is_some()
            && basis == PowerBasis::Modelled
            && a.accelerator_kh != 0.0)
        || (noise.energy_relative.is_some() && basis == PowerBasis::Metered)
        || (noise.power_relative.is_some() && basis == PowerBasis::Measured)
}

/// Sources of one streamed job: shared rows, per-job overrides (fixed or with
/// bounds) and per-job noise (power fraction; metered or measured energy).
pub(super) fn job_srcs<'a>(
    ctx: &'a Context<'a>,
    a: &Activity,
    basis: PowerBasis,
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
        PowerBasis::Metered => noise
            .energy_relative
            .map(|d| (d, noise_salt(SALT_ENERGY, noise.resample[1]))),
        PowerBasis::Measured => noise
            .power_relative
            .map(|d| (d, noise_salt(SALT_POWER, noise.resample[2]))),
        PowerBasis::Modelled => None,
    };
    // Noisy metered or measured energy: K × ε(d), with the constant part zero.
    let mut noisy_k = false;
    if let Some((dist, salt)) = relative {
        if a.given_kwh != 0.0 {
            fill(
                k,
                &dist,
                job_stream(sim.seed, key, salt),
                ctx.mixed_draws,
                sim.pool,
            );
            k.iter_mut().for_each(|x| *x *= a.given_kwh);
            noisy_k = true;
        }
    }
    let mut lookup = ctx.lookup(&ctx.rows[i], i);
    if let Some(dist) = noise.power_fraction {
        if a.accelerator_kh != 0.0 && jobs.override_of(Factor::PowerFraction, i).is_none() {
            let salt = noise_salt(SALT_POWER_FRACTION, noise.resample[0]);
            let s = job_stream(sim.seed, key, salt);
            fill(pf, &dist, s, ctx.mixed_draws, sim.pool);
            lookup.per_job[Factor::PowerFraction as usize] = Some(&pf[..]);
        }
    }
    for (f, buffer) in Factor::ALL.iter().zip(overrides.iter_mut()) {
        let Some(value) = jobs.override_of(*f, i) else {
            continue;
        };
        buffer.resize(ctx.mixed_draws.len(), 0.0);
        let bounds = noise.override_bounds[*f as usize].map(|(lo, hi)| (lo[i], hi[i]));
        match bounds {
            Some((lo, hi)) if !lo.is_nan() && !hi.is_nan() && lo < hi => {
                let dist = Dist::from_code(code::PERT, [lo, value, hi, 0.0], 0)?;
                let s = job_stream(sim.seed, key, SALT_OVERRIDE + *f as u64);
                fill(buffer, &dist, s, ctx.mixed_draws, sim.pool);
            }
            _ => buffer.fill(value),
        }
        lookup.per_job[*f as usize] = Some(&buffer[..]);
    }
    let mut srcs = lookup.srcs(a, op, emb)?;
    if noisy_k {
        srcs.k = 0.0;
        srcs.k_draws = k;
    }
    Ok(srcs)
}
