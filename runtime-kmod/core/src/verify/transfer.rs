//! The transfer function: what each accepted instruction form does to the
//! abstract state, and the rules it must obey in that state. One arm per
//! decoded form ([`Op`]) in one exhaustive `match`, with no default arm: a
//! form added to the decoder does not compile until it is modelled here.
//!
//! Every arm states, for the registers it writes, the flags and memory:
//! - a written register gets a fresh name ([`Abs::define`]) unless the arm
//!   proves it equal to a known value (a copy, a reload, a repeated mask);
//! - flags become [`Flags::Unknown`] unless the arm is a modelled
//!   comparison; forms that leave the flags alone (mov, loads, stores,
//!   `lea`, `setcc`, `not`, `cqo`, push, pop) keep them;
//! - a store to the stack forgets every tracked slot it may overlap (the
//!   atomic forms reach only the data region, where nothing is tracked).
//!
//! Register roles are enforced here for every width: `r13`, `r14`, `r15`
//! and `rsp` are never a destination except `dec r13` and the stack forms,
//! and never a data source except `mov rdi, r15` (the context argument of
//! an import call). A register that may hold a host address is only
//! copied (64-bit `mov`) or used as the base of an access it is known to
//! reach.

use super::state::{Abs, CTX, Flags, Operand, UNKNOWN, Val, def};
use super::{Fact, FnCtx, Rule, VerifyError, err, scaled};
use crate::decode::{AluOp, Base, Cond, Count, Mem, Op, UnaryOp};

pub(super) const RSP: u8 = 4;
const RDX: u8 = 2;
const RAX: u8 = 0;
const RCX: u8 = 1;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R13: u8 = 13;
const R14: u8 = 14;
const R15: u8 = 15;
/// Callee-saved registers the code may use (the others are reserved).
pub(super) const CALLEE_SAVED: [u8; 3] = [3, 5, 12];
/// Registers a call may clobber (System V caller-saved).
const CALLER_SAVED: [u8; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];

/// The registers an import may read its arguments from (`rdi` is the
/// context, checked apart).
const IMPORT_ARGS: [u8; 5] = [RSI, RDX, RCX, R8, R9];

/// Context block offsets (`book/src/runtime/abi.md`).
const CTX_SLICE_PTR: i32 = 0x20;

fn reserved(r: u8) -> bool {
    matches!(r, RSP | R13 | R14 | R15)
}

/// A register used as data: it must not be reserved nor hold an address.
/// Reading a value the function received in a register makes that register
/// one of the function's inputs (callers must not pass an address in it).
fn data(fx: &FnCtx<'_, '_>, st: &Abs, at: u32, r: u8) -> Result<Val, VerifyError> {
    if reserved(r) {
        return Err(err(
            at,
            Rule::Register,
            "a reserved register (rsp, r13, r14, r15) used as data",
        ));
    }
    if st.is_ptr(r) {
        return Err(err(
            at,
            Rule::Pointer,
            "a register that may hold a host address used as data",
        ));
    }
    let v = st.reg(r);
    fx.note_read(v);
    Ok(v)
}

/// A destination register: never reserved.
fn dest(at: u32, r: u8) -> Result<(), VerifyError> {
    if reserved(r) {
        return Err(err(
            at,
            Rule::Register,
            "write to a reserved register (rsp, r13, r14, r15)",
        ));
    }
    Ok(())
}

