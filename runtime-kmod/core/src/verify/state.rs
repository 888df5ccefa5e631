//! The abstract state the verifier keeps at a program point, and its join.
//!
//! A state says what is known about the machine whenever execution reaches
//! that point, on every path (`book/src/runtime/sandbox.md`, "Soundness"):
//!
//! - **Values.** Every general register (and every tracked 8-byte stack
//!   slot) holds a *value name* ([`Val`]). A name denotes "the value most
//!   recently produced by its definition": `def(at, loc)` is what the
//!   instruction at code offset `at` last wrote to `loc`; `phi(b, loc)` is
//!   what `loc` held the last time control entered block `b` through a join;
//!   `entry(r)` is what `r` held when the function was called. Two locations
//!   with the same name hold the same value. The invariant that makes names
//!   sound around loops: *before* a definition re-runs, every location and
//!   fact still naming its previous value is killed ([`Abs::kill`]), and a
//!   join renames every `phi(b, ·)` that comes around a loop into `b`.
//!   [`UNKNOWN`] (0) is a value about which nothing is known and that equals
//!   nothing, not even another `UNKNOWN`.
//! - **Facts** about named values ([`Fact`]): a constant, a masked slice
//!   handle, a slice length or base, a length proved at least a constant,
//!   an index proved below a length or a constant, a divisor proved non-zero / not -1, `rdx` as the sign of
//!   `rax`, the address of read-only data. A fact mentions only names, so it
//!   stays true while its names do; it dies with them.
//! - **Flags** ([`Flags`]): which comparison the last flag-writing
//!   instruction made, on which values. A conditional branch learns facts
//!   only from this, never from the instruction bytes before it.
//! - **Addresses** (`ptr`): registers that may hold a host address (the
//!   context block, a slice base, read-only data). A may-property: joins
//!   take the union. Such a register may only be copied or used as a base.
//! - **Stack depth** `rsp_off` (bytes below the entry `rsp`, exact on every
//!   path), **fuel** (`fuel_unchecked`: `r13` was decremented and not yet
//!   tested; `paid`: a fuel check ran since the last loop header).
//!
//! The join of two states keeps only what holds on both (see [`Abs::join`]).

use super::{Fact, Rule};

mod join_parts;
mod learn;
mod room;

use join_parts::{intersect, join_slots, renamed_readings, slots_kept};
pub(crate) use room::JoinRoom;
use room::Pairs;

/// A value name; see the module docs. `0` is [`UNKNOWN`].
pub(super) type Val = u32;

/// A value nothing is known about.
pub(super) const UNKNOWN: Val = 0;
const KIND: u32 = 3 << 29;
const DEF: u32 = 1 << 29;
const PHI: u32 = 2 << 29;
const ENTRY: u32 = 3 << 29;
/// Bits of a name for the location (16 registers, then the slots).
const LOC_BITS: u32 = 5;
const LOC: u32 = (1 << LOC_BITS) - 1;
/// Bits of a name for the code offset or block number.
const FIELD: u32 = (1 << (29 - LOC_BITS)) - 1;

// Names are unique only if every location and every code offset (hence
// every block number) fits its field; a truncated one would make two
// values share a name.
const _: () = assert!(16 + SLOTS <= 1 << LOC_BITS);
const _: () = assert!(crate::format::MAX_CODE_LEN <= FIELD);

/// What the instruction at code offset `at` wrote to location `loc`.
pub(super) fn def(at: u32, loc: u8) -> Val {
    DEF | ((at & FIELD) << LOC_BITS) | (u32::from(loc) & LOC)
}

/// What location `loc` held when control last entered block `b` by a join.
pub(super) fn phi(b: u32, loc: u8) -> Val {
    PHI | ((b & FIELD) << LOC_BITS) | (u32::from(loc) & LOC)
}

/// What register `r` held at the function's entry.
pub(super) fn entry(r: u8) -> Val {
    ENTRY | u32::from(r & 15)
}

/// The register whose entry value `v` is, if it is one.
pub(super) fn entry_reg(v: Val) -> Option<u8> {
    if v & KIND == ENTRY && v != CTX {
        u8::try_from(v & 15).ok()
    } else {
        None
    }
}

/// `rsp`, `r13`, `r14` and `r15`, which joins never rename
/// ([`Abs::regs_fixed`]).
const FIXED_REGS: u16 = (1 << 4) | (1 << 13) | (1 << 14) | (1 << 15);

/// The value of `r15`: the context block's address. Never redefined.
pub(super) const CTX: Val = ENTRY | 15;

fn is_phi_of(v: Val, b: u32) -> bool {
    // The kind and block bits are every bit but the location's.
    v & !LOC == phi(b, 0)
}

/// Facts per state; when full, facts about values no location holds go
/// first, then the oldest about an index or a value, then the oldest about
/// a slice itself (forgetting is always sound).
pub(super) const MAX_FACTS: usize = 40;
/// Tracked 8-byte stack slots per state.
pub(super) const SLOTS: usize = 12;
/// Renamed facts one in-place join adds at most (more are forgotten,
/// which is always sound).
const EXTRA: usize = 40;

/// The second operand of the comparison the flags hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operand {
    /// A named value.
    Val(Val),
    /// A constant (sign-extended to 64 bits, compared as unsigned).
    Imm(u64),
    /// A slice length table entry: table (`w`, `s`) of masked handle `m`.
    Len { m: Val, w: bool, s: u8 },
}

/// What the flags register says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flags {
    /// Nothing known.
    Unknown,
    /// Set by a 64-bit `cmp a, b`.
    Cmp { a: Val, b: Operand },
    /// Set by a 64-bit `test v, v`.
    Test(Val),
    /// Set by `dec r13`: ZF means the fuel ran out.
    Fuel,
}

/// A tracked stack slot: the 8 bytes at `entry rsp - depth` hold a value
/// name, packed in one word (name, depth, and whether the value may be a
/// host address or has its upper 32 bits zero) so that joins compare and
/// copy slots as plain integers. An untracked slot is 0 (name [`UNKNOWN`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot(u64);

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slot")
            .field("depth", &self.depth())
            .field("val", &self.val())
            .field("ptr", &self.ptr())
            .field("narrow", &self.narrow())
            .finish()
    }
}

/// Depths a slot can record (a deeper store is never tracked, which is
/// always sound; the stack limit is far below).
const MAX_SLOT_DEPTH: u32 = (1 << 30) - 1;
const SLOT_PTR: u64 = 1 << 62;
const SLOT_NARROW: u64 = 1 << 63;

impl Slot {
    fn new(depth: u32, val: Val, ptr: bool, narrow: bool) -> Slot {
        let depth = u64::from(depth & MAX_SLOT_DEPTH) << 32;
        let ptr = if ptr { SLOT_PTR } else { 0 };
        let narrow = if narrow { SLOT_NARROW } else { 0 };
        Slot(u64::from(val) | depth | ptr | narrow)
    }

    /// The value name it holds ([`UNKNOWN`]: not tracked).
    fn val(self) -> Val {
        u32::try_from(self.0 & 0xFFFF_FFFF).unwrap_or(UNKNOWN)
    }

    fn depth(self) -> u32 {
        u32::try_from((self.0 >> 32) & u64::from(MAX_SLOT_DEPTH)).unwrap_or(0)
    }

