//! The verifier: proves that an object's machine code obeys the sandbox
//! rules before it may run, trusting nothing the compiler did. The rules
//! and the argument that they are sound are in `book/src/runtime/sandbox.md`
//! ("Soundness"); this module follows that page section by section:
//!
//! 1. **Layout** (here): functions tile the code, each decoded once with the
//!    allow-list decoder ([`crate::decode`]); trap stubs and the unwind stub
//!    are byte-for-byte what the runtime expects.
//! 2. **Control flow** ([`cfg`]): per function, blocks with explicit edges,
//!    reverse postorder, dominators; the graph must be reducible.
//! 3. **Abstract interpretation** ([`state`], [`transfer`]): one abstract
//!    state per block entry, the join of *all* incoming edges, a transfer
//!    function for every decoded form in one exhaustive match, a worklist
//!    run to a fixed point (with widening after [`WIDEN_AFTER`] changes of
//!    one block's entry state). A block's checks are evaluated every time
//!    it is processed and only its last result counts, which is the result
//!    at the fixed point. Conditional branches learn facts only from the
//!    flags in the state, on each outgoing edge.
//! 4. **Calls**: the call graph is acyclic and its deepest chain fits the
//!    stack limit. Functions are verified callers first, so that each one's
//!    entry state marks every register a caller may leave a host value in
//!    (the entry taint: [`ENTRY_TAINT`], [`pass_taint`]).
//!
//! No allocation (the caller provides a [`Workspace`] sized by
//! [`Workspace::needs`]), no `unsafe`, no panic path.

mod cfg;
#[cfg(feature = "alloc")]
mod owned;
mod scaled;
mod state;
mod transfer;

use crate::decode::{self, Op};
use crate::format::TrapKind;
use crate::object::Object;
use cfg::{FUNC, NONE, START};
use core::cell::Cell;
#[cfg(feature = "alloc")]
pub use owned::OwnedWorkspace;
pub use state::Abs;
use state::Val;

/// Stack bytes a call chain may use (the language's limit).
pub const STACK_LIMIT: u64 = 8192;
/// Bytes of one trap stub: `mov qword [r15+8], imm32` + `jmp rel32`.
const STUB_LEN: u32 = 13;
/// The unwind stub: `mov rsp, [r15]` + `ret`.
const UNWIND: [u8; 4] = [0x49, 0x8b, 0x27, 0xc3];
/// Changes of one block's entry state before it is widened.
pub const WIDEN_AFTER: u16 = 24;

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
    /// Control flow that is not reducible, or too complex to analyse.
    Structure,
    /// A call to something other than a function start or an import slot,
    /// or an import call without the context.
    Call,
    /// A callee that does not restore a callee-saved register.
    Callee,
    /// A write to (or data use of) a reserved register.
    Register,
    /// A host address used as data, stored, or left where code could read it.
    Pointer,
    /// The stack pointer moved other than by the declared frame.
    Stack,
    /// A memory access not proved inside the plugin's own memory.
    Memory,
    /// A loop without the budget check, or fuel not tested after `dec r13`.
    Budget,
    /// A division that could fault.
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
            Rule::Structure => "structure",
            Rule::Call => "call",
            Rule::Callee => "callee",
            Rule::Register => "register",
            Rule::Pointer => "pointer",
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