/// Applies one instruction to `st`, enforcing every rule that applies to it.
///
/// Inlined into `process` (its only caller, at two sites): as a call, its
/// entry and exit (six saved registers, the result written through memory)
/// cost about 30 instructions per x86 instruction verified, some 5 % of a
/// verification; inlined, `process` grows by about 10 KB of code.
#[inline(always)]
pub(super) fn transfer(
    fx: &FnCtx<'_, '_>,
    st: &mut Abs,
    at: u32,
    end: u32,
    op: &Op,
) -> Result<(), VerifyError> {
    // While `r13` has been decremented but not tested, the only instruction
    // allowed is the test's `jz` (handled by the caller on the block's edges).
    if st.fuel_unchecked && !matches!(op, Op::Jcc { .. }) {
        return Err(err(
            at,
            Rule::Budget,
            "fuel decremented but not tested for zero before this instruction",
        ));
    }
    match *op {
        Op::Endbr64 => {}
        Op::Push { reg } => {
            if reserved(reg) {
                return Err(err(at, Rule::Register, "push of a reserved register"));
            }
            let (v, p) = (st.reg(reg), st.is_ptr(reg));
            let off = st.rsp_off.saturating_add(8);
            grow(fx, at, off)?;
            st.rsp_off = off;
            let narrow = st.is_narrow(reg);
            st.track_slot(off, v, p);
            if narrow {
                st.set_slot_narrow(off);
            }
            st.note_written(u64::from(off).saturating_sub(8), u64::from(off));
        }
        Op::Pop { reg } => {
            dest(at, reg)?;
            if st.rsp_off < 8 {
                return Err(err(at, Rule::Stack, "pop above the function's entry stack"));
            }
            let depth = st.rsp_off;
            if !st.was_written(u64::from(depth).saturating_sub(8), u64::from(depth)) {
                return Err(err(at, Rule::Memory, UNWRITTEN));
            }
            match st.slot(depth) {
                Some((v, p)) => {
                    let narrow = st.slot_narrow(depth);
                    st.set(reg, v, p);
                    st.set_narrow(reg, narrow);
                }
                None => {
                    let dirty = st.stack_dirty;
                    define(fx, st, at, reg, dirty);
                }
            }
            st.rsp_off = depth.saturating_sub(8);
            st.drop_below_rsp();
        }
        Op::Ret => {
            if st.rsp_off != 0 {
                return Err(err(at, Rule::Stack, "return with the stack pointer moved"));
            }
            for r in CALLEE_SAVED {
                if st.reg(r) != super::state::entry(r) {
                    return Err(err(
                        at,
                        Rule::Callee,
                        "return without restoring a callee-saved register (rbx, rbp, r12)",
                    ));
                }
            }
            if st.is_ptr(RAX) {
                return Err(err(at, Rule::Pointer, "return of a host address in rax"));
            }
            // The caller reads rax; whatever else may hold an address is
            // what the caller must treat as an address after the call.
            fx.note_read(st.reg(RAX));
        }
        Op::Cqo => {
            let lo = data(fx, st, at, RAX)?;
            let hi = define(fx, st, at, RDX, false);
            st.add(Fact::SignOf { hi, lo });
        }
        Op::Mov { size, dst, src } => {
            dest(at, dst)?;
            if src == R15 && size == 8 {
                // `mov rdi, r15` and the like: the context, an address.
                st.set(dst, CTX, true);
            } else if size == 8 {
                if reserved(src) {
                    data(fx, st, at, src)?;
                }
                let (v, p, narrow) = (st.reg(src), st.is_ptr(src), st.is_narrow(src));
                st.set(dst, v, p);
                st.set_narrow(dst, narrow);
            } else {
                let v = data(fx, st, at, src)?;
                let c = const_of(st, v);
                let n = define(fx, st, at, dst, false);
                // The decoder's only narrow `mov` is 32-bit: it zero-extends.
                st.set_narrow(dst, size == 4);
                if let Some(c) = c {
                    st.add(Fact::Const(n, c & 0xFFFF_FFFF));
                }
            }
        }
        Op::MovImm { size, dst, imm } => {
            dest(at, dst)?;
            let v = define(fx, st, at, dst, false);
            let value = if size == 4 {
                imm as u64 & 0xFFFF_FFFF
            } else {
                imm as u64
            };
            st.set_narrow(dst, value <= 0xFFFF_FFFF);
            st.add(Fact::Const(v, value));
        }
        Op::Extend {
            dst,
            src,
            from,
            signed,
        } => {
            dest(at, dst)?;
            let v = data(fx, st, at, src)?;
            let c = const_of(st, v).map(|c| extend(c, from, signed));
            let n = define(fx, st, at, dst, false);
            // Zero-extended from at most 4 bytes.
            st.set_narrow(dst, !signed);
            if let Some(c) = c {
                st.add(Fact::Const(n, c));
            }
        }
        // Bits 8–15 of a data register: a value below 256, never an
        // address (`data` refuses a register that may hold one).
        Op::ExtendHigh { dst, src } => {
            dest(at, dst)?;
            let v = data(fx, st, at, src)?;
            let c = const_of(st, v).map(|c| (c >> 8) & 0xFF);
            let n = define(fx, st, at, dst, false);
            st.set_narrow(dst, true);
            if let Some(c) = c {
                st.add(Fact::Const(n, c));
            }
        }
        Op::Load { dst, mem, signed } => {
            dest(at, dst)?;
            let access = check_mem(fx, st, at, end, &mem, Access::Read)?;
            match access {
                Reached::LenTable { m, w, s } if mem.size == 8 => {
                    let v = define(fx, st, at, dst, false);
                    st.add(Fact::LenOf { len: v, m, w, s });
                }
                Reached::SliceBase { m } if mem.size == 8 => {
                    let v = define(fx, st, at, dst, true);
                    st.add(Fact::BaseOf { base: v, m });
                }
                Reached::Stack { depth: Some(depth) } if mem.size == 8 => {
                    match st.read_slot(depth) {
                        Some((v, p)) => {
                            let narrow = st.slot_narrow(depth);
                            st.set(dst, v, p);
                            st.set_narrow(dst, narrow);
                        }
                        None => {
                            // Until the next store there, the slot holds this value.
                            let dirty = st.stack_dirty;
                            let v = define(fx, st, at, dst, dirty);
                            st.track_slot(depth, v, dirty);
                        }
                    }
                }
                Reached::Stack { .. } => {
                    // A narrow or indexed load: an address if any byte it
                    // may read may belong to one.
                    let (lo, hi) = stack_depths(fx, st, at, &mem)?;
                    let p = st.stack_may_hold_ptr(lo, hi);
                    define(fx, st, at, dst, p);
                }
                _ => {
                    define(fx, st, at, dst, false);
                }
            }
            if !signed && mem.size <= 4 {
                // `movzx r32, m8/m16` and `mov r32, m32` zero-extend.
                st.set_narrow(dst, true);
            }
        }
        Op::Store { src, mem } => {
            let spill = mem.base == Base::Reg(RSP) && mem.index.is_none() && mem.size == 8;
            let v = if spill && st.is_ptr(src) && !reserved(src) {
                // A spilled address: the slot remembers it is one.
                st.reg(src)
            } else {
                data(fx, st, at, src)?
            };
            check_mem(fx, st, at, end, &mem, Access::Write)?;
            let narrow = spill && st.is_narrow(src);
            store_to_stack(fx, st, at, &mem, Some((v, st.is_ptr(src))))?;
            if narrow
                && let Ok(depth) =
                    u32::try_from(i64::from(st.rsp_off).saturating_sub(i64::from(mem.disp)))
            {
                st.set_slot_narrow(depth);
            }
        }
        Op::StoreImm { mem, imm } => {
            check_mem(fx, st, at, end, &mem, Access::Write)?;
            if mem.base == Base::Reg(RSP) && mem.index.is_none() && mem.size == 8 {
                let v = def(at, 31);
                if !fx.first_run.get() {
                    st.kill(v); // see `define`
                }
                store_to_stack(fx, st, at, &mem, Some((v, false)))?;
                st.add(Fact::Const(v, imm as u64));
            } else {
                store_to_stack(fx, st, at, &mem, None)?;
            }
        }
        Op::Lea { dst, mem } => {
            dest(at, dst)?;
            // Only the address of read-only data: `lea r, [rip + disp]`.
            let Mem {
                base: Base::Rip,
                index: None,
                disp,
                ..
            } = mem
            else {
                return Err(err(
                    at,
                    Rule::Pointer,
                    "lea other than of read-only data (it would compute a host address)",
                ));
            };
            let addr = i64::from(end).saturating_add(i64::from(disp));
            let (lo, hi) = fx.rodata;
            if addr < i64::from(lo) || addr > i64::from(hi) {
                return Err(err(
                    at,
                    Rule::Memory,
                    "lea of an address outside read-only data",
                ));
            }
            let off = u32::try_from(addr.saturating_sub(i64::from(lo))).unwrap_or(u32::MAX);
            let v = define(fx, st, at, dst, true);
            st.add(Fact::Rodata { base: v, off });
        }
        Op::Alu {
            op: AluOp::Xor | AluOp::Sub,
            dst,
            src,
            ..
        } if dst == src => {
            // The zeroing idiom reads nothing: allowed on any register
            // that is not reserved, addresses included.
            dest(at, dst)?;
            let v = define(fx, st, at, dst, false);
            st.set_narrow(dst, true);
            st.add(Fact::Const(v, 0));
            st.flags = Flags::Unknown;
        }
        Op::Alu { op, size, dst, src } => {
            let a = data(fx, st, at, dst)?;
            let b = data(fx, st, at, src)?;
            match op {
                AluOp::Cmp => {
                    st.set_flags(if size == 8 {
                        Flags::Cmp {
                            a,
                            b: Operand::Val(b),
                        }
                    } else {
                        Flags::Unknown
                    });
                }
                AluOp::Test => {
                    st.set_flags(if size == 8 && dst == src {
                        Flags::Test(a)
                    } else {
                        Flags::Unknown
                    });
                }
                AluOp::Add | AluOp::Or | AluOp::And | AluOp::Sub | AluOp::Xor => {
                    let n = define(fx, st, at, dst, false);
                    st.set_narrow(dst, size == 4);
                    if op == AluOp::And
                        && let Some(c) = const_of(st, b)
                    {
                        let c = if size == 4 { c & 0xFFFF_FFFF } else { c };
                        if let Some(n1) = c.checked_add(1) {
                            st.add(Fact::BelowConst { idx: n, n: n1 });
                        }
                    }
                    st.flags = Flags::Unknown;
                }
            }
        }
        Op::AluImm { op, size, dst, imm } => {
            if dst == RSP {
                return stack_adjust(fx, st, at, op, size, imm);
            }
            let a = data(fx, st, at, dst)?;
            match op {
                AluOp::Cmp => {
                    st.set_flags(if size == 8 {
                        Flags::Cmp {
                            a,
                            b: Operand::Imm(imm as u64),
                        }
                    } else {
                        Flags::Unknown
                    });
                }
                AluOp::And if (0..=7).contains(&imm) => {
                    // A masked slice handle: 0-7 whatever `a` was. Masking
                    // the same value again gives the same name, so a length
                    // and a base read through two masks of one handle are
                    // known to belong to the same slice.
                    let known = if imm == 7 {
                        st.facts().find_map(|f| match f {
                            Fact::MaskOf { m, v } if v == a && a != UNKNOWN => Some(m),
                            _ => None,
                        })
                    } else {
                        None
                    };
                    match known {
                        Some(m) => {
                            st.set(dst, m, false);
                            st.set_narrow(dst, true);
                            st.add(Fact::Masked(m));
                        }
                        None => {
                            let m = define(fx, st, at, dst, false);
                            st.set_narrow(dst, true);
                            st.add(Fact::Masked(m));
                            if imm == 7 {
                                st.add(Fact::MaskOf { m, v: a });
                            }
                            st.add(Fact::BelowConst {
                                idx: m,
                                n: (imm as u64).saturating_add(1),
                            });
                        }
                    }
                    st.flags = Flags::Unknown;
                }
                AluOp::And if imm >= 0 => {
                    let n = define(fx, st, at, dst, false);
                    st.set_narrow(dst, true);
                    st.add(Fact::BelowConst {
                        idx: n,
                        n: (imm as u64).saturating_add(1),
                    });
                    st.flags = Flags::Unknown;
                }
                AluOp::Add | AluOp::Or | AluOp::And | AluOp::Sub | AluOp::Xor => {
                    let c = const_of(st, a).map(|c| match op {
                        AluOp::Add => c.wrapping_add(imm as u64),
                        AluOp::Sub => c.wrapping_sub(imm as u64),
                        AluOp::Or => c | imm as u64,
                        AluOp::And => c & imm as u64,
                        _ => c ^ imm as u64,
                    });
                    // A 64-bit `add r, k` (k >= 0) of a value whose upper
                    // 32 bits are zero, or that a fact bounds, cannot wrap:
                    // `n = a + k` exactly. The facts are looked at only
                    // where some index is scaled: only the step of a
                    // scaled index's counter needs them, and the scan cost
                    // every other add (leaving a true fact out is sound).
                    let add = op == AluOp::Add && size == 8;
                    let bounded = |st: &Abs, k| {
                        st.is_narrow(dst) || (st.any_scaled() && scaled::add_cannot_wrap(st, a, k))
                    };
                    let sum = match u32::try_from(imm) {
                        Ok(k) if add && bounded(st, k) => Some(k),
                        _ => None,
                    };
                    // `a = k·y` stepped with its counter: `n = k·t`.
                    let step = if add {
                        scaled::stepped(st, a, imm)
                    } else {
                        None
                    };
                    let n = define(fx, st, at, dst, false);
                    st.set_narrow(dst, size == 4);
                    if let Some(c) = c {
                        let c = if size == 4 { c & 0xFFFF_FFFF } else { c };
                        st.add(Fact::Const(n, c));
                    }
                    if let Some(k) = sum
                        && a != n
                    {
                        st.add(Fact::SumOf { t: n, e: a, k });
                    }
                    if let Some((t, k)) = step
                        && a != n
                        && t != n
                    {
                        st.add(Fact::Scaled { x: n, y: t, k });
                    }
                    st.flags = Flags::Unknown;
                }
                AluOp::Test => {
                    // The decoder has no `test r, imm`; refuse rather than guess.
                    return Err(err(at, Rule::Decode, "test with an immediate"));
                }
            }
        }
        Op::CmpMem { size, reg, mem } => {
            let a = data(fx, st, at, reg)?;
            let access = check_mem(fx, st, at, end, &mem, Access::Read)?;
            if let Reached::Stack { .. } = access {
                let (lo, hi) = stack_depths(fx, st, at, &mem)?;
                if st.stack_may_hold_ptr(lo, hi) {
                    return Err(err(
                        at,
                        Rule::Pointer,
                        "a compare with stack bytes that may hold a host address",
                    ));
                }
            }
            st.set_flags(match access {
                Reached::LenTable { m, w, s } if size == 8 => Flags::Cmp {
                    a,
                    b: Operand::Len { m, w, s },
                },
                _ => Flags::Unknown,
            });
        }
        Op::CmpMemImm { .. } => {
            // Only the removed stop-flag budget check had this form.
            return Err(err(
                at,
                Rule::Decode,
                "compare of memory with an immediate (no sandbox form uses it)",
            ));
        }
        Op::Imul { dst, src, .. } => {
            data(fx, st, at, dst)?;
            data(fx, st, at, src)?;
            define(fx, st, at, dst, false);
            st.flags = Flags::Unknown;
        }
        Op::ImulImm {
            size,
            dst,
            src,
            imm,
        } => {
            dest(at, dst)?;
            let y = data(fx, st, at, src)?;
            let k = if size == 8 {
                scaled::imul_factor(st, y, st.is_narrow(src), imm)
            } else {
                None
            };
            let x = define(fx, st, at, dst, false);
            if let Some(k) = k
                && y != x
            {
                st.add(Fact::Scaled { x, y, k });
            }
            st.flags = Flags::Unknown;
        }
        Op::Shift { dst, count, .. } => {
            data(fx, st, at, dst)?;
            if count == Count::Cl {
                data(fx, st, at, 1)?;
            }
            define(fx, st, at, dst, false);
            // A zero count leaves the flags alone, any other sets them:
            // either way nothing is known.
            st.flags = Flags::Unknown;
        }
        Op::Unary { op, reg, .. } => {
            data(fx, st, at, reg)?;
            define(fx, st, at, reg, false);
            if op == UnaryOp::Neg {
                st.flags = Flags::Unknown;
            }
        }
        Op::Div { signed, src } => {
            let d = data(fx, st, at, src)?;
            let lo = data(fx, st, at, RAX)?;
            let hi = data(fx, st, at, RDX)?;
            // `div`/`idiv` fault (#DE) on a zero divisor and on a quotient
            // that does not fit: for `div` a high half of zero makes it fit;
            // for `idiv` a high half that is the sign of the low half makes
            // the dividend a 64-bit value, which only -1 can overflow.
            if !st.has(Fact::NonZero(d)) {
                return Err(err(at, Rule::Division, "divisor not proved non-zero"));
            }
            if signed {
                if !st.has(Fact::NotMinusOne(d)) {
                    return Err(err(
                        at,
                        Rule::Division,
                        "idiv divisor not proved other than -1",
                    ));
                }
                if !st.has(Fact::SignOf { hi, lo }) {
                    return Err(err(
                        at,
                        Rule::Division,
                        "idiv with rdx not the sign of rax (cqo): the quotient could overflow",
                    ));
                }
            } else if const_of(st, hi) != Some(0) {
                return Err(err(
                    at,
                    Rule::Division,
                    "div with rdx not proved zero: the quotient could overflow",
                ));
            }
            define(fx, st, at, RAX, false);
            define(fx, st, at, RDX, false);
            st.flags = Flags::Unknown;
        }
        Op::MulWide { src, .. } => {
            // rdx:rax = rax * src, nothing faults. Both factors are read
            // as data (no reserved register, no address); rax and rdx are
            // never reserved, and get fresh names: every fact about their
            // old values (a checked divisor, `rdx = sign(rax)`, `rdx = 0`,
            // a bound) dies with those names, and neither is narrow.
            data(fx, st, at, src)?;
            data(fx, st, at, RAX)?;
            dest(at, RAX)?;
            dest(at, RDX)?;
            define(fx, st, at, RAX, false);
            define(fx, st, at, RDX, false);
            st.flags = Flags::Unknown;
        }
        Op::Dec { reg } => {
            if reg == R13 {
                st.fuel_unchecked = true;
                st.flags = Flags::Fuel;
            } else {
                data(fx, st, at, reg)?;
                define(fx, st, at, reg, false);
                st.flags = Flags::Unknown;
            }
        }
        Op::Setcc { dst, .. } => {
            // Writes the low byte only: the rest stays, so the value is new.
            data(fx, st, at, dst)?;
            define(fx, st, at, dst, false);
        }
        Op::Jcc { .. } | Op::Jmp { .. } => {
            // Edges and their refinements are the caller's: they end a block.
        }
        Op::LockXadd { reg, mem } => {
            // Reads and writes `reg` and the memory; writes the flags.
            dest(at, reg)?;
            data(fx, st, at, reg)?;
            atomic_mem(fx, st, at, end, &mem)?;
            define(fx, st, at, reg, false);
            st.flags = Flags::Unknown;
        }
        Op::Xchg { reg, mem } => {
            // Reads and writes `reg` and the memory; the flags stay.
            dest(at, reg)?;
            data(fx, st, at, reg)?;
            atomic_mem(fx, st, at, end, &mem)?;
            define(fx, st, at, reg, false);
        }
        Op::LockCmpxchg { reg, mem } => {
            // Reads rax, `reg` and the memory; writes rax (the old value, or
            // rax itself, either way a value of its own) and the flags.
            data(fx, st, at, reg)?;
            data(fx, st, at, RAX)?;
            atomic_mem(fx, st, at, end, &mem)?;
            define(fx, st, at, RAX, false);
            st.flags = Flags::Unknown;
        }
        Op::Call { .. } => {
            // What the callee may do with an address the caller leaves in
            // a register is covered at the callee: its entry state marks
            // every register some caller may leave one in (`pass_taint`).
            call_aligned(st, at)?;
            after_call(fx, st, at);
        }
        Op::CallRip { disp } => {
            let slot = i64::from(end).saturating_add(i64::from(disp));
            let (first, count) = fx.slots;
            let k = slot.saturating_sub(i64::from(first));
            if k < 0 || k % 8 != 0 || k / 8 >= i64::from(count) {
                return Err(err(
                    at,
                    Rule::Call,
                    "indirect call not through an import slot",
                ));
            }
            if st.reg(RDI) != CTX {
                return Err(err(
                    at,
                    Rule::Call,
                    "import called without the context in rdi",
                ));
            }
            // An import reads its arguments as integers, offsets or handles
            // and may show them to the world (`log_u64` prints one), so no
            // argument register may hold a host address. The object does
            // not say how many registers an import reads: all five are
            // checked, and kplc zeroes the ones a call does not use.
            if let Some(&r) = IMPORT_ARGS.iter().find(|&&r| st.is_ptr(r)) {
                return Err(err(
                    at,
                    Rule::Pointer,
                    match r {
                        RSI => "a register that may hold a host address (rsi) passed to an import",
                        RDX => "a register that may hold a host address (rdx) passed to an import",
                        RCX => "a register that may hold a host address (rcx) passed to an import",
                        R8 => "a register that may hold a host address (r8) passed to an import",
                        _ => "a register that may hold a host address (r9) passed to an import",
                    },
                ));
            }
            call_aligned(st, at)?;
            // Host code may leave anything in the caller-saved registers,
            // its own stack and kernel addresses included: they are treated
            // as addresses (copied, spilled or overwritten, never used as
            // data or returned). `rax` is the import's result: an integer by
            // the import table's contract.
            after_call(fx, st, at);
        }
    }
    Ok(())
}

