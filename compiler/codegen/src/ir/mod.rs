//! The middle end's intermediate representation: per function, a control-flow
//! graph of basic blocks over an unbounded set of 64-bit virtual registers.
//!
//! Every scalar value lives in a virtual register in *canonical form*: an
//! integer of type T is held zero-extended (unsigned T) or sign-extended
//! (signed T) to 64 bits, a bool as 0 or 1. Arithmetic happens on 64 bits and
//! is followed by a [`Inst::Norm`] where the type is narrower, which gives
//! KPL's wrapping semantics. Memory is reached only through [`Addr`], whose
//! shapes are exactly the ones the sandbox allows (see
//! `book/src/runtime/abi.md`). Checks that can trap carry a trap-site index.

use std::fmt;

/// A virtual register.
pub type V = u32;
pub type BlockId = u32;
pub type SiteId = u32;

/// Width and signedness of a scalar in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scalar {
    pub size: u8,
    pub signed: bool,
}

impl Scalar {
    pub const BOOL: Scalar = Scalar {
        size: 1,
        signed: false,
    };
    pub const U64: Scalar = Scalar {
        size: 8,
        signed: false,
    };
    pub const I64: Scalar = Scalar {
        size: 8,
        signed: true,
    };

    pub fn of_int(t: kpl_lang::types::IntTy) -> Scalar {
        Scalar {
            size: (t.bits() / 8) as u8,
            signed: t.signed(),
        }
    }

    pub fn bits(self) -> u32 {
        u32::from(self.size) * 8
    }

    /// Brings a 64-bit value into this scalar's canonical form.
    pub fn normalize(self, v: i64) -> i64 {
        match (self.size, self.signed) {
            (1, false) => v as u8 as i64,
            (1, true) => v as i8 as i64,
            (2, false) => v as u16 as i64,
            (2, true) => v as i16 as i64,
            (4, false) => v as u32 as i64,
            (4, true) => v as i32 as i64,
            _ => v,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    /// Shift left; the amount is taken modulo 64 by the machine, so the
    /// lowering masks it to the KPL type's width first.
    Shl,
    /// Logical shift right.
    Shr,
    /// Arithmetic shift right.
    Sar,
    /// 32-bit forms: compute on the low 32 bits and zero-extend, which is
    /// the canonical `u32` result (no separate `Norm` needed).
    Add32,
    Sub32,
    Mul32,
    Shl32,
    /// The high 64 bits of the 128-bit product, unsigned (`mul`): what a
    /// 64-bit division by a constant multiplies its reciprocal with.
    MulHiU,
    /// The same, signed (`imul`).
    MulHiS,
}

/// Comparison conditions (signed: L/G, unsigned: B/A).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cc {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    B,
    Be,
    A,
    Ae,
}

impl Cc {
    pub fn invert(self) -> Cc {
        match self {
            Cc::Eq => Cc::Ne,
            Cc::Ne => Cc::Eq,
            Cc::Lt => Cc::Ge,
            Cc::Le => Cc::Gt,
            Cc::Gt => Cc::Le,
            Cc::Ge => Cc::Lt,
            Cc::B => Cc::Ae,
            Cc::Be => Cc::A,
            Cc::A => Cc::Be,
            Cc::Ae => Cc::B,
        }
    }

    /// The condition with its operands swapped: `a cc b` is `b cc.swap() a`.
    pub fn swap(self) -> Cc {
        match self {
            Cc::Eq => Cc::Eq,
            Cc::Ne => Cc::Ne,
            Cc::Lt => Cc::Gt,
            Cc::Le => Cc::Ge,
            Cc::Gt => Cc::Lt,
            Cc::Ge => Cc::Le,
            Cc::B => Cc::A,
            Cc::Be => Cc::Ae,
            Cc::A => Cc::B,
            Cc::Ae => Cc::Be,
        }
    }

