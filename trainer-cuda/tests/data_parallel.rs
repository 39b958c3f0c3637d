//! `DataParallel` semantics in one process: two threads joined by an in-process collective
//! (`Pair`) stand in for two MPI ranks, so these run in every test build (the MPI transport
//! itself is tested in `tests/mpi.rs`).
//!
//! Batch norm is per replica: each rank's shard is normalised by its own statistics, the
//! gradients are averaged, and rank 0's running statistics are the ones a checkpoint keeps. The
//! reference below computes exactly that without `DataParallel` or any collective: two
//! networks, each taking its shard's gradient through `train_step_reduced`, averaged by hand.

use std::sync::{Arc, Barrier, Mutex};

use trainer_cuda::data::synthetic_batch;
use trainer_cuda::dist::{Collective, DataParallel};
use trainer_cuda::nn::{
    build_network, Backend, DeviceKind, ModelKind, Network, NnError, OptimizerKind, Snapshot,
};

const INPUT: (usize, usize, usize) = (1, 8, 8);
const CLASSES: usize = 4;
const BATCH: usize = 16; // global; 8 per rank
const STEPS: usize = 6;

fn net() -> Box<dyn Network> {
    let opt = OptimizerKind::Sgd {
        nesterov: false,
        weight_decay: 0.0,
    };
    build_network(
        ModelKind::MnistCnn,
        opt,
        DeviceKind::Cpu(Backend::Fast),
        5,
        INPUT,
        CLASSES,
    )
    .unwrap()
}

/// Two "ranks" in one process: sums go through a shared slot per rank and a barrier, added in
/// rank order (as a 2-process MPI_Allreduce adds its two operands).
struct Pair {
    rank: usize,
    slots: Arc<Mutex<[Vec<f64>; 2]>>,
    barrier: Arc<Barrier>,
}

impl Pair {
    fn sum(&self, values: &mut [f64]) {
        self.slots.lock().unwrap()[self.rank] = values.to_vec();
        self.barrier.wait();
        {
            let slots = self.slots.lock().unwrap();
            for (i, v) in values.iter_mut().enumerate() {
                *v = slots[0][i] + slots[1][i];
            }
        }
        self.barrier.wait();
    }
}

impl Collective for Pair {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        2
    }
    fn sum_f32(&self, values: &mut [f32]) {
        let mut wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        self.sum(&mut wide);
        // f32 + f32 is exact in f64 and rounds once back: the f32 sum MPI would return.
        for (v, w) in values.iter_mut().zip(wide) {
            *v = w as f32;
        }
    }
    fn sum_f64(&self, values: &mut [f64]) {
        self.sum(values);
    }
    fn all_equal(&self, value: u64) -> bool {
        // Both 32-bit halves are exact in f64, and a + b == 2a exactly when b == a.
        let mine = [(value & 0xffff_ffff) as f64, (value >> 32) as f64];
        let mut both = mine;
        self.sum(&mut both);
        both[0] == 2.0 * mine[0] && both[1] == 2.0 * mine[1]
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Trains `STEPS` steps of the global batch as two threaded replicas; rank 0's snapshot and
/// losses.
fn two_replicas(images: &[f32], labels: &[u8]) -> (Snapshot, Vec<f32>) {
    let slots = Arc::new(Mutex::new([Vec::new(), Vec::new()]));
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|rank| {
            let world = Pair {
                rank,
                slots: Arc::clone(&slots),
                barrier: Arc::clone(&barrier),
            };
            let (images, labels) = (images.to_vec(), labels.to_vec());
            std::thread::spawn(move || {
                let mut net = net();
                let mut replica = DataParallel::new(net.as_mut(), &world);
                let losses: Vec<f32> = (0..STEPS)
                    .map(|k| {
                        replica
                            .train_step(&images, &labels, 0.05 * (k + 1) as f64, Some(0.9))
                            .unwrap()
                    })
                    .collect();
                // Evaluation checks that the replicas still agree.
                replica.evaluate(&images, &labels, 4).unwrap();
                (net.snapshot(), losses)
            })
        })
        .collect();
    let mut results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (snap_1, losses_1) = results.pop().unwrap();
    let (snap_0, losses_0) = results.pop().unwrap();
    assert_eq!(
        losses_0, losses_1,
        "every rank reports the all-reduced loss"
    );
    let params = |s: &Snapshot| -> Vec<(String, Vec<f32>)> {
        s.tensors
            .iter()
            .filter(|t| !t.name.contains("running"))
            .map(|t| (t.name.clone(), t.data.clone()))
            .collect()
    };
    assert_eq!(
        params(&snap_0),
        params(&snap_1),
        "replicas' weights agree bit for bit"
    );
    (snap_0, losses_0)
}

