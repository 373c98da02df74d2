//! Whether a second thread may help: the image steps running now in this process against the
//! cores it may use. A step shares its work (a JPEG scan's decode, an encode's two halves) only
//! while another core is idle, so a worker with every core on its own job pays nothing for it,
//! and a one-core run (`taskset -c 0`, a CPU limit of 1) never shares.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Image steps in flight in this process.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// One CPU-heavy step in flight, counted while it lives.
pub(crate) struct Busy(());

impl Busy {
    /// Counts a step in.
    pub fn enter() -> Self {
        BUSY.fetch_add(1, Ordering::Relaxed);
        Self(())
    }

    /// Whether fewer steps are running than there are cores (this one included).
    pub fn core_free(&self) -> bool {
        static CORES: OnceLock<usize> = OnceLock::new();
        let cores =
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
        BUSY.load(Ordering::Relaxed) < cores
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::Relaxed);
    }
}
