//! The verifier: proves that an object's machine code obeys the sandbox
//! rules (`book/src/runtime/sandbox.md`) before it may run. It trusts
//! nothing the compiler did: every instruction is decoded with the
//! allow-list decoder, every branch, call, register write and memory access
//! is checked, and accesses that a loop proves in range are justified by a
//! forward dataflow over value numbers (facts are intersected at joins, so
//! the analysis only ever loses facts and terminates).
//!
//! No allocation: the caller provides a [`Workspace`] sized by
//! [`Workspace::needs`]. No panic path, no `unsafe`.

use crate::decode::{self, AluOp, Base, Cond, Mem, Op};
use crate::format::TrapKind;
use crate::object::Object;

/// Stack bytes a call chain may use (the language's limit).
pub const STACK_LIMIT: u64 = 8192;
/// Facts tracked per program point; more are dropped (conservatively).
const MAX_FACTS: usize = 48;
/// Bytes of one trap stub: `mov qword [r15+8], imm32` + `jmp rel32`.
const STUB_LEN: u32 = 13;
/// The unwind stub: `mov rsp, [r15]` + `ret`.
const UNWIND: [u8; 4] = [0x49, 0x8b, 0x27, 0xc3];

const RSP: u8 = 4;
const RDI: u8 = 7;
const R13: u8 = 13;
const R14: u8 = 14;
const R15: u8 = 15;
const CALLEE_SAVED: [u8; 3] = [3, 5, 12];

/// Which sandbox rule an object breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Bytes that are not an allowed instruction.
    Decode,
    /// Functions, trap stubs or the unwind stub are not laid out as required.
    Layout,
    /// A branch to somewhere other than an instruction of the same function
    /// or a trap stub.
    Branch,
    /// A call to something other than a function start or an import slot.
    Call,
    /// A write to a reserved register.
    Register,
    /// The stack pointer moved other than by the declared frame.
    Stack,
    /// A memory access not proved inside the plugin's own memory.
    Memory,
    /// A backward branch without the budget check.
    Budget,
    /// A division whose divisor is not proved non-zero (and not -1 for `idiv`).
    Division,
    /// Recursion, or a call chain deeper than the stack limit.
    StackLimit,
    /// The workspace handed to the verifier is too small.
    Workspace,
}

impl core::fmt::Display for Rule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Rule::Decode => "decode",
            Rule::Layout => "layout",
            Rule::Branch => "branch",
            Rule::Call => "call",
            Rule::Register => "register",
            Rule::Stack => "stack",
            Rule::Memory => "memory",
            Rule::Budget => "budget",
            Rule::Division => "division",
            Rule::StackLimit => "stack-limit",
            Rule::Workspace => "workspace",
        })
    }
}

/// Why verification failed: where, which rule, and what exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Code offset of the offending instruction.
    pub offset: u32,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, in words.
    pub what: &'static str,
}

impl core::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "code offset {:#x}: rule {}: {}",
            self.offset, self.rule, self.what
        )
    }
}

fn err(offset: u32, rule: Rule, what: &'static str) -> VerifyError {
    VerifyError { offset, rule, what }
}

/// A value number: 0 is "unknown"; otherwise a definition or a join.
type Sym = u32;
const MASK_BIT: u32 = 1 << 31;
const PHI_BIT: u32 = 1 << 30;

fn def_sym(offset: u32, reg: u8) -> Sym {
    (offset.wrapping_shl(4) | u32::from(reg)).wrapping_add(1) & !(MASK_BIT | PHI_BIT)
}

fn phi_sym(offset: u32, reg: u8) -> Sym {
    def_sym(offset, reg) | PHI_BIT
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fact {
    None,
    /// `idx < length table (scale, write) of the slice with handle h`.
    Below {
        idx: Sym,
        h: Sym,
        w: bool,
        s: u8,
    },
    /// `idx < n` (unsigned).
    BelowConst {
        idx: Sym,
        n: u64,
    },
    /// The register value `len` is that table entry.
    LenOf {
        len: Sym,
        h: Sym,
        w: bool,
        s: u8,
    },
    /// The register value `base` is the slice's base address.
    BaseOf {
        base: Sym,
        h: Sym,
    },
    /// The register value `base` is the image address of rodata byte `off`.
    Rodata {
        base: Sym,
        off: u32,
    },
    NonZero(Sym),
    NotMinusOne(Sym),
    /// The register value is this constant.
    Const(Sym, u64),
}

/// The abstract state at a program point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    reached: bool,
    regs: [Sym; 16],
    /// `facts[..nfacts]` hold; the rest is stale and never read.
    facts: [Fact; MAX_FACTS],
    nfacts: u8,
    /// At a loop header: the registers that change around the loop (they
    /// get a fresh value at the header); only used in the header bank.
    phis: u16,
    /// Whether a backward branch reaches this target.
    header: bool,
    /// Values known to sit in 8-byte stack slots `[rsp + disp]` (spills).
    stack: [(i32, Sym); 8],
    /// At a loop header: stack slots that change around the loop
    /// (`changed_all`: too many to list).
    changed: [Option<i32>; 8],
    changed_all: bool,
}

impl State {
    /// A state for no path at all.
    pub const UNREACHED: State = State {
        reached: false,
        regs: [0; 16],
        facts: [Fact::None; MAX_FACTS],
        nfacts: 0,
        phis: 0,
        header: false,
        stack: [(0, 0); 8],
        changed: [None; 8],
        changed_all: false,
    };

    fn entry(offset: u32) -> State {
        let mut s = State::UNREACHED;
        s.reached = true;
        for (r, slot) in (0u8..).zip(s.regs.iter_mut()) {
            *slot = def_sym(offset, r);
        }
        s
    }

    /// The facts that hold here.
    fn facts(&self) -> &[Fact] {
        self.facts.get(..usize::from(self.nfacts)).unwrap_or(&[])
    }

    fn add(&mut self, f: Fact) {
        if self.has(f) {
            return;
        }
        if usize::from(self.nfacts) >= MAX_FACTS {
            // Make room: forget facts about values no register or stack
            // slot holds any more. Forgetting is always safe.
            let regs = self.regs;
            let stack = self.stack;
            let held = |v: Sym| regs.contains(&v) || stack.iter().any(|e| e.1 == v);
            let reachable = |v: Sym| held(v) || held(v & !MASK_BIT);
            for x in self.facts.iter_mut() {
                if !syms(*x).iter().any(|&v| v != 0 && reachable(v)) {
                    *x = Fact::None;
                }
            }
            self.compact();
        }
        if let Some(slot) = self.facts.get_mut(usize::from(self.nfacts)) {
            *slot = f;
            self.nfacts = self.nfacts.saturating_add(1);
        } else if let Some(c) = self.facts.iter_mut().find(|x| matches!(x, Fact::Const(..))) {
            // Still full: a constant is the cheapest fact to lose.
            *c = f;
        } else {
            // Or else the oldest.
            self.facts.rotate_left(1);
            if let Some(last) = self.facts.last_mut() {
                *last = f;
            }
        }
    }