/// A fact about named values (see [`state`]); every one is established by
/// exactly the transfers or branch refinements that `sandbox.md` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    /// An empty table entry.
    None,
    /// The value is this constant.
    Const(Val, u64),
    /// The value is in 0..=7 (a masked slice handle).
    Masked(Val),
    /// `m == v & 7`: masking `v` again gives `m`.
    MaskOf { m: Val, v: Val },
    /// `len` is entry `m` of the length table (`w`: writes, `s`: scale).
    LenOf { len: Val, m: Val, w: bool, s: u8 },
    /// `base` is the base address of the slice with masked handle `m`.
    BaseOf { base: Val, m: Val },
    /// `idx` < entry `m` of the length table (`w`, `s`), unsigned.
    BelowLen { idx: Val, m: Val, w: bool, s: u8 },
    /// `idx` < `n`, unsigned.
    BelowConst { idx: Val, n: u64 },
    /// `t == e + k` as integers (the 64-bit add that made `t` did not
    /// wrap): with `t` below a slice length, `[base + e*s + d]` is inside
    /// the slice for `0 <= d <= k*s`.
    SumOf { t: Val, e: Val, k: u32 },
    /// Entry `m` of the length table (`w`, `s`) is at least `n`, unsigned
    /// (`n < 2^32`): an index known to be a constant below `n` is inside
    /// the slice.
    LenAtLeast { m: Val, w: bool, s: u8, n: u32 },
    /// The value is not 0.
    NonZero(Val),
    /// The value is not -1 (all ones).
    NotMinusOne(Val),
    /// `hi` is all sign bits of `lo` (what `cqo` makes of rdx).
    SignOf { hi: Val, lo: Val },
    /// `base` is the image address of read-only data byte `off`.
    Rodata { base: Val, off: u32 },
    /// `x == k * y` as integers (the product did not wrap), `1 <= k <
    /// 2^16`: with `y` below a slice length that `k` times fits another
    /// slice's ([`Fact::LenScaled`]), `[base + x*s + d]` is inside the
    /// other slice for `0 <= d <= (k - 1)*s`.
    Scaled { x: Val, y: Val, k: u32 },
    /// Entry `big` of the length table (`bw`, `bs`) is at least `k` times
    /// entry `small` of the length table (`sw`, `ss`), unsigned and
    /// without wrapping (`1 <= k < 2^16`).
    LenScaled {
        big: Val,
        bw: bool,
        bs: u8,
        small: Val,
        sw: bool,
        ss: u8,
        k: u32,
    },
}

/// One instruction as the layout pass decoded it: every later pass reads
/// these instead of decoding again.
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
    start: u32,
    end: u32,
    bound: u32,
    /// Its instructions: `insns[first..last]`.
    first: u32,
    last: u32,
    /// Deepest stack use of a call chain starting here.
    depth: u64,
    /// It has a direct `call` (set by the decoding pass): the passes over
    /// calls skip the functions without one, where they would find none.
    calls: bool,
    /// Registers it reads before writing them (its inputs).
    live_in: u16,
    /// Registers some plugin caller may leave a host address in when it
    /// calls this function (the union over every call site's state), and
    /// the argument registers past an export's parameters
    /// ([`export_taint`]).
    taint_in: u16,
    /// Call-graph search: next instruction to scan, the caller that
    /// reached it, its state, and (at position `i`) the `i`-th function
    /// in postorder.
    scan: u32,
    parent: u32,
    mark: u8,
    by_post: u32,
}

impl FuncInfo {
    /// A placeholder to fill a fresh workspace with.
    pub const EMPTY: FuncInfo = FuncInfo {
        start: 0,
        end: 0,
        bound: 0,
        first: 0,
        last: 0,
        depth: 0,
        calls: false,
        live_in: 0,
        taint_in: 0,
        scan: 0,
        parent: 0,
        mark: 0,
        by_post: 0,
    };
}

/// One basic block of the function being verified: its place in the
/// graph, its entry state and the verdict of its last processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    abs: Abs,
    err: Option<VerifyError>,
    /// Its instructions `insns[first..last]`, starting at code offset `start`.
    first: u32,
    last: u32,
    start: u32,
    /// Successor blocks (`NONE`: none, or a trap stub).
    succ: [u32; 2],
    /// Reverse-postorder number (`NONE`: unreachable).
    rpo: u32,
    /// The block at reverse-postorder position (this block's index).
    order: u32,
    idom: u32,
    /// Depth in the dominator tree (the entry: 0), and an ancestor to jump
    /// to on the way up (`cfg::place_in_tree`).
    dom_depth: u32,
    dom_jump: u32,
    parent: u32,
    next_succ: u8,
    visited: bool,
    reached: bool,
    dirty: bool,
    /// Processed at least once.
    processed: bool,
    header: bool,
    widened: bool,
    changes: u16,
    /// Edges into the block from reached blocks (saturating).
    in_edges: u8,
    /// Registers the block's instructions may write.
    writes: u16,
    /// Registers some instruction of the block may read before the block
    /// writes them (`cfg::reg_effects`).
    uses: u16,
    /// Registers that may be read, on some path from the block's entry,
    /// before they are written (`cfg::liveness`); the others are dead
    /// there, and its joins forget them (`Abs::join`).
    live_in: u16,
    /// At a loop header: registers the loop may write, renamed by the
    /// header's first join (`cfg::loop_writes`).
    fresh: u16,
    /// At a loop header: the latest reverse-postorder position of a back
    /// edge's source (`NONE` elsewhere).
    latch: u32,
}

