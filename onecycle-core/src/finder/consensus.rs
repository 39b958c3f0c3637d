//! Several sweeps' divergence edges combined: one `auto` learning rate and how far the
//! sweeps agree.
//!
//! One range test reads its edge off a few hundred noisy mini-batches. Running the sweep
//! more than once from the same initial network on different batches and taking the median
//! edge damps that noise; the spread of the edges (max / min) is the confidence a user sees:
//! near 1× the sweeps agree, 2× or more says the edge, and so the lr, is uncertain.

use crate::Float;

use super::{Edge, FinderError};

/// The most sweeps [`consensus_of`] combines.
pub const MAX_SWEEPS: usize = 16;

/// The median divergence edge of several sweeps, the lr derived from it, and the spread.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Consensus<F> {
    /// The median edge (the lower median for an even count).
    pub edge: F,
    /// `edge / divisor`: the maximum learning rate to train with.
    pub auto: F,
    /// The largest edge over the smallest (1 for a single sweep).
    pub spread: F,
    /// How many edges were combined.
    pub sweeps: usize,
}

/// Combines the divergence edges of several sweeps. `edges` is sorted in place (no
/// allocation).
///
/// ```
/// use onecycle_core::finder::consensus;
/// let mut edges = [0.5_f64, 0.4, 0.45];
/// let c = consensus(&mut edges, 10.0)?;
/// assert_eq!((c.edge, c.sweeps), (0.45, 3));
/// assert!((c.auto - 0.045).abs() < 1e-15);
/// assert!((c.spread - 1.25).abs() < 1e-12);
/// # Ok::<(), onecycle_core::FinderError>(())
/// ```
///
/// # Errors
/// [`FinderError::NoSweeps`] for no edges; [`FinderError::NonPositiveLr`] or
/// [`FinderError::NonFiniteInput`] for an edge that is not a finite lr greater than 0;
/// [`FinderError::InvalidDivisor`] for a divisor that is not finite and greater than 0.
pub fn consensus<F: Float>(edges: &mut [F], divisor: F) -> Result<Consensus<F>, FinderError> {
    if !(divisor.is_finite() && divisor > F::ZERO) {
        return Err(FinderError::InvalidDivisor {
            divisor: divisor.to_f64(),
        });
    }
    for (index, &e) in edges.iter().enumerate() {
        if !e.is_finite() {
            return Err(FinderError::NonFiniteInput {
                index,
                value: e.to_f64(),
            });
        }
        if e <= F::ZERO {
            return Err(FinderError::NonPositiveLr {
                index,
                value: e.to_f64(),
            });
        }
    }
    let n = edges.len();
    if n == 0 {
        return Err(FinderError::NoSweeps);
    }
    // Insertion sort: a handful of sweeps, no allocation.
    for i in 1..n {
        let mut j = i;
        while j > 0 && edges[j - 1] > edges[j] {
            edges.swap(j - 1, j);
            j -= 1;
        }
    }
    let edge = edges[(n - 1) / 2];
    Ok(Consensus {
        edge,
        auto: edge / divisor,
        spread: edges[n - 1] / edges[0],
        sweeps: n,
    })
}

/// Combines the outcomes of several sweeps' [`divergence_edge`](super::divergence_edge)
/// (e.g. `RangeTest::edge()` of each, or the adapters' `outcome.edge`): any sweep without an
/// edge makes the whole a failure with that sweep's reason.
///
/// ```
/// use onecycle_core::finder::{consensus_of, divergence_edge};
/// let lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
/// let a = divergence_edge(&lrs, &[2.3, 2.3, 2.3, 0.5, 0.4, 9.0, 9.0]); // breaks down at 1
/// let b = divergence_edge(&lrs, &[2.3, 2.3, 2.3, 0.5, 0.4, 0.3, 9.0]); // at 10
/// let c = consensus_of([a, b, a], 10.0)?;
/// assert_eq!((c.edge, c.spread, c.sweeps), (1.0, 10.0, 3));
/// # Ok::<(), onecycle_core::FinderError>(())
/// ```
///
/// # Errors
/// The first failing sweep's error; [`FinderError::TooManySweeps`] past [`MAX_SWEEPS`];
/// otherwise as [`consensus`].
pub fn consensus_of<F: Float>(
    edges: impl IntoIterator<Item = Result<Edge<F>, FinderError>>,
    divisor: F,
) -> Result<Consensus<F>, FinderError> {
    let mut lrs = [F::ZERO; MAX_SWEEPS];
    let mut n = 0;
    for edge in edges {
        let edge = edge?;
        if n == MAX_SWEEPS {
            return Err(FinderError::TooManySweeps { max: MAX_SWEEPS });
        }
        lrs[n] = edge.lr;
        n += 1;
    }
    consensus(&mut lrs[..n], divisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_spread_and_auto_by_hand() {
        let mut one = [1.2_f64];
        let c = consensus(&mut one, 30.0).unwrap();
        assert_eq!((c.edge, c.spread, c.sweeps), (1.2, 1.0, 1));
        assert!((c.auto - 0.04).abs() < 1e-15);
        // Even count: the lower median; the spread is max / min.
        let mut four = [0.8_f32, 0.2, 0.4, 0.5];
        let c = consensus(&mut four, 2.0).unwrap();
        assert_eq!((c.edge, c.auto, c.spread), (0.4, 0.2, 4.0));
        assert_eq!(four, [0.2, 0.4, 0.5, 0.8], "sorted in place");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert_eq!(consensus::<f64>(&mut [], 30.0), Err(FinderError::NoSweeps));
        assert!(matches!(
            consensus(&mut [0.5, f64::NAN], 30.0),
            Err(FinderError::NonFiniteInput { index: 1, .. })
        ));
        assert!(matches!(
            consensus(&mut [0.5, -1.0], 30.0),
            Err(FinderError::NonPositiveLr { index: 1, .. })
        ));
        assert!(matches!(
            consensus(&mut [0.5], 0.0),
            Err(FinderError::InvalidDivisor { .. })
        ));
        let e = Edge {
            index: 3,
            lr: 0.5_f64,
            auto: 0.05,
        };
        assert_eq!(
            consensus_of([Ok(e), Err(FinderError::NoDivergence)], 10.0),
            Err(FinderError::NoDivergence)
        );
        assert_eq!(
            consensus_of(core::iter::repeat_n(Ok(e), MAX_SWEEPS + 1), 10.0),
            Err(FinderError::TooManySweeps { max: MAX_SWEEPS })
        );
        assert_eq!(
            consensus_of(core::iter::repeat_n(Ok(e), MAX_SWEEPS), 10.0).map(|c| c.sweeps),
            Ok(MAX_SWEEPS)
        );
        let mut msg = heapless::String::<256>::new();
        core::fmt::Write::write_fmt(&mut msg, format_args!("{}", FinderError::NoSweeps)).unwrap();
        assert!(msg.contains("--sweeps"), "{msg}");
    }
}
