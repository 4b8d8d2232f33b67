//! The per-job path: jobs with draws of their own (noise, overrides) or with
//! per-job output, streamed in fixed blocks into per-group partial sums.
//!
//! Memory is O(groups × draws × blocks in flight); a jobs × draws matrix is
//! never materialized. Blocks run in waves; partials merge in block order, so
//! the sums do not depend on the thread schedule.

use std::collections::HashMap;

use rayon::prelude::*;

use super::kernels::{accumulate, lane_sum, GridEnergy};
use super::sources::{job_srcs, Context, JobScratch};
use super::{JobTerms, Simulation, N_METRICS};
use crate::control::Control;
use crate::error::CoreResult;
use crate::quantiles;

/// Jobs per block (fixed: part of the summation order).
pub(super) const JOB_BLOCK: usize = 4096;
/// Blocks whose partial sums are held at once (bounds memory; not a result parameter).
pub(super) const BLOCKS_PER_WAVE: usize = 8;

/// Per-job results of the streamed jobs, by job index.
pub(super) struct PerJob {
    pub means: Vec<f64>,
    pub quantiles: Vec<f64>,
}

/// Stream `blocks` (each in canonical order) through the model, adding noisy
/// jobs into `group_draws` and collecting per-job statistics when asked for.
pub(super) fn stream_blocks(
    ctx: &Context<'_>,
    blocks: &[&[usize]],
    terms: &[JobTerms],
    group_draws: &mut [f64],
    control: &Control,
) -> CoreResult<PerJob> {
    let sim = ctx.sim;
    let n = terms.len();
    let width = N_METRICS * sim.draws;
    let nq = sim.per_job_quantiles.map_or(0, <[f64]>::len);
    let per_job = sim.per_job_quantiles.is_some();
    let mut out = PerJob {
        means: if per_job { vec![0.0; n] } else { Vec::new() },
        quantiles: if per_job {
            vec![0.0; n * nq]
        } else {
            Vec::new()
        },
    };
    // One state per block of a wave, reused wave after wave: no allocation per block.
    let mut states: Vec<BlockState> = (0..BLOCKS_PER_WAVE.min(blocks.len()))
        .map(|_| BlockState::new(sim))
        .collect();
    for wave in blocks.chunks(BLOCKS_PER_WAVE) {
        states
            .par_iter_mut()
            .zip(wave.par_iter())
            .try_for_each(|(state, block)| state.run(ctx, block, terms, control))?;
        for state in &states[..wave.len()] {
            for (slot, &g) in state.groups.iter().enumerate() {
                let target = &mut group_draws[g as usize * width..(g as usize + 1) * width];
                let sums = &state.sums[slot * width..(slot + 1) * width];
                for (o, s) in target.iter_mut().zip(sums) {
                    *o += s;
                }
            }
            for (k, &i) in state.jobs.iter().enumerate() {
                out.means[i] = state.means[k];
                out.quantiles[i * nq..(i + 1) * nq]
                    .copy_from_slice(&state.quantiles[k * nq..(k + 1) * nq]);
            }
        }
    }
    Ok(out)
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

    /// Stream the jobs of `block` (in canonical order) into this state; a job
    /// adds to its group's sums when it has draws of its own (otherwise its
    /// group gets it through the cells, and it is here for its per-job
    /// statistics only).
    fn run(
        &mut self,
        ctx: &Context<'_>,
        block: &[usize],
        terms: &[JobTerms],
        control: &Control,
    ) -> CoreResult<()> {
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
            control.check()?;
            let JobTerms {
                activity,
                basis,
                own_draws,
                grid_scale,
            } = terms[i];
            let out = if own_draws {
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
            let srcs = job_srcs(ctx, &activity, basis, i, &mut self.scratch)?;
            let totals = sim
                .per_job_quantiles
                .is_some()
                .then_some(&mut self.totals[..]);
            let grid = if grid_scale == 1.0 {
                GridEnergy::Same
            } else {
                GridEnergy::Scaled(grid_scale)
            };
            accumulate(&activity, &srcs, grid, draws, out, totals);
            if let Some(qs) = sim.per_job_quantiles {
                self.jobs.push(i);
                self.means.push(lane_sum(&self.totals) / draws as f64);
                let start = self.quantiles.len();
                self.quantiles.resize(start + nq, 0.0);
                let out = &mut self.quantiles[start..];
                quantiles::quantiles_into(
                    &self.totals,
                    qs,
                    sim.quantile_method,
                    &mut self.select,
                    out,
                );
            }
        }
        control.advance(block.len() as u64);
        Ok(())
    }
}