    /// The value may be a host address (a spilled slice base).
    fn ptr(self) -> bool {
        self.0 & SLOT_PTR != 0
    }

    /// The value's upper 32 bits are zero (see [`Abs::narrow`]).
    fn narrow(self) -> bool {
        self.0 & SLOT_NARROW != 0
    }
}

const NO_SLOT: Slot = Slot(0);

/// The abstract state at one program point.
#[derive(Clone, Copy, Debug)]
pub struct Abs {
    pub(super) regs: [Val; 16],
    /// Bit `r`: register `r` may hold a host address.
    pub(super) ptr: u16,
    /// Bit `r`: the upper 32 bits of register `r` are zero, whatever name
    /// it holds (a property of the location's contents, set by 32-bit
    /// writes and zero-extending loads, copied by a 64-bit `mov`, kept by
    /// a spill and its reload, intersected at joins). It lets
    /// `add r, k` (64-bit, `k >= 0`) prove the sum does not wrap.
    pub(super) narrow: u16,
    pub(super) slots: [Slot; SLOTS],
    facts: [Rec; MAX_FACTS],
    pub(super) nfacts: u8,
    pub(super) flags: Flags,
    /// Bytes between the entry `rsp` and the current one.
    pub(super) rsp_off: u32,
    /// `r13` was decremented and the result not yet tested.
    pub(super) fuel_unchecked: bool,
    /// A fuel check ran since the last loop header on every path.
    pub(super) paid: bool,
    /// Some stack bytes no slot tracks may hold (part of) a host address:
    /// a load from an untracked stack location may then read one.
    pub(super) stack_dirty: bool,
    /// Stack bytes written since they last came above `rsp`, as depths
    /// `(lo, hi]` (empty when `lo >= hi`): only these may be read. Any
    /// other byte of the frame holds whatever was there before — host
    /// code's frames, an interrupt's saved registers, a callee's spills.
    pub(super) written: (u32, u32),
    /// Every name stored anywhere in the state is in this filter (it may
    /// hold more): most kills then cost nothing.
    names: NameSet,
    /// The [`fact_key`] of every fact in the table is in this filter (it
    /// may hold more): most lookups of an absent fact cost nothing.
    fact_keys: NameSet,
    /// The first name of every fact in the table is in this filter (it may
    /// hold more): [`Abs::facts_first_about`] a name that is in no fact's
    /// first place (most of the names a branch or an address asks about)
    /// then costs nothing instead of a scan of the table.
    firsts: NameSet,
    /// A bit per hash of the first name of every [`Fact::Scaled`] in the
    /// table (it may hold more; see [`scaled_bit`]): the relational rules,
    /// asked at every branch and add, then cost nothing where no index is
    /// scaled. One word, not a [`NameSet`]: states are copied and compared
    /// all the time, and few names are ever scaled.
    scaled: u64,
}

/// The bit of name `v` in [`Abs::scaled`].
fn scaled_bit(v: Val) -> u64 {
    1u64 << (v.wrapping_mul(0x9E37_79B1) >> 26)
}

/// What a fact is filed under in [`Abs::fact_keys`]: its names.
fn fact_key(f: &Rec) -> Val {
    let [x, y] = f.args();
    x ^ y.rotate_left(13)
}

/// A [`Fact`] as the state's table stores it: three plain integers, so
/// that comparing two facts (what joins and lookups do most) is three
/// integer compares rather than a match on two enums.
///
/// - A fact about one name `v` is `(v, tag, payload)`: `tag` (1–7) says
///   which fact, `payload` holds its constant, bound or offset.
/// - A fact about two names `x`, `y` is `(x, y, kind << 56 | payload)`,
///   `kind` 1–8, `payload` its flags and scale, its offset or its factor `k`.
/// - [`Fact::None`] is `(0, 0, 0)`.
///
/// Packing is one-to-one, so two records are equal exactly when their
/// facts are: every name but [`UNKNOWN`] is at least `1 << 29` (its kind
/// bits are set), so a tag (below 16) in the second place never reads as
/// a name, and a two-name fact's `kind` is never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rec {
    a: Val,
    b: Val,
    k: u64,
}

const T_CONST: Val = 1;
const T_MASKED: Val = 2;
const T_NONZERO: Val = 3;
const T_NOT_MINUS_ONE: Val = 4;
const T_BELOW_CONST: Val = 5;
const T_RODATA: Val = 6;
const T_LEN_AT_LEAST: Val = 7;
/// Tags below this are one-name facts' (no name is this small).
const TAGS: Val = 16;
const K_MASK_OF: u64 = 1 << 56;
const K_LEN_OF: u64 = 2 << 56;
const K_BASE_OF: u64 = 3 << 56;
const K_BELOW_LEN: u64 = 4 << 56;
const K_SUM_OF: u64 = 5 << 56;
const K_SIGN_OF: u64 = 6 << 56;
const K_SCALED: u64 = 7 << 56;
/// Payload: `k` (16 bits), then the big entry's table (9 bits at
/// [`LEN_SCALED_BIG`]), then the small entry's (at [`LEN_SCALED_SMALL`]).
const K_LEN_SCALED: u64 = 8 << 56;
const LEN_SCALED_BIG: u32 = 16;
const LEN_SCALED_SMALL: u32 = 25;
/// The factor of a [`Fact::Scaled`] or [`Fact::LenScaled`]: below 2^16.
pub(super) const MAX_SCALE: u32 = 0xFFFF;
const K_KIND: u64 = 0xFF << 56;

fn low32(k: u64) -> u32 {
    u32::try_from(k & 0xFFFF_FFFF).unwrap_or(0)
}

/// The bits of a packed fact's payload that hold `len_payload`.
const LEN_PAYLOAD: u64 = 0x1FF;

fn len_payload(w: bool, s: u8) -> u64 {
    (u64::from(w) << 8) | u64::from(s)
}

/// The table `(w, s)` in the low bits of `p` ([`len_payload`] undone).
fn len_table(p: u64) -> (bool, u8) {
    (p & (1 << 8) != 0, u8::try_from(p & 0xFF).unwrap_or(0))
}

/// The packed payload of a [`Fact::LenScaled`]: factor `k`, the big and
/// the small entry's tables (each a [`len_payload`]).
fn len_scaled_payload(k: u32, big: u64, small: u64) -> u64 {
    K_LEN_SCALED
        | u64::from(k & MAX_SCALE)
        | (big & LEN_PAYLOAD) << LEN_SCALED_BIG
        | (small & LEN_PAYLOAD) << LEN_SCALED_SMALL
}

/// The factor `k` of a packed [`Fact::Scaled`] or [`Fact::LenScaled`].
fn factor(k: u64) -> u32 {
    low32(k & u64::from(MAX_SCALE))
}

impl Rec {
    const NONE: Rec = Rec { a: 0, b: 0, k: 0 };