impl State {
    /// A block nothing is known about yet.
    pub const UNREACHED: State = State {
        abs: Abs::EMPTY,
        err: None,
        first: 0,
        last: 0,
        start: 0,
        succ: [NONE; 2],
        rpo: NONE,
        order: NONE,
        idom: NONE,
        dom_depth: 0,
        dom_jump: NONE,
        parent: NONE,
        next_succ: 0,
        visited: false,
        reached: false,
        dirty: false,
        processed: false,
        header: false,
        widened: false,
        changes: 0,
        in_edges: 0,
        writes: 0,
        uses: 0,
        live_in: u16::MAX,
        fresh: 0,
        latch: NONE,
    };

    /// Makes the block [`State::UNREACHED`] in all but its abstract state,
    /// which stays as it was: nothing reads it before the block's first
    /// edge overwrites it (a first join copies the edge's state; the entry
    /// block gets [`Abs::at_entry`]), and copying a whole empty state into
    /// every block cost 1.4 % of a large plugin's verification.
    fn reset_unreached(&mut self) {
        let State {
            abs: _,
            err,
            first,
            last,
            start,
            succ,
            rpo,
            order,
            idom,
            dom_depth,
            dom_jump,
            parent,
            next_succ,
            visited,
            reached,
            dirty,
            processed,
            header,
            widened,
            changes,
            in_edges,
            writes,
            uses,
            live_in,
            fresh,
            latch,
        } = self;
        let u = &State::UNREACHED;
        (*err, *first, *last, *start, *succ) = (u.err, u.first, u.last, u.start, u.succ);
        (*rpo, *order, *idom, *parent) = (u.rpo, u.order, u.idom, u.parent);
        (*dom_depth, *dom_jump) = (u.dom_depth, u.dom_jump);
        (*next_succ, *visited, *reached, *dirty) = (u.next_succ, u.visited, u.reached, u.dirty);
        (*header, *widened, *changes, *in_edges) = (u.header, u.widened, u.changes, u.in_edges);
        *processed = u.processed;
        (*writes, *fresh, *latch) = (u.writes, u.fresh, u.latch);
        (*uses, *live_in) = (u.uses, u.live_in);
    }
}

/// How many elements of each [`Workspace`] buffer [`verify`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// `flags` and `slot`: one per code byte.
    pub code_bytes: usize,
    /// `insns`: one per instruction.
    pub insns: usize,
    /// `states`: one per basic block of the function with the most.
    pub states: usize,
    /// `funcs`: one per function.
    pub functions: usize,
}

/// Memory the verifier works in, provided by the caller (sized by
/// [`Workspace::needs`]); nothing in it needs initialising.
pub struct Workspace<'a> {
    /// One byte per code byte (instruction starts, block leaders, functions).
    pub flags: &'a mut [u8],
    /// One entry per code byte: the block starting there (and, at a
    /// call's second byte, the registers that may hold an address there).
    pub slot: &'a mut [u32],
    /// One entry per instruction.
    pub insns: &'a mut [Decoded],
    /// One entry per block of one function.
    pub states: &'a mut [State],
    /// One entry per function.
    pub funcs: &'a mut [FuncInfo],
}

impl Workspace<'_> {
    /// The buffers to allocate for `obj`, from a quick decode: a function
    /// has at most one block for its entry plus two per branch and one per
    /// `ret`. Callers may refuse objects that need more than they are
    /// willing to give.
    pub fn needs(obj: &Object<'_>) -> Needs {
        let code = obj.code();
        let mut insns = 0usize;
        let mut most_blocks = 0usize;
        let mut functions = 0usize;
        for f in obj.functions() {
            functions = functions.saturating_add(1);
            let mut at = f.code_offset as usize;
            let end = f.code_offset.saturating_add(f.code_len) as usize;
            let mut blocks = 1usize;
            // Undecodable code is rejected by `verify` before it needs room.
            while at < end
                && let Some(Ok(insn)) = code.get(at..).map(decode::decode)
            {
                match insn.op {
                    Op::Jcc { .. } | Op::Jmp { .. } => blocks = blocks.saturating_add(2),
                    Op::Ret => blocks = blocks.saturating_add(1),
                    _ => {}
                }
                insns = insns.saturating_add(1);
                at = at.saturating_add(usize::from(insn.len));
            }
            most_blocks = most_blocks.max(blocks);
        }
        Needs {
            code_bytes: code.len(),
            insns,
            states: most_blocks,
            functions,
        }
    }
}

/// What a verified object needs at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The deepest stack any export can use, in bytes.
    pub max_stack: u64,
    /// Blocks processed on the way to the fixed points (the analysis' work).
    pub block_runs: u64,
}

