//! A tiny deterministic PRNG (xorshift32) for shuffling, identical on host and device.

/// xorshift32 (Marsaglia 2003). Not for cryptography; only for reproducible shuffles.
#[derive(Clone, Copy, Debug)]
pub struct XorShift32(u32);

impl XorShift32 {
    /// A generator from a seed (a zero seed is replaced by a fixed non-zero one).
    #[must_use]
    pub const fn new(seed: u32) -> Self {
        Self(if seed == 0 { 0x9e37_79b9 } else { seed })
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n > 0`; slight modulo bias is irrelevant here).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n.max(1)
    }

    /// Fisher–Yates shuffle of `items`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_match_hand_computed_xorshift32() {
        // x = 1: x ^= x<<13 -> 8193; x ^= x>>17 -> 8193; x ^= x<<5 -> 8193 ^ 262176 = 270369.
        let mut r = XorShift32::new(1);
        assert_eq!(r.next_u32(), 270_369);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v = [0u16; 100];
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as u16;
        }
        XorShift32::new(7).shuffle(&mut v);
        let mut seen = [false; 100];
        for &x in &v {
            assert!(!seen[x as usize]);
            seen[x as usize] = true;
        }
        assert_ne!(v[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}