/// The stack grows to `off` bytes below the entry `rsp`: within the
/// declared bound (which also counts the return address).
fn grow(fx: &FnCtx<'_, '_>, at: u32, off: u32) -> Result<(), VerifyError> {
    if u64::from(off).saturating_add(8) > u64::from(fx.bound) {
        return Err(err(
            at,
            Rule::Stack,
            "the stack grows past the function's declared stack bound",
        ));
    }
    Ok(())
}

/// `sub rsp, n` / `add rsp, n`: the only arithmetic on `rsp`.
fn stack_adjust(
    fx: &FnCtx<'_, '_>,
    st: &mut Abs,
    at: u32,
    op: AluOp,
    size: u8,
    imm: i64,
) -> Result<(), VerifyError> {
    let n = u32::try_from(imm).ok().filter(|n| n % 8 == 0);
    match (op, size, n) {
        (AluOp::Sub, 8, Some(n)) => {
            let off = st.rsp_off.saturating_add(n);
            grow(fx, at, off)?;
            st.rsp_off = off;
        }
        (AluOp::Add, 8, Some(n)) if n <= st.rsp_off => {
            st.rsp_off = st.rsp_off.saturating_sub(n);
            st.drop_below_rsp();
        }
        _ => {
            return Err(err(
                at,
                Rule::Stack,
                "the stack pointer moves other than by a 64-bit add/sub of a multiple of 8 within the frame",
            ));
        }
    }
    st.flags = Flags::Unknown;
    Ok(())
}