/// What the rules need to know about the object and the function at hand.
pub(crate) struct FnCtx<'o, 'a> {
    obj: &'o Object<'a>,
    /// Read-only data, as image offsets `[start, end)`.
    rodata: (u32, u32),
    /// First import slot's image offset, and the slot count.
    slots: (u32, u32),
    data_size: u32,
    stubs_start: u32,
    unwind: u32,
    start: u32,
    end: u32,
    bound: u32,
    /// Registers read while holding their entry value (this function's inputs).
    reads: Cell<u16>,
    /// Registers that may hold a host value at the function's entry.
    entry_ptr: u16,
    /// The block being processed runs for the first time (see
    /// `transfer::define`).
    first_run: Cell<bool>,
}

impl FnCtx<'_, '_> {
    /// Records a data read of `v`: an entry value makes its register an input.
    fn note_read(&self, v: Val) {
        if let Some(r) = state::entry_reg(v) {
            self.reads.set(self.reads.get() | 1 << r);
        }
    }

    fn is_stub(&self, t: u32) -> bool {
        t >= self.stubs_start
            && t < self.unwind
            && t.wrapping_sub(self.stubs_start).is_multiple_of(STUB_LEN)
    }

    fn stub_kind(&self, t: u32) -> Option<TrapKind> {
        if !self.is_stub(t) {
            return None;
        }
        let k = t.wrapping_sub(self.stubs_start) / STUB_LEN;
        self.obj.trap_site(u64::from(k)).map(|s| s.kind)
    }
}

/// The workspace once the layout pass has filled in the code's structure.
pub(crate) struct Work<'w> {
    flags: &'w mut [u8],
    slot: &'w mut [u32],
    insns: &'w [Decoded],
    states: &'w mut [State],
    /// The lowest reverse-postorder position a back edge made dirty since
    /// the worklist last looked (`NONE`: none).
    back_dirty: u32,
    /// The joins' working tables (see [`state::JoinRoom`]).
    room: state::JoinRoom,
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
        if let Some(b) = flags.get_mut(f.code_offset as usize) {
            *b |= FUNC;
        }
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
    export_taint(obj, funcs);
    // Decode each function once; mark instruction starts.
    let mut n = 0usize;
    for info in funcs.iter_mut() {
        let first = n;
        let mut at = info.start;
        while at < info.end {
            // Decoded straight into its slot (see `decode::decode_into`);
            // the slot check comes after the decode, as before, so an
            // object that needs more slots than given still gets the
            // decoder's verdict first.
            let mut spare = Op::Ret;
            let op = match ws.insns.get_mut(n) {
                Some(d) => &mut d.op,
                None => &mut spare,
            };
            let bytes = code.get(at as usize..).unwrap_or(&[]);
            let Ok(len) = decode::decode_into(bytes, op) else {
                return Err(err(at, Rule::Decode, "not an allowed instruction"));
            };
            let next = at.saturating_add(u32::from(len));
            if next > info.end {
                return Err(err(
                    at,
                    Rule::Decode,
                    "an instruction runs past the end of its function",
                ));
            }
            if at == info.start && *op != Op::Endbr64 {
                return Err(err(
                    at,
                    Rule::Layout,
                    "function does not start with endbr64",
                ));
            }
            if let Some(b) = flags.get_mut(at as usize) {
                *b |= START;
            }
            info.calls |= matches!(*op, Op::Call { .. });
            let d = ws
                .insns
                .get_mut(n)
                .ok_or_else(|| small("not enough instruction slots"))?;
            d.at = at;
            d.len = len;
            n = n.saturating_add(1);
            at = next;
        }
        info.first = u32::try_from(first).unwrap_or(u32::MAX);
        info.last = u32::try_from(n).unwrap_or(u32::MAX);
    }
    let mut w = Work {
        flags,
        slot,
        insns: ws.insns.get(..n).unwrap_or(&[]),
        states: ws.states,
        back_dirty: NONE,
        room: state::JoinRoom::EMPTY,
    };
    // Calls go to function starts. The functions tile `insns` in order, so
    // skipping those without a call finds the same first offender.
    for f in funcs.iter().filter(|f| f.calls) {
        for d in w
            .insns
            .get(f.first as usize..f.last as usize)
            .unwrap_or(&[])
        {
            if let Op::Call { rel } = d.op
                && cfg::flag(w.flags, target(d.end(), rel)) & FUNC == 0
            {
                return Err(err(
                    d.at,
                    Rule::Call,
                    "call to something other than a function start",
                ));
            }
        }
    }
    // The call graph is acyclic (`callees_first`); callers go before their
    // callees, so that a function's entry state can say which registers
    // any of its callers may have left a host address in.
    callees_first(obj, w.insns, funcs)?;
    let mut runs = 0u64;
    // Room for the state as a block runs and on a branch's taken edge, made
    // once: two empty states per function were 1.8 KB of stores each.
    let mut running = (Abs::EMPTY, Abs::EMPTY);
    for pos in (0..funcs.len()).rev() {
        let Some(i) = funcs.get(pos).map(|f| f.by_post as usize) else {
            continue;
        };
        let Some(info) = funcs.get(i).copied() else {
            continue;
        };
        let fx = FnCtx {
            obj,
            rodata: (
                l.rodata_offset,
                l.rodata_offset.saturating_add(l.rodata_len),
            ),
            slots: (l.slots_offset, l.slot_count),
            data_size: l.data_size,
            stubs_start,
            unwind,
            start: info.start,
            end: info.end,
            bound: info.bound,
            reads: Cell::new(0),
            entry_ptr: ENTRY_TAINT | info.taint_in,
            first_run: Cell::new(false),
        };
        runs = runs.saturating_add(verify_function(
            &fx,
            &mut w,
            info.first as usize,
            info.last as usize,
            info.calls,
            &mut running,
        )?);
        if let Some(f) = funcs.get_mut(i) {
            f.live_in = fx.reads.get();
        }
        if info.calls {
            pass_taint(obj, &w, funcs, info.first as usize, info.last as usize);
        }
    }
    exports_read_only_their_parameters(obj, funcs)?;
    let max_stack = call_depths(obj, w.insns, funcs)?;
    Ok(Verified {
        max_stack,
        block_runs: runs,
    })
}

