//! The entry path into plugin code: what each export needs, worked out once
//! when the instance is loaded ([`ExportPlan`]), and the inline-assembly
//! entry ([`enter_plugin`]) that implements the runtime ABI's side of an
//! invocation (`book/src/runtime/abi.md`, "Exports").
//!
//! The entry is an `asm!` block inlined into the calling Rust function,
//! not a separate trampoline: the arguments go straight into `rdi`…`r9`
//! and the reserved registers straight into `r13`–`r15`, and the compiler
//! saves only the callee-saved registers the surrounding function does not
//! already save for itself. A call costs the plugin's own instructions,
//! two pushes and pops, one store (`saved_rsp`) and one indirect call; the
//! caller then stores the fuel left and reads `trap_site` once.

use kpl_runtime_core::format::{MAX_PARAMS, ScalarType, ValType};

use crate::{Arg, Ctx};

/// Why an argument does not match its parameter
/// ([`CallError::BadArgument`](crate::CallError::BadArgument)). One byte,
/// not the message itself: with it every [`CallError`](crate::CallError)
/// fits 12 bytes and a call's `Result<u64, CallError>` 16, which is
/// returned in two registers instead of through memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misfit {
    /// An integer not in canonical form for the parameter's type.
    OutOfRange,
    /// `call_scalars` for an export that takes a slice.
    SliceParameter,
    /// An integer for a slice parameter.
    IntForSlice,
    /// A slice for a scalar parameter.
    SliceForScalar,
    /// A read-only slice for a `[]mut` parameter.
    ReadOnlyForMut,
    /// A slice whose element size is not the parameter's.
    ElementSize,
    /// More slices than free slots (bound buffers hold the others).
    NoFreeSlot,
    /// A bound-buffer handle this instance does not hold.
    NotBound,
    /// A buffer bound read-only for a `[]mut` parameter.
    BoundReadOnly,
    /// A slice of [`MAX_SLICE_BYTES`] bytes or more.
    TooLong,
}

/// Slices handed to plugin code are shorter than this (4 GiB): every
/// length-table entry is then below 2^32, which a KPL `.len` (a `u32`)
/// needs and the verifier relies on (`book/src/runtime/sandbox.md`,
/// section 7).
pub const MAX_SLICE_BYTES: usize = 1 << 32;

impl Misfit {
    /// The message.
    pub fn as_str(self) -> &'static str {
        match self {
            Misfit::OutOfRange => "value out of range of the parameter's type",
            Misfit::SliceParameter => "a slice parameter (use `call`)",
            Misfit::IntForSlice => "an integer for a slice",
            Misfit::SliceForScalar => "a slice for a scalar parameter",
            Misfit::ReadOnlyForMut => "a read-only slice for a `[]mut` parameter",
            Misfit::ElementSize => "element size differs from the parameter's",
            Misfit::NoFreeSlot => "no free slice slot (8 in all, bound slices included)",
            Misfit::NotBound => "a slice not bound to this instance (or unbound)",
            Misfit::BoundReadOnly => "a buffer bound read-only for a `[]mut` parameter",
            Misfit::TooLong => "a slice of 4 GiB or more",
        }
    }
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to check one scalar argument: it is in canonical form for its type
/// exactly when `v - min` (wrapping) is at most `span`, with `min` the
/// type's least value in canonical form and `span` the number of values
/// minus one. One subtraction and one comparison, whatever the type.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ScalarCheck {
    min: u64,
    span: u64,
}

impl ScalarCheck {
    pub(crate) fn new(t: ScalarType) -> ScalarCheck {
        let (bits, signed) = match t {
            ScalarType::Bool => (1, false),
            ScalarType::U8 => (8, false),
            ScalarType::U16 => (16, false),
            ScalarType::U32 => (32, false),
            ScalarType::U64 => (64, false),
            ScalarType::I8 => (8, true),
            ScalarType::I16 => (16, true),
            ScalarType::I32 => (32, true),
            ScalarType::I64 => (64, true),
        };
        let span = u64::MAX >> (64 - bits);
        // A signed type's least value, sign-extended: -2^(bits-1).
        let min = if signed { !(span >> 1) } else { 0 };
        ScalarCheck { min, span }
    }

