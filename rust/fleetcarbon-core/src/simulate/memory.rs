//! How much memory a simulation holds at its peak, computed before it runs,
//! so that a run that cannot fit is refused instead of killed.
//!
//! The estimate counts every allocation of [`super::simulate`] that grows with
//! the draws, the jobs or the groups, at the stage where most of them are live
//! at once (the streamed blocks): each shared factor row's draws, the combined
//! operational intensities and embodied scales, the group draws, the block
//! states of one wave, and the per-job buffers and outputs. It is exact for the
//! large terms and an upper bound for the small ones (cells).

use rayon::prelude::*;

use super::sources::has_own_draws;
use super::streaming::{BLOCKS_PER_WAVE, JOB_BLOCK};
use super::{JobNoise, JobTerms, RowDists, Simulation, N_METRICS};
use crate::error::CoreResult;
use crate::factors::{Factor, FactorTables, Table, MISSING};
use crate::model::{resolve_rows, Activity, Rows};

const F64: u128 = std::mem::size_of::<f64>() as u128;

/// Bytes [`super::simulate`] holds at its peak for `sim`.
pub fn peak_bytes(
    sim: &Simulation<'_>,
    tables: &FactorTables,
    row_dists: &RowDists,
    noise: &JobNoise<'_>,
) -> CoreResult<u64> {
    let jobs = &sim.jobs;
    let n = jobs.len();
    jobs.check(tables)?;
    // In u128: a huge `draws` must give a huge estimate, not wrap around.
    let draws = sim.draws as u128;
    let rows: Vec<Rows> = (0..n)
        .into_par_iter()
        .map(|i| resolve_rows(jobs, tables, i))
        .collect();
    // Per job: does it stream, and does it add to its group's sums there?
    let routes: Vec<(bool, bool)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (a, basis) = Activity::of(&jobs.quantities(i));
            let own = has_own_draws(sim, noise, i, basis, &a);
            (sim.per_job_quantiles.is_some() || own, own)
        })
        .collect();
    let streamed = routes.iter().filter(|r| r.0).count() as u128;
    let mut own_per_group = vec![0usize; sim.n_groups];
    let mut cells_per_group = vec![false; sim.n_groups];
    for (i, &(_, own)) in routes.iter().enumerate() {
        let g = sim.group[i] as usize;
        if own {
            own_per_group[g] += 1;
        } else {
            cells_per_group[g] = true;
        }
    }
    let state_groups = groups_per_state(&own_per_group);

    // Every factor row some job points at is drawn for every draw.
    let used = super::sources::used_rows(tables, &rows, row_dists);
    let shared_rows: u128 = Factor::ALL
        .iter()
        .map(|f| {
            let k = f.table().index();
            let len = row_dists.dists[*f as usize].len();
            used[k].iter().take(len).filter(|&&u| u).count() as u128
        })
        .sum();
    // (datacenter, region) pairs in use, on a grid (the tables are small).
    let regions = tables.len(Table::Region) + 1; // the last column: no region
    let mut grid = vec![false; tables.len(Table::Datacenter).max(1) * regions];
    for r in &rows {
        let region = if r.region == MISSING {
            regions - 1
        } else {
            r.region as usize
        };
        grid[r.datacenter as usize * regions + region] = true;
    }
    let pairs = grid.iter().filter(|&&used| used).count() as u128;
    let datacenters = used[3].iter().filter(|&&u| u).count() as u128;
    let copula = row_dists
        .copula
        .as_ref()
        .map_or(0, |c| 2 * c.factors.len() as u128);

    let jobs_n = n as u128;
    let block = JOB_BLOCK as u128;
    let metrics = N_METRICS as u128;
    let groups = sim.n_groups as u128;
    let nq = sim.per_job_quantiles.map_or(0, <[f64]>::len) as u128;
    let per_draw = F64 * draws;
    let states = streamed.div_ceil(block).min(BLOCKS_PER_WAVE as u128);
    let overrides = jobs.overrides.iter().filter(|o| o.is_some()).count() as u128;
    let threads = rayon::current_num_threads() as u128;
    let group_tasks = (cells_per_group.iter().filter(|&&c| c).count() as u128).min(threads);
    let per_job = (std::mem::size_of::<Rows>() + std::mem::size_of::<JobTerms>()) as u128;
    let per_job_out = if sim.per_job_quantiles.is_some() {
        jobs_n * (1 + nq) * F64
    } else {
        0
    };

    // Live through the whole run: every used factor row's draws, the combined
    // factors, the draw numbers and zeros, the group draws, the per-job terms
    // and orderings.
    let base = per_draw * (shared_rows + pairs + datacenters + copula)
        + 2 * per_draw
        + groups * metrics * per_draw
        + jobs_n * per_job
        + jobs_n * 48
        + streamed * F64;
    // Then either the cells, each group task with two combined buffers...
    let cells = base + group_tasks * 2 * per_draw;
    // ...or the streamed blocks: each state's partial sums (as large as the most
    // groups its blocks ever held), its job buffers, and the per-job outputs.
    let sums: u128 = state_groups.iter().map(|&g| g as u128).sum::<u128>() * metrics * per_draw;
    // Energy, power fraction, operational and embodied draws and the totals;
    // with per-job output also the selection's keys and order statistics.
    let job_buffers = 5 + if nq > 0 { 2 } else { 0 } + overrides;
    let buffers = states * (job_buffers * per_draw + block * (1 + nq) * F64);
    let stream = base + sums + buffers + per_job_out;
    let bytes = cells.max(stream);
    Ok(u64::try_from(bytes).unwrap_or(u64::MAX))
}

/// For each of the wave's states, the most groups any of its blocks adds to:
/// blocks of [`JOB_BLOCK`] jobs over the jobs with draws of their own, sorted
/// by group, go to the states in turn (block `b` to state `b % BLOCKS_PER_WAVE`).
fn groups_per_state(own_per_group: &[usize]) -> Vec<usize> {
    let mut most = vec![0usize; BLOCKS_PER_WAVE];
    let total: usize = own_per_group.iter().sum();
    let (mut g, mut used) = (0usize, 0usize);
    for b in 0..total.div_ceil(JOB_BLOCK) {
        let mut left = JOB_BLOCK.min(total - b * JOB_BLOCK);
        let mut groups = 0;
        while left > 0 {
            while own_per_group[g] == used {
                g += 1;
                used = 0;
            }
            let take = left.min(own_per_group[g] - used);
            used += take;
            left -= take;
            groups += 1;
        }
        let k = b % BLOCKS_PER_WAVE;
        most[k] = most[k].max(groups);
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_count_the_groups_they_span() {
        // One group of 3 blocks' worth: every block holds one group.
        assert_eq!(groups_per_state(&[3 * JOB_BLOCK])[..3], [1, 1, 1]);
        // Tiny groups: one block holds them all.
        assert_eq!(groups_per_state(&[1, 0, 2, 3])[0], 3);
        // A block boundary inside a group: both blocks hold it.
        let spans = groups_per_state(&[JOB_BLOCK / 2, JOB_BLOCK]);
        assert_eq!(spans[..2], [2, 1]);
        assert!(groups_per_state(&[0, 0]).iter().all(|&g| g == 0));
    }
}
