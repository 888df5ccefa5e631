//! The embedder's own host functions. An embedder declares them in a `.kpli`
//! file exactly like the kernel table (`std-imports/kernel.kpli`), so the
//! compiler type-checks calls and records each import's name and signature
//! hash in the object; the loader core links them by name and hash like the
//! kernel functions, and the plugin calls them through the same read-only
//! import slots (`call qword ptr [rip + slot]`, which the verifier checks
//! the same way whatever the module).
//!
//! An import slot holds a plain function address, and a closure has none,
//! so each slot `k` that an embedder function fills gets the address of
//! [`thunk::<k>`](thunk): a monomorphised `extern "sysv64"` function that
//! finds the closure for slot `k` in the instance's [`HostState`] and calls
//! it with a [`Caller`] (access to the invocation's slices and the plugin's
//! string literals) and the argument registers. A panic in the closure is
//! caught at the thunk (it must not unwind through plugin code), the plugin
//! gets 0 and runs on, and the panic resumes in the embedder when the
//! invocation returns.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use crate::{Ctx, HostState, ScalarType};

/// A host function as the runtime calls it: the caller and the five
/// argument registers after the context (`rsi rdx rcx r8 r9`; a `str`
/// argument takes two: offset and length in the plugin's read-only data;
/// a slice one: its handle). Returns the result register; the runtime puts
/// it into the canonical form of the declared return type.
pub type HostFn = Rc<dyn Fn(&mut Caller<'_>, [u64; 5]) -> u64>;

/// One embedder function with the identity it is linked by.
#[derive(Clone)]
pub struct HostFunc {
    pub module: String,
    pub name: String,
    /// FNV-1a-64 of the declaration's canonical signature (the hash the
    /// compiler records for a call to it).
    pub hash: u64,
    /// The declared return type (`None`: no value; the register is 0).
    pub ret: Option<ScalarType>,
    pub func: HostFn,
}

impl std::fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HostFunc({}::{} {:#x})",
            self.module, self.name, self.hash
        )
    }
}

/// What a host function may see of the invocation that called it.
pub struct Caller<'a> {
    ctx: &'a Ctx,
    state: &'a mut HostState,
}

impl Caller<'_> {
    /// The bytes of slice `handle` (as a plugin passes a `[]T` argument), or
    /// `None` if the handle is not one of this invocation's slices.
    pub fn slice(&self, handle: u64) -> Option<&[u8]> {
        let h = usize::try_from(handle).ok().filter(|&h| h < 8)?;
        let (ptr, len) = (self.ctx.slice_ptr[h], self.ctx.slice_bytes[h] as usize);
        if ptr == 0 {
            return Some(&[]);
        }
        // SAFETY: the host set slot `h` to `len` bytes at `ptr` that stay
        // alive and unaliased by Rust references for the whole invocation
        // (borrowed by the call, or owned by the instance as a bound slice);
        // the plugin is suspended in this call, and `&self` excludes
        // `slice_mut` for as long as the result lives.
        Some(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
    }

    /// The bytes of slice `handle` for writing, if the plugin was given it
    /// writable (a `[]mut T` argument).
    pub fn slice_mut(&mut self, handle: u64) -> Option<&mut [u8]> {
        let h = usize::try_from(handle).ok().filter(|&h| h < 8)?;
        if self.ctx.slice_writable[h] == 0 {
            return None;
        }
        let (ptr, len) = (self.ctx.slice_ptr[h], self.ctx.slice_bytes[h] as usize);
        if ptr == 0 {
            return Some(&mut []);
        }
        // SAFETY: as in `slice`; the slot is writable, so the host handed in
        // mutable memory, and `&mut self` makes this the only reference.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) })
    }

    /// The bytes of a `str` argument (offset and length into the plugin's
    /// read-only data), or `None` if the range is not inside it.
    pub fn str_bytes(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if end > self.state.rodata_len as u64 {
            return None;
        }
        // SAFETY: [offset, end) lies inside the plugin's read-only data,
        // mapped read-only for the life of the instance.
        Some(unsafe {
            std::slice::from_raw_parts(self.state.rodata.add(offset as usize), len as usize)
        })
    }
}