    /// Closes the gaps `Fact::None` left, keeping the order (oldest first).
    fn compact(&mut self) {
        let live = usize::from(self.nfacts);
        let mut kept = 0usize;
        for i in 0..live {
            let f = self.facts.get(i).copied().unwrap_or(Fact::None);
            if f != Fact::None {
                if let Some(slot) = self.facts.get_mut(kept) {
                    *slot = f;
                }
                kept = kept.saturating_add(1);
            }
        }
        self.nfacts = u8::try_from(kept).unwrap_or(0);
    }

    /// Turns the working state into the entry state of code at `offset`
    /// in place (every register a fresh value, no facts): cheaper than
    /// building a whole [`State`], since only `facts[..nfacts]` are read.
    fn restart(&mut self, offset: u32) {
        self.reached = true;
        for (r, slot) in (0u8..).zip(self.regs.iter_mut()) {
            *slot = def_sym(offset, r);
        }
        self.nfacts = 0;
        self.stack = [(0, 0); 8];
    }

    fn has(&self, f: Fact) -> bool {
        self.facts().contains(&f)
    }

    fn sym(&self, r: u8) -> Sym {
        self.regs.get(usize::from(r)).copied().unwrap_or(0)
    }

    /// `r` gets a new value. Facts are about values, not registers, so they
    /// all stay true (a value number never changes its meaning).
    fn set(&mut self, r: u8, v: Sym) {
        if let Some(slot) = self.regs.get_mut(usize::from(r)) {
            *slot = v;
        }
    }

    /// Merges `other` into `self`; returns whether `self` changed.
    fn join(&mut self, other: &State, at: u32) -> bool {
        if !other.reached {
            return false;
        }
        if !self.reached {
            *self = *other;
            return true;
        }
        let mut changed = false;
        for (r, (mine, theirs)) in (0u8..).zip(self.regs.iter_mut().zip(other.regs)) {
            if *mine != theirs {
                let phi = phi_sym(at, r);
                changed |= *mine != phi;
                *mine = phi;
            }
        }
        for e in self.stack.iter_mut() {
            if *e != (0, 0) && !other.stack.contains(e) {
                *e = (0, 0);
                changed = true;
            }
        }
        // Only what holds on both paths holds after the join. States that
        // share a history mostly keep a fact in the same place: look there
        // first.
        let mut dropped = false;
        let n = usize::from(self.nfacts);
        // Only the other state's live facts count: the rest of its table
        // is stale.
        let theirs = other.facts();
        for (i, f) in self.facts.iter_mut().take(n).enumerate() {
            if theirs.get(i) != Some(f) && !theirs.contains(f) {
                *f = Fact::None;
                dropped = true;
            }
        }
        if dropped {
            self.compact();
        }
        changed || dropped
    }
}

fn syms(f: Fact) -> [Sym; 2] {
    match f {
        Fact::None => [0, 0],
        Fact::Below { idx, h, .. } => [idx, h],
        Fact::BelowConst { idx, .. } => [idx, 0],
        Fact::LenOf { len, h, .. } => [len, h],
        Fact::BaseOf { base, h } => [base, h],
        Fact::Rodata { base, .. } => [base, 0],
        Fact::NonZero(x) | Fact::NotMinusOne(x) | Fact::Const(x, _) => [x, 0],
    }
}

const START: u8 = 1;
const TARGET: u8 = 2;
const FUNC: u8 = 4;

/// One instruction as pass 1 decoded it: every later pass reads these
/// instead of decoding again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    at: u32,
    len: u8,
    op: Op,
}

impl Decoded {
    /// A placeholder to fill a fresh workspace with.
    pub const EMPTY: Decoded = Decoded {
        at: 0,
        len: 0,
        op: Op::Ret,
    };

    fn end(&self) -> u32 {
        self.at.saturating_add(u32::from(self.len))
    }
}

/// What the verifier learns about one function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Code range.
    start: u32,
    end: u32,
    /// The declared stack bound.
    bound: u32,
    /// Its instructions: `insns[first..last]`.
    first: u32,
    last: u32,
    /// Branch targets inside it (state slots `0..targets`).
    targets: u32,
    /// Deepest stack use of a call chain starting here.
    depth: u64,
}

impl FuncInfo {
    /// A placeholder to fill a fresh workspace with.
    pub const EMPTY: FuncInfo = FuncInfo {
        start: 0,
        end: 0,
        bound: 0,
        first: 0,
        last: 0,
        targets: 0,
        depth: 0,
    };
}

/// How many elements of each [`Workspace`] buffer [`verify`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// `flags` and `slot`: one per code byte.
    pub code_bytes: usize,
    /// `insns`: one per instruction.
    pub insns: usize,
    /// `states`: three per branch target of the function with the most.
    pub states: usize,
    /// `funcs`: one per function.
    pub functions: usize,
}

/// Memory the verifier works in, provided by the caller (sized by
/// [`Workspace::needs`]); nothing in it needs initialising.
pub struct Workspace<'a> {
    /// One byte per code byte (instruction starts, branch targets, functions).
    pub flags: &'a mut [u8],
    /// One entry per code byte: the state slot of a branch target.
    pub slot: &'a mut [u32],
    /// One entry per instruction.
    pub insns: &'a mut [Decoded],
    /// Three banks of one state per branch target of one function.
    pub states: &'a mut [State],
    /// One entry per function.
    pub funcs: &'a mut [FuncInfo],
}

impl Workspace<'_> {
    /// The buffers to allocate for `obj`. States are about a kilobyte
    /// each, so their number comes from a quick decode: three per branch
    /// instruction of the function with the most branches (a bound on its
    /// branch targets; functions are verified one at a time). Callers may
    /// refuse objects that need more than they are willing to give.
    pub fn needs(obj: &Object<'_>) -> Needs {
        let code = obj.code();
        let mut insns = 0usize;
        let mut most_branches = 0usize;
        let mut functions = 0usize;
        for f in obj.functions() {
            functions = functions.saturating_add(1);
            let mut at = f.code_offset as usize;
            let end = f.code_offset.saturating_add(f.code_len) as usize;
            let mut branches = 0usize;
            // Undecodable code is rejected by `verify` before it needs room.
            while at < end
                && let Some(Ok(insn)) = code.get(at..).map(decode::decode)
            {
                if matches!(insn.op, Op::Jcc { .. } | Op::Jmp { .. }) {
                    branches = branches.saturating_add(1);
                }
                insns = insns.saturating_add(1);
                at = at.saturating_add(usize::from(insn.len));
            }
            most_branches = most_branches.max(branches);
        }
        Needs {
            code_bytes: code.len(),
            insns,
            states: most_branches.saturating_mul(3),
            functions,
        }
    }
}

/// What a verified object needs at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The deepest stack any export can use, in bytes.
    pub max_stack: u64,
}

struct Ctx<'o, 'a> {
    obj: &'o Object<'a>,
    rodata: (u32, u32),
    slots: (u32, u32),
    data_size: u32,
    stubs_start: u32,
    unwind: u32,
}

