//! Value-stability goldens: the random streams, the first draws of every
//! distribution, and small estimate and simulate runs, pinned to their bits.
//!
//! These pin the reproducibility contract of `docs/uncertainty.md` §4: a change
//! to the mixing function, the uniforms, a sampler, a block size or a
//! summation order fails here. CI also runs this file on a build without the
//! AVX2 kernels (`--no-default-features`), which must give the same bits.
//!
//! When a change is intended (and documented in `docs/uncertainty.md`), print
//! the new values with
//! `FLEETCARBON_BLESS=1 cargo test -p fleetcarbon-core --test goldens -- --nocapture`
//! and paste them into `GOLDENS`.

use fleetcarbon_core::dist::{code, Dist};
use fleetcarbon_core::quantiles::QuantileMethod;
use fleetcarbon_core::rng::{first_uniform, fnv1a, mix64, mixed_draw, stream, DrawRng};
use fleetcarbon_core::sampling::fill;
use fleetcarbon_core::simulate::{simulate, JobNoise, Simulation};

#[path = "../benches/common/mod.rs"]
#[allow(dead_code)]
mod common;
use fleetcarbon_core::{
    estimate, Control, CoreResult, Factor, FactorTables, JobColumns, RowIndex, Table, MISSING,
    N_FACTORS,
};

/// `(name, number of values, FNV-1a of their bits, the first value's bits)`.
const GOLDENS: &[(&str, usize, u64, u64)] = &[
    ("stream", 4, 0xE94CC69C8F5A11C9, 0x4A042D1DC9E67966),
    ("mixed_draw", 4, 0xEEB611B71D24951B, 0xE220A8397B1DCDAF),
    ("first_uniform", 8, 0xACFB710E360CB30B, 0x3FE106B80867C377),
    ("draw_rng", 6, 0xC2B1B5840A5DB243, 0x3FE142CBE44CD9DF),
    ("dist_uniform", 64, 0xC9A1DE6E1DA70708, 0x3FFCEF9BD64D3C6E),
    (
        "dist_triangular",
        64,
        0xC2A4B7CC6930D43D,
        0x3FE9598434262EDA,
    ),
    ("dist_normal", 64, 0x7B0117C3668EE830, 0x3FEEE2D5C9D30211),
    (
        "dist_truncated_normal",
        64,
        0x0842D8B4A9246F08,
        0x3FF794C2978CA482,
    ),
    ("dist_lognormal", 64, 0x75C7FD308956765E, 0x400029646B956419),
    ("dist_pert", 64, 0x6D45973B5BDD0485, 0x3FF5F0CAC348C512),
    ("dist_empirical", 64, 0x3AC27A458DB816A8, 0x4010000000000000),
    (
        "estimate_basis",
        9001,
        0x6F3A31EE53B09AC5,
        0x0000000000000000,
    ),
    ("estimate_0", 9001, 0xE7ED933A13B7E0E0, 0x3FF0000000000000),
    ("estimate_1", 9001, 0xFEFE218CA63EFE29, 0x3FF6666666666666),
    ("estimate_2", 9001, 0x46F2485EF60FB0CA, 0x3FEF5C28F5C28F5B),
    ("estimate_3", 9001, 0x1439C87EB3B85204, 0x3FEF5C28F5C28F5B),
    ("estimate_4", 9001, 0x9C86198046F02780, 0x3F24C80532014C80),
    ("estimate_5", 9001, 0x3D891BCE94BD2425, 0x3F00A00428010A00),
    ("estimate_6", 9001, 0xAD1AE8C4DB265E06, 0x3F28F0063C018F00),
    ("estimate_7", 9001, 0x53863349FA3AC012, 0x3FEF5DB7F6264F74),
    (
        "simulate_shared_groups",
        1940,
        0x3AECBD71FD3DE20F,
        0x410561B3B125298C,
    ),
    (
        "simulate_shared_means",
        0,
        0xCBF29CE484222325,
        0x0000000000000000,
    ),
    (
        "simulate_shared_quantiles",
        0,
        0xCBF29CE484222325,
        0x0000000000000000,
    ),
    (
        "simulate_noise_groups",
        1940,
        0x3AC5FF7EAC3536CE,
        0x410678A8C7FA9FFD,
    ),
    (
        "simulate_noise_means",
        9001,
        0x73C3C065F4AE2880,
        0x3FF01BF852F13DB4,
    ),
    (
        "simulate_noise_quantiles",
        27003,
        0x9FB6CB7EEDAAEA1E,
        0x3FEA2B5B4404355E,
    ),
];