    #[inline(always)]
    pub(super) fn pack(f: Fact) -> Rec {
        let (a, b, k) = match f {
            Fact::None => (0, 0, 0),
            Fact::Const(v, c) => (v, T_CONST, c),
            Fact::Masked(v) => (v, T_MASKED, 0),
            Fact::NonZero(v) => (v, T_NONZERO, 0),
            Fact::NotMinusOne(v) => (v, T_NOT_MINUS_ONE, 0),
            Fact::BelowConst { idx, n } => (idx, T_BELOW_CONST, n),
            Fact::Rodata { base, off } => (base, T_RODATA, u64::from(off)),
            Fact::LenAtLeast { m, w, s, n } => {
                (m, T_LEN_AT_LEAST, len_payload(w, s) << 32 | u64::from(n))
            }
            Fact::MaskOf { m, v } => (m, v, K_MASK_OF),
            Fact::LenOf { len, m, w, s } => (len, m, K_LEN_OF | len_payload(w, s)),
            Fact::BaseOf { base, m } => (base, m, K_BASE_OF),
            Fact::BelowLen { idx, m, w, s } => (idx, m, K_BELOW_LEN | len_payload(w, s)),
            Fact::SumOf { t, e, k } => (t, e, K_SUM_OF | u64::from(k)),
            Fact::SignOf { hi, lo } => (hi, lo, K_SIGN_OF),
            Fact::Scaled { x, y, k } => (x, y, K_SCALED | u64::from(k & MAX_SCALE)),
            Fact::LenScaled {
                big,
                bw,
                bs,
                small,
                sw,
                ss,
                k,
            } => (
                big,
                small,
                len_scaled_payload(k, len_payload(bw, bs), len_payload(sw, ss)),
            ),
        };
        Rec { a, b, k }
    }

    #[inline]
    pub(super) fn unpack(self) -> Fact {
        let Rec { a, b, k } = self;
        let (w, s) = len_table(k);
        match b {
            T_CONST => return Fact::Const(a, k),
            T_MASKED => return Fact::Masked(a),
            T_NONZERO => return Fact::NonZero(a),
            T_NOT_MINUS_ONE => return Fact::NotMinusOne(a),
            T_BELOW_CONST => return Fact::BelowConst { idx: a, n: k },
            T_RODATA => {
                return Fact::Rodata {
                    base: a,
                    off: low32(k),
                };
            }
            T_LEN_AT_LEAST => {
                let (w, s) = len_table(k >> 32);
                return Fact::LenAtLeast {
                    m: a,
                    w,
                    s,
                    n: low32(k),
                };
            }
            _ => {}
        }
        match k & K_KIND {
            K_MASK_OF => Fact::MaskOf { m: a, v: b },
            K_LEN_OF => Fact::LenOf { len: a, m: b, w, s },
            K_BASE_OF => Fact::BaseOf { base: a, m: b },
            K_BELOW_LEN => Fact::BelowLen { idx: a, m: b, w, s },
            K_SUM_OF => Fact::SumOf {
                t: a,
                e: b,
                k: low32(k),
            },
            K_SIGN_OF => Fact::SignOf { hi: a, lo: b },
            K_SCALED => Fact::Scaled {
                x: a,
                y: b,
                k: factor(k),
            },
            K_LEN_SCALED => {
                let (bw, bs) = len_table(k >> LEN_SCALED_BIG);
                let (sw, ss) = len_table(k >> LEN_SCALED_SMALL);
                Fact::LenScaled {
                    big: a,
                    bw,
                    bs,
                    small: b,
                    sw,
                    ss,
                    k: factor(k),
                }
            }
            _ => Fact::None,
        }
    }

    /// A fact about one name (the second place holds its tag).
    fn unary(&self) -> bool {
        self.b != 0 && self.b < TAGS
    }

    /// The names the fact mentions (unused positions 0).
    fn args(&self) -> [Val; 2] {
        [self.a, if self.unary() { 0 } else { self.b }]
    }

    /// Whether the fact mentions `v`, a name other than [`UNKNOWN`]: the
    /// same answer as `args().contains(&v)` without telling the kinds of
    /// fact apart, since a one-name fact's tag (below [`TAGS`]) never
    /// equals a name (every name but `UNKNOWN` is at least `1 << 29`).
    fn mentions(&self, v: Val) -> bool {
        self.a == v || self.b == v
    }

    /// Whether the fact mentions [`UNKNOWN`] (or is [`Fact::None`]).
    fn about_unknown(&self) -> bool {
        self.a == UNKNOWN || self.b == UNKNOWN
    }

    /// The same fact about other names (`y` unused for a one-name fact).
    fn with_args(&self, [x, y]: [Val; 2]) -> Rec {
        if self.unary() {
            Rec { a: x, ..*self }
        } else if *self == Rec::NONE {
            Rec::NONE
        } else {
            Rec {
                a: x,
                b: y,
                k: self.k,
            }
        }
    }

    /// A [`Fact::LenOf`].
    fn is_len_of(&self) -> bool {
        !self.unary() && self.k & K_KIND == K_LEN_OF
    }

    /// A [`Fact::BelowLen`].
    fn is_below_len(&self) -> bool {
        !self.unary() && self.k & K_KIND == K_BELOW_LEN
    }

    /// A [`Fact::Scaled`].
    fn is_scaled(&self) -> bool {
        !self.unary() && self.k & K_KIND == K_SCALED
    }

    /// A fact about a slice itself rather than an index or a value: its
    /// masked handle ([`Fact::Masked`], [`Fact::MaskOf`]), base, length,
    /// or two lengths' relation. Read from the packed kind.
    fn is_about_a_slice(&self) -> bool {
        if self.unary() {
            return self.b == T_MASKED;
        }
        matches!(
            self.k & K_KIND,
            K_MASK_OF | K_LEN_OF | K_BASE_OF | K_LEN_SCALED
        )
    }

    /// A [`Fact::LenScaled`].
    fn is_len_scaled(&self) -> bool {
        !self.unary() && self.k & K_KIND == K_LEN_SCALED
    }

    /// A constant or a slice length (see [`renamed_readings`]).
    fn is_const_or_len(&self) -> bool {
        self.b == T_CONST || self.is_len_of()
    }
}

/// A filter of value names (a bit per hash of a name): a clear bit proves a
/// name absent. 256 bits keep false hits rare at the few dozen names a state
/// holds, which is what makes most kills free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct NameSet([u64; 4]);

impl NameSet {
    const EMPTY: NameSet = NameSet([0; 4]);

    fn bit(v: Val) -> (usize, u64) {
        let h = v.wrapping_mul(0x9E37_79B1) >> 24;
        ((h >> 6) as usize & 3, 1u64 << (h & 63))
    }

    fn insert(&mut self, v: Val) {
        let (w, b) = NameSet::bit(v);
        if let Some(x) = self.0.get_mut(w) {
            *x |= b;
        }
    }

    fn may_contain(&self, v: Val) -> bool {
        let (w, b) = NameSet::bit(v);
        self.0.get(w).is_some_and(|x| x & b != 0)
    }
}

/// Equal states say the same: the fact table's unused tail and the name
/// filter (which may hold more than the state names) do not count.
impl PartialEq for Abs {
    fn eq(&self, o: &Abs) -> bool {
        self.regs == o.regs
            && self.ptr == o.ptr
            && self.narrow == o.narrow
            && self.slots == o.slots
            && self.recs() == o.recs()
            && self.flags == o.flags
            && self.rsp_off == o.rsp_off
            && self.fuel_unchecked == o.fuel_unchecked
            && self.paid == o.paid
            && self.stack_dirty == o.stack_dirty
            && self.written() == o.written()
    }
}

impl Eq for Abs {}