    /// Whether `v` is the canonical 64-bit form of a value of the type.
    #[inline]
    pub(crate) fn accepts(self, v: u64) -> bool {
        v.wrapping_sub(self.min) <= self.span
    }
}

/// Instance ids are below this, so that [`scalar_key`] keeps the id whole.
pub(crate) const MAX_INSTANCE_ID: u64 = 1 << 60;

/// The key of a scalar call of an export of instance `instance` (at least
/// 1, below [`MAX_INSTANCE_ID`]) with `n` arguments (at most six): the id
/// in the high bits, the count in the low three. Distinct for distinct
/// pairs and never 0.
#[inline(always)]
pub(crate) fn scalar_key(instance: u64, n: usize) -> u64 {
    debug_assert!(n <= MAX_PARAMS);
    (instance << 3) | n as u64
}

/// Everything a call of one export needs from its signature, computed when
/// the instance is loaded so that a call neither walks the signature nor
/// divides: the entry address (checked once to lie in the code part), which
/// parameters are slices (and writable), each scalar's range check and each
/// slice's element size as a mask.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExportPlan {
    /// Address of the export's first instruction.
    pub(crate) entry: *const u8,
    /// Number of parameters (at most six: the loader core refuses more).
    pub(crate) arity: u8,
    /// What `call_scalars` compares one key of its handle and argument
    /// count with ([`scalar_key`]): `scalar_key(instance, arity)` if every
    /// parameter is a scalar, else 0. One comparison checks the handle's
    /// instance, the count and "no slice parameter" together. No handle
    /// and count has key 0 (instance ids start at 1), and `call_scalars`
    /// computes a key only for counts of at most six, so two different
    /// (instance, count) pairs never share one.
    pub(crate) scalar_key: u64,
    /// `scalar_key(instance, arity)` whatever the parameters: what `call`
    /// compares its handle and argument count with, one comparison for
    /// both.
    pub(crate) call_key: u64,
    /// Bit `k`: parameter `k` is a slice.
    pub(crate) slices: u8,
    /// Bit `k`: parameter `k` is a `[]mut` slice.
    pub(crate) writable: u8,
    /// For scalar parameters: their range check.
    pub(crate) checks: [ScalarCheck; 6],
    /// For slice parameters: the element size minus one (0, 1, 3 or 7), so
    /// that whole elements are `bytes & !mask`.
    pub(crate) elem_mask: [u8; 6],
    /// For slice parameters: the slot each gets when no buffer is bound
    /// (the slices in parameter order take slots 0, 1, …), so that the
    /// usual call neither counts free slots nor searches for one.
    pub(crate) handle: [u8; 6],
    /// The slots `handle` fills, a bit each.
    pub(crate) handle_slots: u8,
}

impl ExportPlan {
    /// The plan for an export entered at `entry` with parameters `params`
    /// (at most six, as the loader core guarantees and `Instance::load`
    /// checks again: `arity` must be the real count, never a clamped one).
    /// `instance` is the id of the instance it belongs to (at least 1, below
    /// [`MAX_INSTANCE_ID`]).
    pub(crate) fn new(instance: u64, entry: *const u8, params: &[ValType]) -> ExportPlan {
        debug_assert!(params.len() <= MAX_PARAMS);
        debug_assert!((1..MAX_INSTANCE_ID).contains(&instance));
        let mut plan = ExportPlan {
            entry,
            arity: params.len().min(MAX_PARAMS) as u8,
            scalar_key: 0,
            call_key: scalar_key(instance, params.len().min(MAX_PARAMS)),
            slices: 0,
            writable: 0,
            checks: [ScalarCheck::default(); 6],
            elem_mask: [0; 6],
            handle: [0; 6],
            handle_slots: 0,
        };
        let mut next_slot = 0u8;
        for (k, p) in params.iter().take(6).enumerate() {
            match *p {
                ValType::Scalar(t) => plan.checks[k] = ScalarCheck::new(t),
                ValType::Slice { elem, writable } => {
                    plan.slices |= 1 << k;
                    plan.writable |= u8::from(writable) << k;
                    plan.elem_mask[k] = (elem.size() - 1) as u8;
                    plan.handle[k] = next_slot;
                    plan.handle_slots |= 1 << next_slot;
                    next_slot += 1;
                }
            }
        }
        if plan.slices == 0 {
            plan.scalar_key = scalar_key(instance, usize::from(plan.arity));
        }
        plan
    }

