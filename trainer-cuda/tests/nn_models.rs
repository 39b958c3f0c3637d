//! Model-level behaviour: training reduces the loss, both layer backends agree, snapshots and
//! checkpoints round-trip exactly (including optimiser state), bad input is a typed error.

use trainer_cuda::nn::{
    build_network, Backend, DeviceKind, ModelKind, Network, NnError, OptimizerKind,
};

const SGD: OptimizerKind = OptimizerKind::Sgd {
    nesterov: false,
    weight_decay: 0.0,
};

fn batch(n: usize, per: usize, classes: u8, seed: u32) -> (Vec<f32>, Vec<u8>) {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    };
    let x = (0..n * per)
        .map(|_| (next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let y = (0..n)
        .map(|_| (next() % u32::from(classes)) as u8)
        .collect();
    (x, y)
}

fn net(
    kind: ModelKind,
    opt: OptimizerKind,
    backend: Backend,
    input: (usize, usize, usize),
) -> Box<dyn Network> {
    build_network(kind, opt, DeviceKind::Cpu(backend), 42, input, 4).expect("model fits")
}

fn input_of(kind: ModelKind) -> (usize, usize, usize) {
    match kind {
        ModelKind::ResNetSmall => (3, 8, 8),
        ModelKind::MnistCnn | ModelKind::Mlp | ModelKind::ResNetMnist => (1, 8, 8),
    }
}

#[test]
fn a_few_sgd_steps_reduce_the_loss_for_every_model_and_backend() {
    for kind in ModelKind::ALL {
        for backend in [Backend::Fast, Backend::Generic] {
            let input = input_of(kind);
            let (x, y) = batch(16, input.0 * input.1 * input.2, 4, 3);
            let mut n = net(kind, SGD, backend, input);
            let before = n.evaluate(&x, &y, 16).unwrap().loss;
            for _ in 0..15 {
                n.train_step(&x, &y, 0.05, Some(0.9)).unwrap();
            }
            let after = n.evaluate(&x, &y, 16).unwrap().loss;
            assert!(
                after < 0.7 * before,
                "{kind} {backend:?}: loss {before} -> {after}"
            );
        }
    }
}

#[test]
fn fast_and_generic_backends_train_alike() {
    // Every model; resnet-small at 16×16 so that its 16-channel convolutions take the shifted
    // weight-gradient route (at least 256 output pixels), and its residual joins the fused op.
    for (kind, input) in [
        (ModelKind::MnistCnn, (1, 8, 8)),
        (ModelKind::Mlp, (1, 8, 8)),
        (ModelKind::ResNetSmall, (3, 16, 16)),
        (ModelKind::ResNetMnist, (1, 8, 8)),
    ] {
        let per = input.0 * input.1 * input.2;
        let (x, y) = batch(8, per, 4, 5);
        let mut a = net(kind, SGD, Backend::Fast, input);
        let mut b = net(kind, SGD, Backend::Generic, input);
        assert_eq!(a.snapshot(), b.snapshot(), "same seed, same initial state");
        for step in 0..4 {
            let la = a.train_step(&x, &y, 0.05, Some(0.9)).unwrap();
            let lb = b.train_step(&x, &y, 0.05, Some(0.9)).unwrap();
            assert!(
                (la - lb).abs() < 1e-4 * (1.0 + la.abs()),
                "{kind} step {step}: {la} vs {lb}"
            );
        }
        for (ta, tb) in a.snapshot().tensors.iter().zip(&b.snapshot().tensors) {
            assert_eq!(ta.name, tb.name);
            for (va, vb) in ta.data.iter().zip(&tb.data) {
                assert!((va - vb).abs() < 1e-4, "{kind} {}: {va} vs {vb}", ta.name);
            }
        }
    }
}

#[test]
fn mnist_cnn_has_the_expected_parameter_count() {
    // conv1 32·9+32, bn1 64, conv2 64·288+64, bn2 128, fc 3136·10+10
    let n = build_network(
        ModelKind::MnistCnn,
        SGD,
        DeviceKind::Cpu(Backend::Fast),
        0,
        (1, 28, 28),
        10,
    )
    .unwrap();
    assert_eq!(n.num_params(), 320 + 64 + 18_496 + 128 + 31_370);
}

/// A residual stage from `ci` to `c` channels, by hand: the entry conv (`9·ci·c` weights,
/// `c` biases) and the block's two convs (`9·c·c + c` each), three BNs (`2c` each).
fn resnet_stage_params(ci: usize, c: usize) -> usize {
    (9 * ci * c + c) + 2 * (9 * c * c + c) + 3 * 2 * c
}

#[test]
fn the_residual_models_have_their_hand_counted_parameters() {
    for (kind, input, channels, total) in [
        (ModelKind::ResNetSmall, (3, 32, 32), 3, 121_898),
        (ModelKind::ResNetMnist, (1, 28, 28), 1, 121_610),
    ] {
        let n = build_network(kind, SGD, DeviceKind::Cpu(Backend::Fast), 0, input, 10).unwrap();
        let by_hand = resnet_stage_params(channels, 16)
            + resnet_stage_params(16, 32)
            + resnet_stage_params(32, 64)
            + (64 * 10 + 10);
        assert_eq!(by_hand, total, "{kind}: the doc's count");
        assert_eq!(n.num_params(), total, "{kind}");
        assert_eq!(kind.designed_input(), input);
    }
}

#[test]
fn snapshot_restore_is_exact_for_every_optimizer() {
    for opt in [
        SGD,
        OptimizerKind::Sgd {
            nesterov: true,
            weight_decay: 1e-3,
        },
        OptimizerKind::Adam,
        OptimizerKind::AdamW { weight_decay: 1e-2 },
        OptimizerKind::RmsProp,
    ] {
        let input = (1, 8, 8);
        let (x, y) = batch(8, 64, 4, 9);
        let mut n = net(ModelKind::MnistCnn, opt, Backend::Fast, input);
        n.train_step(&x, &y, 0.01, None).unwrap();
        let snap = n.snapshot();
        let l1: Vec<f32> = (0..3)
            .map(|_| n.train_step(&x, &y, 0.01, Some(0.8)).unwrap())
            .collect();
        assert_ne!(n.snapshot(), snap, "{opt:?}: training changed nothing");
        n.restore(&snap).unwrap();
        assert_eq!(n.snapshot(), snap);
        let l2: Vec<f32> = (0..3)
            .map(|_| n.train_step(&x, &y, 0.01, Some(0.8)).unwrap())
            .collect();
        assert_eq!(l1, l2, "{opt:?}: resumed run differs");
    }
}

#[test]
fn checkpoint_save_load_resumes_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("nn-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let input = (3, 8, 8);
    let (x, y) = batch(4, 192, 4, 11);
    let mut a = net(
        ModelKind::ResNetSmall,
        OptimizerKind::Adam,
        Backend::Fast,
        input,
    );
    a.train_step(&x, &y, 0.01, None).unwrap();
    a.save(&path).unwrap();
    let cont: Vec<f32> = (0..2)
        .map(|_| a.train_step(&x, &y, 0.01, None).unwrap())
        .collect();

    let mut b = build_network(
        ModelKind::ResNetSmall,
        OptimizerKind::Adam,
        DeviceKind::Cpu(Backend::Fast),
        999,
        input,
        4,
    )
    .unwrap();
    b.load(&path).unwrap();
    let resumed: Vec<f32> = (0..2)
        .map(|_| b.train_step(&x, &y, 0.01, None).unwrap())
        .collect();
    assert_eq!(cont, resumed);
    assert_eq!(a.snapshot(), b.snapshot());

    let mut other = net(ModelKind::Mlp, SGD, Backend::Fast, (1, 8, 8));
    assert!(matches!(other.load(&path), Err(NnError::Checkpoint(_))));
    assert!(matches!(
        b.load(&dir.join("missing.safetensors")),
        Err(NnError::Checkpoint(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut n = net(ModelKind::MnistCnn, SGD, Backend::Fast, (1, 8, 8));
    let (x, y) = batch(2, 64, 4, 1);
    assert!(matches!(
        n.train_step(&x[1..], &y, 0.1, None),
        Err(NnError::Batch(_))
    ));
    assert!(matches!(
        n.train_step(&x, &[0, 4], 0.1, None),
        Err(NnError::Batch(_))
    ));
    assert!(matches!(
        n.train_step(&x, &y, f64::NAN, None),
        Err(NnError::Hyper(_))
    ));
    assert!(matches!(
        n.train_step(&x, &y, 0.1, Some(1.0)),
        Err(NnError::Hyper(_))
    ));
    assert!(matches!(n.evaluate(&x, &y, 0), Err(NnError::Batch(_))));
    assert!(matches!(
        "vgg".parse::<ModelKind>(),
        Err(NnError::UnknownModel(_))
    ));
    let odd = build_network(
        ModelKind::MnistCnn,
        SGD,
        DeviceKind::Cpu(Backend::Fast),
        0,
        (1, 6, 6),
        4,
    );
    assert!(
        matches!(odd.err(), Some(NnError::Shape(_))),
        "6x6 -> 3x3 cannot be pooled again"
    );
    #[cfg(not(feature = "cuda"))]
    assert!(matches!(
        build_network(ModelKind::Mlp, SGD, DeviceKind::Cuda, 0, (1, 8, 8), 4).err(),
        Some(NnError::Device(_))
    ));
}

#[test]
fn evaluation_counts_correct_predictions() {
    let input = (1, 8, 8);
    let (x, y) = batch(32, 64, 4, 21);
    let mut n = net(ModelKind::Mlp, OptimizerKind::Adam, Backend::Fast, input);
    for _ in 0..60 {
        n.train_step(&x, &y, 0.003, None).unwrap();
    }
    let whole = n.evaluate(&x, &y, 32).unwrap();
    let chunked = n.evaluate(&x, &y, 5).unwrap();
    assert_eq!(whole.correct, chunked.correct);
    assert!((whole.loss - chunked.loss).abs() < 1e-5);
    assert_eq!(whole.total, 32);
    assert!(
        whole.accuracy() > 0.9,
        "memorising 32 examples: {}",
        whole.accuracy()
    );
}

#[test]
fn flop_model_matches_hand_counts() {
    let flops = |kind, input| {
        build_network(kind, SGD, DeviceKind::Cpu(Backend::Fast), 0, input, 10)
            .expect("model fits")
            .matmul_flops_per_image()
    };
    // mnist-cnn: conv 1→32 on 28×28 (2·32·9·784 = 451,584), conv 32→64 on 14×14
    // (2·64·288·196 = 7,225,344), linear 3136→10 (62,720). Training: the first conv needs no
    // input gradient (2×), the others 3×.
    assert_eq!(
        flops(ModelKind::MnistCnn, (1, 28, 28)),
        (7_739_648, 2 * 451_584 + 3 * (7_225_344 + 62_720))
    );
    // mlp 784-256-128-10: 2·(200,704 + 32,768 + 1,280) forward; training: the first linear
    // layer needs no input gradient (2× its 401,408), the others 3× (65,536 + 2,560).
    assert_eq!(
        flops(ModelKind::Mlp, (1, 28, 28)),
        (469_504, 2 * 401_408 + 3 * (65_536 + 2_560))
    );
}