/// The registers that may hold a host value when any function is entered:
/// `r10` and `r11` (the trampoline's saved stack address and entry
/// address, or a plugin caller's scratch values) and `rbx`, `rbp`, `r12`
/// (the host's or a plugin caller's own values: a frame pointer is a stack
/// address). With what the host (an export's unused argument registers,
/// [`export_taint`]) and the function's plugin callers may leave in the
/// others (`taint_in`), they are the entry state's address
/// bits (`ptr`, see `state.rs`).
const ENTRY_TAINT: u16 = (1 << 3) | (1 << 5) | (1 << 10) | (1 << 11) | (1 << 12);

/// Adds to the `taint_in` of every function the argument registers past
/// the parameters of the exports that start at it (whatever the host's
/// entry path left there). One pass over the exports: decoding every export
/// once per function cost 4.5 % of a large plugin's verification. `funcs`
/// tile the code in order (checked before), so their starts are sorted and
/// the functions starting at an export's offset are one run of them.
fn export_taint(obj: &Object<'_>, funcs: &mut [FuncInfo]) {
    const ARGS: [u8; 6] = [7, 6, 2, 1, 8, 9];
    for (code_offset, params) in obj.export_sites() {
        let mut taint = 0u16;
        for &r in ARGS.iter().skip(params) {
            taint |= 1 << r;
        }
        let from = funcs.partition_point(|f| f.start < code_offset);
        for f in funcs.get_mut(from..).unwrap_or(&mut []) {
            if f.start != code_offset {
                break;
            }
            f.taint_in |= taint;
        }
    }
}

/// Passes what a verified caller may leave in registers at each of its
/// calls (`process` records it, per call, in the unused `slot` entry of the
/// call's second byte) on to the callee's `taint_in`. Callers are verified
/// first, so every call site of a function is in before it is verified.
fn pass_taint(obj: &Object<'_>, w: &Work<'_>, funcs: &mut [FuncInfo], first: usize, last: usize) {
    for d in w.insns.get(first..last).unwrap_or(&[]) {
        let Op::Call { rel } = d.op else { continue };
        let bits = w.slot.get(call_record(d)).copied().unwrap_or(u32::MAX);
        let taint = u16::try_from(bits & 0xFFFF).unwrap_or(u16::MAX);
        if let Some(f) = obj
            .function_index_at(target(d.end(), rel))
            .and_then(|c| funcs.get_mut(c))
        {
            f.taint_in |= taint;
        }
    }
}