    /// Whether `arg` may be passed as parameter `k` (below the arity): an
    /// [`Arg::Int`] in canonical form for a scalar; for a slice, its element
    /// size and length (below [`MAX_SLICE_BYTES`]), and [`Arg::SliceMut`]
    /// if the parameter is `[]mut`. The one definition of an acceptable
    /// argument: every call path checks it before touching a slot, and
    /// only the error path asks [`misfit`](ExportPlan::misfit) why.
    #[inline(always)]
    pub(crate) fn fits(&self, k: usize, arg: &Arg<'_>) -> bool {
        let slice = self.slices & (1 << k) != 0;
        let elem_size = usize::from(self.elem_mask[k]) + 1;
        match arg {
            Arg::Int(v) => !slice && self.checks[k].accepts(*v),
            Arg::Slice {
                elem_size: e,
                bytes,
            } => {
                slice
                    && self.writable & (1 << k) == 0
                    && *e == elem_size
                    && bytes.len() < MAX_SLICE_BYTES
            }
            Arg::SliceMut {
                elem_size: e,
                bytes,
            } => slice && *e == elem_size && bytes.len() < MAX_SLICE_BYTES,
        }
    }

    /// Why `arg` does not [`fit`](ExportPlan::fits) parameter `k`.
    #[cold]
    pub(crate) fn misfit(&self, k: usize, arg: &Arg<'_>) -> Misfit {
        let slice = self.slices & (1 << k) != 0;
        match arg {
            Arg::Int(_) if slice => Misfit::IntForSlice,
            Arg::Int(_) => Misfit::OutOfRange,
            _ if !slice => Misfit::SliceForScalar,
            Arg::Slice { .. } if self.writable & (1 << k) != 0 => Misfit::ReadOnlyForMut,
            Arg::Slice { elem_size, .. } | Arg::SliceMut { elem_size, .. }
                if usize::from(self.elem_mask[k]) + 1 == *elem_size =>
            {
                Misfit::TooLong
            }
            _ => Misfit::ElementSize,
        }
    }
}

/// One entry `asm!` block, with the argument registers listed after the
/// entry address (`"rdi" = value`, …) loaded and every other argument
/// register left as the surrounding code had it: see [`enter_plugin`].
macro_rules! enter_asm {
    ($ctx:expr, $data:expr, $fuel:expr, $entry:expr $(, $reg:tt = $val:expr)*) => {{
        let result: u64;
        let fuel_left: u64;
        std::arch::asm!(
            "push rbx",
            "push rbp",
            // Where the call below pushes its return address.
            "lea r10, [rsp - 8]",
            "mov [r15], r10",
            // Through r11, with rax = 0: the verifier lets an export read
            // rax and its parameters' registers only (`verify/mod.rs`,
            // `exports_read_only_their_parameters`), so neither the entry
            // address nor any other host value reaches the plugin.
            "call r11",
            "pop rbp",
            "pop rbx",
            inout("r11") $entry => _,
            inout("rax") 0u64 => result,
            $(inout($reg) $val => _,)*
            out("r12") _,
            inout("r13") $fuel => fuel_left,
            // Inputs only: nothing on either path changes them (see
            // `enter_plugin`), so a loop of calls keeps them in place.
            in("r14") $data,
            in("r15") $ctx,
            // Also every argument register not loaded above: the plugin
            // and the host functions it calls may change any of them.
            clobber_abi("sysv64"),
        );
        (result, fuel_left)
    }};
}