/// What every call requires: the stack aligned as the ABI says. (What the
/// callee may do with an address left in a register is decided at the
/// callee: its entry state marks every register a caller may leave one in,
/// `sandbox.md`, "Entry taint".)
fn call_aligned(st: &Abs, at: u32) -> Result<(), VerifyError> {
    if st.rsp_off % 16 != 8 {
        return Err(err(
            at,
            Rule::Stack,
            "call with the stack not 16-byte aligned",
        ));
    }
    Ok(())
}

/// The caller-saved registers a callee may leave a host address in: all
/// of them but `rax` (an import's host code may leave its own stack and
/// kernel addresses; a plugin function is verified after its callers, so
/// what it leaves is not known when they are).
const CALLEE_LEFTOVERS: u16 = {
    let mut bits = 0u16;
    let mut rest: &[u8] = &CALLER_SAVED;
    while let [r, tail @ ..] = rest {
        bits |= 1 << *r;
        rest = tail;
    }
    bits & !(1 << RAX)
};

/// Location `r` gets a fresh definition from the instruction at `at`
/// ([`Abs::define`]). On the first processing of the instruction's block
/// there is no previous value of that definition to kill: a name
/// `def(at, ·)` is made only by the transfer of the instruction at `at`
/// (and each transfer defines a location at most once), so no state holds
/// one before that block has run. Skipping the kill then changes nothing;
/// it was most of what a definition cost, since a function's name filter
/// fills up and lets most kills through to a full scan. Inlined: it is a
/// test and a call, and a call of its own for it cost more than the test.
#[inline(always)]
fn define(fx: &FnCtx<'_, '_>, st: &mut Abs, at: u32, r: u8, ptr: bool) -> Val {
    if fx.first_run.get() {
        st.define_new(at, r, ptr)
    } else {
        st.define(at, r, ptr)
    }
}

