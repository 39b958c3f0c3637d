//! The fast CPU ops and the device-generic layers against each other, against naive f64
//! references, and against finite differences of those references.

use dfdx::prelude::*;
use trainer_cuda::nn::{cpu_ops, generic, Conv2dGeometry, Shape4};

fn rand_vec(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn assert_close(what: &str, a: &[f32], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let err = (f64::from(*x) - y).abs();
        assert!(
            err <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y} (err {err})"
        );
    }
}

fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Naive f64 convolution, NCHW, stride 1, zero padding.
fn conv_ref(
    x: &[f64],
    w: &[f64],
    b: &[f64],
    (n, c, h, wd): Shape4,
    g: &Conv2dGeometry,
) -> Vec<f64> {
    let (oh, ow) = g.out_hw(h, wd).unwrap();
    let k = g.kernel;
    let mut y = vec![0.0; n * g.c_out * oh * ow];
    for bi in 0..n {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b[co];
                    for ci in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = oy as isize + ky as isize - g.pad as isize;
                                let ix = ox as isize + kx as isize - g.pad as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    s += w[((co * c + ci) * k + ky) * k + kx]
                                        * x[((bi * c + ci) * h + iy as usize) * wd + ix as usize];
                                }
                            }
                        }
                    }
                    y[((bi * g.c_out + co) * oh + oy) * ow + ox] = s;
                }
            }
        }
    }
    y
}