impl Abs {
    /// A placeholder.
    pub(super) const EMPTY: Abs = Abs {
        regs: [UNKNOWN; 16],
        ptr: 0,
        narrow: 0,
        slots: [NO_SLOT; SLOTS],
        facts: [Rec::NONE; MAX_FACTS],
        nfacts: 0,
        flags: Flags::Unknown,
        rsp_off: 0,
        fuel_unchecked: false,
        paid: false,
        stack_dirty: false,
        written: (0, 0),
        names: NameSet::EMPTY,
        fact_keys: NameSet::EMPTY,
        firsts: NameSet::EMPTY,
        scaled: 0,
    };

    /// Makes `self` a copy of `o` that says the same (`==`): every field but
    /// the unused tail of the fact table, which nothing reads (the table
    /// is read and written only below `nfacts`, and rotated only when
    /// full). States are about 900 bytes, most of them that tail; copying
    /// only what is used halves what a block's processing and its edges
    /// copy.
    pub(super) fn copy_from(&mut self, o: &Abs) {
        let Abs {
            regs,
            ptr,
            narrow,
            slots,
            facts,
            nfacts,
            flags,
            rsp_off,
            fuel_unchecked,
            paid,
            stack_dirty,
            written,
            names,
            fact_keys,
            firsts,
            scaled,
        } = self;
        (*regs, *ptr, *narrow, *slots) = (o.regs, o.ptr, o.narrow, o.slots);
        (*nfacts, *flags, *rsp_off) = (o.nfacts, o.flags, o.rsp_off);
        (*fuel_unchecked, *paid, *stack_dirty) = (o.fuel_unchecked, o.paid, o.stack_dirty);
        (*written, *names, *fact_keys) = (o.written, o.names, o.fact_keys);
        (*firsts, *scaled) = (o.firsts, o.scaled);
        for (d, f) in facts.iter_mut().zip(o.recs()) {
            *d = *f;
        }
    }

    /// The state at a function's entry: every register holds its entry value
    /// (`r15` the context), nothing else is known, no address in any
    /// register (callers are checked to pass none).
    pub(super) fn at_entry() -> Abs {
        let mut s = Abs::EMPTY;
        for r in 0u8..16 {
            s.set_val_only(r, entry(r));
        }
        s.regs_fixed();
        s
    }

    /// `rsp`, `r13` and `r14` are never data; `r15` is always the context.
    /// (Their bits: [`FIXED_REGS`].)
    fn regs_fixed(&mut self) {
        for (r, v) in [(4usize, UNKNOWN), (13, UNKNOWN), (14, UNKNOWN), (15, CTX)] {
            if let Some(slot) = self.regs.get_mut(r) {
                *slot = v;
            }
        }
    }

