//! GPU checks: the device-generic layers on dfdx's CUDA device against the same layers on
//! the CPU (losses, parameters after training steps, evaluation). They run when built with
//! `--features cuda` and a GPU opens; otherwise they say why and return.

#![cfg(feature = "cuda")]

use trainer_cuda::nn::{build_network, Backend, DeviceKind, ModelKind, Network, OptimizerKind};

fn pair(
    kind: ModelKind,
    input: (usize, usize, usize),
) -> Option<(Box<dyn Network>, Box<dyn Network>)> {
    let opt = OptimizerKind::Sgd {
        nesterov: false,
        weight_decay: 1e-4,
    };
    let gpu = match build_network(kind, opt, DeviceKind::Cuda, 9, input, 10) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipped: no usable CUDA GPU ({e})");
            return None;
        }
    };
    let cpu = build_network(kind, opt, DeviceKind::Cpu(Backend::Generic), 9, input, 10).unwrap();
    Some((cpu, gpu))
}

fn batch(n: usize, per: usize) -> (Vec<f32>, Vec<u8>) {
    let mut s = 0x9e37_79b9_u32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    };
    let x = (0..n * per)
        .map(|_| (next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let y = (0..n).map(|_| (next() % 10) as u8).collect();
    (x, y)
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

fn check(kind: ModelKind, input: (usize, usize, usize)) {
    let Some((mut cpu, mut gpu)) = pair(kind, input) else {
        return;
    };
    assert_eq!(
        cpu.snapshot(),
        gpu.snapshot(),
        "same seed must give the same initial weights"
    );
    let (x, y) = batch(32, input.0 * input.1 * input.2);
    for step in 0..4 {
        let a = cpu.train_step(&x, &y, 0.05, Some(0.9)).unwrap();
        let b = gpu.train_step(&x, &y, 0.05, Some(0.9)).unwrap();
        assert!(
            close(a, b, 1e-3),
            "{kind} step {step}: cpu loss {a} vs cuda {b}"
        );
    }
    let (sa, sb) = (cpu.snapshot(), gpu.snapshot());
    for (ta, tb) in sa.tensors.iter().zip(&sb.tensors) {
        let worst = ta
            .data
            .iter()
            .zip(&tb.data)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 2e-3,
            "{kind}: {} differs by {worst} after 4 steps",
            ta.name
        );
    }
    let ea = cpu.evaluate(&x, &y, 16).unwrap();
    let eb = gpu.evaluate(&x, &y, 16).unwrap();
    assert!(
        close(ea.loss, eb.loss, 1e-3),
        "{kind}: eval loss {} vs {}",
        ea.loss,
        eb.loss
    );
}

#[test]
fn cuda_mnist_cnn_matches_cpu_generic() {
    check(ModelKind::MnistCnn, (1, 28, 28));
}

#[test]
fn cuda_mlp_matches_cpu_generic() {
    check(ModelKind::Mlp, (1, 28, 28));
}

#[test]
fn cuda_resnet_small_matches_cpu_generic() {
    check(ModelKind::ResNetSmall, (3, 32, 32));
}