/// Central finite difference of `f` at every coordinate of `v`.
fn fd(v: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    (0..v.len())
        .map(|i| {
            let mut p = v.to_vec();
            p[i] += h;
            let mut m = v.to_vec();
            m[i] -= h;
            (f(&p) - f(&m)) / (2.0 * h)
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A layer's output and its gradients for the loss `Σ y·r`.
struct LayerRun {
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

type Param = Tensor<(usize,), f32, Cpu>;

/// Runs `layer` on `x` (of shape `shape`) with weights `w` and biases `b`, forward and backward
/// on `Σ y·r`.
fn run_layer<S: Shape, O: Shape>(
    shape: S,
    (x, w, b, r): (&[f32], &[f32], &[f32], &[f32]),
    layer: impl FnOnce(
        Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>,
        &Param,
        &Param,
    ) -> Tensor<O, f32, Cpu, OwnedTape<f32, Cpu>>,
) -> LayerRun {
    let dev = Cpu::default();
    let xt = dev.tensor_from_vec(x.to_vec(), shape);
    let wt = dev.tensor_from_vec(w.to_vec(), (w.len(),));
    let bt = dev.tensor_from_vec(b.to_vec(), (b.len(),));
    let y = layer(xt.clone().traced(Gradients::leaky()), &wt, &bt);
    let yv = y.retaped::<NoneTape>().as_vec();
    let rt = dev.tensor_from_vec(r.to_vec(), *y.shape());
    let grads = (y * rt).sum::<(), _>().backward();
    LayerRun {
        y: yv,
        dx: grads.get(&xt).as_vec(),
        dw: grads.get(&wt).as_vec(),
        db: grads.get(&bt).as_vec(),
    }
}

fn run_conv(
    fast: bool,
    shape: Shape4,
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    r: &[f32],
) -> LayerRun {
    run_layer(shape, (x, w, b, r), |x, w, b| {
        if fast {
            cpu_ops::conv2d(x, w, b, g, true)
        } else {
            generic::conv2d(x, w, b, g)
        }
    })
}

#[test]
fn conv_matches_naive_reference_and_finite_differences() {
    for (shape, g) in [
        (
            (2, 3, 6, 5),
            Conv2dGeometry {
                c_in: 3,
                c_out: 4,
                kernel: 3,
                pad: 1,
            },
        ),
        (
            (1, 2, 5, 5),
            Conv2dGeometry {
                c_in: 2,
                c_out: 3,
                kernel: 3,
                pad: 0,
            },
        ),
        (
            (9, 1, 4, 4),
            Conv2dGeometry {
                c_in: 1,
                c_out: 2,
                kernel: 3,
                pad: 1,
            },
        ),
    ] {
        let (n, c, h, wd) = shape;
        let (oh, ow) = g.out_hw(h, wd).unwrap();
        let x = rand_vec(1, n * c * h * wd);
        let w = rand_vec(2, g.weight_len());
        let b = rand_vec(3, g.c_out);
        let r = rand_vec(4, n * g.c_out * oh * ow);
        let (x64, w64, b64, r64) = (to64(&x), to64(&w), to64(&b), to64(&r));
        let y_ref = conv_ref(&x64, &w64, &b64, shape, &g);
        let dx_ref = fd(&x64, |v| dot(&conv_ref(v, &w64, &b64, shape, &g), &r64));
        let dw_ref = fd(&w64, |v| dot(&conv_ref(&x64, v, &b64, shape, &g), &r64));
        let db_ref = fd(&b64, |v| dot(&conv_ref(&x64, &w64, v, shape, &g), &r64));
        for fast in [true, false] {
            let run = run_conv(fast, shape, &g, &x, &w, &b, &r);
            let tag = if fast { "fast" } else { "generic" };
            assert_close(&format!("{tag} y"), &run.y, &y_ref, 1e-5);
            assert_close(&format!("{tag} dx"), &run.dx, &dx_ref, 1e-4);
            assert_close(&format!("{tag} dw"), &run.dw, &dw_ref, 1e-4);
            assert_close(&format!("{tag} db"), &run.db, &db_ref, 1e-4);
        }
    }
}

#[test]
fn max_pool_matches_reference_and_routes_gradient_to_the_winner() {
    let dev = Cpu::default();
    let shape = (2, 3, 4, 6);
    let x = rand_vec(7, 2 * 3 * 4 * 6); // distinct values: no ties
    let r = rand_vec(8, 2 * 3 * 2 * 3);
    // naive reference: max and its position
    let mut y_ref = vec![0.0f64; r.len()];
    let mut dx_ref = vec![0.0f64; x.len()];
    for p in 0..6 {
        for oy in 0..2 {
            for ox in 0..3 {
                let mut best = (f32::NEG_INFINITY, 0);
                for (dy, dxx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let i = p * 24 + (2 * oy + dy) * 6 + 2 * ox + dxx;
                    if x[i] > best.0 {
                        best = (x[i], i);
                    }
                }
                let o = p * 6 + oy * 3 + ox;
                y_ref[o] = f64::from(best.0);
                dx_ref[best.1] += f64::from(r[o]);
            }
        }
    }
    for fast in [true, false] {
        let xt = dev.tensor_from_vec(x.clone(), shape);
        let traced = xt.clone().traced(Gradients::leaky());
        let y = if fast {
            cpu_ops::max_pool2(traced)
        } else {
            generic::max_pool2(traced)
        };
        assert_eq!(*y.shape(), (2, 3, 2, 3));
        assert_close("pool y", &y.retaped::<NoneTape>().as_vec(), &y_ref, 0.0);
        let rt = dev.tensor_from_vec(r.clone(), *y.shape());
        let grads = (y * rt).sum::<(), _>().backward();
        assert_close("pool dx", &grads.get(&xt).as_vec(), &dx_ref, 1e-7);
    }
}

fn bn_ref(x: &[f64], gamma: &[f64], beta: &[f64], (n, c, h, w): Shape4, relu: bool) -> Vec<f64> {
    let hw = h * w;
    let mut y = vec![0.0; x.len()];
    for ch in 0..c {
        let idx: Vec<usize> = (0..n)
            .flat_map(|b| (0..hw).map(move |p| (b * c + ch) * hw + p))
            .collect();
        let m = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
        let v = idx.iter().map(|&i| (x[i] - m).powi(2)).sum::<f64>() / idx.len() as f64;
        for &i in &idx {
            let z = gamma[ch] * (x[i] - m) / (v + 1e-5).sqrt() + beta[ch];
            y[i] = if relu { z.max(0.0) } else { z };
        }
    }
    y
}

#[test]
fn batch_norm_matches_reference_and_finite_differences() {
    let dev = Cpu::default();
    let shape = (3, 4, 3, 2);
    let n = 3 * 4 * 3 * 2;
    let x: Vec<f32> = rand_vec(11, n).iter().map(|v| v * 3.0 + 0.5).collect();
    let gamma: Vec<f32> = rand_vec(12, 4).iter().map(|v| v + 1.5).collect();
    let beta = rand_vec(13, 4);
    let r = rand_vec(14, n);
    let (x64, g64, b64, r64) = (to64(&x), to64(&gamma), to64(&beta), to64(&r));
    for relu in [false, true] {
        let y_ref = bn_ref(&x64, &g64, &b64, shape, relu);
        let dx_ref = fd(&x64, |v| dot(&bn_ref(v, &g64, &b64, shape, relu), &r64));
        let dg_ref = fd(&g64, |v| dot(&bn_ref(&x64, v, &b64, shape, relu), &r64));
        let db_ref = fd(&b64, |v| dot(&bn_ref(&x64, &g64, v, shape, relu), &r64));
        for fast in [true, false] {
            let xt = dev.tensor_from_vec(x.clone(), shape);
            let gt = dev.tensor_from_vec(gamma.clone(), (4,));
            let bt = dev.tensor_from_vec(beta.clone(), (4,));
            let traced = xt.clone().traced(Gradients::leaky());
            let (y, mean, var) = if fast {
                let (y, s) = cpu_ops::batch_norm2d_train(traced, &gt, &bt, 1e-5, relu);
                (y, s.mean, s.var)
            } else {
                let (y, s) = generic::batch_norm2d_train(traced, &gt, &bt, 1e-5);
                (
                    if relu { y.relu() } else { y },
                    s.mean.as_vec(),
                    s.var.as_vec(),
                )
            };
            // channel 0's statistics by hand
            let c0: Vec<f64> = (0..3)
                .flat_map(|b| (0..6).map(move |p| b * 24 + p))
                .map(|i| x64[i])
                .collect();
            let m0 = c0.iter().sum::<f64>() / 18.0;
            let v0 = c0.iter().map(|v| (v - m0).powi(2)).sum::<f64>() / 18.0;
            assert_close("bn mean", &mean[..1], &[m0], 1e-5);
            assert_close("bn var", &var[..1], &[v0], 1e-5);
            assert_close("bn y", &y.retaped::<NoneTape>().as_vec(), &y_ref, 1e-4);
            let rt = dev.tensor_from_vec(r.clone(), shape);
            let grads = (y * rt).sum::<(), _>().backward();
            assert_close("bn dx", &grads.get(&xt).as_vec(), &dx_ref, 2e-3);
            assert_close("bn dgamma", &grads.get(&gt).as_vec(), &dg_ref, 2e-3);
            assert_close("bn dbeta", &grads.get(&bt).as_vec(), &db_ref, 2e-3);
        }
    }
}

#[test]
fn im2col_indices_point_padding_at_the_zero_slot() {
    let g = Conv2dGeometry {
        c_in: 2,
        c_out: 1,
        kernel: 3,
        pad: 1,
    };
    let idx = generic::im2col_indices(&g, (3, 3));
    assert_eq!(idx.len(), 9 * 18);
    // centre pixel (1,1): channel 0's window is the whole image 0..9, channel 1's 9..18
    let centre = &idx[4 * 18..5 * 18];
    assert_eq!(centre, &(0..18).collect::<Vec<_>>()[..]);
    assert_eq!(idx[0], 18);
}

/// Naive f64 linear layer `x·Wᵀ + b` (W is `fout × fin`), then ReLU when `relu`.
fn linear_ref(x: &[f64], w: &[f64], b: &[f64], fin: usize, relu: bool) -> Vec<f64> {
    let fout = b.len();
    let mut y = Vec::with_capacity(x.len() / fin * fout);
    for row in x.chunks_exact(fin) {
        for (o, bo) in b.iter().enumerate() {
            let s = bo + dot(row, &w[o * fin..(o + 1) * fin]);
            y.push(if relu { s.max(0.0) } else { s });
        }
    }
    y
}

/// Runs the fast or the generic linear layer forward and backward on `Σ y·r`.
fn run_linear(
    fast: bool,
    (batch, fin): (usize, usize),
    x: &[f32],
    (w, b): (&[f32], &[f32]),
    relu: bool,
    r: &[f32],
) -> LayerRun {
    run_layer((batch, fin), (x, w, b, r), |x, w, b| {
        if fast {
            cpu_ops::linear(x, w, b, relu, true)
        } else {
            generic::linear(x, w, b, relu)
        }
    })
}

#[test]
fn linear_matches_naive_reference_and_finite_differences() {
    // Batches and output widths below, at and across the fast op's 16-row blocks.
    for (batch, fin, fout) in [(1, 3, 2), (5, 7, 16), (37, 9, 21), (16, 33, 40)] {
        for relu in [false, true] {
            let x = rand_vec(11, batch * fin);
            let w = rand_vec(12, fout * fin);
            let b = rand_vec(13, fout);
            let r = rand_vec(14, batch * fout);
            let (x64, w64, b64, r64) = (to64(&x), to64(&w), to64(&b), to64(&r));
            let y_ref = linear_ref(&x64, &w64, &b64, fin, relu);
            let loss = |x: &[f64], w: &[f64], b: &[f64]| dot(&linear_ref(x, w, b, fin, relu), &r64);
            let dx_ref = fd(&x64, |v| loss(v, &w64, &b64));
            let dw_ref = fd(&w64, |v| loss(&x64, v, &b64));
            let db_ref = fd(&b64, |v| loss(&x64, &w64, v));
            for fast in [true, false] {
                let run = run_linear(fast, (batch, fin), &x, (&w, &b), relu, &r);
                let tag = format!(
                    "{} {batch}x{fin}->{fout} relu {relu}",
                    if fast { "fast" } else { "generic" }
                );
                assert_close(&format!("{tag} y"), &run.y, &y_ref, 1e-5);
                assert_close(&format!("{tag} dx"), &run.dx, &dx_ref, 1e-4);
                assert_close(&format!("{tag} dw"), &run.dw, &dw_ref, 1e-4);
                assert_close(&format!("{tag} db"), &run.db, &db_ref, 1e-4);
            }
        }
    }
}

#[test]
fn linear_without_input_gradient_leaves_the_input_alone_and_is_thread_count_independent() {
    let (batch, fin, fout) = (70, 50, 33);
    let x = rand_vec(21, batch * fin);
    let w = rand_vec(22, fout * fin);
    let b = rand_vec(23, fout);
    let run = |threads: usize, input_grad: bool| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let dev = Cpu::default();
            let xt = dev.tensor_from_vec(x.clone(), (batch, fin));
            let wt = dev.tensor_from_vec(w.clone(), (w.len(),));
            let bt = dev.tensor_from_vec(b.clone(), (b.len(),));
            let y = cpu_ops::linear(
                xt.clone().traced(Gradients::leaky()),
                &wt,
                &bt,
                true,
                input_grad,
            );
            let yv = y.retaped::<NoneTape>().as_vec();
            let mut grads = y.square().sum::<(), _>().backward();
            // Zeros when the op left the input's gradient unallocated.
            let dx = grads.get_or_alloc_mut(&xt).unwrap().to_vec();
            (yv, dx, grads.get(&wt).as_vec(), grads.get(&bt).as_vec())
        })
    };
    let one = run(1, true);
    assert_eq!(one, run(3, true), "1 thread and 3 threads differ");
    let (y, dx, dw, db) = run(2, false);
    assert_eq!((&y, &dw, &db), (&one.0, &one.2, &one.3));
    assert!(
        dx.iter().all(|&v| v == 0.0),
        "no input gradient was asked for"
    );
    assert!(one.1.iter().any(|&v| v != 0.0));
}