/// A value series and its digest.
struct Series {
    name: String,
    bits: Vec<u64>,
}

impl Series {
    fn of(name: &str, values: impl IntoIterator<Item = f64>) -> Self {
        Series::bits(name, values.into_iter().map(f64::to_bits))
    }

    fn bits(name: &str, bits: impl IntoIterator<Item = u64>) -> Self {
        Series {
            name: name.to_owned(),
            bits: bits.into_iter().collect(),
        }
    }

    fn digest(&self) -> u64 {
        let bytes: Vec<u8> = self.bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        fnv1a(&bytes)
    }
}

fn distributions() -> CoreResult<Vec<(&'static str, Dist)>> {
    Ok(vec![
        (
            "uniform",
            Dist::from_code(code::UNIFORM, [1.0, 2.0, 0.0, 0.0], 0)?,
        ),
        (
            "triangular",
            Dist::from_code(code::TRIANGULAR, [0.4, 0.75, 1.0, 0.0], 0)?,
        ),
        (
            "normal",
            Dist::from_code(code::NORMAL, [1.0, 0.05, 0.0, 0.0], 0)?,
        ),
        (
            "truncated_normal",
            Dist::from_code(code::TRUNCATED_NORMAL, [1.0, 0.5, 0.2, 1.5], 0)?,
        ),
        (
            "lognormal",
            Dist::from_code(code::LOGNORMAL, [0.3, 0.4, 0.0, 0.0], 0)?,
        ),
        (
            "pert",
            Dist::from_code(code::PERT, [1.0, 2.0, 5.0, 0.0], 0)?,
        ),
        (
            "empirical",
            Dist::from_code(code::EMPIRICAL, [0.0, 3.0, 0.0, 0.0], 3)?,
        ),
    ])
}

/// Tables of a few rows each, with spread-out values.
fn tables() -> CoreResult<FactorTables> {
    let mut v: [Vec<f64>; N_FACTORS] = Default::default();
    for f in Factor::ALL {
        v[f as usize] = match f.table() {
            Table::Defaults => vec![0.6],
            Table::Region => vec![0.05, 0.4, 0.7],
            Table::Datacenter => vec![1.1, 1.4],
            _ => vec![300.0, 700.0],
        };
    }
    v[Factor::MarketKgco2ePerKwh as usize] = vec![f64::NAN, 0.0, f64::NAN];
    v[Factor::FacilityEmbodiedFraction as usize] = vec![0.1, 0.2];
    v[Factor::LifetimeYears as usize] = vec![4.0];
    v[Factor::UseRate as usize] = vec![0.9];
    v[Factor::CorePowerW as usize] = vec![8.0, 12.0];
    v[Factor::CoreEmbodiedKgco2e as usize] = vec![15.0, 20.0];
    FactorTables::new(v, vec![MISSING, 2], vec![0, 1, 1], 0)
}

struct Fleet {
    duration: Vec<f64>,
    count: Vec<f64>,
    cores: Vec<f64>,
    memory: Vec<f64>,
    energy: Vec<f64>,
    accel: Vec<u32>,
    region: Vec<u32>,
    datacenter: Vec<u32>,
    keys: Vec<u64>,
    group: Vec<u32>,
}

/// 9,001 jobs over two blocks and more: accelerator, CPU-only and metered jobs.
fn fleet() -> Fleet {
    let n = 9001;
    Fleet {
        duration: (0..n).map(|i| 0.25 + (i % 37) as f64 * 1.5).collect(),
        count: (0..n)
            .map(|i| if i % 4 == 0 { 0.0 } else { (1 + i % 8) as f64 })
            .collect(),
        cores: (0..n).map(|i| (1 + i % 64) as f64).collect(),
        memory: (0..n).map(|i| (i % 5) as f64 * 16.0).collect(),
        energy: (0..n)
            .map(|i| {
                if i % 9 == 0 {
                    1.0 + i as f64 * 0.01
                } else {
                    f64::NAN
                }
            })
            .collect(),
        accel: (0..n).map(|i| (i % 2) as u32).collect(),
        region: (0..n)
            .map(|i| if i % 10 == 0 { MISSING } else { (i % 3) as u32 })
            .collect(),
        datacenter: (0..n)
            .map(|i| if i % 10 == 0 { 1 } else { MISSING })
            .collect(),
        keys: (0..n as u64).map(|i| mix64(i * 7 + 1)).collect(),
        group: (0..n).map(|i| (i % 5) as u32).collect(),
    }
}