    /// The facts, oldest first.
    pub(super) fn facts(&self) -> impl Iterator<Item = Fact> + '_ {
        self.recs().iter().map(|r| r.unpack())
    }

    /// The facts whose first name is `v`, oldest first: the one-name facts
    /// about `v`, and the two-name facts with `v` in first place (`len` of
    /// a [`Fact::LenOf`], `m` of a [`Fact::MaskOf`], ...; see [`Rec`]).
    /// Only those are unpacked, which is what makes a branch's refinement
    /// cheap when the table is full of facts about other names.
    pub(super) fn facts_first_about(&self, v: Val) -> impl Iterator<Item = Fact> + '_ {
        let recs = if self.firsts.may_contain(v) {
            self.recs()
        } else {
            &[]
        };
        recs.iter().filter(move |r| r.a == v).map(|r| r.unpack())
    }

    fn recs(&self) -> &[Rec] {
        self.facts.get(..usize::from(self.nfacts)).unwrap_or(&[])
    }

    pub(super) fn has(&self, f: Fact) -> bool {
        self.has_rec(Rec::pack(f))
    }

    fn has_rec(&self, f: Rec) -> bool {
        self.fact_keys.may_contain(fact_key(&f)) && self.recs().contains(&f)
    }

    pub(super) fn reg(&self, r: u8) -> Val {
        self.regs.get(usize::from(r)).copied().unwrap_or(UNKNOWN)
    }

    pub(super) fn is_ptr(&self, r: u8) -> bool {
        r < 16 && self.ptr & (1u16 << r) != 0
    }

    /// Register `r` now holds `v` (an address if `ptr`), with its upper
    /// 32 bits not known to be zero (the transfer says when they are).
    pub(super) fn set(&mut self, r: u8, v: Val, ptr: bool) {
        self.set_val_only(r, v);
        if r < 16 {
            if ptr {
                self.ptr |= 1 << r;
            } else {
                self.ptr &= !(1 << r);
            }
            self.narrow &= !(1 << r);
        }
    }

    /// Whether the upper 32 bits of register `r` are known to be zero.
    pub(super) fn is_narrow(&self, r: u8) -> bool {
        r < 16 && self.narrow & (1u16 << r) != 0
    }

    /// Register `r`'s upper 32 bits are zero (`yes`), as the transfer of
    /// the instruction that just wrote it proved.
    pub(super) fn set_narrow(&mut self, r: u8, yes: bool) {
        if r < 16 && yes {
            self.narrow |= 1 << r;
        }
    }

    /// Whether the tracked slot at `depth` holds a value whose upper 32
    /// bits are zero.
    pub(super) fn slot_narrow(&self, depth: u32) -> bool {
        self.slots
            .iter()
            .any(|s| s.val() != UNKNOWN && s.depth() == depth && s.narrow())
    }

    /// The tracked slot at `depth` (just stored) holds a value whose upper
    /// 32 bits are zero.
    pub(super) fn set_slot_narrow(&mut self, depth: u32) {
        for s in self.slots.iter_mut() {
            if s.val() != UNKNOWN && s.depth() == depth {
                *s = Slot(s.0 | SLOT_NARROW);
            }
        }
    }

    /// `loc` gets a fresh definition from the instruction at `at`: the
    /// previous value of that definition (from an earlier trip around a
    /// loop) is killed first, so the name means only the new value.
    pub(super) fn define(&mut self, at: u32, r: u8, ptr: bool) -> Val {
        let v = def(at, r);
        self.kill(v);
        self.set(r, v, ptr);
        v
    }

    /// [`Abs::define`] of a definition known to have no previous value in
    /// the state (see `transfer::define`).
    pub(super) fn define_new(&mut self, at: u32, r: u8, ptr: bool) -> Val {
        let v = def(at, r);
        self.set(r, v, ptr);
        v
    }

    /// Forgets value `v` everywhere: in registers, slots, facts and flags.
    pub(super) fn kill(&mut self, v: Val) {
        if v == UNKNOWN || !self.names.may_contain(v) {
            return;
        }
        for x in self.regs.iter_mut() {
            if *x == v {
                *x = UNKNOWN;
            }
        }
        for s in self.slots.iter_mut() {
            if s.val() == v {
                *s = NO_SLOT;
            }
        }
        if flags_mention(self.flags, v) {
            self.flags = Flags::Unknown;
        }
        // Most names the filter lets through are in no fact: then the table
        // stays as it is (rebuilding it and its key filter for nothing was
        // most of what a kill cost).
        if self.recs().iter().any(|f| f.mentions(v)) {
            self.retain_facts(|_, f| !f.mentions(v));
        }
    }

    /// Keeps the facts `keep` accepts, in their order.
    fn retain_facts(&mut self, keep: impl Fn(&Abs, &Rec) -> bool) {
        let n = usize::from(self.nfacts);
        let mut kept = 0usize;
        let mut keys = NameSet::EMPTY;
        let mut firsts = NameSet::EMPTY;
        let mut scaled = 0u64;
        for i in 0..n {
            let f = self.facts.get(i).copied().unwrap_or(Rec::NONE);
            if keep(self, &f) {
                if let Some(slot) = self.facts.get_mut(kept) {
                    *slot = f;
                }
                keys.insert(fact_key(&f));
                firsts.insert(f.a);
                if f.is_scaled() {
                    scaled |= scaled_bit(f.a);
                }
                kept = kept.saturating_add(1);
            }
        }
        self.nfacts = u8::try_from(kept).unwrap_or(0);
        self.fact_keys = keys;
        self.firsts = firsts;
        self.scaled = scaled;
    }

    /// Every name a register or tracked slot holds, in one array that
    /// [`reaches`] scans without branches.
    fn held(&self) -> Held {
        let mut h = [UNKNOWN; 16 + SLOTS];
        for (d, &v) in h.iter_mut().zip(self.regs.iter()) {
            *d = v;
        }
        for (d, s) in h.iter_mut().skip(16).zip(self.slots.iter()) {
            *d = s.val();
        }
        h
    }

    /// Adds a fact (none about [`UNKNOWN`]).
    pub(super) fn add(&mut self, f: Fact) {
        self.add_rec(Rec::pack(f));
    }

    fn add_rec(&mut self, f: Rec) {
        if f.about_unknown() || self.has_rec(f) {
            return;
        }
        if usize::from(self.nfacts) >= MAX_FACTS {
            // Facts about values no location holds are the least useful.
            self.collect_facts();
        }
        if usize::from(self.nfacts) >= MAX_FACTS {
            // Then the oldest fact about an index or a value, before any
            // about a slice itself (its handle, base and lengths: a few per
            // slice, established once and needed by every later access).
            // Evicting the oldest whatever it was pushed those out first:
            // forty reads `s += p[a + k]` in a row were refused.
            let table = self.facts.get(..usize::from(self.nfacts)).unwrap_or(&[]);
            match table.iter().copied().find(|r| !r.is_about_a_slice()) {
                Some(victim) => self.retain_facts(|_, r| *r != victim),
                None => {
                    self.facts.rotate_left(1);
                    self.nfacts = self.nfacts.saturating_sub(1);
                }
            }
        }
        self.push_fact(f);
    }

    /// Appends a fact known not to be in the table yet.
    fn push_fact(&mut self, f: Rec) {
        if self.push_named_fact(f) {
            // A one-name fact's unused `y` is `UNKNOWN`, no name: `kill`,
            // the filter's only reader, never looks it up.
            let [x, y] = f.args();
            self.names.insert(x);
            if y != UNKNOWN {
                self.names.insert(y);
            }
        }
    }

    /// [`Abs::push_fact`] of a fact whose names [`Abs::names`] holds already
    /// (a fact of the state it was copied from): only its own filters.
    /// Whether there was room for it.
    fn push_named_fact(&mut self, f: Rec) -> bool {
        let Some(slot) = self.facts.get_mut(usize::from(self.nfacts)) else {
            return false;
        };
        *slot = f;
        self.nfacts = self.nfacts.saturating_add(1);
        self.fact_keys.insert(fact_key(&f));
        self.firsts.insert(f.a);
        if f.is_scaled() {
            self.scaled |= scaled_bit(f.a);
        }
        true
    }

    /// Makes the tracked slot at position `i` the most recently used: the
    /// table keeps slots from least to most recently read or written, so
    /// that a full table evicts, among the slots of least worth, the one
    /// the code has not touched for longest (an outer loop's spilled
    /// counter, not the slice base the inner loop reloads every trip).
    fn make_newest(&mut self, i: usize) {
        let Some(s) = self.slots.get(i).copied() else {
            return;
        };
        for k in i..SLOTS.saturating_sub(1) {
            let next = self
                .slots
                .get(k.saturating_add(1))
                .copied()
                .unwrap_or(NO_SLOT);
            if let Some(d) = self.slots.get_mut(k) {
                *d = next;
            }
        }
        if let Some(d) = self.slots.last_mut() {
            *d = s;
        }
    }

    /// The tracked slot at `depth` is read: its value and whether it may be
    /// an address, if it is tracked (it becomes the most recently used).
    pub(super) fn read_slot(&mut self, depth: u32) -> Option<(Val, bool)> {
        let i = self
            .slots
            .iter()
            .position(|s| s.val() != UNKNOWN && s.depth() == depth)?;
        let s = self.slots.get(i).copied()?;
        self.make_newest(i);
        Some((s.val(), s.ptr()))
    }

    /// The tracked slot at `depth`, if any: its value and whether it may
    /// be an address.
    pub(super) fn slot(&self, depth: u32) -> Option<(Val, bool)> {
        self.slots
            .iter()
            .find(|s| s.val() != UNKNOWN && s.depth() == depth)
            .map(|s| (s.val(), s.ptr()))
    }

    /// The tracked slot at `depth`, looked for first at position `hint`
    /// (two states that agree on their slots keep them in the same order).
    /// No two tracked slots share a depth ([`Abs::track_slot`] clobbers the
    /// bytes it stores to first), so the answer is the one slot there is.
    fn slot_near(&self, depth: u32, hint: usize) -> Option<Slot> {
        if let Some(&s) = self.slots.get(hint)
            && s.val() != UNKNOWN
            && s.depth() == depth
        {
            return Some(s);
        }
        self.slots
            .iter()
            .copied()
            .find(|s| s.val() != UNKNOWN && s.depth() == depth)
    }

    /// Stops tracking slot `s`; an address in it stays in memory untracked.
    fn untrack(s: &mut Slot, dirty: &mut bool) {
        *dirty |= s.ptr();
        *s = NO_SLOT;
    }

    /// Forgets every slot overlapping bytes `[entry - hi, entry - lo)`
    /// (depths: `hi` > `lo`).
    pub(super) fn clobber_stack(&mut self, lo: u64, hi: u64) {
        for s in self.slots.iter_mut() {
            // Slot bytes: depths (s.depth() - 8, s.depth()].
            let s_hi = u64::from(s.depth());
            let s_lo = s_hi.saturating_sub(8);
            if s.val() != UNKNOWN && s_lo < hi && lo < s_hi {
                // Overwritten whole, nothing of an address stays behind.
                let whole = lo <= s_lo && s_hi <= hi;
                self.stack_dirty |= s.ptr() && !whole;
                *s = NO_SLOT;
            }
        }
    }

    /// Whether stack bytes at depths `(lo, hi]` may hold part of an address.
    pub(super) fn stack_may_hold_ptr(&self, lo: u64, hi: u64) -> bool {
        self.stack_dirty
            || self.slots.iter().any(|s| {
                let s_hi = u64::from(s.depth());
                s.ptr() && s.val() != UNKNOWN && s_hi.saturating_sub(8) < hi && lo < s_hi
            })
    }

    /// The written stack bytes, `(lo, hi]`, normalised (`(0, 0)` if none).
    pub(super) fn written(&self) -> (u32, u32) {
        if self.written.0 < self.written.1 {
            self.written
        } else {
            (0, 0)
        }
    }

    /// Bytes at depths `(lo, hi]` were just written. One interval is kept:
    /// a write that touches it extends it, one that does not replaces it
    /// when it is larger (any subset of the written bytes is a sound
    /// answer; the code generator zeroes a frame in one descending run).
    pub(super) fn note_written(&mut self, lo: u64, hi: u64) {
        let (Ok(lo), Ok(hi)) = (u32::try_from(lo), u32::try_from(hi)) else {
            return;
        };
        if lo >= hi {
            return;
        }
        let (wlo, whi) = self.written();
        self.written = if wlo < whi && lo <= whi && wlo <= hi {
            (wlo.min(lo), whi.max(hi))
        } else if hi.saturating_sub(lo) > whi.saturating_sub(wlo) {
            (lo, hi)
        } else {
            (wlo, whi)
        };
    }

    /// Whether every byte at depths `(lo, hi]` was written.
    pub(super) fn was_written(&self, lo: u64, hi: u64) -> bool {
        let (wlo, whi) = self.written();
        lo < hi && u64::from(wlo) <= lo && hi <= u64::from(whi)
    }

    /// The 8 bytes at `depth` now hold `v` (an address if `ptr`).
    pub(super) fn track_slot(&mut self, depth: u32, v: Val, ptr: bool) {
        let lo = u64::from(depth).saturating_sub(8);
        self.clobber_stack(lo, u64::from(depth));
        if v == UNKNOWN || depth > MAX_SLOT_DEPTH {
            self.stack_dirty |= ptr;
            return;
        }
        let free = self.slots.iter().position(|s| s.val() == UNKNOWN);
        let i = match free {
            Some(i) => i,
            None => {
                // Full: the oldest slot of the lowest worth goes.
                let mut i = 0usize;
                let mut worst = u8::MAX;
                for (k, s) in self.slots.iter().enumerate() {
                    let w = self.worth(s);
                    if w < worst {
                        worst = w;
                        i = k;
                    }
                }
                if let Some(s) = self.slots.get_mut(i) {
                    Abs::untrack(s, &mut self.stack_dirty);
                }
                i
            }
        };
        // The new slot takes the freed place and moves to the newest end,
        // which closes the gap and keeps the others' order.
        if let Some(s) = self.slots.get_mut(i) {
            *s = Slot::new(depth, v, ptr, false);
        }
        self.make_newest(i);
        self.names.insert(v);
    }

    /// How much a slot is worth keeping when the table is full: saved
    /// callee-saved registers and addresses most (losing them rejects
    /// code that is fine), then values with slice facts (a length, a masked
    /// handle, an index below a length), then values bounded by a constant
    /// (a spilled loop counter that may index a table), then the rest;
    /// least a value other slots hold too (the zeroed frame of a prologue
    /// puts one name in many slots, which must not push out the spills).
    /// Among equals, the least recently used goes (see [`Abs::make_newest`]).
    fn worth(&self, s: &Slot) -> u8 {
        if s.ptr() || matches!(entry_reg(s.val()), Some(3 | 5 | 12)) {
            return 4;
        }
        let copies = self.slots.iter().filter(|o| o.val() == s.val()).count();
        if copies > 1 {
            return 0;
        }
        self.recs()
            .iter()
            .filter(|f| f.args().contains(&s.val()))
            .map(|f| match f.b {
                T_CONST => 1,
                T_BELOW_CONST => 2,
                _ => 3,
            })
            .max()
            .unwrap_or(1)
    }

    /// Slots below `rsp` are lost: an interrupt or a callee may overwrite
    /// that memory at any time.
    pub(super) fn drop_below_rsp(&mut self) {
        let off = self.rsp_off;
        self.written.1 = self.written.1.min(off);
        for s in self.slots.iter_mut() {
            if s.depth() > off {
                Abs::untrack(s, &mut self.stack_dirty);
            }
        }
    }

    /// Merges `e`, the state on an edge into block `b`, into `self` (the
    /// state at `b`'s entry so far). What holds after the join holds on
    /// every path that reaches `b`:
    ///
    /// - each location gets a name for the *pair* of values it holds on the
    ///   two sides: the same name `v` on both sides stays `v` (it denotes
    ///   the same value on both paths), unless `v` is a `phi(b, ·)` — a value
    ///   from an earlier entry into `b`, coming around a loop, which is
    ///   stale now; any other pair gets `phi(b, first location holding that
    ///   pair)`, so locations equal on both sides stay equal;
    /// - a fact survives if it holds on both sides under that renaming;
    /// - flags survive only if both sides agree and name no `phi(b, ·)`;
    /// - address bits are the union; `paid` the conjunction; stack slots
    ///   only those tracked at the same depth on both sides.
    ///
    /// `first`: `self` holds nothing yet; the state becomes `e`, except
    /// that the registers of `fresh` (a loop header's, see `sandbox.md`)
    /// get names of their own. Returns an error if the two sides disagree
    /// on the stack depth.
    ///
    /// `dead`: registers no path from `b` reads before writing them
    /// (`cfg::liveness`). The joined state forgets them ([`Abs::forget`]),
    /// which only weakens it, so it stays sound whatever `dead` says; what
    /// it saves is work: a dead register's name, address bit or upper bits
    /// differing between two edges no longer change the block's state (a
    /// loop whose body reloads an address into a scratch register ran its
    /// header twice for that alone) nor need a name of their own.
    pub(super) fn join(
        &mut self,
        e: &Abs,
        b: u32,
        first: bool,
        fresh: u16,
        dead: u16,
        room: &mut JoinRoom,
    ) -> Result<bool, (Rule, &'static str)> {
        let dead = dead & !FIXED_REGS;
        if !first {
            return self.join_in_place(e, b, dead, room);
        }
        let fresh = fresh & !dead;
        if fresh == 0 {
            // Nothing to rename: the state is the edge's. No name
            // `phi(b, ·)` exists yet (only `b`'s joins and its widening
            // make them, and `b` was never reached), so none is stale.
            // Facts no location reaches any more stay until the block's
            // next join drops them (a fact about a name nothing holds is
            // still true, only unusable); dropping them here cost 4 % of a
            // large plugin's verification and saved no pass.
            self.copy_from(e);
            self.forget(dead);
            return Ok(true);
        }
        // A loop header's first join: the edge's state, with the registers
        // of `fresh` renamed (both sides are the edge's, so every other
        // location keeps its name: no `phi(b, ·)` exists yet, see above).
        self.copy_from(e);
        self.forget(dead);
        // A location's contents, not a name: what both edges bring. At a
        // loop header's first join the registers the loop writes start
        // without it: a back edge that lost it would otherwise change the
        // header's state and cost the loop a second pass.
        self.narrow &= !fresh;
        self.written = e.written();
        let pairs = room.pairs();
        // The registers of `fresh` but the fixed ones, in register order (the
        // order names pairs), one set bit at a time: a test of every
        // register was a branch the processor could not predict.
        let mut renamed = fresh & !FIXED_REGS;
        while renamed != 0 {
            let r = u8::try_from(renamed.trailing_zeros()).unwrap_or(0);
            renamed &= renamed.wrapping_sub(1);
            if let Some(v) = self.regs.get_mut(usize::from(r)) {
                *v = pairs.fresh(*v, b, r);
                self.names.insert(*v);
            }
        }
        self.regs_fixed();
        // The slots keep their names; the join lists them without gaps.
        let mut slots = [NO_SLOT; SLOTS];
        for (d, s) in slots
            .iter_mut()
            .zip(e.slots.iter().filter(|s| s.val() != UNKNOWN))
        {
            *d = *s;
        }
        self.slots = slots;
        let held = self.held();
        // Facts: each of the edge's facts that a location still reaches,
        // then its readings under the renaming (the edge has every fact it
        // is read from). `self.names` keeps the edge's names: a filter may
        // hold more than the state names.
        self.nfacts = 0;
        self.fact_keys = NameSet::EMPTY;
        self.firsts = NameSet::EMPTY;
        self.scaled = 0;
        // Until a renamed fact is added, the table holds only distinct
        // facts of `e` and needs no duplicate check.
        let mut renamed = false;
        for fa in e.recs() {
            let [x0, x1] = fa.args();
            if reaches(&held, fa) && (!renamed || !self.has_rec(*fa)) {
                self.push_named_fact(*fa);
            }
            if !pairs.from.may_contain(x0) && !pairs.from.may_contain(x1) {
                continue; // no location renamed either name: nothing more
            }
            renamed_readings(fa, pairs, b, fresh, None, |fj| {
                self.add_rec(fj);
                renamed = true;
            });
        }
        if flags_mention_renamed(self.flags, pairs) {
            self.flags = Flags::Unknown;
        }
        self.note_flag_names();
        Ok(true)
    }

    /// [`Abs::join`] of a block already reached: `self` is side `a`, and
    /// is narrowed where it stands instead of being rebuilt (the facts
    /// both sides keep, most of them, are neither copied nor re-filed).
    /// The result is the one the general join computes; renamed readings
    /// of facts go after the kept facts rather than beside their source,
    /// which only changes which fact a full table forgets first.
    fn join_in_place(
        &mut self,
        e: &Abs,
        b: u32,
        dead: u16,
        room: &mut JoinRoom,
    ) -> Result<bool, (Rule, &'static str)> {
        if *self == *e {
            return Ok(false);
        }
        self.compatible(e)?;
        let before = (
            self.ptr,
            self.narrow,
            self.fuel_unchecked,
            self.paid,
            self.stack_dirty,
            self.written(),
        );
        self.ptr |= e.ptr;
        // A location's contents, not a name: what both edges bring.
        self.narrow &= e.narrow;
        self.fuel_unchecked |= e.fuel_unchecked;
        self.paid &= e.paid;
        self.stack_dirty |= e.stack_dirty;
        self.written = intersect(self.written(), e.written());
        let mut changed = false;
        let JoinRoom { pairs, extra } = room;
        pairs.clear();
        // Most registers hold the same name on both sides: it stays (what
        // `Pairs::name` answers for them). The others, in register order
        // (the order names pairs), are those of `differ`.
        let stale = phi(b, 0);
        let mut differ = 0u16;
        for (bit, (&va, &ve)) in (0u32..).zip(self.regs.iter().zip(e.regs.iter())) {
            let renamed = va != ve || ve & !LOC == stale;
            differ |= u16::from(renamed).wrapping_shl(bit);
        }
        // `self` has forgotten the dead registers (the first join did, and
        // nothing since named them): they stay so, whatever `e` holds; the
        // address and upper bits above already agree (set, and clear).
        differ &= !FIXED_REGS & !dead;
        while differ != 0 {
            let r = u8::try_from(differ.trailing_zeros()).unwrap_or(0);
            differ &= differ.wrapping_sub(1);
            let old = self.reg(r);
            let v = pairs.name_renamed(old, e.reg(r), b, r);
            if v != old {
                self.set_val_only(r, v);
                changed = true;
            }
        }
        // The same slots on both sides that a join would keep as they are
        // (most joins): nothing to do. Otherwise the general join.
        if self.slots != e.slots || !slots_kept(&self.slots, b) {
            let (slots, dirty) = join_slots(self, e, pairs, b);
            self.stack_dirty |= dirty;
            if slots != self.slots {
                for sj in slots.iter().filter(|s| s.val() != UNKNOWN) {
                    self.names.insert(sj.val());
                }
                self.slots = slots;
                changed = true;
            }
        }
        // Only a fact the two sides hold at different places needs `held`
        // (most joins have none): it is built on first use.
        let mut held: Option<Held> = None;
        let theirs = e.recs();
        let count = usize::from(self.nfacts);
        let mut kept = 0usize;
        let mut extras = 0usize;
        for i in 0..count {
            let Some(fa) = self.facts.get(i).copied() else {
                break;
            };
            let [x0, x1] = fa.args();
            let stale = is_phi_of(x0, b) || is_phi_of(x1, b);
            // A fact both sides hold at the same place stays even if no
            // location reaches it any more (it is still true, only
            // unusable; a full table drops it first): checking reach for
            // every such fact cost more than keeping them.
            let mut keep = !stale
                && (theirs.get(i) == Some(&fa)
                    || (e.has_rec(fa) && reaches(held.get_or_insert_with(|| self.held()), &fa)));
            if stale || pairs.from.may_contain(x0) || pairs.from.may_contain(x1) {
                renamed_readings(&fa, pairs, b, 0, Some(e), |fj| {
                    if fj == fa {
                        // A loop's fact about `phi(b, ·)`, true again of
                        // the value the back edge brings: it stays where
                        // it is, so an unchanged state compares equal.
                        keep = true;
                    } else if let Some(slot) = extra.get_mut(extras) {
                        *slot = fj;
                        extras = extras.saturating_add(1);
                    }
                });
            }
            if keep {
                // Until a fact is dropped, each kept one is already in place.
                if kept != i
                    && let Some(slot) = self.facts.get_mut(kept)
                {
                    *slot = fa;
                }
                kept = kept.saturating_add(1);
            }
        }
        if kept != count {
            self.nfacts = u8::try_from(kept).unwrap_or(0);
            changed = true;
        }
        for &fj in extra.get(..extras).unwrap_or(&[]) {
            if !self.has_rec(fj) {
                self.add_rec(fj);
                changed = true;
            }
        }
        let flags = if self.flags == e.flags && !flags_mention_phi(self.flags, b) {
            self.flags
        } else {
            Flags::Unknown
        };
        if flags != self.flags {
            self.flags = flags;
            changed = true;
        }
        let after = (
            self.ptr,
            self.narrow,
            self.fuel_unchecked,
            self.paid,
            self.stack_dirty,
            self.written(),
        );
        Ok(changed || after != before)
    }

    /// What two states joined at one block must agree on exactly.
    fn compatible(&self, e: &Abs) -> Result<(), (Rule, &'static str)> {
        if self.rsp_off != e.rsp_off {
            return Err((
                Rule::Stack,
                "the stack depth differs between two paths into one block",
            ));
        }
        if self.fuel_unchecked != e.fuel_unchecked {
            // A fuel test reached both right after a `dec r13` and without
            // one would count one decrement twice (found by the structural
            // mutator: `dec r13; L: jz budget; jmp L`).
            return Err((
                Rule::Budget,
                "a fuel test reached both with and without a decrement of r13",
            ));
        }
        Ok(())
    }

    /// Forgets what registers `dead` hold: no name, possibly a host
    /// address, upper bits unknown. Each is the weakest a register can be,
    /// so the state only loses what it knew.
    fn forget(&mut self, dead: u16) {
        let mut left = dead;
        while left != 0 {
            let r = left.trailing_zeros() as usize;
            left &= left.wrapping_sub(1);
            if let Some(v) = self.regs.get_mut(r) {
                *v = UNKNOWN;
            }
        }
        self.ptr |= dead;
        self.narrow &= !dead;
    }

    /// Drops the facts no location reaches (see [`reaches`]).
    fn collect_facts(&mut self) {
        let held = self.held();
        self.retain_facts(|_, f| reaches(&held, f));
    }

    fn set_val_only(&mut self, r: u8, v: Val) {
        if let Some(slot) = self.regs.get_mut(usize::from(r)) {
            *slot = v;
        }
        self.names.insert(v);
    }

    /// Sets the flags (and notes their names). Inlined, and the names are
    /// read from `f` rather than from the state: out of line, `f` arrived
    /// through memory its caller had just written field by field, and the
    /// wide reload of it stalled on store forwarding (4 % of a large
    /// plugin's verification time in `perf`).
    #[inline(always)]
    pub(super) fn set_flags(&mut self, f: Flags) {
        self.flags = f;
        for v in flag_names(f).into_iter().flatten() {
            self.names.insert(v);
        }
    }

    fn note_flag_names(&mut self) {
        for v in flag_names(self.flags).into_iter().flatten() {
            self.names.insert(v);
        }
    }

    /// The widened state at block `b`: every register a fresh name, no
    /// facts, no slots, no flags. What must never be lost is kept: address
    /// bits, the stack depth and the fuel bits.
    pub(super) fn widened(&self, b: u32) -> Abs {
        let mut out = Abs::EMPTY;
        for r in 0u8..16 {
            out.set_val_only(r, phi(b, r));
        }
        out.regs_fixed();
        out.ptr = self.ptr;
        out.rsp_off = self.rsp_off;
        out.fuel_unchecked = self.fuel_unchecked;
        out.paid = self.paid;
        out.stack_dirty = self.stack_dirty || self.slots.iter().any(|s| s.ptr());
        out.written = self.written();
        out
    }

    /// Joins only the parts a widened state keeps.
    pub(super) fn join_widened(&mut self, e: &Abs) -> Result<bool, (Rule, &'static str)> {
        self.compatible(e)?;
        let before = (
            self.ptr,
            self.stack_dirty,
            self.fuel_unchecked,
            self.paid,
            self.written(),
        );
        self.written = intersect(self.written(), e.written());
        self.ptr |= e.ptr;
        self.stack_dirty |= e.stack_dirty || e.slots.iter().any(|s| s.ptr());
        self.fuel_unchecked |= e.fuel_unchecked;
        self.paid &= e.paid;
        Ok(before
            != (
                self.ptr,
                self.stack_dirty,
                self.fuel_unchecked,
                self.paid,
                self.written(),
            ))
    }
}

