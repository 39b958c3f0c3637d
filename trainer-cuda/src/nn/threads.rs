//! The CPU thread pool (rayon's global pool): never more threads than the machine runs.
//! Results do not depend on the thread count (the kernels reduce in a fixed order), so
//! capping it changes speed only.

/// The name of rayon's thread-count variable.
pub const THREADS_ENV: &str = "RAYON_NUM_THREADS";

/// When [`THREADS_ENV`] asks for more threads than the machine's hardware threads, builds
/// the global pool with the machine's count instead and returns `(asked, used)`; `None`
/// when it asks for no more (or is unset, or not a number: rayon's own rules apply), or
/// when the pool already exists. Call once at start-up, before any parallel work.
///
/// ```
/// // At start-up, as the `onecycle` binary does:
/// if let Some((asked, used)) = trainer_cuda::nn::cap_threads() {
///     eprintln!("warning: {asked} threads asked for, {used} used");
/// }
/// ```
pub fn cap_threads() -> Option<(usize, usize)> {
    let asked: usize = std::env::var(THREADS_ENV).ok()?.trim().parse().ok()?;
    let have = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if asked <= have {
        return None;
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(have)
        .build_global()
        .ok()?;
    Some((asked, have))
}