/// After a call: caller-saved registers are new values about which nothing
/// is known, and all but `rax` may hold an address. `rax` is the result,
/// never an address (checked at every plugin `ret`; an import's result is
/// an integer by the import table's contract). Callee-saved registers and
/// the caller's stack slots keep their values: every plugin function is
/// checked to restore the former at `ret` and to write only below its own
/// entry `rsp`; imports are host code that follows the ABI.
fn after_call(fx: &FnCtx<'_, '_>, st: &mut Abs, at: u32) {
    for r in CALLER_SAVED {
        define(fx, st, at, r, r != RAX && CALLEE_LEFTOVERS & (1 << r) != 0);
    }
    st.flags = Flags::Unknown;
}

fn const_of(st: &Abs, v: Val) -> Option<u64> {
    st.facts_first_about(v).find_map(|f| match f {
        Fact::Const(x, c) if x == v && v != UNKNOWN => Some(c),
        _ => None,
    })
}

fn extend(c: u64, from: u8, signed: bool) -> u64 {
    match (from, signed) {
        (1, false) => c & 0xFF,
        (2, false) => c & 0xFFFF,
        (4, false) => c & 0xFFFF_FFFF,
        // Sign extension: move the sign bit to bit 63, shift back arithmetically.
        (1, true) => ((c << 56) as i64 >> 56) as u64,
        (2, true) => ((c << 48) as i64 >> 48) as u64,
        _ => ((c << 32) as i64 >> 32) as u64,
    }
}