/// The workspace once pass 1 has filled in the code's structure.
struct Work<'w> {
    flags: &'w [u8],
    slot: &'w [u32],
    insns: &'w [Decoded],
    states: &'w mut [State],
    /// States per bank.
    nt: usize,
}

/// Verifies an object. See the module docs and `sandbox.md`.
pub fn verify(obj: &Object<'_>, ws: &mut Workspace<'_>) -> Result<Verified, VerifyError> {
    let code = obj.code();
    let l = obj.layout();
    let len = u32::try_from(code.len()).map_err(|_| err(0, Rule::Layout, "code too large"))?;
    let small = |what| err(0, Rule::Workspace, what);
    let flags = ws
        .flags
        .get_mut(..code.len())
        .ok_or_else(|| small("workspace smaller than the code"))?;
    let slot = ws
        .slot
        .get_mut(..code.len())
        .ok_or_else(|| small("workspace smaller than the code"))?;
    flags.fill(0);
    // Layout: functions tile the code from 0, then stubs, then unwind.
    let mut expect = 0u32;
    let mut nfuncs = 0usize;
    for f in obj.functions() {
        if f.code_offset != expect {
            return Err(err(
                f.code_offset,
                Rule::Layout,
                "functions do not tile the code",
            ));
        }
        mark(flags, f.code_offset, FUNC);
        expect = f.code_offset.saturating_add(f.code_len);
        let info = ws
            .funcs
            .get_mut(nfuncs)
            .ok_or_else(|| small("not enough function slots"))?;
        *info = FuncInfo {
            start: f.code_offset,
            end: expect,
            bound: f.stack_bound,
            ..FuncInfo::EMPTY
        };
        nfuncs = nfuncs.saturating_add(1);
    }
    let funcs = ws.funcs.get_mut(..nfuncs).unwrap_or(&mut []);
    let sites = u32::try_from(obj.trap_site_count()).unwrap_or(u32::MAX);
    let stubs_start = expect;
    let unwind = stubs_start.saturating_add(sites.saturating_mul(STUB_LEN));
    if unwind.checked_add(4) != Some(len) || code.get(unwind as usize..) != Some(&UNWIND[..]) {
        return Err(err(
            unwind,
            Rule::Layout,
            "trap stubs and unwind stub are not as required",
        ));
    }
    for k in 0..sites {
        // `mov qword [r15 + 8], k` + `jmp trap_unwind`, exactly as emitted.
        let at = stubs_start.saturating_add(k.saturating_mul(STUB_LEN));
        let [k0, k1, k2, k3] = k.to_le_bytes();
        let [j0, j1, j2, j3] = rel_to(at.saturating_add(STUB_LEN), unwind).to_le_bytes();
        let want = [0x49, 0xC7, 0x47, 0x08, k0, k1, k2, k3, 0xE9, j0, j1, j2, j3];
        let have = code.get(at as usize..at.saturating_add(STUB_LEN) as usize);
        if k > i32::MAX as u32 || have != Some(&want[..]) {
            return Err(err(at, Rule::Layout, "malformed trap stub"));
        }
    }
    let cx = Ctx {
        obj,
        rodata: (
            l.rodata_offset,
            l.rodata_offset.saturating_add(l.rodata_len),
        ),
        slots: (l.slots_offset, l.slot_count),
        data_size: l.data_size,
        stubs_start,
        unwind,
    };
    // Pass 1: decode each function once, mark instruction starts, number
    // the branch targets of each function from 0.
    let nt = ws.states.len() / 3;
    let mut n = 0usize;
    for info in funcs.iter_mut() {
        let first = n;
        let mut at = info.start;
        let mut last = None;
        while at < info.end {
            let insn = decode_at(code, at)
                .map_err(|_| err(at, Rule::Decode, "not an allowed instruction"))?;
            let next = at.saturating_add(u32::from(insn.len));
            if next > info.end {
                return Err(err(
                    at,
                    Rule::Decode,
                    "an instruction runs past the end of its function",
                ));
            }
            if let Op::Jcc { rel, .. } | Op::Jmp { rel } = insn.op {
                let t = target(next, rel);
                if t < stubs_start && (t < info.start || t >= info.end) {
                    return Err(err(at, Rule::Branch, "branch into another function"));
                }
            }
            mark(flags, at, START);
            let d = ws
                .insns
                .get_mut(n)
                .ok_or_else(|| small("not enough instruction slots"))?;
            *d = Decoded {
                at,
                len: insn.len,
                op: insn.op,
            };
            n = n.saturating_add(1);
            last = Some((at, insn.op));
            at = next;
        }
        match last {
            Some((_, Op::Ret | Op::Jmp { .. })) => {}
            other => {
                return Err(err(
                    other.map_or(info.start, |l| l.0),
                    Rule::Branch,
                    "execution can run off the end of the function",
                ));
            }
        }
        let mut targets = 0u32;
        for d in ws.insns.get(first..n).unwrap_or(&[]) {
            let (Op::Jcc { rel, .. } | Op::Jmp { rel }) = d.op else {
                continue;
            };
            let t = target(d.end(), rel);
            if t >= stubs_start {
                continue;
            }
            let f = flag(flags, t);
            if f & START == 0 {
                return Err(err(
                    d.at,
                    Rule::Branch,
                    "branch into the middle of an instruction",
                ));
            }
            if f & TARGET == 0 {
                mark(flags, t, TARGET);
                if let Some(s) = slot.get_mut(t as usize) {
                    *s = targets;
                }
                targets = targets.saturating_add(1);
            }
        }
        if nt < targets as usize {
            return Err(small("not enough state slots"));
        }
        info.first = u32::try_from(first).unwrap_or(u32::MAX);
        info.last = u32::try_from(n).unwrap_or(u32::MAX);
        info.targets = targets;
    }
    let mut w = Work {
        flags,
        slot,
        insns: ws.insns.get(..n).unwrap_or(&[]),
        states: ws.states,
        nt,
    };
    // Per function: prologue/epilogue, then the dataflow and the checks.
    for info in funcs.iter() {
        verify_function(&cx, &mut w, info)?;
    }
    // Stack: depth over the call graph; cycles are rejected.
    let max_stack = call_depths(&cx, w.insns, funcs)?;
    Ok(Verified { max_stack })
}

fn decode_at(code: &[u8], at: u32) -> Result<decode::Insn, decode::DecodeError> {
    decode::decode(code.get(at as usize..).unwrap_or(&[]))
}

fn mark(flags: &mut [u8], at: u32, bit: u8) {
    if let Some(b) = flags.get_mut(at as usize) {
        *b |= bit;
    }
}

fn flag(flags: &[u8], at: u32) -> u8 {
    flags.get(at as usize).copied().unwrap_or(0)
}

fn target(end: u32, rel: i32) -> u32 {
    end.wrapping_add_signed(rel)
}

fn rel_to(end: u32, to: u32) -> i32 {
    to.wrapping_sub(end) as i32
}