/// The names the locations of a state hold ([`Abs::held`]).
type Held = [Val; 16 + SLOTS];

/// Whether a location holds a name the fact mentions (`held` from
/// [`Abs::held`]). A fact about names nothing holds can no longer be used
/// (except through a mask that finds its name again, which re-establishes
/// what it needs), so it is dropped. The answer must be exact, not a
/// filter's: a fact kept by chance at a loop's entry and dropped at its
/// back edge would cost the loop another pass.
fn reaches(held: &Held, f: &Rec) -> bool {
    // `f.b` is a one-name fact's tag, which no location holds (every held
    // name but `UNKNOWN` is at least `1 << 29`): no need to tell the
    // kinds of fact apart, and no need to scan for a tag or `UNKNOWN`
    // (both below `TAGS`).
    let holds = |v: Val| v >= TAGS && held.iter().fold(false, |any, &h| any | (h == v));
    // A relation between two length-table entries names only masked
    // handles, which code rarely keeps in a register once it has read the
    // entries and bases it needs; the accesses that use the fact find it
    // through those (`scaled::below_len_by_scaled`). It stays while both
    // handles are alive (a mask that runs again kills it). Asked last: most
    // facts are reached by a location.
    holds(f.a) || holds(f.b) || f.is_len_scaled()
}