/// Forgets the slots a store to the stack may overwrite; an exact 8-byte
/// store of a named value tracks it.
fn store_to_stack(
    fx: &FnCtx<'_, '_>,
    st: &mut Abs,
    at: u32,
    mem: &Mem,
    v: Option<(Val, bool)>,
) -> Result<(), VerifyError> {
    if mem.base != Base::Reg(RSP) {
        return Ok(());
    }
    // The bytes `check_mem` proved the store stays within.
    let (lo, hi) = stack_depths(fx, st, at, mem)?;
    if mem.index.is_none() {
        st.note_written(lo, hi);
    }
    match (mem.index, v) {
        (None, Some((v, p))) if mem.size == 8 => {
            if let Ok(depth) = u32::try_from(hi) {
                st.track_slot(depth, v, p);
            }
        }
        _ => st.clobber_stack(lo, hi),
    }
    Ok(())
}

/// The depths below the entry `rsp`, `(lo, hi]`, of the bytes an
/// `[rsp + ...]` operand may touch: `hi` is its first byte's; an unbounded
/// extent (which `check_mem` rejects) covers the whole stack.
fn stack_depths(
    fx: &FnCtx<'_, '_>,
    st: &Abs,
    at: u32,
    mem: &Mem,
) -> Result<(u64, u64), VerifyError> {
    let hi = u64::try_from(i64::from(st.rsp_off).saturating_sub(i64::from(mem.disp)))
        .unwrap_or(u64::MAX);
    let ext = extent(fx, st, at, mem)?.unwrap_or(u64::MAX);
    Ok((hi.saturating_sub(ext), hi))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// What a checked memory operand reaches.
enum Reached {
    Other,
    /// A tracked-able stack location (`depth` when not indexed).
    Stack {
        depth: Option<u32>,
    },
    /// A slice length table entry.
    LenTable {
        m: Val,
        w: bool,
        s: u8,
    },
    /// A slice base pointer in the context block.
    SliceBase {
        m: Val,
    },
}

/// The bytes an access may touch beyond `disp`, with an index bounded by a
/// constant: `(n - 1) * scale + size`. `None` when the index is not bounded.
fn extent(fx: &FnCtx<'_, '_>, st: &Abs, at: u32, mem: &Mem) -> Result<Option<u64>, VerifyError> {
    let size = u64::from(mem.size);
    match mem.index {
        None => Ok(Some(size)),
        Some((ir, scale)) => {
            let i = data(fx, st, at, ir)?;
            let n = st
                .facts_first_about(i)
                .filter_map(|f| match f {
                    Fact::BelowConst { idx, n } if idx == i => Some(n),
                    _ => None,
                })
                .min();
            Ok(n.and_then(|n| {
                n.checked_sub(1)?
                    .checked_mul(u64::from(scale))?
                    .checked_add(size)
            }))
        }
    }
}

/// Checks that a memory operand reaches only memory the plugin may touch
/// this way; see `sandbox.md`, "Memory".
/// Why a read of the stack is refused when its bytes were not written.
const UNWRITTEN: &str =
    "read of stack bytes not written since they came above rsp (they may hold host data)";

fn check_mem(
    fx: &FnCtx<'_, '_>,
    st: &Abs,
    at: u32,
    end: u32,
    mem: &Mem,
    access: Access,
) -> Result<Reached, VerifyError> {
    let write = access == Access::Write;
    let bad = |what| Err(err(at, Rule::Memory, what));
    let disp = i64::from(mem.disp);
    // `[lo, lo + extent)` must lie in `[0, limit)`.
    let within = |limit: u64| -> Result<bool, VerifyError> {
        let Some(ext) = extent(fx, st, at, mem)? else {
            return Ok(false);
        };
        let Ok(lo) = u64::try_from(disp) else {
            return Ok(false);
        };
        Ok(lo.checked_add(ext).is_some_and(|e| e <= limit))
    };
    match mem.base {
        Base::Rip => {
            if write || mem.index.is_some() {
                return bad("write or indexed access through rip");
            }
            let a = i64::from(end).saturating_add(disp);
            let (lo, hi) = fx.rodata;
            if a < i64::from(lo) || a.saturating_add(i64::from(mem.size)) > i64::from(hi) {
                return bad("rip-relative access outside read-only data");
            }
            Ok(Reached::Other)
        }
        Base::Reg(RSP) => {
            // `[rsp + disp (+ idx*scale)]` inside `[rsp, entry rsp)`: the
            // frame and the saved registers, never the return address and
            // never below `rsp` (an interrupt may overwrite that).
            if !within(u64::from(st.rsp_off))? {
                return bad("stack access outside the frame");
            }
            if !write {
                let (lo, hi) = stack_depths(fx, st, at, mem)?;
                if !st.was_written(lo, hi) {
                    return bad(UNWRITTEN);
                }
            }
            let depth = match mem.index {
                None => u32::try_from(i64::from(st.rsp_off).saturating_sub(disp)).ok(),
                Some(_) => None,
            };
            Ok(Reached::Stack { depth })
        }
        Base::Reg(R14) => {
            if !within(u64::from(fx.data_size))? {
                return bad("data access outside the plugin's statics");
            }
            Ok(Reached::Other)
        }
        Base::Reg(R15) => {
            // Only reads of a slice's length-table entry or base pointer,
            // through a masked handle: `[r15 + m*8 + T]`, 8 bytes.
            let Some((hr, 8)) = mem.index else {
                return bad("context block access other than the slice tables");
            };
            let m = data(fx, st, at, hr)?;
            let masked = m != UNKNOWN && st.has(Fact::Masked(m));
            if write || mem.size != 8 || !masked {
                return bad(
                    "context block access other than reading a slice table entry through a masked handle",
                );
            }
            if mem.disp == CTX_SLICE_PTR {
                return Ok(Reached::SliceBase { m });
            }
            match len_table(mem.disp) {
                Some((w, s)) => Ok(Reached::LenTable { m, w, s }),
                None => bad("context block access other than the slice tables"),
            }
        }
        Base::Reg(b) => {
            if reserved(b) {
                return bad("access through a reserved register");
            }
            let v = st.reg(b);
            if v == UNKNOWN || !st.is_ptr(b) {
                return bad("access through a register not known to point into plugin memory");
            }
            // Both facts that make `v` a base have it first.
            for f in st.facts_first_about(v) {
                match f {
                    Fact::Rodata { base, off } if base == v => {
                        let avail = fx.rodata.1.saturating_sub(fx.rodata.0).saturating_sub(off);
                        if write || !within(u64::from(avail))? {
                            return bad("access outside read-only data");
                        }
                        return Ok(Reached::Other);
                    }
                    Fact::BaseOf { base, m } if base == v => {
                        let Some((ir, scale)) = mem.index else {
                            return bad("slice access without an index");
                        };
                        if scale != mem.size {
                            return bad("slice access not by whole elements");
                        }
                        let i = data(fx, st, at, ir)?;
                        let proved = mem.disp == 0
                            && st.facts_first_about(i).any(|g| {
                                matches!(g, Fact::BelowLen { idx, m: gm, w, s }
                                    if idx == i && gm == m && s == scale && (w || !write))
                            });
                        // Looked up only where the direct proof fails, so
                        // plain accesses cost no more to verify.
                        if !proved
                            && !below_len_by_sum(st, i, m, scale, mem.disp, write)
                            && !below_len_by_const(st, i, m, scale, mem.disp, write)
                            && !scaled::below_len_by_scaled(st, i, m, scale, mem.disp, write)
                        {
                            if mem.disp != 0 {
                                return bad(
                                    "slice access at a displacement no checked index plus offset covers",
                                );
                            }
                            return bad(if write {
                                "slice index not proved below the slice's writable length"
                            } else {
                                "slice index not proved below the slice length"
                            });
                        }
                        return Ok(Reached::Other);
                    }
                    _ => {}
                }
            }
            bad("access through a register not known to point into plugin memory")
        }
    }
}

/// The memory operand of an atomic form (`lock xadd`, `lock cmpxchg`,
/// `xchg`): only the plugin's data region, `[r14 + disp (+ idx*scale)]`,
/// under the rule of a plain store there, and naturally aligned. The data
/// base is at least 8-byte aligned (`abi.md`), so `disp` a multiple of the
/// size and a scale of at least the size keep every address aligned: a
/// locked access split across cache lines would stall every CPU, and where
/// split-lock detection is on it faults in the kernel.
fn atomic_mem(
    fx: &FnCtx<'_, '_>,
    st: &Abs,
    at: u32,
    end: u32,
    mem: &Mem,
) -> Result<(), VerifyError> {
    if mem.base != Base::Reg(R14) {
        return Err(err(
            at,
            Rule::Memory,
            "atomic access outside the plugin's statics",
        ));
    }
    let size = i64::from(mem.size);
    let aligned = i64::from(mem.disp).checked_rem_euclid(size) == Some(0)
        && mem.index.is_none_or(|(_, scale)| i64::from(scale) >= size);
    if !aligned {
        return Err(err(at, Rule::Memory, "atomic access not naturally aligned"));
    }
    check_mem(fx, st, at, end, mem, Access::Write)?;
    Ok(())
}

/// Whether `[base + i*s + disp]` (`s` bytes; `base = slice_ptr[m]`) lies
/// inside the slice because some `t == i + k` (no wrap) is below its
/// length (table `s`, writable if `write`) and `0 <= disp <= k*s`: the
/// access's bytes end by `(i + k)*s + s = (t + 1)*s <= len*s`.
fn below_len_by_sum(st: &Abs, i: Val, m: Val, s: u8, disp: i32, write: bool) -> bool {
    let Ok(disp) = u64::try_from(disp) else {
        return false;
    };
    st.facts().any(|f| match f {
        Fact::SumOf { t, e, k } if e == i => {
            u64::from(k).saturating_mul(u64::from(s)) >= disp
                && st.facts_first_about(t).any(|g| {
                    matches!(g, Fact::BelowLen { idx, m: gm, w, s: gs }
                        if idx == t && gm == m && gs == s && (w || !write))
                })
        }
        _ => false,
    })
}

/// Whether `[base + i*s + disp]` (`s` bytes; `base = slice_ptr[m]`) lies
/// inside the slice because `i` is a constant `c` and the slice's length
/// (table `s`, writable if `write`) is at least `n`, with `0 <= disp` and
/// `c*s + disp + s <= n*s`: the access's bytes end by `n*s <= len*s`. The
/// sum is computed without wrapping (a product that does not fit proves
/// nothing).
fn below_len_by_const(st: &Abs, i: Val, m: Val, s: u8, disp: i32, write: bool) -> bool {
    let (Some(c), Ok(disp)) = (const_of(st, i), u64::try_from(disp)) else {
        return false;
    };
    let s64 = u64::from(s);
    let Some(end) = c
        .checked_mul(s64)
        .and_then(|x| x.checked_add(disp))
        .and_then(|x| x.checked_add(s64))
    else {
        return false;
    };
    st.facts_first_about(m).any(|f| {
        matches!(f, Fact::LenAtLeast { m: fm, w, s: fs, n }
            if fm == m && fs == s && (w || !write)
                && u64::from(n).checked_mul(s64).is_some_and(|lim| end <= lim))
    })
}

/// `(writable, scale)` of a length table at context offset `disp`.
fn len_table(disp: i32) -> Option<(bool, u8)> {
    let (w, rest) = match disp {
        0x100..=0x1FF => (false, disp.wrapping_sub(0x100)),
        0x200..=0x2FF => (true, disp.wrapping_sub(0x200)),
        _ => return None,
    };
    let s = match rest {
        0x00 => 1,
        0x40 => 2,
        0x80 => 4,
        0xC0 => 8,
        _ => return None,
    };
    Some((w, s))
}

/// What the branch condition `cc` being `taken` (or not) teaches, from the
/// flags alone. Inlined into `process` (two sites, one per edge of a
/// branch): most branches learn little, and the call cost more than that.
#[inline(always)]
pub(super) fn refine(st: &mut Abs, cc: Cond, taken: bool) {
    // Whether this edge is the one where the condition holds.
    let holds = taken;
    let below = matches!((cc, holds), (Cond::B, true) | (Cond::Ae, false));
    let equal = matches!((cc, holds), (Cond::E, true) | (Cond::Ne, false));
    let unequal = matches!((cc, holds), (Cond::E, false) | (Cond::Ne, true));
    // `a >= c` holds on this edge for `cmp a, c` (unsigned): CF = 0 means
    // `a >= c`, CF = 0 and ZF = 0 means `a > c`, that is `a >= c + 1`.
    let at_least = |c: u64| match (cc, holds) {
        (Cond::Ae, true) | (Cond::B, false) => Some(c),
        (Cond::A, true) | (Cond::Be, false) => c.checked_add(1),
        _ => None,
    };
    if let Flags::Cmp {
        a,
        b: Operand::Imm(c),
    } = st.flags
        && let Some(n) = at_least(c).and_then(|n| u32::try_from(n).ok())
        && n > 0
    {
        // A slice length compared with a constant: its table entry is at
        // least `n` (the entry, not only this copy of it, so the fact is
        // about the masked handle `m`, which names the entry).
        st.learn_len_at_least(a, n);
    }
    match st.flags {
        Flags::Cmp { a, b } => match b {
            Operand::Len { m, w, s } if below => st.add(Fact::BelowLen { idx: a, m, w, s }),
            Operand::Imm(c) if below && c > 0 => st.add(Fact::BelowConst { idx: a, n: c }),
            Operand::Imm(c) if equal => st.add(Fact::Const(a, c)),
            Operand::Imm(0) if unequal => st.add(Fact::NonZero(a)),
            Operand::Imm(u64::MAX) if unequal => st.add(Fact::NotMinusOne(a)),
            // A `LenOf` about `v` has `v` first, so does a `Const`.
            Operand::Val(v) if below => st.learn_below(a, v),
            _ => {}
        },
        Flags::Test(v) if unequal => st.add(Fact::NonZero(v)),
        _ => {}
    }
    // `a <= b` on this edge: a length `k` times another's is at most `b`.
    let at_most = matches!(
        (cc, holds),
        (Cond::Be | Cond::B | Cond::E, true) | (Cond::A | Cond::Ae | Cond::Ne, false)
    );
    if at_most && let Flags::Cmp { a, b } = st.flags {
        scaled::learn_len_scaled(st, a, b);
    }
}
