//! Cost and memory measurements: SysTick instruction counting, stack painting,
//! flash and static RAM from the linker's symbols.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;

/// SysTick reload: the full 24 bits.
const RELOAD: u32 = 0x00FF_FFFF;
/// Instructions per SysTick tick on mps2-an386 under `-icount shift=0`
/// (1 instruction = 1 ns of virtual time; SysTick runs at the 25 MHz core clock).
pub const INSTRUCTIONS_PER_TICK: u64 = 40;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick on the core clock, wrapping every 2²⁴ ticks (counted by the interrupt).
pub fn start_ticks(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start_ticks`] (64-bit, wrap-safe).
pub fn ticks() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Relaxed);
        let left = SYST::get_current();
        let after = WRAPS.load(Ordering::Relaxed);
        if before == after {
            return u64::from(before) * u64::from(RELOAD + 1) + u64::from(RELOAD - left);
        }
    }
}

/// Instructions executed by `f` (to SysTick resolution: 40 instructions).
pub fn instructions<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let t0 = ticks();
    let r = f();
    let t1 = ticks();
    (r, (t1 - t0) * INSTRUCTIONS_PER_TICK)
}

const PAINT: u32 = 0xDEAD_BEEF;

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
    static __sidata: u32;
    static __sdata: u32;
    static __edata: u32;
}

fn addr_sheap() -> usize {
    core::ptr::addr_of!(__sheap) as usize
}
fn addr_stack_start() -> usize {
    core::ptr::addr_of!(_stack_start) as usize
}

/// Fills the unused stack (from the end of static RAM up to just below the current
/// stack pointer) with a pattern, so that [`peak_stack`] can find the deepest use.
pub fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = addr_sheap();
    let limit = sp.saturating_sub(64);
    while p < limit {
        // SAFETY: [__sheap, sp − 64) is RAM no one uses yet (below the live stack).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Deepest stack use so far, bytes: from the stack top down to the lowest
/// overwritten painted word.
pub fn peak_stack() -> usize {
    let mut p = addr_sheap();
    let top = addr_stack_start();
    // SAFETY: reads of RAM words between the end of statics and the stack top.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}

/// RAM taken by `.data`, `.bss` and `.uninit`, bytes.
pub fn static_ram() -> usize {
    addr_sheap() - 0x2000_0000
}

/// Flash used: everything up to the end of the `.data` initialisers, bytes.
pub fn flash_used() -> usize {
    let data_len = core::ptr::addr_of!(__edata) as usize - core::ptr::addr_of!(__sdata) as usize;
    core::ptr::addr_of!(__sidata) as usize + data_len
}