/// The deepest stack use of any call chain: each function's depth is its
/// own bound plus its deepest callee's, found by relaxation — rounds over
/// every call until nothing changes — rather than recursion, which a long
/// chain of functions could use to overflow the (kernel) stack. Every bound
/// is at least 8 (the return address), so a cycle grows some depth past the
/// limit; without one, a chain within the limit is at most `limit / 8`
/// deep, which bounds the rounds. Functions go in reverse order, so code
/// whose callees follow their callers (kplc's) settles in two rounds.
fn call_depths(
    cx: &Ctx<'_, '_>,
    insns: &[Decoded],
    funcs: &mut [FuncInfo],
) -> Result<u64, VerifyError> {
    for f in funcs.iter_mut() {
        f.depth = u64::from(f.bound);
    }
    loop {
        let mut changed = false;
        for i in (0..funcs.len()).rev() {
            let Some(f) = funcs.get(i).copied() else {
                continue;
            };
            let mut deepest = 0u64;
            for d in insns.get(f.first as usize..f.last as usize).unwrap_or(&[]) {
                if let Op::Call { rel } = d.op
                    && let Some(ci) = cx.obj.function_index_at(target(d.end(), rel))
                {
                    deepest = deepest.max(funcs.get(ci).map_or(0, |c| c.depth));
                }
            }
            let depth = u64::from(f.bound).saturating_add(deepest);
            if depth > STACK_LIMIT {
                return Err(err(
                    f.start,
                    Rule::StackLimit,
                    "a call chain exceeds the stack limit (or calls form a cycle)",
                ));
            }
            if let Some(slot) = funcs.get_mut(i)
                && slot.depth != depth
            {
                slot.depth = depth;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Ok(funcs.iter().map(|f| f.depth).max().unwrap_or(0))
}

/// Writes of each instruction (for the register rules and the dataflow).
fn writes(op: &Op, out: &mut [u8; 3]) -> usize {
    let mut n = 0usize;
    let mut w = |r: u8| {
        if let Some(s) = out.get_mut(n) {
            *s = r;
            n = n.saturating_add(1);
        }
    };
    match *op {
        Op::Mov { dst, .. }
        | Op::MovImm { dst, .. }
        | Op::Extend { dst, .. }
        | Op::Load { dst, .. }
        | Op::Lea { dst, .. }
        | Op::Imul { dst, .. }
        | Op::ImulImm { dst, .. }
        | Op::Shift { dst, .. }
        | Op::Setcc { dst, .. } => w(dst),
        Op::Alu { op, dst, .. } | Op::AluImm { op, dst, .. }
            if !matches!(op, AluOp::Cmp | AluOp::Test) =>
        {
            w(dst)
        }
        Op::Unary { reg, .. } | Op::Dec { reg } | Op::Pop { reg } => w(reg),
        Op::Div { .. } => {
            w(0);
            w(2);
        }
        Op::Cqo => w(2),
        _ => {}
    }
    n
}

fn verify_function(cx: &Ctx<'_, '_>, w: &mut Work<'_>, info: &FuncInfo) -> Result<(), VerifyError> {
    let fi = w
        .insns
        .get(info.first as usize..info.last as usize)
        .unwrap_or(&[]);
    // Prologue: endbr64, pushes of callee-saved registers, optional frame.
    if fi.first().map(|d| d.op) != Some(Op::Endbr64) {
        return Err(err(
            info.start,
            Rule::Layout,
            "function does not start with endbr64",
        ));
    }
    let mut pushed = [0u8; 3];
    let mut npush = 0usize;
    let mut frame = 0u32;
    let mut j = 1usize;
    while let Some(d) = fi.get(j) {
        match d.op {
            Op::Push { reg }
                if CALLEE_SAVED.contains(&reg) && npush < 3 && !pushed.contains(&reg) =>
            {
                if let Some(p) = pushed.get_mut(npush) {
                    *p = reg;
                }
                npush = npush.saturating_add(1);
                j = j.saturating_add(1);
            }
            Op::AluImm {
                op: AluOp::Sub,
                size: 8,
                dst: RSP,
                imm,
            } => {
                frame = u32::try_from(imm).map_err(|_| err(d.at, Rule::Stack, "negative frame"))?;
                j = j.saturating_add(1);
                break;
            }
            _ => break,
        }
    }
    let body = fi.get(j).map_or(info.end, |d| d.at);
    let declared = u64::from(frame)
        .saturating_add(8u64.saturating_mul(npush as u64))
        .saturating_add(8);
    if declared != u64::from(info.bound) {
        return Err(err(
            info.start,
            Rule::Stack,
            "frame differs from the declared stack bound",
        ));
    }
    // Dataflow to a fixed point, then one more pass that checks. States
    // live in three banks of `nt` entries: forward-edge joins (rebuilt
    // every pass), back-edge joins of the previous pass, and of this pass.
    let fr = Frame {
        start: info.start,
        end: info.end,
        body,
        frame,
        pushed,
        npush,
        targets: info.targets as usize,
    };
    for slot in 0..fr.targets {
        for bank in 0..3 {
            if let Some(s) = w.states.get_mut(bank_index(bank, slot, w.nt)) {
                *s = State::UNREACHED;
            }
        }
    }
    // The rules that do not depend on dataflow facts, once.
    for j in 0..fi.len() {
        check_static(cx, &fr, w.flags, fi, j)?;
    }
    // Every pass checks as it goes: a pass that changes no loop-header
    // information ran on the fixed point, so its checks are the verdict
    // (a loop-free function needs one pass). An error in a pass that was
    // not yet at the fixed point may be premature: then iterate without
    // checks to the fixed point and check once more.
    let mut passes = 0u32;
    loop {
        next_pass(w, &fr, &mut passes);
        match pass(cx, w, &fr, fi, true) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(_) => break,
        }
    }
    loop {
        next_pass(w, &fr, &mut passes);
        if !pass(cx, w, &fr, fi, false)? {
            break;
        }
    }
    pass(cx, w, &fr, fi, true).map(|_| ())
}

/// Passes before the loop-header information is widened. The fixed point
/// takes about one pass per level of loop nesting; the language allows
/// about 61 levels (E0508), which `tests/verify.rs` checks verify without
/// widening (widening loses the facts that justify unchecked slice
/// accesses). Widening bounds the work to `MAX_PASSES + 2` linear passes
/// per function whatever the code.
const MAX_PASSES: u32 = 72;

/// Counts a pass; past [`MAX_PASSES`], every branch target becomes a loop
/// header at which every register and stack slot gets a fresh value. That
/// only forgets (facts about values still hold), so it is sound, and it is
/// the top of the header lattice, so the next pass changes nothing.
fn next_pass(w: &mut Work<'_>, fr: &Frame, passes: &mut u32) {
    *passes = passes.saturating_add(1);
    if *passes <= MAX_PASSES {
        return;
    }
    for slot in 0..fr.targets {
        if let Some(h) = w.states.get_mut(bank_index(1, slot, w.nt)) {
            h.header = true;
            h.phis = u16::MAX;
            h.changed_all = true;
        }
    }
}

fn bank_index(bank: usize, slot: usize, nt: usize) -> usize {
    bank.saturating_mul(nt).saturating_add(slot)
}

struct Frame {
    start: u32,
    end: u32,
    body: u32,
    frame: u32,
    pushed: [u8; 3],
    npush: usize,
    targets: usize,
}

/// One linear pass over a function's instructions `fi`. Propagates states
/// to branch targets; with `check`, enforces every rule. Returns whether
/// any stored state changed.
fn pass(
    cx: &Ctx<'_, '_>,
    w: &mut Work<'_>,
    fr: &Frame,
    fi: &[Decoded],
    check: bool,
) -> Result<bool, VerifyError> {
    let nt = w.nt;
    // Only `reached` matters in a state that is not reached: a join into
    // it overwrites the rest.
    for slot in 0..fr.targets {
        for bank in [0, 2] {
            if let Some(s) = w.states.get_mut(bank_index(bank, slot, nt)) {
                s.reached = false;
            }
        }
    }
    let mut st = State::entry(fr.start);
    let mut scratch = State::UNREACHED;
    for (j, d) in fi.iter().enumerate() {
        let at = d.at;
        if flag(w.flags, at) & TARGET != 0
            && let Some(&slot) = w.slot.get(at as usize)
        {
            let slot = slot as usize;
            if let Some(fwd) = w.states.get(bank_index(0, slot, nt)) {
                st.join(fwd, at);
            }
            // A loop header: the state of the paths entering it, with a
            // fresh value for every register known to change around the
            // loop. Facts are about values, so all entering facts hold.
            if let Some(h) = w.states.get_mut(bank_index(1, slot, nt)) {
                if h.header {
                    if !st.reached {
                        st.restart(at);
                    }
                    // Stack slots that change around the loop are forgotten.
                    for e in st.stack.iter_mut() {
                        if h.changed_all || h.changed.contains(&Some(e.0)) {
                            *e = (0, 0);
                        }
                    }
                    for r in 0..16u8 {
                        if h.phis & (1 << r) != 0
                            && let Some(slot) = st.regs.get_mut(usize::from(r))
                        {
                            *slot = phi_sym(at, r);
                        }
                    }
                }
                if st.reached {
                    h.regs = st.regs;
                    h.stack = st.stack;
                    h.reached = true;
                }
            }
        }
        if !st.reached {
            // Unreachable code is still decoded and must obey the static rules.
            st.restart(at);
        }
        transfer(cx, fr, &mut st, d, check)?;
        match d.op {
            Op::Jcc { cc, rel } => {
                let t = target(d.end(), rel);
                let prev = j.checked_sub(1).and_then(|k| fi.get(k)).map(|p| &p.op);
                let facts = branch_facts(&st, prev, cc);
                if t < cx.stubs_start {
                    // Pass 1 kept branches inside their function.
                    if facts.taken.iter().all(|f| *f == Fact::None) {
                        propagate(w, t, at, &st);
                    } else {
                        scratch.clone_from(&st);
                        for f in facts.taken {
                            if f != Fact::None {
                                scratch.add(f);
                            }
                        }
                        propagate(w, t, at, &scratch);
                    }
                } else if check && !is_stub(cx, t) {
                    return Err(err(at, Rule::Branch, "branch outside the code"));
                }
                for f in facts.fall {
                    if f != Fact::None {
                        st.add(f);
                    }
                }
            }
            Op::Jmp { rel } => {
                let t = target(d.end(), rel);
                if t < cx.stubs_start {
                    propagate(w, t, at, &st);
                } else if check && !is_stub(cx, t) {
                    return Err(err(at, Rule::Branch, "jump outside the code"));
                }
                st.reached = false;
            }
            Op::Ret => st.reached = false,
            _ => {}
        }
    }
    // A register whose value coming around a loop differs from its value
    // at the header changes in the loop: it gets a fresh value from now on.
    let mut changed = false;
    // `nt` is a third of the states, so this split always exists; the
    // checked form keeps the core free of panic paths.
    let (front, backs) = w
        .states
        .split_at_mut_checked(nt.saturating_mul(2))
        .ok_or(err(0, Rule::Workspace, "not enough state slots"))?;
    for slot in 0..fr.targets {
        let (Some(back), Some(h)) = (backs.get(slot), front.get_mut(bank_index(1, slot, nt)))
        else {
            continue;
        };
        if !back.reached {
            continue;
        }
        if !h.header {
            h.header = true;
            changed = true;
        }
        for r in 0..16u8 {
            let i = usize::from(r);
            if h.phis & (1 << r) == 0 && (!h.reached || back.regs.get(i) != h.regs.get(i)) {
                h.phis |= 1 << r;
                changed = true;
            }
        }
        for e in h.stack {
            if e.1 != 0
                && !back.stack.contains(&e)
                && !h.changed_all
                && !h.changed.contains(&Some(e.0))
            {
                match h.changed.iter_mut().find(|c| c.is_none()) {
                    Some(c) => *c = Some(e.0),
                    None => h.changed_all = true,
                }
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// Records a branch from `from` to `t`: forward edges feed this pass's join
/// at `t`, backward edges the next pass's.
fn propagate(w: &mut Work<'_>, t: u32, from: u32, st: &State) {
    let Some(&slot) = w.slot.get(t as usize) else {
        return;
    };
    let bank = if t > from { 0 } else { 2 };
    if let Some(s) = w.states.get_mut(bank_index(bank, slot as usize, w.nt)) {
        s.join(st, t);
    }
}

fn is_stub(cx: &Ctx<'_, '_>, t: u32) -> bool {
    t >= cx.stubs_start && t < cx.unwind && t.wrapping_sub(cx.stubs_start).is_multiple_of(STUB_LEN)
}

fn stub_kind(cx: &Ctx<'_, '_>, t: u32) -> Option<TrapKind> {
    if !is_stub(cx, t) {
        return None;
    }
    let k = (t.wrapping_sub(cx.stubs_start)) / STUB_LEN;
    cx.obj.trap_site(u64::from(k)).map(|s| s.kind)
}
/// Facts a conditional branch adds on one of its edges (unused: `None`);
/// more than fit are dropped, which is always safe.
#[derive(Clone, Copy)]
struct EdgeFacts {
    taken: [Fact; 4],
    fall: [Fact; 4],
}

fn push_fact(list: &mut [Fact; 4], f: Fact) {
    if let Some(slot) = list.iter_mut().find(|x| **x == Fact::None) {
        *slot = f;
    }
}

/// Facts a conditional branch adds on its taken and fall-through edges,
/// from the comparison `prev` just before it.
fn branch_facts(st: &State, prev: Option<&Op>, cc: Cond) -> EdgeFacts {
    let mut out = EdgeFacts {
        taken: [Fact::None; 4],
        fall: [Fact::None; 4],
    };
    let Some(&cmp) = prev else {
        return out;
    };
    // `below` holds on the edge where `a < b` (unsigned).
    let (on_taken, on_fall) = match cc {
        Cond::B => (true, false),
        Cond::Ae => (false, true),
        _ => (false, false),
    };
    let mut add_below = |f: Fact| {
        if on_taken {
            push_fact(&mut out.taken, f)
        }
        if on_fall {
            push_fact(&mut out.fall, f)
        }
    };
    match cmp {
        Op::Alu {
            op: AluOp::Cmp,
            size: 8,
            dst,
            src,
        } => {
            let (i, len) = (st.sym(dst), st.sym(src));
            for &f in st.facts() {
                match f {
                    Fact::LenOf { len: l, h, w, s } if l == len => {
                        add_below(Fact::Below { idx: i, h, w, s })
                    }
                    Fact::Const(c, n) if c == len && n > 0 => {
                        add_below(Fact::BelowConst { idx: i, n })
                    }
                    _ => {}
                }
            }
        }
        Op::AluImm {
            op: AluOp::Cmp,
            size: 8,
            dst,
            imm,
        } if imm > 0 => add_below(Fact::BelowConst {
            idx: st.sym(dst),
            n: imm as u64,
        }),
        Op::CmpMem { size: 8, reg, mem } => {
            if let Some((h, w, s)) = len_table(st, &mem) {
                add_below(Fact::Below {
                    idx: st.sym(reg),
                    h,
                    w,
                    s,
                });
            }
        }
        _ => {}
    }
    match (cmp, cc) {
        (
            Op::Alu {
                op: AluOp::Test,
                size: 8,
                dst,
                src,
            },
            Cond::E,
        ) if dst == src => push_fact(&mut out.fall, Fact::NonZero(st.sym(dst))),
        (
            Op::AluImm {
                op: AluOp::Cmp,
                size: 8,
                dst,
                imm: -1,
            },
            Cond::Ne,
        ) => push_fact(&mut out.taken, Fact::NotMinusOne(st.sym(dst))),
        _ => {}
    }
    out
}

/// `[r15 + h*8 + table]` for a masked handle `h`: `(handle, write, scale)`.
fn len_table(st: &State, mem: &Mem) -> Option<(Sym, bool, u8)> {
    let (Base::Reg(R15), Some((hr, 8))) = (mem.base, mem.index) else {
        return None;
    };
    let h = st.sym(hr);
    if h & MASK_BIT == 0 || mem.size != 8 {
        return None;
    }
    let (w, rest) = match mem.disp {
        0x100..=0x1FF => (false, mem.disp.wrapping_sub(0x100)),
        0x200..=0x2FF => (true, mem.disp.wrapping_sub(0x200)),
        _ => return None,
    };
    let s = match rest {
        0x00 => 1,
        0x40 => 2,
        0x80 => 4,
        0xC0 => 8,
        _ => return None,
    };
    Some((h, w, s))
}

/// Rules that do not depend on dataflow facts.
fn check_static(
    cx: &Ctx<'_, '_>,
    fr: &Frame,
    flags: &[u8],
    fi: &[Decoded],
    j: usize,
) -> Result<(), VerifyError> {
    let Some(d) = fi.get(j) else {
        return Ok(());
    };
    let (at, op) = (d.at, &d.op);
    // The two instructions before this one, for the local patterns.
    let back = |k: usize| j.checked_sub(k).and_then(|i| fi.get(i));
    // References, not copies: `Op` is a large enum.
    let (before, before2) = (back(1).map(|d| &d.op), back(2).map(|d| &d.op));
    let mut w = [0u8; 3];
    let n = writes(op, &mut w);
    for &r in w.iter().take(n) {
        match r {
            R14 | R15 => return Err(err(at, Rule::Register, "write to a reserved register")),
            R13 if !matches!(op, Op::Dec { reg: R13 }) => {
                return Err(err(at, Rule::Register, "r13 (fuel) is only decremented"));
            }
            // `sub/add rsp, frame` is checked against the frame below.
            RSP if !matches!(op, Op::Pop { .. } | Op::AluImm { .. }) => {
                return Err(err(
                    at,
                    Rule::Stack,
                    "the stack pointer is only moved by the frame",
                ));
            }
            _ => {}
        }
    }
    match *op {
        Op::Push { .. } if at >= fr.body => {
            return Err(err(at, Rule::Stack, "push outside the prologue"));
        }
        Op::AluImm {
            dst: RSP,
            op: aop,
            imm,
            ..
        } => {
            let in_prologue = at < fr.body && aop == AluOp::Sub;
            let epilogue = aop == AluOp::Add && imm == i64::from(fr.frame);
            if !(in_prologue || epilogue) {
                return Err(err(
                    at,
                    Rule::Stack,
                    "the stack pointer moves other than by the frame",
                ));
            }
            if epilogue {
                // Nothing may run between undoing the frame and returning.
                let first = match fr.pushed.get(fr.npush.saturating_sub(1)) {
                    Some(&reg) if fr.npush > 0 => Op::Pop { reg },
                    _ => Op::Ret,
                };
                if fi.get(j.saturating_add(1)).map(|d| d.op) != Some(first) {
                    return Err(err(
                        at,
                        Rule::Stack,
                        "the frame is undone before something other than the epilogue",
                    ));
                }
            }
        }
        Op::Pop { .. } | Op::Ret => {
            check_epilogue(fr, fi, j)?;
            // What comes right before: the frame must already be undone and
            // the earlier pops done; no branch may land past that point.
            let first = match op {
                Op::Ret => fr.npush == 0,
                Op::Pop { reg } => fr.pushed.get(fr.npush.saturating_sub(1)) == Some(reg),
                _ => false,
            };
            let ok = if first {
                fr.frame == 0
                    || before
                        == Some(&Op::AluImm {
                            op: AluOp::Add,
                            size: 8,
                            dst: RSP,
                            imm: i64::from(fr.frame),
                        })
            } else {
                matches!(before, Some(Op::Pop { .. })) && flag(flags, at) & TARGET == 0
            };
            let target_ok = (first && fr.frame == 0) || flag(flags, at) & TARGET == 0;
            if !ok || !target_ok {
                return Err(err(at, Rule::Stack, "return without undoing the frame"));
            }
        }
        Op::Call { rel } => {
            let t = target(d.end(), rel);
            if flag(flags, t) & FUNC == 0 {
                return Err(err(
                    at,
                    Rule::Call,
                    "call to something other than a function start",
                ));
            }
        }
        Op::CallRip { disp } => {
            let t = target(at.saturating_add(6), disp);
            let (slots, count) = cx.slots;
            let ok = t >= slots
                && t.wrapping_sub(slots).is_multiple_of(8)
                && (t.wrapping_sub(slots)) / 8 < count;
            if !ok {
                return Err(err(
                    at,
                    Rule::Call,
                    "indirect call not through an import slot",
                ));
            }
            if before
                != Some(&Op::Mov {
                    size: 8,
                    dst: RDI,
                    src: R15,
                })
            {
                return Err(err(
                    at,
                    Rule::Call,
                    "import called without the context in rdi",
                ));
            }
        }
        // rdx:rax must be the sign extension of rax, or the quotient of a
        // 128-bit dividend can overflow (#DE) even for a safe divisor.
        Op::Div { signed: true, .. }
            if before != Some(&Op::Cqo) || flag(flags, at) & TARGET != 0 =>
        {
            return Err(err(at, Rule::Division, "idiv without cqo right before"));
        }
        Op::Jmp { rel } | Op::Jcc { rel, .. } => {
            let t = target(d.end(), rel);
            // Running the prologue again would push registers or allocate
            // the frame a second time, and the epilogue's `ret` would then
            // pop plugin data as the return address.
            if t >= fr.start && t < fr.body {
                return Err(err(at, Rule::Branch, "branch into the prologue"));
            }
            if t <= at && t >= fr.start {
                // A back-edge: `dec r13` + `jz budget_stub` right before.
                // The stub the `jz`/`jne` right before goes to.
                let budget_stub = || {
                    back(1).is_some_and(|p| match p.op {
                        Op::Jcc { rel, .. } => {
                            stub_kind(cx, target(p.end(), rel)) == Some(TrapKind::Budget)
                        }
                        _ => false,
                    })
                };
                let ok = match (before2, before) {
                    (Some(Op::Dec { reg: R13 }), Some(Op::Jcc { cc: Cond::E, .. })) => {
                        budget_stub()
                    }
                    (Some(Op::CmpMemImm { mem, imm: 0 }), Some(Op::Jcc { cc: Cond::Ne, .. }))
                        if mem.base == Base::Reg(R15)
                            && mem.disp == 0xB0
                            && mem.index.is_none() =>
                    {
                        budget_stub()
                    }
                    _ => false,
                };
                if !ok || !matches!(op, Op::Jmp { .. }) {
                    return Err(err(
                        at,
                        Rule::Budget,
                        "backward branch without the budget check",
                    ));
                }
                // A branch landing on the `jz`/`jne` or on the back-edge
                // itself would go around the loop without spending fuel.
                let entered =
                    |d: Option<&Decoded>| d.is_some_and(|d| flag(flags, d.at) & TARGET != 0);
                if entered(fi.get(j)) || entered(back(1)) {
                    return Err(err(
                        at,
                        Rule::Budget,
                        "a branch lands inside the budget check",
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `pop`s and `ret` only as the exact epilogue: `add rsp, frame`, the pops in
/// reverse order of the pushes, `ret`.
fn check_epilogue(fr: &Frame, fi: &[Decoded], j: usize) -> Result<(), VerifyError> {
    let Some(&Decoded { at, ref op, .. }) = fi.get(j) else {
        return Ok(());
    };
    // Walk forward from this instruction: it must be a suffix of the epilogue.
    let mut expect_pops: [u8; 3] = [0; 3];
    for (i, r) in fr.pushed.iter().take(fr.npush).rev().enumerate() {
        if let Some(e) = expect_pops.get_mut(i) {
            *e = *r;
        }
    }
    // Find where in the epilogue `op` is, then check the rest.
    let mut k = match op {
        Op::Ret => fr.npush,
        Op::Pop { reg } => match expect_pops.iter().take(fr.npush).position(|r| r == reg) {
            Some(k) => k,
            None => {
                return Err(err(
                    at,
                    Rule::Stack,
                    "pop of a register not saved in the prologue",
                ));
            }
        },
        _ => return Ok(()),
    };
    let mut rest = fi.get(j..).unwrap_or(&[]).iter();
    let at_of = |d: Option<&Decoded>| d.map_or(fr.end, |d| d.at);
    while k < fr.npush {
        let d = rest.next();
        let want = Op::Pop {
            reg: expect_pops.get(k).copied().unwrap_or(0),
        };
        if d.map(|d| d.op) != Some(want) {
            return Err(err(
                at_of(d),
                Rule::Stack,
                "epilogue does not restore the saved registers",
            ));
        }
        k = k.saturating_add(1);
    }
    let d = rest.next();
    if d.map(|d| d.op) != Some(Op::Ret) {
        return Err(err(at_of(d), Rule::Stack, "epilogue does not end in ret"));
    }
    // The instruction before the first pop (or the ret) must undo the frame
    // when there is one; reached only through the epilogue path, which the
    // `add rsp` rule above already constrains.
    Ok(())
}

/// The dataflow transfer function; with `check`, also the memory and
/// division rules that depend on facts.
fn transfer(
    cx: &Ctx<'_, '_>,
    fr: &Frame,
    st: &mut State,
    d: &Decoded,
    check: bool,
) -> Result<(), VerifyError> {
    let (at, op) = (d.at, &d.op);
    if check && let Some(mem) = mem_of(op) {
        check_mem(cx, fr, st, d, &mem)?;
    }
    match *op {
        Op::Mov { size: 8, dst, src } => {
            let v = st.sym(src);
            st.set(dst, v);
        }
        Op::MovImm { size, dst, imm } => {
            let v = def_sym(at, dst);
            st.set(dst, v);
            let value = if size == 4 {
                imm as u64 & 0xFFFF_FFFF
            } else {
                imm as u64
            };
            st.add(Fact::Const(v, value));
        }
        Op::Alu {
            op: AluOp::Xor,
            dst,
            src,
            ..
        } if dst == src => {
            // `xor r, r` is the zeroing idiom: the dividend's high half
            // before an unsigned `div` must be known to be zero.
            let v = def_sym(at, dst);
            st.set(dst, v);
            st.add(Fact::Const(v, 0));
        }
        Op::AluImm {
            op: AluOp::And,
            size: 4,
            dst,
            imm,
        } if (0..8).contains(&imm) => {
            let v = st.sym(dst) | MASK_BIT;
            st.set(dst, v);
        }
        Op::Load { dst, mem, .. }
            if mem.base == Base::Reg(RSP) && mem.index.is_none() && mem.size == 8 =>
        {
            // A reload of a spilled value gives back the same value.
            let known = st
                .stack
                .iter()
                .find(|(d, v)| *d == mem.disp && *v != 0)
                .map(|e| e.1);
            let v = known.unwrap_or_else(|| def_sym(at, dst));
            st.set(dst, v);
            if known.is_none()
                && let Some(e) = st.stack.iter_mut().find(|e| e.1 == 0)
            {
                // Until the next store there, the slot holds this value.
                *e = (mem.disp, v);
            }
        }
        Op::Store { src, mem } if mem.base == Base::Reg(RSP) => {
            let exact = mem.index.is_none() && mem.size == 8;
            let v = st.sym(src);
            // The bytes this store may write: one place, or for an indexed
            // store the whole range its bound allows (unbounded: all).
            let reach = match mem.index {
                None => Some(i64::from(mem.size)),
                Some((ir, scale)) => st
                    .facts()
                    .iter()
                    .filter_map(|f| match *f {
                        Fact::BelowConst { idx, n } if idx == st.sym(ir) => Some(n),
                        _ => None,
                    })
                    .min()
                    .and_then(|n| i64::try_from(n).ok())
                    .map(|n| {
                        n.saturating_sub(1)
                            .saturating_mul(i64::from(scale))
                            .saturating_add(i64::from(mem.size))
                    }),
            };
            let lo = i64::from(mem.disp);
            for e in st.stack.iter_mut() {
                // Anything this store may overlap is forgotten.
                let e_lo = i64::from(e.0);
                let overlaps = match reach {
                    Some(r) => e_lo < lo.saturating_add(r) && lo < e_lo.saturating_add(8),
                    None => true,
                };
                if overlaps {
                    *e = (0, 0);
                }
            }
            if exact {
                if let Some(e) = st.stack.iter_mut().find(|e| e.1 == 0) {
                    *e = (mem.disp, v);
                } else if let Some(e) = st.stack.first_mut() {
                    *e = (mem.disp, v);
                }
            }
        }
        Op::Load { dst, mem, .. } => {
            // Read the address's registers before `dst` is overwritten.
            let table = len_table(st, &mem);
            let base_of = match (mem.base, mem.index, mem.disp) {
                // Only a whole 8-byte load is the pointer; a narrower one
                // (`mov edx, [..]`) truncates it to a wild address.
                (Base::Reg(R15), Some((hr, 8)), 0x20) if mem.size == 8 => {
                    Some(st.sym(hr)).filter(|h| h & MASK_BIT != 0)
                }
                _ => None,
            };
            let v = def_sym(at, dst);
            st.set(dst, v);
            if let Some((h, w, s)) = table {
                st.add(Fact::LenOf { len: v, h, w, s });
            } else if let Some(h) = base_of {
                st.add(Fact::BaseOf { base: v, h });
            }
        }
        Op::Lea { dst, mem } => {
            let v = def_sym(at, dst);
            st.set(dst, v);
            if mem.base == Base::Rip {
                let addr = target(d.end(), mem.disp);
                if addr >= cx.rodata.0 && addr <= cx.rodata.1 {
                    st.add(Fact::Rodata {
                        base: v,
                        off: addr.wrapping_sub(cx.rodata.0),
                    });
                }
            }
        }
        Op::Div { signed, src } => {
            if check {
                let v = st.sym(src);
                if !st.has(Fact::NonZero(v)) {
                    return Err(err(at, Rule::Division, "divisor not checked against zero"));
                }
                if !signed && !st.has(Fact::Const(st.sym(2), 0)) {
                    return Err(err(
                        at,
                        Rule::Division,
                        "div with rdx not cleared: the quotient could overflow",
                    ));
                }
                if signed && !st.has(Fact::NotMinusOne(v)) {
                    return Err(err(
                        at,
                        Rule::Division,
                        "idiv divisor not checked against -1",
                    ));
                }
            }
            st.set(0, def_sym(at, 0));
            st.set(2, def_sym(at, 2));
        }
        Op::Call { .. } | Op::CallRip { .. } => {
            for r in [0u8, 1, 2, 6, 7, 8, 9, 10, 11] {
                st.set(r, def_sym(at, r));
            }
        }
        _ => {
            let mut w = [0u8; 3];
            let n = writes(op, &mut w);
            for &r in w.iter().take(n) {
                st.set(r, def_sym(at, r));
            }
        }
    }
    Ok(())
}

fn mem_of(op: &Op) -> Option<Mem> {
    match *op {
        Op::Load { mem, .. } | Op::Store { mem, .. } | Op::StoreImm { mem, .. } => Some(mem),
        Op::CmpMem { mem, .. } | Op::CmpMemImm { mem, .. } => Some(mem),
        Op::Lea { mem, .. } if mem.base != Base::Rip => Some(mem),
        _ => None,
    }
}

fn check_mem(
    cx: &Ctx<'_, '_>,
    fr: &Frame,
    st: &State,
    d: &Decoded,
    mem: &Mem,
) -> Result<(), VerifyError> {
    let (at, op) = (d.at, &d.op);
    let write = matches!(op, Op::Store { .. } | Op::StoreImm { .. });
    let size = u64::from(mem.size);
    let disp = i64::from(mem.disp);
    // The largest byte offset from the base the access can touch.
    let span = |limit: u64| -> Option<u64> {
        let d = u64::try_from(disp).ok()?;
        match mem.index {
            None => d.checked_add(size),
            Some((ir, scale)) => {
                // The tightest bound known for the index.
                let n = st
                    .facts()
                    .iter()
                    .filter_map(|f| match *f {
                        Fact::BelowConst { idx, n } if idx == st.sym(ir) => Some(n),
                        _ => None,
                    })
                    .min()?;
                n.checked_sub(1)?
                    .checked_mul(u64::from(scale))?
                    .checked_add(d)?
                    .checked_add(size)
                    .filter(|e| *e <= limit)
            }
        }
    };
    let bad = |what| Err(err(at, Rule::Memory, what));
    match mem.base {
        Base::Rip => {
            if write {
                return bad("write to the image");
            }
            let a = target(d.end(), mem.disp);
            if a < cx.rodata.0 || u64::from(a).saturating_add(size) > u64::from(cx.rodata.1) {
                return bad("RIP-relative access outside read-only data");
            }
        }
        Base::Reg(RSP) => match span(u64::from(fr.frame)) {
            Some(e) if e <= u64::from(fr.frame) => {}
            _ => return bad("stack access outside the frame"),
        },
        Base::Reg(R14) => match span(u64::from(cx.data_size)) {
            Some(e) if e <= u64::from(cx.data_size) => {}
            _ => return bad("data access outside the plugin's statics"),
        },
        Base::Reg(R15) => {
            let ok = !write
                && (len_table(st, mem).is_some()
                    || (mem.disp == 0x20
                        && mem
                            .index
                            .is_some_and(|(r, s)| s == 8 && st.sym(r) & MASK_BIT != 0))
                    || (matches!(op, Op::CmpMemImm { .. })
                        && mem.disp == 0xB0
                        && mem.index.is_none()));
            if !ok {
                return bad("context block access other than the allowed fields");
            }
        }
        Base::Reg(b) => {
            let v = st.sym(b);
            if let Some(off) = st.facts().iter().find_map(|f| match *f {
                Fact::Rodata { base, off } if base == v => Some(off),
                _ => None,
            }) {
                let avail = cx.rodata.1.saturating_sub(cx.rodata.0).saturating_sub(off);
                if write || span(u64::from(avail)).is_none_or(|e| e > u64::from(avail)) {
                    return bad("access outside read-only data");
                }
            } else if let Some(h) = st.facts().iter().find_map(|f| match *f {
                Fact::BaseOf { base, h } if base == v => Some(h),
                _ => None,
            }) {
                let Some((ir, scale)) = mem.index else {
                    return bad("slice access without an index");
                };
                if mem.disp != 0 || u64::from(scale) != size {
                    return bad("slice access not by whole elements");
                }
                let i = st.sym(ir);
                let proved = st.facts().iter().any(|f| {
                    matches!(*f, Fact::Below { idx, h: fh, w, s }
                        if idx == i && fh == h && s == scale && (w || !write))
                });
                if !proved {
                    return bad("slice index not proved below the slice length");
                }
            } else {
                return bad("access through a register not known to point into plugin memory");
            }
        }
    }
    Ok(())
}