/// Calls plugin code at `entry` with the ABI's registers — `r15` = `ctx`,
/// `r14` = `data`, `r13` = `fuel`, the first `arity` arguments in `rdi rsi
/// rdx rcx r8 r9` — and returns `rax` and what is left in `r13` (the fuel
/// left; 0 after a budget trap). The caller sets `ctx.trap_site` to
/// `u64::MAX` first and reads it afterwards to tell a return from a trap.
///
/// How each guarantee of the old out-of-line trampoline still holds:
///
/// - **Callee-saved registers.** Plugin code restores `rbx rbp r12` on a
///   normal return (the verifier's callee-saved rule), but a trap unwinds
///   past its epilogues, so nothing may rely on that. `rbx` and `rbp`
///   cannot be `asm!` operands (LLVM reserves them), so the block pushes
///   and pops them itself; `r12` is declared clobbered and `r13` (the fuel)
///   is an operand the block consumes, so the compiler saves and restores
///   whichever of them the surrounding code needs — on the normal path and
///   after a trap alike, since both land after the same `call`. `r14` and
///   `r15` are plain inputs, kept: verified code never writes them (the
///   register rule of `book/src/runtime/sandbox.md`), the unwind stub only
///   reads `r15`, and host functions preserve them (System V callee-saved),
///   so the caller may keep the statics and the context block there from
///   one call to the next.
///   `clobber_abi("sysv64")` covers the caller-saved registers (plugin code
///   and the host functions it calls may change any of them). The test
///   `trap_keeps_host_registers` (`compiler/tests/exec.rs`) sets every
///   callee-saved register, traps from deep inside a call that uses them,
///   and compares.
/// - **Only the parameters' registers are loaded.** The argument registers
///   past `arity` keep whatever the surrounding code left in them, not 0:
///   the verifier marks every register at an export's entry but its
///   parameters' and `rax` as a possible host value (`sandbox.md`, "Entry
///   taint"; `verify/mod.rs`, `ENTRY_TAINT`, `export_taint`), which can
///   then reach neither its result nor memory, however it is copied or
///   renamed. `rax` is still 0 (the verifier lets an export read it). `arity` must be the export's
///   declared number of parameters, which every caller has checked equals
///   its number of arguments; with the arguments' count a constant where
///   the call is inlined, only one of the seven blocks is compiled there.
/// - **Stack switch back on a trap.** `saved_rsp` gets the address the
///   `call`'s return address is pushed to, every call: a trap stub does
///   `mov rsp, [r15]; ret`, which pops that return address and resumes
///   right after the `call` with `rsp` exactly as on a normal return.
/// - **Alignment.** Without `nostack`, `rsp` is 16-byte aligned at the
///   block's start (and the compiler keeps nothing in the red zone); two
///   pushes keep it so, so the plugin is entered as a function is called.
/// - **Fuel.** `r13 = fuel`, which the caller makes at least 1.
/// - **The context block.** Only this block writes `saved_rsp`; plugin
///   code cannot reach it or any other control field (the verifier's
///   memory rule allows only slice bases and length tables from `r15`).
///
/// # Safety
///
/// `entry` must be the entry of an export of verified code mapped
/// read+execute (or code whose loader vouched for it, see
/// `Instance::load_unverified`) taking `arity` parameters, `ctx` the
/// context block of the same instance with its slice slots and `host`
/// field describing live memory, `data` that instance's statics, and
/// `fuel` at least 1.
#[inline(always)]
pub(crate) unsafe fn enter_plugin(
    ctx: *mut Ctx,
    data: *mut u8,
    fuel: u64,
    entry: *const u8,
    arity: usize,
    args: [u64; 6],
) -> (u64, u64) {
    debug_assert!(arity <= MAX_PARAMS);
    let [a, b, c, d, e, f] = args;
    // SAFETY: the caller's contract; each block restores every register it
    // changes that the compiler does not know about (see above).
    unsafe {
        match arity {
            0 => enter_asm!(ctx, data, fuel, entry),
            1 => enter_asm!(ctx, data, fuel, entry, "rdi" = a),
            2 => enter_asm!(ctx, data, fuel, entry, "rdi" = a, "rsi" = b),
            3 => enter_asm!(ctx, data, fuel, entry, "rdi" = a, "rsi" = b, "rdx" = c),
            4 => enter_asm!(
                ctx,
                data,
                fuel,
                entry,
                "rdi" = a,
                "rsi" = b,
                "rdx" = c,
                "rcx" = d
            ),
            5 => enter_asm!(
                ctx,
                data,
                fuel,
                entry,
                "rdi" = a,
                "rsi" = b,
                "rdx" = c,
                "rcx" = d,
                "r8" = e
            ),
            // Six: the loader core refuses more parameters.
            _ => enter_asm!(
                ctx,
                data,
                fuel,
                entry,
                "rdi" = a,
                "rsi" = b,
                "rdx" = c,
                "rcx" = d,
                "r8" = e,
                "r9" = f
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_checks_match_the_canonical_forms() {
        let cases: &[(ScalarType, u64, bool)] = &[
            (ScalarType::Bool, 0, true),
            (ScalarType::Bool, 1, true),
            (ScalarType::Bool, 2, false),
            (ScalarType::U8, 255, true),
            (ScalarType::U8, 256, false),
            (ScalarType::U16, 0xffff, true),
            (ScalarType::U16, 0x1_0000, false),
            (ScalarType::U32, u64::from(u32::MAX), true),
            (ScalarType::U32, 1 << 32, false),
            (ScalarType::U64, u64::MAX, true),
            (ScalarType::I8, (-128i64) as u64, true),
            (ScalarType::I8, 127, true),
            (ScalarType::I8, 128, false),
            (ScalarType::I8, 0xff, false),
            (ScalarType::I16, (-32768i64) as u64, true),
            (ScalarType::I16, 0x8000, false),
            (ScalarType::I32, (-1i64) as u64, true),
            (ScalarType::I32, 0xffff_ffff, false),
            (ScalarType::I64, 1 << 63, true),
            (ScalarType::I64, u64::MAX, true),
            (ScalarType::I32, 0x7fff_ffff, true),
            (ScalarType::I32, (-0x8000_0001i64) as u64, false),
        ];
        for &(t, v, ok) in cases {
            assert_eq!(ScalarCheck::new(t).accepts(v), ok, "{t:?} {v:#x}");
        }
    }

    #[test]
    fn plans_record_slices_and_element_masks() {
        let params = [
            ValType::Scalar(ScalarType::U8),
            ValType::Slice {
                elem: ScalarType::U32,
                writable: true,
            },
            ValType::Slice {
                elem: ScalarType::I16,
                writable: false,
            },
        ];
        let plan = ExportPlan::new(5, std::ptr::null(), &params);
        assert_eq!(plan.arity, 3);
        assert_eq!(plan.scalar_key, 0);
        assert_eq!(
            ExportPlan::new(5, std::ptr::null(), &params[..1]).scalar_key,
            scalar_key(5, 1)
        );
        assert_eq!(plan.slices, 0b110);
        assert_eq!(plan.writable, 0b010);
        assert_eq!(plan.elem_mask[..3], [0, 3, 1]);
        assert!(plan.checks[0].accepts(255) && !plan.checks[0].accepts(256));
    }

    /// `call_scalars` accepts a handle and count exactly when their key is
    /// the plan's: only the plan's own instance with its own arity, and
    /// never for an export with a slice parameter (key 0).
    #[test]
    fn scalar_keys_accept_only_their_instance_and_arity() {
        let u32p = ValType::Scalar(ScalarType::U32);
        let slice = ValType::Slice {
            elem: ScalarType::U8,
            writable: false,
        };
        let ids = [1, 2, 3, 7, 8, 9, 255, 256, MAX_INSTANCE_ID - 1];
        for &id in &ids {
            for arity in 0..=MAX_PARAMS {
                let scalars = ExportPlan::new(id, std::ptr::null(), &[u32p; 6][..arity]);
                let mut mixed = [u32p; 6];
                if arity > 0 {
                    mixed[arity - 1] = slice;
                }
                let mixed = ExportPlan::new(id, std::ptr::null(), &mixed[..arity]);
                for &other in &ids {
                    for n in 0..=MAX_PARAMS {
                        let key = scalar_key(other, n);
                        assert_ne!(key, 0);
                        let want = other == id && n == arity;
                        assert_eq!(scalars.scalar_key == key, want, "{id} {arity} {other} {n}");
                        assert_eq!(scalars.call_key == key, want, "{id} {arity} {other} {n}");
                        assert_eq!(mixed.call_key == key, want, "{id} {arity} {other} {n}");
                        if arity > 0 {
                            assert_ne!(mixed.scalar_key, key, "{id} {arity} {other} {n}");
                        }
                    }
                }
            }
        }
    }
}
