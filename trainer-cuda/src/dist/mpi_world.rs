//! `MPI_COMM_WORLD` through rsmpi, on the system's MPI (Open MPI on Debian).

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

use super::Collective;

/// The MPI world: every process `mpirun` started. A plain launch (no `mpirun`) is a world of
/// one. MPI errors are fatal (MPI's default handler): a failed collective ends the job.
pub struct MpiWorld {
    // Finalises MPI when dropped; keep it alive as long as the world is used.
    _universe: Universe,
    world: SimpleCommunicator,
}

impl MpiWorld {
    /// Initialises MPI, or `None` when it was initialised before in this process.
    #[must_use]
    pub fn init() -> Option<Self> {
        let universe = mpi::initialize()?;
        let world = universe.world();
        Some(Self {
            _universe: universe,
            world,
        })
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        usize::try_from(self.world.rank()).unwrap_or(0)
    }

    fn size(&self) -> usize {
        usize::try_from(self.world.size()).unwrap_or(1)
    }

    fn sum_f32(&self, values: &mut [f32]) {
        if self.size() > 1 {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        }
    }

    fn sum_f64(&self, values: &mut [f64]) {
        if self.size() > 1 {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        }
    }

    fn all_equal(&self, value: u64) -> bool {
        let (mut lo, mut hi) = (0u64, 0u64);
        self.world
            .all_reduce_into(&value, &mut lo, SystemOperation::min());
        self.world
            .all_reduce_into(&value, &mut hi, SystemOperation::max());
        lo == hi
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
