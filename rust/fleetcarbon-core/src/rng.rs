//! Counter-based random numbers keyed by (seed, stream key, draw).
//!
//! Part of the reproducibility contract: a draw depends only on the seed, a
//! stable key of what is drawn (a factor row, or a job and a noise kind) and
//! the draw number, never on row position, chunking or thread. The mixing
//! function is SplitMix64's finalizer (Steele, Lea & Flood 2014), which passes
//! BigCrush as a counter-based generator. Changing anything here changes
//! results and needs a minor version bump.

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective avalanche mix of 64 bits.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream of one keyed quantity under one seed.
#[inline]
pub fn stream(seed: u64, key: u64) -> u64 {
    mix64(mix64(seed ^ 0x5851_F42D_4C95_7F2D).wrapping_add(mix64(key)))
}

/// The mixed draw number that [`DrawRng::with_mixed_draw`] takes; precompute it
/// once per draw when many streams share the draw.
#[inline]
pub fn mixed_draw(draw: u64) -> u64 {
    mix64(draw.wrapping_add(GAMMA))
}

/// The uniform variates of one draw of one stream: as many as a sampler needs.
#[derive(Debug, Clone)]
pub struct DrawRng {
    base: u64,
    counter: u64,
}

impl DrawRng {
    /// The variates of draw `draw` of stream `stream`.
    #[inline]
    pub fn new(stream: u64, draw: u64) -> Self {
        Self::with_mixed_draw(stream, mixed_draw(draw))
    }

    /// As [`DrawRng::new`], given `mixed_draw(draw)`.
    #[inline]
    pub fn with_mixed_draw(stream: u64, mixed: u64) -> Self {
        DrawRng {
            base: stream ^ mixed,
            counter: 0,
        }
    }

    /// Next 64 random bits: SplitMix64 output `counter` of the state `stream ^ mixed draw`.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let z = self.base.wrapping_add(self.counter.wrapping_mul(GAMMA));
        self.counter += 1;
        mix64(z)
    }

    /// Next uniform variate in the open interval (0, 1).
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        to_uniform(self.next_u64())
    }
}

/// The first uniform of a draw: `DrawRng::with_mixed_draw(stream, mixed).uniform()`,
/// as a pure function so that loops over draws vectorize.
#[inline(always)]
pub fn first_uniform(stream: u64, mixed: u64) -> f64 {
    to_uniform(mix64(stream ^ mixed))
}

/// The smallest uniform the generator gives: `2^-53`.
pub const UNIFORM_MIN: f64 = 0.5 / 4_503_599_627_370_496.0;
/// The largest uniform the generator gives: `1 - 2^-53`.
pub const UNIFORM_MAX: f64 = 1.0 - UNIFORM_MIN;

/// The top 52 bits as a uniform in the open interval (0, 1): `(k + 0.5) / 2^52`,
/// from `2^-53` to `1 - 2^-53`, each exactly representable. (53 bits would round
/// `(2^53 - 1 + 0.5) / 2^53` up to exactly 1.) The integer converts by the
/// exponent trick, exact and branch-free, because x86 before AVX-512 has no
/// vector u64-to-f64 conversion.
#[inline(always)]
fn to_uniform(bits: u64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let k = f64::from_bits(TWO_52.to_bits() | (bits >> 12)) - TWO_52;
    (k + 0.5) * (1.0 / TWO_52)
}

/// FNV-1a (64-bit) of bytes: the stable hash of string record keys.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_keyed_not_sequential() {
        let s = stream(42, 7);
        let a = DrawRng::new(s, 5).uniform();
        let b = DrawRng::new(s, 5).uniform();
        assert_eq!(a.to_bits(), b.to_bits());
        assert_ne!(a, DrawRng::new(s, 6).uniform());
        assert_ne!(a, DrawRng::new(stream(43, 7), 5).uniform());
        assert_ne!(a, DrawRng::new(stream(42, 8), 5).uniform());
        let first = first_uniform(s, mixed_draw(5));
        assert_eq!(a.to_bits(), first.to_bits());
    }

    #[test]
    fn uniforms_look_uniform() {
        let s = stream(1, 2);
        let n = 200_000;
        let mut bins = [0u32; 10];
        let mut sum = 0.0;
        for d in 0..n {
            let u = DrawRng::new(s, d).uniform();
            assert!(u > 0.0 && u < 1.0);
            bins[(u * 10.0) as usize] += 1;
            sum += u;
        }
        let expected = n as f64 / 10.0;
        let chi2: f64 = bins
            .iter()
            .map(|&b| (b as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 27.9, "chi-square {chi2} (9 dof, p=0.001)");
        assert!((sum / n as f64 - 0.5).abs() < 0.003);
    }

    #[test]
    fn uniforms_are_exact_and_inside_the_open_interval() {
        assert_eq!(to_uniform(0), UNIFORM_MIN);
        assert_eq!(to_uniform(u64::MAX), UNIFORM_MAX);
        assert!(to_uniform(u64::MAX) < 1.0 && to_uniform(0) > 0.0);
        for bits in (0..100_000u64).map(mix64) {
            let exact = ((bits >> 12) as f64 + 0.5) / (1u64 << 52) as f64;
            assert_eq!(to_uniform(bits).to_bits(), exact.to_bits());
        }
    }

    #[test]
    fn fnv1a_reference_values() {
        assert_eq!(fnv1a(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xAF63_DC4C_8601_EC8C);
    }
}
