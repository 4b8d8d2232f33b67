//! The shared-only path: jobs reduced to per-cell sums of their activity
//! (cell = group × table rows), then one evaluation per cell and draw.

use rayon::prelude::*;

use super::kernels::{accumulate, GridEnergy};
use super::sources::Context;
use super::JobTerms;
use crate::control::Control;
use crate::error::CoreResult;
use crate::model::{Activity, Rows};
use crate::summation::NeumaierSum;

/// A cell: its group, its rows, the summed activity of its jobs, and their
/// activity weighted by grid scale when some job's scale is not 1.
pub(super) type Cell = ((u32, Rows), Activity, Option<Activity>);

/// The cells of the jobs without draws of their own, sorted by (group, rows).
///
/// Sorting by (group, rows, job key) makes each cell a contiguous run, already
/// in canonical order (job key; ties by position, which unique ids never
/// produce), so the sums depend on the data only, never on row order.
pub(super) fn cells(
    group: &[u32],
    rows: &[Rows],
    job_keys: &[u64],
    terms: &[JobTerms],
) -> Vec<Cell> {
    let mut cell_jobs: Vec<(u32, Rows, u64, usize)> = (0..terms.len())
        .into_par_iter()
        .filter(|&i| !terms[i].own_draws)
        .map(|i| (group[i], rows[i], job_keys[i], i))
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
    runs.into_par_iter()
        .map(|run| {
            let jobs = &cell_jobs[run];
            let sum = |scaled: bool| {
                let mut sums = [NeumaierSum::default(); 7];
                for &(_, _, _, i) in jobs {
                    let scale = if scaled { terms[i].grid_scale } else { 1.0 };
                    for (s, v) in sums.iter_mut().zip(terms[i].activity.terms()) {
                        s.add(v * scale);
                    }
                }
                Activity::from_terms(sums.map(|x| x.value()))
            };
            // The scale-weighted sums only where a series scales some job.
            let any_scaled = jobs.iter().any(|&(_, _, _, i)| terms[i].grid_scale != 1.0);
            let (g, r, _, _) = jobs[0];
            ((g, r), sum(false), any_scaled.then(|| sum(true)))
        })
        .collect()
}

/// Add every cell's draws into its group's `[metric][draw]` block of
/// `group_draws`, group by group in parallel (each group's sums are its own).
pub(super) fn accumulate_cells(
    ctx: &Context<'_>,
    cells: &[Cell],
    group_draws: &mut [f64],
    width: usize,
    control: &Control,
) -> CoreResult<()> {
    let draws = ctx.sim.draws;
    let mut by_group: Vec<&[Cell]> = vec![&[]; ctx.sim.n_groups];
    let mut start = 0;
    while start < cells.len() {
        let g = cells[start].0 .0;
        let end = start + cells[start..].iter().take_while(|c| c.0 .0 == g).count();
        by_group[g as usize] = &cells[start..end];
        start = end;
    }
    group_draws
        .par_chunks_mut(width.max(1))
        .zip(by_group.par_iter())
        .try_for_each(|(out, group_cells)| -> CoreResult<()> {
            let mut op_buffer = vec![0.0; draws];
            let mut emb_buffer = vec![0.0; draws];
            for ((_, cell_rows), activity, op) in group_cells.iter() {
                control.check()?;
                let lookup = ctx.lookup(cell_rows, usize::MAX);
                let srcs = lookup.srcs(activity, &mut op_buffer, &mut emb_buffer)?;
                let grid = op.as_ref().map_or(GridEnergy::Same, GridEnergy::Terms);
                accumulate(activity, &srcs, grid, draws, Some(&mut out[..]), None);
                control.advance(1);
            }
            Ok(())
        })
}