fn columns(f: &Fleet) -> JobColumns<'_> {
    JobColumns {
        duration_h: &f.duration,
        accelerator_count: Some(&f.count),
        cpu_cores: Some(&f.cores),
        memory_gb: Some(&f.memory),
        energy_kwh: Some(&f.energy),
        avg_power_w: None,
        accelerator: RowIndex::PerJob(&f.accel),
        cpu: RowIndex::Constant(1),
        region: RowIndex::PerJob(&f.region),
        datacenter: RowIndex::PerJob(&f.datacenter),
        overrides: [None; N_FACTORS],
        core_usage: None,
        grid_scale: None,
        accelerator_host: fleetcarbon_core::model::AcceleratorHost::Share,
    }
}

fn observed() -> CoreResult<Vec<Series>> {
    let mut out = vec![
        Series::bits(
            "stream",
            [
                stream(0, 0),
                stream(1, 2),
                stream(u64::MAX, 7),
                stream(42, 9),
            ],
        ),
        Series::bits("mixed_draw", (0..4).map(mixed_draw)),
        Series::of(
            "first_uniform",
            (0..8).map(|d| first_uniform(stream(7, 3), mixed_draw(d))),
        ),
    ];
    let mut rng = DrawRng::new(stream(5, 5), 11);
    out.push(Series::of("draw_rng", (0..6).map(|_| rng.uniform())));
    let pool = [1.0, 2.5, 4.0];
    let mixed: Vec<u64> = (0..64).map(mixed_draw).collect();
    for (name, dist) in distributions()? {
        let mut values = vec![0.0; mixed.len()];
        fill(
            &mut values,
            &dist,
            stream(9, fnv1a(name.as_bytes())),
            &mixed,
            &pool,
        );
        out.push(Series::of(&format!("dist_{name}"), values));
    }

    let t = tables()?;
    let f = fleet();
    let jobs = columns(&f);
    let est = estimate(&jobs, &t, &Control::new())?;
    out.push(Series::bits(
        "estimate_basis",
        est.power_basis.iter().map(|&b| u64::from(b)),
    ));
    for (k, column) in est.columns.iter().enumerate() {
        out.push(Series::of(&format!("estimate_{k}"), column.iter().copied()));
    }

    let rd = common::pert_dists(&t);
    let qs = [0.05, 0.5, 0.95];
    let noise = JobNoise {
        power_fraction: Some(Dist::from_code(code::TRIANGULAR, [0.4, 0.75, 1.0, 0.0], 0)?),
        energy_relative: Some(Dist::from_code(code::NORMAL, [1.0, 0.05, 0.0, 0.0], 0)?),
        ..JobNoise::default()
    };
    for (label, noise, per_job) in [
        ("shared", JobNoise::default(), None),
        ("noise", noise, Some(&qs[..])),
    ] {
        let sim = Simulation {
            jobs: jobs.clone(),
            job_keys: &f.keys,
            group: &f.group,
            n_groups: 5,
            seed: 20_261_201,
            draws: 97,
            first_draw: 3,
            per_job_quantiles: per_job,
            quantile_method: QuantileMethod::Linear,
            pool: &[],
        };
        let run = simulate(&sim, &t, &rd, &noise, &Control::new())?;
        out.push(Series::of(
            &format!("simulate_{label}_groups"),
            run.group_draws,
        ));
        out.push(Series::of(
            &format!("simulate_{label}_means"),
            run.per_job_mean,
        ));
        out.push(Series::of(
            &format!("simulate_{label}_quantiles"),
            run.per_job_quantiles,
        ));
    }
    Ok(out)
}

#[test]
fn values_are_pinned() -> CoreResult<()> {
    let observed = observed()?;
    if std::env::var_os("FLEETCARBON_BLESS").is_some() {
        println!("const GOLDENS: &[(&str, usize, u64, u64)] = &[");
        for s in &observed {
            let first = s.bits.first().copied().unwrap_or(0);
            println!(
                "    ({:?}, {}, 0x{:016X}, 0x{:016X}),",
                s.name,
                s.bits.len(),
                s.digest(),
                first
            );
        }
        println!("];");
        return Ok(());
    }
    assert_eq!(
        observed.len(),
        GOLDENS.len(),
        "a golden series was added or removed: bless again"
    );
    for (s, &(name, len, digest, first)) in observed.iter().zip(GOLDENS) {
        assert_eq!(s.name, name);
        assert_eq!(s.bits.len(), len, "{name}: length");
        assert_eq!(
            s.bits.first().copied().unwrap_or(0),
            first,
            "{name}: first value {} moved",
            f64::from_bits(s.bits.first().copied().unwrap_or(0))
        );
        assert_eq!(s.digest(), digest, "{name}: some value moved");
    }
    Ok(())
}
