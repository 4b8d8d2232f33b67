//! All draws of one distribution on one stream, written so that they vectorize.
//!
//! Every value equals what [`Dist::sample`] gives for the same stream and draw
//! (tested bit for bit). The families drawn from a single uniform are split
//! into passes (uniforms, then the inverse CDF) that the compiler turns into
//! SIMD loops; the functions are compiled for AVX2 too, picked at run time.
//! Rust never fuses `a * b + c` into an FMA on its own, so both builds give
//! identical bits.

#[cfg(feature = "simd")]
use multiversion::multiversion;

use crate::dist::{Dist, TriangularSampler};
use crate::rng::{first_uniform, DrawRng};
use crate::special::{normal_quantile_central, normal_quantile_tail, NORMAL_CENTRAL};

/// Draws handled per pass of the normal quantile (a stack buffer of uniforms).
const NORMAL_CHUNK: usize = 64;

/// Fill `buffer[d]` with draw `d` of `dist` on stream `stream_key`, given the
/// mixed draw numbers (`buffer` and `mixed_draws` have the same length).
#[cfg_attr(feature = "simd", multiversion(targets("x86_64+avx2+fma")))]
pub fn fill(buffer: &mut [f64], dist: &Dist, stream_key: u64, mixed_draws: &[u64], pool: &[f64]) {
    let n = buffer.len().min(mixed_draws.len());
    let (buffer, mixed) = (&mut buffer[..n], &mixed_draws[..n]);
    match *dist {
        Dist::Fixed(v) => buffer.fill(v),
        Dist::Uniform { low, high } => {
            uniforms(buffer, stream_key, mixed);
            for x in buffer.iter_mut() {
                *x = low + (high - low) * *x;
            }
        }
        Dist::Triangular { low, mode, high } => {
            let sampler = TriangularSampler::new(low, mode, high);
            uniforms(buffer, stream_key, mixed);
            for x in buffer.iter_mut() {
                *x = sampler.at(*x);
            }
        }
        Dist::Normal { mean, sd } => {
            uniforms(buffer, stream_key, mixed);
            normal_quantiles(buffer);
            for x in buffer.iter_mut() {
                *x = mean + sd * *x;
            }
        }
        Dist::LogNormal { mu, sigma } => {
            uniforms(buffer, stream_key, mixed);
            normal_quantiles(buffer);
            for x in buffer.iter_mut() {
                *x = libm::exp(mu + sigma * *x);
            }
        }
        _ => {
            for (x, &m) in buffer.iter_mut().zip(mixed) {
                *x = dist.sample(&mut DrawRng::with_mixed_draw(stream_key, m), pool);
            }
        }
    }
}

#[inline(always)]
fn uniforms(buffer: &mut [f64], stream_key: u64, mixed: &[u64]) {
    for (x, &m) in buffer.iter_mut().zip(mixed) {
        *x = first_uniform(stream_key, m);
    }
}

/// Uniforms to standard normal quantiles, in place: the central rational
/// function on every value (vectorized), then the tails (15%) one by one.
#[inline(always)]
fn normal_quantiles(buffer: &mut [f64]) {
    let mut p = [0.0; NORMAL_CHUNK];
    for chunk in buffer.chunks_mut(NORMAL_CHUNK) {
        let p = &mut p[..chunk.len()];
        p.copy_from_slice(chunk);
        for x in chunk.iter_mut() {
            *x = normal_quantile_central(*x - 0.5);
        }
        for (x, &p) in chunk.iter_mut().zip(p.iter()) {
            let q = p - 0.5;
            if q.abs() > NORMAL_CENTRAL {
                *x = normal_quantile_tail(p, q);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::code;
    use crate::rng::{mixed_draw, stream};

    #[test]
    fn fill_equals_sample_bit_for_bit() -> crate::CoreResult<()> {
        let pool = [1.0, 2.5, 4.0];
        let dists = [
            Dist::from_code(code::FIXED, [3.0, 0.0, 0.0, 0.0], 0)?,
            Dist::from_code(code::UNIFORM, [1.0, 2.0, 0.0, 0.0], 0)?,
            Dist::from_code(code::TRIANGULAR, [0.4, 0.75, 1.0, 0.0], 0)?,
            Dist::from_code(code::TRIANGULAR, [1.0, 1.0, 2.0, 0.0], 0)?,
            Dist::from_code(code::NORMAL, [1.0, 0.05, 0.0, 0.0], 0)?,
            Dist::from_code(code::TRUNCATED_NORMAL, [1.0, 0.5, 0.2, 1.5], 0)?,
            Dist::from_code(code::LOGNORMAL, [0.3, 0.4, 0.0, 0.0], 0)?,
            Dist::from_code(code::PERT, [1.0, 2.0, 5.0, 0.0], 0)?,
            Dist::from_code(code::EMPIRICAL, [0.0, 3.0, 0.0, 0.0], pool.len())?,
        ];
        // 1,003 draws: whole chunks plus a remainder.
        let mixed: Vec<u64> = (0..1003).map(mixed_draw).collect();
        for (k, dist) in dists.iter().enumerate() {
            let s = stream(9, k as u64);
            let mut buffer = vec![0.0; mixed.len()];
            fill(&mut buffer, dist, s, &mixed, &pool);
            for (d, (&x, &m)) in buffer.iter().zip(&mixed).enumerate() {
                let expected = dist.sample(&mut DrawRng::with_mixed_draw(s, m), &pool);
                assert_eq!(x.to_bits(), expected.to_bits(), "{dist:?}, draw {d}");
            }
        }
        Ok(())
    }
}