/// The embedder functions of one instance, indexed by import slot, and a
/// panic caught in one of them during the current invocation.
#[derive(Default)]
pub(crate) struct SlotFuncs {
    pub(crate) by_slot: Vec<Option<HostFunc>>,
    pub(crate) panic: Option<Box<dyn Any + Send>>,
}

/// The canonical 64-bit form of a host function's result for its declared
/// type, as plugin code expects a returned value.
fn canonical_ret(ret: Option<ScalarType>, v: u64) -> u64 {
    match ret {
        None => 0,
        Some(ScalarType::Bool) => u64::from(v != 0),
        Some(ScalarType::U8) => u64::from(v as u8),
        Some(ScalarType::U16) => u64::from(v as u16),
        Some(ScalarType::U32) => u64::from(v as u32),
        Some(ScalarType::I8) => v as i8 as i64 as u64,
        Some(ScalarType::I16) => v as i16 as i64 as u64,
        Some(ScalarType::I32) => v as i32 as i64 as u64,
        Some(ScalarType::U64 | ScalarType::I64) => v,
    }
}

/// The entry plugin code reaches through import slot `K`.
extern "sysv64" fn thunk<const K: usize>(
    ctx: *mut Ctx,
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
) -> u64 {
    // SAFETY: only plugin code calls this, through import slot `K` of an
    // instance whose context block is live for the invocation and whose
    // `host` field points at that instance's live HostState.
    let ctx_ptr = ctx;
    let (ctx, state) = unsafe { (&*ctx, crate::imports::host(ctx)) };
    if state.funcs.panic.is_some() {
        return 0;
    }
    let Some(Some(f)) = state.funcs.by_slot.get(K) else {
        return 0;
    };
    let (func, ret) = (Rc::clone(&f.func), f.ret);
    let mut caller = Caller { ctx, state };
    match catch_unwind(AssertUnwindSafe(|| func(&mut caller, [a, b, c, d, e]))) {
        Ok(v) => canonical_ret(ret, v),
        Err(payload) => {
            caller.state.funcs.panic = Some(payload);
            // The call's one outcome check (`Instance::enter`) looks at
            // `trap_site` only: a panic changes it too. A later trap stub
            // may overwrite it; the panic is resumed first either way.
            // SAFETY: `ctx_ptr` is the live context block (this function's
            // contract); `caller`, which borrowed it, is not used again.
            unsafe { (*ctx_ptr).trap_site = PANICKED };
            0
        }
    }
}

/// `trap_site` after a host function panicked during a call (no trap
/// site has this number: there are fewer than 2^32).
pub(crate) const PANICKED: u64 = u64::MAX - 1;

type Thunk = extern "sysv64" fn(*mut Ctx, u64, u64, u64, u64, u64) -> u64;

macro_rules! thunks {
    ($($k:literal)*) => {
        /// `THUNKS[k]` serves import slot `k`.
        const THUNKS: &[Thunk] = &[$(thunk::<$k>),*];
    };
}

thunks!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63
);

/// The most import slots an object may have for embedder functions to fill.
pub const MAX_HOST_FUNC_SLOT: usize = 64;

/// The address to put into import slot `slot` for an embedder function.
pub(crate) fn thunk_for(slot: usize) -> Option<*const u8> {
    THUNKS.get(slot).map(|t| *t as *const u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_put_in_canonical_form() {
        assert_eq!(canonical_ret(Some(ScalarType::U8), 0x1ff), 0xff);
        assert_eq!(canonical_ret(Some(ScalarType::I8), 0xff), u64::MAX);
        assert_eq!(canonical_ret(Some(ScalarType::Bool), 7), 1);
        assert_eq!(canonical_ret(None, 7), 0);
        assert_eq!(THUNKS.len(), MAX_HOST_FUNC_SLOT);
        assert_ne!(thunk_for(0), thunk_for(1));
    }
}