    pub fn eval(self, a: i64, b: i64) -> bool {
        let (ua, ub) = (a as u64, b as u64);
        match self {
            Cc::Eq => a == b,
            Cc::Ne => a != b,
            Cc::Lt => a < b,
            Cc::Le => a <= b,
            Cc::Gt => a > b,
            Cc::Ge => a >= b,
            Cc::B => ua < ub,
            Cc::Be => ua <= ub,
            Cc::A => ua > ub,
            Cc::Ae => ua >= ub,
        }
    }
}

/// Where an addressed object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// The function's aggregate area, at this byte offset.
    Stack(u32),
    /// The plugin's writable data (statics), at this byte offset.
    Static(u32),
    /// The object's read-only data, at this byte offset.
    Rodata(u32),
    /// A slice; the register holds its handle.
    Slice(V),
    /// A slice whose base address is in the register (from `SliceBase`).
    SlicePtr(V),
}

/// How a dynamic index is checked before the access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `index < limit` (unsigned), else trap at the site.
    Below(u64, SiteId),
    /// `index < slice length` (unsigned), else trap at the site.
    SliceLen(SiteId),
    /// `index < the register` (unsigned), a `SliceLen` of the slice in
    /// the access's table and scale, else trap at the site.
    BelowLen(V, SiteId),
    /// Proven in range by the enclosing loop (bounds-check elimination).
    Proven,
    /// A byte offset combining several indexes, each already checked: the
    /// lowering turns it into a `Below` against the object's end, so the
    /// verifier sees a bound (it never reaches the emitter).
    Combined,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index {
    pub v: V,
    /// 1, 2, 4 or 8.
    pub scale: u8,
    pub check: Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub base: Base,
    pub index: Option<Index>,
    pub disp: u32,
}

/// The read-modify-write forms of [`Inst::Atomic`] (an atomic load is a
/// plain [`Inst::Load`]: see `book/src/reference/atomics.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicRmw {
    /// `lock xadd`.
    Add,
    /// `neg` then `lock xadd`.
    Sub,
    /// `xchg` (also `atomic_store`, whose old value is dropped).
    Swap,
    /// `lock cmpxchg`.
    Cas,
}