/// The registers an export may read before writing them: its parameters'
/// (`rdi`, `rsi`, `rdx`, `rcx`, `r8`, `r9` in order) and `rax`, which both
/// runtimes set to 0 before the call. Every other register holds whatever
/// the host's entry path left there — `r10` the host stack address the
/// trampoline saved, `r11` the entry address it calls through, `rbx`,
/// `rbp`, `r12` the host's callee-saved values (a frame pointer is a stack
/// address) — and reading one would let the plugin return or store a host
/// address. `live_in` records every register read while it still held its
/// entry value, through every use: data, a stored value, a compare, the
/// `rax` a `ret` returns, a callee's inputs.
fn exports_read_only_their_parameters(
    obj: &Object<'_>,
    funcs: &[FuncInfo],
) -> Result<(), VerifyError> {
    const PARAMS: [u8; 6] = [7, 6, 2, 1, 8, 9];
    for (code_offset, params) in obj.export_sites() {
        let mut allowed: u16 = 1; // rax
        for &r in PARAMS.iter().take(params) {
            allowed |= 1 << r;
        }
        let live_in = obj
            .function_index_at(code_offset)
            .and_then(|i| funcs.get(i))
            .map_or(u16::MAX, |f| f.live_in);
        if live_in & !allowed != 0 {
            return Err(err(
                code_offset,
                Rule::Register,
                "an export reads a register that is none of its parameters (it holds a host value, such as a stack or code address)",
            ));
        }
    }
    Ok(())
}

pub(crate) fn target(end: u32, rel: i32) -> u32 {
    end.wrapping_add_signed(rel)
}

fn rel_to(end: u32, to: u32) -> i32 {
    to.wrapping_sub(end) as i32
}

/// Orders the functions so that every callee comes before its callers
/// (`by_post`), by a depth-first search of the call graph without recursion;
/// a call back into a function still being searched is recursion.
fn callees_first(
    obj: &Object<'_>,
    insns: &[Decoded],
    funcs: &mut [FuncInfo],
) -> Result<(), VerifyError> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let n = funcs.len();
    let mut post = 0usize;
    for f in funcs.iter_mut() {
        f.mark = NEW;
        // A function without a call has no edge to scan for.
        f.scan = if f.calls { f.first } else { f.last };
    }
    for root in 0..n {
        if funcs.get(root).is_none_or(|f| f.mark != NEW) {
            continue;
        }
        let mut cur = root;
        if let Some(f) = funcs.get_mut(cur) {
            f.mark = OPEN;
            f.parent = u32::MAX;
        }
        while let Some(f) = funcs.get(cur).copied() {
            if f.scan < f.last {
                if let Some(fm) = funcs.get_mut(cur) {
                    fm.scan = f.scan.saturating_add(1);
                }
                let Some(d) = insns.get(f.scan as usize) else {
                    continue;
                };
                let Op::Call { rel } = d.op else { continue };
                let Some(c) = obj.function_index_at(target(d.end(), rel)) else {
                    continue;
                };
                match funcs.get(c).map(|g| g.mark) {
                    Some(NEW) => {
                        if let Some(g) = funcs.get_mut(c) {
                            g.mark = OPEN;
                            g.parent = u32::try_from(cur).unwrap_or(u32::MAX);
                        }
                        cur = c;
                    }
                    Some(OPEN) => {
                        return Err(err(d.at, Rule::StackLimit, "recursion: calls form a cycle"));
                    }
                    _ => {}
                }
            } else {
                if let Some(fm) = funcs.get_mut(cur) {
                    fm.mark = DONE;
                }
                if let Some(slot) = funcs.get_mut(post) {
                    slot.by_post = u32::try_from(cur).unwrap_or(u32::MAX);
                }
                post = post.saturating_add(1);
                if f.parent == u32::MAX {
                    break;
                }
                cur = f.parent as usize;
            }
        }
    }
    Ok(())
}

