//! A safe, bounds-checked wrapper around the `gemm` crate's single-threaded f32 kernel (gemm
//! 0.19 with `x86-v4`: AVX-512 where the CPU has it, chosen at run time).

/// A strided read-only matrix view: element `(r, c)` is `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

fn max_index(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    (rows - 1) * rs + (cols - 1) * cs
}

/// `dst[m×n] = (accumulate ? dst : 0) + a[m×k] · b[k×n]`; `dst` is row-major with row stride `dst_rs`.
///
/// Runs on the calling thread (callers parallelise over the batch).
///
/// # Panics
/// If a view is too short for the requested shape (a bug in the caller, never user input).
pub(crate) fn sgemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: MatRef<'_>,
    b: MatRef<'_>,
) {
    sgemm_on(
        (m, n, k),
        dst,
        dst_rs,
        accumulate,
        a,
        b,
        gemm::Parallelism::None,
    );
}

/// [`sgemm`] on the current rayon pool's threads, for one product too large to leave to one
/// thread. `gemm` splits the output into tiles among the threads and sums each tile over `k`
/// in the same blocks whatever their number, so the result does not depend on the thread
/// count (tested by the linear layer's tests).
pub(crate) fn sgemm_parallel(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: MatRef<'_>,
    b: MatRef<'_>,
) {
    let threads = rayon::current_num_threads();
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    sgemm_on((m, n, k), dst, dst_rs, accumulate, a, b, par);
}

fn sgemm_on(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: MatRef<'_>,
    b: MatRef<'_>,
    parallelism: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(max_index(m, n, dst_rs, 1) < dst.len(), "gemm dst too short");
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_rs..r * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    assert!(
        max_index(m, k, a.rs, a.cs) < a.data.len(),
        "gemm lhs too short"
    );
    assert!(
        max_index(k, n, b.rs, b.cs) < b.data.len(),
        "gemm rhs too short"
    );
    // SAFETY: the asserts above keep every index the kernel touches inside the three slices;
    // `dst` is borrowed mutably and so cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The machine's f32 matrix-multiply rate in GFLOP/s: the median of `runs` timed square
/// `n × n · n × n` products (after one untimed) with the `gemm` crate's own parallel kernel on
/// the current rayon thread count. The reference the throughput bench compares training to.
pub(crate) fn square_rate_gflops(n: usize, runs: usize) -> f64 {
    let n = n.max(1);
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
    let mut c = vec![0.0f32; n * n];
    let threads = rayon::current_num_threads();
    let mut once = || {
        let start = std::time::Instant::now();
        // SAFETY: all three buffers hold n·n values in row-major order with row stride n,
        // exactly the extents passed; `c` is a distinct mutable buffer.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            );
        }
        start.elapsed().as_secs_f64()
    };
    once();
    let mut secs: Vec<f64> = (0..runs.max(1)).map(|_| once()).collect();
    secs.sort_by(f64::total_cmp);
    2.0 * (n as f64).powi(3) / secs[secs.len() / 2] / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_product_matches_hand_values() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        let mut c = [1.0; 4];
        let av = MatRef {
            data: &a,
            rs: 2,
            cs: 1,
        };
        let bv = MatRef {
            data: &b,
            rs: 2,
            cs: 1,
        };
        sgemm((2, 2, 2), &mut c, 2, false, av, bv);
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
        sgemm((2, 2, 2), &mut c, 2, true, av, bv);
        assert_eq!(c, [38.0, 44.0, 86.0, 100.0]);
        // transposed lhs view: aᵀ = [1 3; 2 4]
        let at = MatRef {
            data: &a,
            rs: 1,
            cs: 2,
        };
        sgemm((2, 2, 2), &mut c, 2, false, at, bv);
        assert_eq!(c, [26.0, 30.0, 38.0, 44.0]);
    }
}