/// An argument to an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportArg {
    Value(V),
    /// A string literal in rodata: passed as (offset, length).
    Str {
        offset: u32,
        len: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inst {
    Const {
        dst: V,
        value: i64,
    },
    Copy {
        dst: V,
        src: V,
    },
    Bin {
        op: Op,
        dst: V,
        a: V,
        b: V,
    },
    /// `a op imm` (the optimiser's form for constant right operands).
    BinImm {
        op: Op,
        dst: V,
        a: V,
        imm: i32,
    },
    Neg {
        dst: V,
        a: V,
    },
    /// Bitwise not.
    Not {
        dst: V,
        a: V,
    },
    /// Truncate to `ty` and extend back to canonical form.
    Norm {
        dst: V,
        a: V,
        ty: Scalar,
    },
    /// `dst = (a cc b) ? 1 : 0`.
    Cmp {
        cc: Cc,
        dst: V,
        a: V,
        b: V,
    },
    /// `dst = (a cc imm) ? 1 : 0`.
    CmpImm {
        cc: Cc,
        dst: V,
        a: V,
        imm: i32,
    },
    /// Checked division or remainder on canonical 64-bit values. `min` is
    /// the signed type's minimum, for the `MIN / -1` overflow trap;
    /// `narrow`: unsigned operands of at most 32 bits (below 2^32), which a
    /// constant divisor's reciprocal can divide.
    Div {
        dst: V,
        a: V,
        b: V,
        signed: bool,
        rem: bool,
        min: Option<i64>,
        narrow: bool,
        div0: SiteId,
        overflow: SiteId,
    },
    Load {
        dst: V,
        addr: Addr,
        ty: Scalar,
    },
    Store {
        addr: Addr,
        src: V,
        ty: Scalar,
        /// A 1-byte store of bits 8–15 of `src` (`(x >> 8) as u8`) rather
        /// than its low byte: x86 reads them as AH–DH, with no shift. Set
        /// only by [`crate::opt::bytes::store_second_bytes`], after every
        /// other pass, so no pass reading a store's value sees it.
        second_byte: bool,
    },
    /// The length (in elements) of the slice whose handle is in `handle`.
    /// `writable` reads the writable-length table, which is 0 for a slice
    /// the host handed in read-only: a loop bounded by it proves writes.
    SliceLen {
        dst: V,
        handle: V,
        writable: bool,
        /// Element size: the length is read from that scale's table.
        size: u8,
    },
    /// The base address of the slice whose handle is in `handle`.
    SliceBase {
        dst: V,
        handle: V,
    },
    Call {
        dst: Option<V>,
        func: u32,
        args: Vec<V>,
    },
    CallImport {
        dst: Option<V>,
        slot: u32,
        args: Vec<ImportArg>,
    },
    /// An atomic read-modify-write of the scalar at `addr` (always a
    /// static): `dst` gets the old value in canonical form. `expected` is
    /// the comparand of `Cas` and `None` otherwise.
    Atomic {
        op: AtomicRmw,
        dst: V,
        addr: Addr,
        src: V,
        expected: Option<V>,
        ty: Scalar,
    },
    /// Decrement fuel; trap at the site when it runs out. Placed on every
    /// loop back-edge.
    Budget {
        site: SiteId,
    },
    /// Unconditional trap (`abort;`).
    Trap {
        site: SiteId,
    },
}

impl Inst {
    /// The register this instruction writes, if any.
    pub fn def(&self) -> Option<V> {
        match self {
            Inst::Const { dst, .. }
            | Inst::Copy { dst, .. }
            | Inst::Bin { dst, .. }
            | Inst::BinImm { dst, .. }
            | Inst::Neg { dst, .. }
            | Inst::Not { dst, .. }
            | Inst::Norm { dst, .. }
            | Inst::Cmp { dst, .. }
            | Inst::CmpImm { dst, .. }
            | Inst::Div { dst, .. }
            | Inst::Load { dst, .. }
            | Inst::SliceLen { dst, .. }
            | Inst::SliceBase { dst, .. }
            | Inst::Atomic { dst, .. } => Some(*dst),
            Inst::Call { dst, .. } | Inst::CallImport { dst, .. } => *dst,
            Inst::Store { .. } | Inst::Budget { .. } | Inst::Trap { .. } => None,
        }
    }

    /// Every register this instruction reads, in order.
    pub fn uses(&self, out: &mut Vec<V>) {
        self.each_use(|v| out.push(v));
    }

    /// Calls `f` with every register this instruction reads, in the order
    /// [`Inst::uses`] lists them (without a list to fill).
    pub fn each_use(&self, mut f: impl FnMut(V)) {
        fn addr_uses(a: &Addr, f: &mut impl FnMut(V)) {
            if let Base::Slice(v) | Base::SlicePtr(v) = a.base {
                f(v);
            }
            if let Some(i) = a.index {
                f(i.v);
                if let Check::BelowLen(len, _) = i.check {
                    f(len);
                }
            }
        }
        match self {
            Inst::Const { .. } | Inst::Budget { .. } | Inst::Trap { .. } => {}
            Inst::Copy { src, .. } => f(*src),
            Inst::Bin { a, b, .. } | Inst::Cmp { a, b, .. } | Inst::Div { a, b, .. } => {
                f(*a);
                f(*b);
            }
            Inst::BinImm { a, .. }
            | Inst::Neg { a, .. }
            | Inst::Not { a, .. }
            | Inst::Norm { a, .. }
            | Inst::CmpImm { a, .. } => f(*a),
            Inst::Load { addr, .. } => addr_uses(addr, &mut f),
            Inst::Store { addr, src, .. } => {
                addr_uses(addr, &mut f);
                f(*src);
            }
            Inst::Atomic {
                addr,
                src,
                expected,
                ..
            } => {
                addr_uses(addr, &mut f);
                f(*src);
                if let Some(e) = expected {
                    f(*e);
                }
            }
            Inst::SliceLen { handle, .. } | Inst::SliceBase { handle, .. } => f(*handle),
            Inst::Call { args, .. } => args.iter().for_each(|&v| f(v)),
            Inst::CallImport { args, .. } => {
                for a in args {
                    if let ImportArg::Value(v) = a {
                        f(*v);
                    }
                }
            }
        }
    }

    /// Rewrites every register this instruction reads.
    pub fn map_uses(&mut self, f: &mut impl FnMut(&mut V)) {
        fn addr(a: &mut Addr, f: &mut impl FnMut(&mut V)) {
            if let Base::Slice(v) | Base::SlicePtr(v) = &mut a.base {
                f(v);
            }
            if let Some(i) = &mut a.index {
                f(&mut i.v);
                if let Check::BelowLen(len, _) = &mut i.check {
                    f(len);
                }
            }
        }
        match self {
            Inst::Const { .. } | Inst::Budget { .. } | Inst::Trap { .. } => {}
            Inst::Copy { src, .. } => f(src),
            Inst::Bin { a, b, .. } | Inst::Cmp { a, b, .. } | Inst::Div { a, b, .. } => {
                f(a);
                f(b);
            }
            Inst::BinImm { a, .. }
            | Inst::Neg { a, .. }
            | Inst::Not { a, .. }
            | Inst::Norm { a, .. }
            | Inst::CmpImm { a, .. } => f(a),
            Inst::Load { addr: ad, .. } => addr(ad, f),
            Inst::Store { addr: ad, src, .. } => {
                addr(ad, f);
                f(src);
            }
            Inst::Atomic {
                addr: ad,
                src,
                expected,
                ..
            } => {
                addr(ad, f);
                f(src);
                if let Some(e) = expected {
                    f(e);
                }
            }
            Inst::SliceLen { handle, .. } | Inst::SliceBase { handle, .. } => f(handle),
            Inst::Call { args, .. } => args.iter_mut().for_each(f),
            Inst::CallImport { args, .. } => {
                for a in args {
                    if let ImportArg::Value(v) = a {
                        f(v);
                    }
                }
            }
        }
    }

    /// Rewrites the register this instruction writes.
    pub fn map_def(&mut self, f: &mut impl FnMut(&mut V)) {
        match self {
            Inst::Const { dst, .. }
            | Inst::Copy { dst, .. }
            | Inst::Bin { dst, .. }
            | Inst::BinImm { dst, .. }
            | Inst::Neg { dst, .. }
            | Inst::Not { dst, .. }
            | Inst::Norm { dst, .. }
            | Inst::Cmp { dst, .. }
            | Inst::CmpImm { dst, .. }
            | Inst::Div { dst, .. }
            | Inst::Load { dst, .. }
            | Inst::SliceLen { dst, .. }
            | Inst::SliceBase { dst, .. }
            | Inst::Atomic { dst, .. } => f(dst),
            Inst::Call { dst, .. } | Inst::CallImport { dst, .. } => {
                if let Some(d) = dst {
                    f(d)
                }
            }
            Inst::Store { .. } | Inst::Budget { .. } | Inst::Trap { .. } => {}
        }
    }

    /// The address this instruction accesses, if any.
    pub fn addr(&self) -> Option<&Addr> {
        match self {
            Inst::Load { addr, .. } | Inst::Store { addr, .. } | Inst::Atomic { addr, .. } => {
                Some(addr)
            }
            _ => None,
        }
    }

    pub fn addr_mut(&mut self) -> Option<&mut Addr> {
        match self {
            Inst::Load { addr, .. } | Inst::Store { addr, .. } | Inst::Atomic { addr, .. } => {
                Some(addr)
            }
            _ => None,
        }
    }

    /// Calls `f` on every trap site the instruction names (a division's
    /// two, a budget check's or a trap's, an access's check).
    pub fn sites_mut(&mut self, mut f: impl FnMut(&mut SiteId)) {
        match self {
            Inst::Div { div0, overflow, .. } => {
                f(div0);
                f(overflow);
            }
            Inst::Budget { site } | Inst::Trap { site } => f(site),
            _ => {
                if let Some(i) = self.addr_mut().and_then(|a| a.index.as_mut()) {
                    match &mut i.check {
                        Check::Below(_, s) | Check::SliceLen(s) | Check::BelowLen(_, s) => f(s),
                        Check::Proven | Check::Combined => {}
                    }
                }
            }
        }
    }

    /// Whether removing the instruction (when its result is unused) would
    /// change behaviour.
    pub fn has_effect(&self) -> bool {
        match self {
            Inst::Store { .. }
            | Inst::Atomic { .. }
            | Inst::Call { .. }
            | Inst::CallImport { .. }
            | Inst::Budget { .. }
            | Inst::Trap { .. }
            | Inst::Div { .. } => true,
            // A checked access may trap.
            Inst::Load { addr, .. } => {
                matches!(
                    addr.index,
                    Some(Index {
                        check: Check::Below(..) | Check::SliceLen(_) | Check::BelowLen(..),
                        ..
                    })
                )
            }
            _ => false,
        }
    }

    pub fn is_call(&self) -> bool {
        matches!(self, Inst::Call { .. } | Inst::CallImport { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Jump(BlockId),
    Branch {
        cond: V,
        then: BlockId,
        els: BlockId,
    },
    Ret(Option<V>),
}

impl Term {
    /// Calls `f` on each block control may go to next, to rewrite it.
    pub fn map_targets(&mut self, mut f: impl FnMut(&mut BlockId)) {
        match self {
            Term::Jump(t) => f(t),
            Term::Branch { then, els, .. } => {
                f(then);
                f(els);
            }
            Term::Ret(_) => {}
        }
    }

    /// The blocks control goes to next, in order (`then` before `els`), as
    /// a slice held in the value itself: the analyses ask for them for
    /// every block, many times per function, and a heap list each time
    /// was a large part of the compiler's time.
    pub fn successors(&self) -> Successors {
        match self {
            Term::Jump(b) => Successors {
                blocks: [*b, 0],
                len: 1,
            },
            Term::Branch { then, els, .. } => Successors {
                blocks: [*then, *els],
                len: 2,
            },
            Term::Ret(_) => Successors {
                blocks: [0, 0],
                len: 0,
            },
        }
    }
}

/// A terminator's successors ([`Term::successors`]): at most two blocks,
/// used as a slice or iterated by value.
#[derive(Clone, Copy, Debug)]
pub struct Successors {
    blocks: [BlockId; 2],
    len: u8,
}

impl std::ops::Deref for Successors {
    type Target = [BlockId];
    fn deref(&self) -> &[BlockId] {
        &self.blocks[..usize::from(self.len)]
    }
}

impl IntoIterator for Successors {
    type Item = BlockId;
    type IntoIter = std::iter::Take<std::array::IntoIter<BlockId, 2>>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().take(usize::from(self.len))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Each instruction with the source byte offset it comes from.
    pub insts: Vec<(Inst, u32)>,
    pub term: Term,
    pub term_pos: u32,
}

/// What a trap site checks: the object format's kinds, so the IR, the
/// object and the runtimes share one numbering.
pub use kpl_runtime_core::format::TrapKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    pub exported: bool,
    pub params: Vec<V>,
    pub returns_value: bool,
    pub blocks: Vec<Block>,
    pub n_vregs: u32,
    /// Bytes of the aggregate area (arrays and structs held in locals).
    pub aggregate_bytes: u32,
    /// Trap sites created while lowering this function, indexed from
    /// `first_site`.
    pub first_site: SiteId,
    /// Blocks in emission order (every block appears once).
    pub layout: Vec<BlockId>,
}

impl Func {
    /// How many times each virtual register is read (terminators included).
    pub fn use_counts(&self) -> Vec<u32> {
        let mut uses = vec![0u32; self.n_vregs as usize];
        for b in &self.blocks {
            for (inst, _) in &b.insts {
                inst.each_use(|u| uses[u as usize] += 1);
            }
            if let Term::Branch { cond: v, .. } | Term::Ret(Some(v)) = &b.term {
                uses[*v as usize] += 1;
            }
        }
        uses
    }
}

impl fmt::Display for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fn {}({:?}):", self.name, self.params)?;
        for (i, b) in self.blocks.iter().enumerate() {
            writeln!(f, "  b{i}:")?;
            for (inst, _) in &b.insts {
                writeln!(f, "    {inst:?}")?;
            }
            writeln!(f, "    {:?}", b.term)?;
        }
        Ok(())
    }
}

/// Functions built by hand for the passes' unit tests.
#[cfg(test)]
impl Func {
    /// An exported function of one parameter (register 0) with `blocks` in
    /// order, block 0 its entry, and `n_vregs` registers.
    pub fn for_test(blocks: Vec<Block>, n_vregs: u32, returns_value: bool) -> Func {
        let layout = (0..blocks.len() as BlockId).collect();
        Func {
            name: "t".into(),
            exported: true,
            params: vec![0],
            returns_value,
            blocks,
            n_vregs,
            aggregate_bytes: 0,
            first_site: 0,
            layout,
        }
    }
}

#[cfg(test)]
impl Block {
    /// The instructions `insts` (all from source offset 0), then `term`.
    pub fn for_test(insts: Vec<Inst>, term: Term) -> Block {
        Block {
            insts: insts.into_iter().map(|i| (i, 0)).collect(),
            term,
            term_pos: 0,
        }
    }
}