#[test]
fn batch_norm_is_per_replica_and_rank_0_keeps_its_running_statistics() {
    let (images, labels) = synthetic_batch(BATCH, INPUT.0 * INPUT.1 * INPUT.2, CLASSES);
    let per_image = INPUT.0 * INPUT.1 * INPUT.2;
    let half = BATCH / 2;
    let (replicated, losses) = two_replicas(&images, &labels);

    // Reference: net 0 trains on shard 0, net 1 on shard 1; inside net 0's gradient hook,
    // net 1 computes its gradient, and both update with the average.
    let (mut net_0, mut net_1) = (net(), net());
    let (shard_0, shard_1) = (&images[..half * per_image], &images[half * per_image..]);
    let (labels_0, labels_1) = (&labels[..half], &labels[half..]);
    let mut expected_losses = Vec::new();
    for k in 0..STEPS {
        let lr = 0.05 * (k + 1) as f64;
        let mut loss_1 = 0.0;
        let mut hook_0 = |g0: &mut [f32]| -> Result<(), NnError> {
            let mut average = Vec::new();
            let mut hook_1 = |g1: &mut [f32]| -> Result<(), NnError> {
                for (a, b) in g1.iter_mut().zip(g0.iter()) {
                    *a = (*b + *a) * 0.5;
                }
                average = g1.to_vec();
                Ok(())
            };
            loss_1 = net_1.train_step_reduced(shard_1, labels_1, lr, Some(0.9), &mut hook_1)?;
            g0.copy_from_slice(&average);
            Ok(())
        };
        let loss_0 = net_0
            .train_step_reduced(shard_0, labels_0, lr, Some(0.9), &mut hook_0)
            .unwrap();
        expected_losses.push(((f64::from(loss_0) + f64::from(loss_1)) / 2.0) as f32);
    }
    assert_eq!(
        replicated,
        net_0.snapshot(),
        "rank 0 = per-replica reference, running statistics included"
    );
    assert_eq!(losses, expected_losses);
    // Rank 1's running statistics are its own: they differ from rank 0's.
    let running = |s: &Snapshot| -> Vec<f32> {
        s.tensors
            .iter()
            .filter(|t| t.name.contains("running"))
            .flat_map(|t| t.data.clone())
            .collect()
    };
    assert!(!running(&net_0.snapshot()).is_empty());
    assert_ne!(running(&net_0.snapshot()), running(&net_1.snapshot()));

    // And per replica is not global-batch batch norm: one process on all 16 images differs.
    let mut global = net();
    for k in 0..STEPS {
        global
            .train_step(&images, &labels, 0.05 * (k + 1) as f64, Some(0.9))
            .unwrap();
    }
    assert_ne!(global.snapshot(), replicated);
}

#[test]
fn a_batch_that_does_not_divide_over_the_ranks_is_a_batch_error() {
    let slots = Arc::new(Mutex::new([Vec::new(), Vec::new()]));
    // A world of two whose partner never joins: the check must fail before any collective.
    let world = Pair {
        rank: 0,
        slots,
        barrier: Arc::new(Barrier::new(2)),
    };
    let mut net = net();
    let (images, labels) = synthetic_batch(15, INPUT.0 * INPUT.1 * INPUT.2, CLASSES);
    let err = DataParallel::new(net.as_mut(), &world)
        .train_step(&images, &labels, 0.1, None)
        .unwrap_err();
    assert!(matches!(err, NnError::Batch(_)), "{err}");
    assert!(
        err.to_string().contains("must divide by the 2 processes"),
        "{err}"
    );
}