/// The abstract interpretation of one function to its fixed point, then
/// the verdict: the first error any block had at its last processing.
fn verify_function(
    fx: &FnCtx<'_, '_>,
    w: &mut Work<'_>,
    first: usize,
    last: usize,
    calls: bool,
    (st, taken): &mut (Abs, Abs),
) -> Result<u64, VerifyError> {
    let (nblocks, reached) = cfg::build(fx, w, first, last)?;
    let mut runs = 0u64;
    if let Some(b0) = w.states.get_mut(0) {
        b0.abs = Abs::at_entry();
        b0.abs.ptr = fx.entry_ptr;
        b0.reached = true;
        b0.dirty = true;
    }
    // The worklist visits blocks in reverse postorder and always goes on
    // from the earliest dirty block. Every edge but a back edge leads to a
    // later position, so only a back edge can dirty an earlier block; going
    // back to it at once runs a loop to its fixed point before anything
    // after the loop sees its state (a loop's exit and everything below it
    // run once per loop fixed point, not once per trip around the loop).
    // Each call's record of the registers that may hold an address there
    // (see `pass_taint`): the union over every processing of its block.
    let with_calls = if calls { first..last } else { first..first };
    for d in w.insns.get(with_calls).unwrap_or(&[]) {
        if matches!(d.op, Op::Call { .. })
            && let Some(s) = w.slot.get_mut(call_record(d))
        {
            *s = 0;
        }
    }
    let mut pos = 0usize;
    w.back_dirty = NONE;
    while pos < reached {
        let b = w.states.get(pos).map_or(NONE, |s| s.order);
        let dirty = w.states.get(b as usize).is_some_and(|s| s.dirty);
        if dirty {
            if let Some(blk) = w.states.get_mut(b as usize) {
                blk.dirty = false;
            }
            runs = runs.saturating_add(1);
            let verdict = process(fx, w, b, st, taken);
            if let Some(blk) = w.states.get_mut(b as usize) {
                blk.err = verdict.err();
            }
        }
        if (w.back_dirty as usize) <= pos {
            pos = w.back_dirty as usize;
            w.back_dirty = NONE;
        } else {
            pos = pos.saturating_add(1);
        }
    }
    let mut first_err: Option<VerifyError> = None;
    for blk in w.states.get(..nblocks).unwrap_or(&[]) {
        if let Some(e) = blk.err
            && first_err.is_none_or(|f| e.offset < f.offset)
        {
            first_err = Some(e);
        }
    }
    first_err.map_or(Ok(runs), Err)
}

/// Runs block `b` from its entry state and pushes the result along its
/// edges; `st` and `taken` are room for the state as it runs and on a
/// branch's taken edge (any contents: both are overwritten first).
fn process(
    fx: &FnCtx<'_, '_>,
    w: &mut Work<'_>,
    b: u32,
    st: &mut Abs,
    taken: &mut Abs,
) -> Result<(), VerifyError> {
    let Some(blk) = w.states.get_mut(b as usize) else {
        return Ok(());
    };
    let (first, last, succ, rpo) = (blk.first, blk.last, blk.succ, blk.rpo);
    fx.first_run.set(!blk.processed);
    blk.processed = true;
    st.copy_from(&blk.abs);
    let insns = w.insns;
    let body = insns.get(first as usize..last as usize).unwrap_or(&[]);
    let Some((d, inner)) = body.split_last() else {
        return Ok(());
    };
    for d in inner {
        note_call(w, d, st);
        transfer::transfer(fx, st, d.at, d.end(), &d.op)?;
        // Inside a block a `jcc` can only branch to a trap stub (any other
        // target ends the block, `cfg.rs`): control goes on along the
        // fall-through edge, the block's only way on.
        if let Op::Jcc { cc, rel } = d.op {
            let fuel_tested = budget_test(fx, st, d, cc, target(d.end(), rel))?;
            fall_through(st, cc, fuel_tested);
        }
    }
    note_call(w, d, st);
    transfer::transfer(fx, st, d.at, d.end(), &d.op)?;
    match d.op {
        Op::Jcc { cc, rel } => {
            let fuel_tested = budget_test(fx, st, d, cc, target(d.end(), rel))?;
            if let Some(&s0) = succ.first()
                && s0 != NONE
            {
                taken.copy_from(st);
                transfer::refine(taken, cc, true);
                edge(w, d.at, rpo, s0, taken)?;
            }
            fall_through(st, cc, fuel_tested);
            if let Some(&s1) = succ.get(1) {
                edge(w, d.at, rpo, s1, st)?;
            }
        }
        Op::Jmp { .. } => {
            if let Some(&s0) = succ.first()
                && s0 != NONE
            {
                edge(w, d.at, rpo, s0, st)?;
            }
        }
        Op::Ret => {}
        _ => {
            if let Some(&s0) = succ.first() {
                edge(w, d.at, rpo, s0, st)?;
            }
        }
    }
    Ok(())
}

/// Where a call's record lives: the `slot` entry of its second byte, which
/// is no instruction start and so never a block's (`cfg.rs` writes `slot`
/// only at block starts).
fn call_record(d: &Decoded) -> usize {
    (d.at as usize).saturating_add(1)
}

