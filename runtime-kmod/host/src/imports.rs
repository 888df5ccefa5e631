//! Host implementations of the `std-imports` kernel table for user space.
//! Each receives the context block first and validates every offset, length
//! and slice handle the plugin passes before touching memory.

use crate::{Ctx, HostState};

/// One host function with the identity it is linked by.
pub struct HostImport {
    pub module: &'static str,
    pub name: &'static str,
    /// Signature hash; must equal the plugin's (FNV-1a-64 of the canonical
    /// signature, see `book/src/reference/imports.md`).
    pub hash: u64,
    pub func: *const u8,
}

fn fnv1a64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The table the host links against, built from the same canonical
/// signatures the compiler hashes.
pub fn host_imports() -> Vec<HostImport> {
    let f = |name: &'static str, sig: &str, func: *const u8| HostImport {
        module: "kernel",
        name,
        hash: fnv1a64(&format!("kernel::{name}{sig}")),
        func,
    };
    vec![
        f("clock_ns", "()->u64", clock_ns as *const u8),
        f("log", "(str)->()", log as *const u8),
        f("log_u64", "(str,u64)->()", log_u64 as *const u8),
        f("log_i64", "(str,i64)->()", log_i64 as *const u8),
        f("random_u32", "()->u32", random_u32 as *const u8),
        f("cpu_id", "()->u32", cpu_id as *const u8),
        f("fill_random", "([]mut u8)->()", fill_random as *const u8),
    ]
}

/// # Safety
/// Called only by plugin code through the trampoline, with `ctx` pointing at
/// the live context block whose `host` field points at the live HostState.
pub(crate) unsafe fn host<'a>(ctx: *mut Ctx) -> &'a mut HostState {
    // SAFETY: see the function's contract.
    unsafe { &mut *((*ctx).host as *mut HostState) }
}

fn message(state: &HostState, offset: u64, len: u64) -> String {
    let end = offset.checked_add(len);
    match end {
        Some(end) if end <= state.rodata_len as u64 => {
            // SAFETY: [offset, end) is inside the plugin's rodata (checked).
            let bytes = unsafe {
                std::slice::from_raw_parts(state.rodata.add(offset as usize), len as usize)
            };
            String::from_utf8_lossy(bytes).into_owned()
        }
        _ => "<invalid string>".to_string(),
    }
}

fn emit(state: &mut HostState, line: String) {
    if state.log_budget == 0 {
        return;
    }
    state.log_budget -= 1;
    if !state.quiet {
        eprintln!("[plugin] {line}");
    }
    state.log.push(line);
}

extern "sysv64" fn clock_ns(_ctx: *mut Ctx) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

extern "sysv64" fn log(ctx: *mut Ctx, offset: u64, len: u64) -> u64 {
    // SAFETY: called by plugin code with a live context (see `host`).
    let state = unsafe { host(ctx) };
    let m = message(state, offset, len);
    emit(state, m);
    0
}

extern "sysv64" fn log_u64(ctx: *mut Ctx, offset: u64, len: u64, value: u64) -> u64 {
    // SAFETY: as above.
    let state = unsafe { host(ctx) };
    let m = message(state, offset, len);
    emit(state, format!("{m}: {value}"));
    0
}

extern "sysv64" fn log_i64(ctx: *mut Ctx, offset: u64, len: u64, value: u64) -> u64 {
    // SAFETY: as above.
    let state = unsafe { host(ctx) };
    let m = message(state, offset, len);
    emit(state, format!("{m}: {}", value as i64));
    0
}

fn next_random(state: &mut HostState) -> u64 {
    // xorshift64*: fast, deterministic per instance (tests can rely on it).
    let mut x = state.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.rng = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

extern "sysv64" fn random_u32(ctx: *mut Ctx) -> u64 {
    // SAFETY: as above.
    let state = unsafe { host(ctx) };
    next_random(state) >> 32
}

extern "sysv64" fn cpu_id(_ctx: *mut Ctx) -> u64 {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    u64::from(cpu.max(0) as u32)
}

extern "sysv64" fn fill_random(ctx: *mut Ctx, handle: u64) -> u64 {
    // SAFETY: the context block is live for the call.
    let c = unsafe { &*ctx };
    let h = (handle & 7) as usize;
    if c.slice_writable[h] == 0 {
        return 0;
    }
    let (ptr, len) = (c.slice_ptr[h] as *mut u8, c.slice_bytes[h] as usize);
    // SAFETY: as above.
    let state = unsafe { host(ctx) };
    for i in 0..len {
        let b = next_random(state) as u8;
        // SAFETY: the host handed this slice in as writable, `len` bytes long.
        unsafe { *ptr.add(i) = b };
    }
    0
}