/// The names the flags mention: the compared value and a named second
/// operand (a length table entry counts by its masked handle).
fn flag_names(f: Flags) -> [Option<Val>; 2] {
    match f {
        Flags::Cmp { a, b } => [
            Some(a),
            match b {
                Operand::Val(x) | Operand::Len { m: x, .. } => Some(x),
                Operand::Imm(_) => None,
            },
        ],
        Flags::Test(x) => [Some(x), None],
        Flags::Unknown | Flags::Fuel => [None, None],
    }
}

fn flags_mention(f: Flags, v: Val) -> bool {
    flag_names(f).contains(&Some(v))
}

/// Whether the flags mention a name some location was renamed from (a
/// filter: it may say yes wrongly, which only drops the flags).
fn flags_mention_renamed(f: Flags, pairs: &Pairs) -> bool {
    flag_names(f)
        .into_iter()
        .flatten()
        .any(|v| pairs.from.may_contain(v))
}

/// Whether `v` is the name the first join at `b` gave a register of
/// `fresh`.
fn is_fresh(v: Val, b: u32, fresh: u16) -> bool {
    is_phi_of(v, b) && (v & LOC) < 16 && fresh & (1 << (v & 15)) != 0
}

fn flags_mention_phi(f: Flags, b: u32) -> bool {
    flag_names(f).into_iter().flatten().any(|v| is_phi_of(v, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed test of what a full table forgets last agrees with the
    /// facts' kinds, on a fact of every kind.
    #[test]
    fn facts_about_a_slice_are_told_apart_packed() {
        let (x, y) = (ENTRY | 3, ENTRY | 5);
        let every = [
            Fact::Const(x, 7),
            Fact::Masked(x),
            Fact::MaskOf { m: x, v: y },
            Fact::LenOf {
                len: x,
                m: y,
                w: true,
                s: 4,
            },
            Fact::BaseOf { base: x, m: y },
            Fact::BelowLen {
                idx: x,
                m: y,
                w: false,
                s: 1,
            },
            Fact::BelowConst { idx: x, n: 16 },
            Fact::SumOf { t: x, e: y, k: 3 },
            Fact::LenAtLeast {
                m: x,
                w: false,
                s: 1,
                n: 20,
            },
            Fact::NonZero(x),
            Fact::NotMinusOne(x),
            Fact::SignOf { hi: x, lo: y },
            Fact::Rodata { base: x, off: 8 },
            Fact::Scaled { x, y, k: 3 },
            Fact::LenScaled {
                big: x,
                bw: true,
                bs: 1,
                small: y,
                sw: false,
                ss: 1,
                k: 3,
            },
        ];
        for f in every {
            let about_a_slice = matches!(
                f,
                Fact::Masked(_)
                    | Fact::MaskOf { .. }
                    | Fact::LenOf { .. }
                    | Fact::BaseOf { .. }
                    | Fact::LenScaled { .. }
            );
            assert_eq!(Rec::pack(f).is_about_a_slice(), about_a_slice, "{f:?}");
        }
    }
}