/// At a call, adds the registers that may hold an address to the call's
/// record (see `pass_taint`).
fn note_call(w: &mut Work<'_>, d: &Decoded, st: &Abs) {
    if matches!(d.op, Op::Call { .. })
        && let Some(s) = w.slot.get_mut(call_record(d))
    {
        *s |= u32::from(st.ptr);
    }
}

/// The fuel rule at a conditional branch `d` (condition `cc`, target `t`):
/// right after `dec r13`, only a `jz` to a Budget trap stub may follow.
/// Returns whether this branch is that fuel test. Inlined: mostly one test
/// of `fuel_unchecked`.
#[inline(always)]
fn budget_test(
    fx: &FnCtx<'_, '_>,
    st: &Abs,
    d: &Decoded,
    cc: decode::Cond,
    t: u32,
) -> Result<bool, VerifyError> {
    if !st.fuel_unchecked {
        return Ok(false);
    }
    let ok = st.flags == state::Flags::Fuel
        && cc == decode::Cond::E
        && fx.stub_kind(t) == Some(TrapKind::Budget);
    if ok {
        Ok(true)
    } else {
        Err(err(
            d.at,
            Rule::Budget,
            "fuel decremented but not tested by a jz to a budget trap",
        ))
    }
}

/// The state on a conditional branch's fall-through edge: the condition is
/// false there, and after a fuel test the fuel was left (and is paid for).
fn fall_through(st: &mut Abs, cc: decode::Cond, fuel_tested: bool) {
    if fuel_tested {
        st.fuel_unchecked = false;
        st.paid = true;
    }
    transfer::refine(st, cc, false);
}

/// Joins the state `e` on the edge from the block numbered `from_rpo`
/// (ending at code offset `at`) into block `to`.
///
/// Inlined into `process`, its only caller (three sites): a call's entry
/// and exit were a sizeable part of what an edge into a single-edge block
/// (a compare and a copy) costs.
#[inline(always)]
fn edge(w: &mut Work<'_>, at: u32, from_rpo: u32, to: u32, e: &Abs) -> Result<(), VerifyError> {
    let Some(blk) = w.states.get_mut(to as usize) else {
        return Ok(());
    };
    if blk.rpo <= from_rpo && !e.paid {
        // A back edge: every path around the loop ran a fuel check since
        // the header was last entered.
        return Err(err(
            at,
            Rule::Budget,
            "loop back-edge without a fuel check since the loop header",
        ));
    }
    // A block with one edge into it (not the entry, which has the call as
    // another) has exactly the state on that edge: no join, no renaming.
    // Its state changes only when its predecessor's does, and every cycle
    // runs through a loop header, which joins and widens: so it needs no
    // widening of its own for the iteration to end.
    let single = blk.in_edges == 1 && to != 0;
    let joined = if single {
        let changed = !blk.reached || blk.abs != *e;
        if changed {
            blk.abs.copy_from(e);
        }
        Ok(changed)
    } else if blk.widened {
        blk.abs.join_widened(e)
    } else {
        blk.abs
            .join(e, to, !blk.reached, blk.fresh, !blk.live_in, &mut w.room)
    };
    let changed = joined.map_err(|(rule, what)| err(at, rule, what))?;
    if blk.header {
        blk.abs.paid = false;
    }
    if !blk.reached || changed {
        blk.reached = true;
        blk.dirty = true;
        if blk.rpo <= from_rpo {
            w.back_dirty = w.back_dirty.min(blk.rpo);
        }
        blk.changes = blk.changes.saturating_add(1);
        if !single && blk.changes > WIDEN_AFTER && !blk.widened {
            blk.widened = true;
            blk.abs = blk.abs.widened(to);
        }
    }
    Ok(())
}

/// The deepest stack use of any call chain: each function's depth is its
/// own bound plus its deepest callee's, found by relaxation — rounds over
/// every call until nothing changes — rather than recursion, which a long
/// chain of functions could use to overflow the (kernel) stack. Every bound
/// is at least 8 (the return address), so a cycle grows some depth past the
/// limit; without one, a chain within the limit is at most `limit / 8`
/// deep, which bounds the rounds.
fn call_depths(
    obj: &Object<'_>,
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
            let with_calls = if f.calls { f.first..f.last } else { 0..0 };
            let (from, to) = (with_calls.start as usize, with_calls.end as usize);
            for d in insns.get(from..to).unwrap_or(&[]) {
                if let Op::Call { rel } = d.op
                    && let Some(ci) = obj.function_index_at(target(d.end(), rel))
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
