//! The execution oracle: runs an object under unicorn-engine and checks every
//! instruction and every data access against what the sandbox allows
//! (`book/src/runtime/abi.md`, `book/src/runtime/sandbox.md`). It does not
//! trust the verifier: it works from the object alone (the function table
//! and a linear decode of each function with the allow-list decoder).
//!
//! Virtual layout (every region surrounded by unmapped space or by mapped
//! space that no rule allows, so a stray access is reported precisely):
//!
//! | region | address |
//! |---|---|
//! | image (code, rodata, import slots), R+X as the runtime maps it | [`IMAGE`] |
//! | import stubs (one `ret` per slot, emulated in the code hook) | [`IMPORTS`] |
//! | the trampoline's return address | [`RET_ADDR`] |
//! | statics (`data size` bytes exactly) | [`DATA`] |
//! | context block | [`CTX`] |
//! | stack: the entry return address at `entry_rsp`, the trampoline's saved area above | [`STACK_TOP`] |
//! | slice `h` | [`SLICES`] + `h` × [`SLICE_STRIDE`] |

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use kpl_runtime_core::decode::{self, Op};
use kpl_runtime_core::{Object, ScalarType, TrapKind, ValType};
use unicorn_engine::unicorn_const::{Arch, HookType, MemType, Mode, Prot};
use unicorn_engine::{Context, RegisterX86, Unicorn};

// Everything above 4 GiB (as in the kernel), so a 32-bit truncation of any
// pointer or reserved register changes it.
pub const IMAGE: u64 = 0x7_0010_0000;
pub const IMPORTS: u64 = 0x7_0800_0000;
pub const IMPORT_STRIDE: u64 = 16;
pub const RET_ADDR: u64 = 0x7_0900_0000;
pub const DATA: u64 = 0x7_1000_0000;
pub const CTX: u64 = 0x7_2000_0000;
pub const STACK_TOP: u64 = 0x7_3010_0000;
pub const STACK_MAPPED: u64 = 0x10_0000;
pub const SLICES: u64 = 0x7_4000_0000;
pub const SLICE_STRIDE: u64 = 0x0100_0000;
/// The entry return address: `rsp` when the export starts (16-aligned + 8).
pub const ENTRY_RSP: u64 = STACK_TOP - 0x1000 - 8;
/// Stack bytes a call chain may use below the entry return address, return
/// addresses included (the verifier's `STACK_LIMIT`), plus one return
/// address pushed by an import call.
pub const STACK_ALLOWED: u64 = 8192 + 8;
/// Callee-saved registers at entry (the trampoline's values).
pub const SENTINELS: [u64; 3] = [
    0x5eed_0000_0000_00b1,
    0x5eed_0000_0000_00b5,
    0x5eed_0000_0000_0012,
];
/// A budget on emulated instructions whatever the fuel.
pub const MAX_INSNS: u64 = 20_000_000;

/// One argument of an export.
#[derive(Clone, Debug)]
pub enum Arg {
    /// A scalar in its register.
    Int(u64),
    /// A slice: its bytes, and whether it is handed in writable.
    Slice { bytes: Vec<u8>, writable: bool },
}

/// One invocation.
#[derive(Clone, Debug)]
pub struct Run {
    pub export: String,
    pub args: Vec<Arg>,
    pub fuel: u64,
}

/// How an invocation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Returned(u64),
    Trapped(u64),
    /// Emulation stopped elsewhere (after a violation, or out of budget).
    Stopped,
}

/// What the oracle saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub violations: Vec<String>,
    pub insns: u64,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Func(usize),
    Stub(u64),
    Unwind,
}

#[derive(Clone, Copy, Debug)]
struct InsnInfo {
    op: Op,
    len: u8,
    at: Where,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    ret: u64,
    rsp_after: u64,
    saved: [u64; 3],
    func: Option<usize>,
    since_dec: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cur {
    None,
    Code(u64, Op),
    Import(u64),
}

/// Static facts about the object, computed once.
pub struct Static {
    code_len: u64,
    rodata: (u64, u64),
    slots: (u64, u64),
    data_size: u64,
    insns: Vec<Option<InsnInfo>>,
    func_starts: Vec<u64>,
    func_insns: Vec<u64>,
    site_kinds: Vec<TrapKind>,
    nfuncs: usize,
    total_insns: u64,
    unwind: u64,
}

impl Static {
    fn empty() -> Static {
        Static {
            code_len: 0,
            rodata: (0, 0),
            slots: (0, 0),
            data_size: 0,
            insns: Vec::new(),
            func_starts: Vec::new(),
            func_insns: Vec::new(),
            site_kinds: Vec::new(),
            nfuncs: 0,
            total_insns: 1,
            unwind: 0,
        }
    }

    pub fn new(obj: &Object<'_>) -> Static {
        let code = obj.code();
        let l = obj.layout();
        let mut insns = vec![None; code.len()];
        let mut func_starts = Vec::new();
        let mut func_insns = Vec::new();
        let mut total = 0u64;
        let mut end_of_funcs = 0usize;
        for (fi, f) in obj.functions().enumerate() {
            let (start, end) = (
                f.code_offset as usize,
                (f.code_offset + f.code_len) as usize,
            );
            func_starts.push(start as u64);
            let n = decode_range(code, start, end, Where::Func(fi), &mut insns);
            func_insns.push(n);
            total += n;
            end_of_funcs = end_of_funcs.max(end);
        }
        let sites = obj.trap_site_count();
        let unwind = end_of_funcs + 13 * sites;
        for k in 0..sites {
            let s = end_of_funcs + 13 * k;
            decode_range(code, s, s + 13, Where::Stub(k as u64), &mut insns);
        }
        decode_range(code, unwind, code.len(), Where::Unwind, &mut insns);
        Static {
            code_len: code.len() as u64,
            rodata: (
                u64::from(l.rodata_offset),
                u64::from(l.rodata_offset + l.rodata_len),
            ),
            slots: (
                u64::from(l.slots_offset),
                u64::from(l.slots_offset + 8 * l.slot_count),
            ),
            data_size: u64::from(l.data_size),
            insns,
            func_starts,
            func_insns,
            site_kinds: obj.trap_sites().map(|s| s.kind).collect(),
            nfuncs: obj.functions().count(),
            total_insns: total.max(1),
            unwind: unwind as u64,
        }
    }
}

/// Decodes `code[start..end]` linearly; returns the instruction count.
fn decode_range(
    code: &[u8],
    start: usize,
    end: usize,
    at: Where,
    out: &mut [Option<InsnInfo>],
) -> u64 {
    let mut pc = start;
    let mut n = 0;
    while pc < end.min(code.len()) {
        let Ok(insn) = decode::decode(&code[pc..end.min(code.len())]) else {
            break;
        };
        out[pc] = Some(InsnInfo {
            op: insn.op,
            len: insn.len,
            at,
        });
        n += 1;
        pc += usize::from(insn.len);
    }
    n
}

struct St {
    s: Rc<Static>,
    fuel: u64,
    cap: u64,
    slices: Vec<(u64, u64, bool)>,
    cur: Cur,
    prev: Cur,
    rsp_cur: u64,
    r13: u64,
    shadow: Vec<Frame>,
    violations: Vec<String>,
    insns: u64,
    junk: u64,
    /// The stack bytes written, [lo, hi) (none: lo > hi).
    stack_lo: u64,
    stack_hi: u64,
}

impl St {
    /// The state between runs.
    fn idle() -> St {
        St {
            s: Rc::new(Static::empty()),
            fuel: 0,
            cap: 0,
            slices: Vec::new(),
            cur: Cur::None,
            prev: Cur::None,
            rsp_cur: ENTRY_RSP,
            r13: 0,
            shadow: Vec::new(),
            violations: Vec::new(),
            insns: 0,
            junk: 0,
            stack_lo: u64::MAX,
            stack_hi: 0,
        }
    }

    fn violate(&mut self, what: String) {
        if self.violations.len() < 8 {
            self.violations.push(what);
        }
    }

    fn next_junk(&mut self) -> u64 {
        // xorshift: deterministic junk for clobbered registers.
        let mut x = self.junk;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.junk = x;
        x
    }

    fn insn(&self, addr: u64) -> Option<InsnInfo> {
        if (IMAGE..IMAGE + self.s.code_len).contains(&addr) {
            self.s.insns[(addr - IMAGE) as usize]
        } else {
            None
        }
    }

    fn describe(&self, addr: u64) -> String {
        describe(self.s.code_len, addr)
    }

    fn region(&self, addr: u64) -> String {
        let off = |b: u64| addr.wrapping_sub(b);
        if (IMAGE..IMAGE + 0x100_0000).contains(&addr) {
            let o = off(IMAGE);
            if o < self.s.code_len {
                format!("code+{o:#x}")
            } else if (self.s.rodata.0..self.s.rodata.1).contains(&o) {
                format!("rodata+{:#x}", o - self.s.rodata.0)
            } else if (self.s.slots.0..self.s.slots.1).contains(&o) {
                format!("import slot {}", (o - self.s.slots.0) / 8)
            } else {
                format!("image+{o:#x}")
            }
        } else if (DATA - 0x10_0000..DATA + 0x20_0000).contains(&addr) {
            format!("data{:+}", addr as i64 - DATA as i64)
        } else if (CTX - 0x1000..CTX + 0x2000).contains(&addr) {
            format!("ctx{:+}", addr as i64 - CTX as i64)
        } else if (STACK_TOP - STACK_MAPPED..STACK_TOP + 0x1000).contains(&addr) {
            format!("entry_rsp{:+}", addr as i64 - ENTRY_RSP as i64)
        } else if (SLICES..SLICES + 9 * SLICE_STRIDE).contains(&addr) {
            let h = (addr - SLICES) / SLICE_STRIDE;
            format!("slice{h}+{:#x}", addr - SLICES - h * SLICE_STRIDE)
        } else {
            format!("{addr:#x}")
        }
    }
}

/// A code address, as an offset in the code when it is one.
fn describe(code_len: u64, addr: u64) -> String {
    if (IMAGE..IMAGE + code_len).contains(&addr) {
        format!("code+{:#x}", addr - IMAGE)
    } else {
        format!("{addr:#x}")
    }
}

/// What ran last, for a violation's message (formatted only when one is
/// reported: the code hook runs for every instruction).
struct By {
    code_len: u64,
    prev: Cur,
}

impl std::fmt::Display for By {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prev {
            Cur::Code(a, op) => write!(f, "{} ({op:?})", describe(self.code_len, a)),
            Cur::Import(k) => write!(f, "import {k}"),
            Cur::None => f.write_str("the trampoline"),
        }
    }
}

fn rd(uc: &Unicorn<'_, ()>, r: RegisterX86) -> u64 {
    uc.reg_read(r).unwrap_or(0)
}

const CALLER_SAVED: [RegisterX86; 9] = [
    RegisterX86::RAX,
    RegisterX86::RCX,
    RegisterX86::RDX,
    RegisterX86::RSI,
    RegisterX86::RDI,
    RegisterX86::R8,
    RegisterX86::R9,
    RegisterX86::R10,
    RegisterX86::R11,
];
const ARG_REGS: [RegisterX86; 6] = [
    RegisterX86::RDI,
    RegisterX86::RSI,
    RegisterX86::RDX,
    RegisterX86::RCX,
    RegisterX86::R8,
    RegisterX86::R9,
];

fn page_up(x: u64) -> u64 {
    (x + 0xfff) & !0xfff
}

fn code_hook(uc: &mut Unicorn<'_, ()>, st: &RefCell<St>, addr: u64, size: u32) {
    if addr == RET_ADDR {
        return;
    }
    let mut guard = st.borrow_mut();
    let st = &mut *guard;
    st.insns += 1;
    let r13 = rd(uc, RegisterX86::R13);
    let r14 = rd(uc, RegisterX86::R14);
    let r15 = rd(uc, RegisterX86::R15);
    let rsp = rd(uc, RegisterX86::RSP);
    let prev = st.cur;
    let by = By {
        code_len: st.s.code_len,
        prev,
    };
    if r14 != DATA {
        st.violate(format!("r14 changed to {r14:#x} by {by}"));
    }
    if r15 != CTX {
        st.violate(format!("r15 changed to {r15:#x} by {by}"));
    }
    if r13 != st.r13 {
        let dec = matches!(prev, Cur::Code(_, Op::Dec { reg: 13 }));
        if !dec || r13.wrapping_add(1) != st.r13 {
            st.violate(format!(
                "r13 changed from {:#x} to {r13:#x} by {by}",
                st.r13
            ));
        } else if st.r13 == 0 {
            st.violate(format!("fuel passed below zero (dec r13 at {by})"));
        }
        st.r13 = r13;
    }
    let cap = st.cap;
    if st.insns > cap {
        st.violate(format!(
            "more than {cap} instructions executed (fuel {}): the code does not terminate within its budget",
            st.fuel
        ));
    }
    // What is about to run.
    if (IMPORTS..IMPORTS + 0x1000).contains(&addr) {
        let k = (addr - IMPORTS) / IMPORT_STRIDE;
        if !matches!(prev, Cur::Code(_, Op::CallRip { .. })) {
            st.violate(format!(
                "import {k} entered other than by its call, from {by}"
            ));
        }
        let rdi = rd(uc, RegisterX86::RDI);
        if rdi != CTX {
            st.violate(format!(
                "import {k} called with rdi = {rdi:#x}, not the context"
            ));
        }
        // The host function: clobbers every caller-saved register and the
        // flags, and returns junk in rax.
        for r in CALLER_SAVED {
            let j = st.next_junk();
            let _ = uc.reg_write(r, j);
        }
        let f = st.next_junk() & 0x8d5;
        let _ = uc.reg_write(RegisterX86::EFLAGS, 0x202 | f);
        st.cur = Cur::Import(k);
        do_ret(uc, st, rsp, false);
        st.prev = prev;
        if !st.violations.is_empty() {
            let _ = uc.emu_stop();
        }
        return;
    }
    let Some(info) = st.insn(addr) else {
        let what = format!(
            "fetch at {} ({size} bytes) from {by}: not an instruction start of the verified code",
            st.region(addr)
        );
        st.violate(what);
        st.cur = Cur::None;
        let _ = uc.emu_stop();
        return;
    };
    // Control flow between functions only by call and ret.
    if let (Cur::Code(pa, pop), Where::Func(f)) = (prev, info.at) {
        let pf = st.insn(pa).map(|i| i.at);
        match pop {
            Op::Call { .. } => {
                if !st.s.func_starts.contains(&(addr - IMAGE)) {
                    st.violate(format!(
                        "call from {by} lands at {} which is no function start",
                        st.describe(addr)
                    ));
                }
            }
            Op::Ret | Op::CallRip { .. } => {}
            _ => {
                if pf != Some(Where::Func(f)) {
                    st.violate(format!(
                        "{by} passes control into function {f} at {}",
                        st.describe(addr)
                    ));
                }
            }
        }
    }
    // The stubs are entered only at their first instruction.
    let from_prev = |want: fn(&InsnInfo) -> bool| match prev {
        Cur::Code(pa, _) => st.insn(pa).is_some_and(|i| want(&i)),
        _ => false,
    };
    let entered_inside = match (info.at, info.op) {
        (Where::Stub(_), Op::Jmp { .. }) => !from_prev(|i| matches!(i.op, Op::StoreImm { .. })),
        (Where::Unwind, Op::Ret) => !from_prev(|i| i.at == Where::Unwind),
        (Where::Unwind, _) => !from_prev(|i| matches!(i.at, Where::Stub(_))),
        _ => false,
    };
    if entered_inside {
        let w = format!("{by} enters a stub in the middle, at {}", st.describe(addr));
        st.violate(w);
    }
    match info.at {
        Where::Stub(k) => {
            let is_start = matches!(info.op, Op::StoreImm { .. });
            if is_start {
                let kind = st.s.site_kinds.get(k as usize).copied();
                let budget = kind == Some(TrapKind::Budget);
                // (A jump to a Budget stub with fuel left misreports the
                // trap but is harmless, like `abort;`: not flagged.)
                if !budget && r13 == 0 {
                    st.violate(format!(
                        "fuel is exhausted but trap site {k} is {kind:?}, from {by}"
                    ));
                }
            }
        }
        Where::Unwind | Where::Func(_) => {}
    }
    // Fuel: one activation must not run longer than its function without
    // spending fuel (a longer path repeats an instruction: a loop without
    // a budget check).
    if let Where::Func(f) = info.at {
        let limit = st.s.func_insns[f];
        if let Some(top) = st.shadow.last_mut() {
            top.since_dec += 1;
            if top.since_dec > limit {
                let n = top.since_dec;
                st.violate(format!(
                    "{n} instructions of function {f} ({limit} long) in one activation without dec r13: a loop without fuel (at {})",
                    st.describe(addr)
                ));
            }
        }
    }
    match info.op {
        Op::Dec { reg: 13 } => {
            if let Some(top) = st.shadow.last_mut() {
                top.since_dec = 0;
            }
        }
        Op::Call { .. } | Op::CallRip { .. } => {
            let saved = [
                rd(uc, RegisterX86::RBX),
                rd(uc, RegisterX86::RBP),
                rd(uc, RegisterX86::R12),
            ];
            let func = match info.op {
                Op::Call { rel } => {
                    let t = (addr + u64::from(info.len)).wrapping_add(rel as i64 as u64);
                    st.s.func_starts.iter().position(|&s| IMAGE + s == t)
                }
                _ => None,
            };
            st.shadow.push(Frame {
                ret: addr + u64::from(info.len),
                rsp_after: rsp,
                saved,
                func,
                since_dec: 0,
            });
            if st.shadow.len() > st.s.nfuncs + 2 {
                let d = st.shadow.len();
                st.violate(format!(
                    "call depth {d} exceeds the number of functions: recursion"
                ));
            }
        }
        Op::Ret => {
            st.cur = Cur::Code(addr, info.op);
            do_ret(uc, st, rsp, info.at == Where::Unwind);
        }
        _ => {}
    }
    st.prev = prev;
    st.cur = Cur::Code(addr, info.op);
    st.rsp_cur = rsp;
    if !st.violations.is_empty() {
        let _ = uc.emu_stop();
    }
}

/// Checks a `ret` about to run at `rsp` against the shadow stack.
fn do_ret(uc: &mut Unicorn<'_, ()>, st: &mut St, rsp: u64, unwind: bool) {
    let mut buf = [0u8; 8];
    let ok = uc.mem_read(rsp, &mut buf).is_ok();
    let to = u64::from_le_bytes(buf);
    if unwind {
        if !ok || to != RET_ADDR || rsp != ENTRY_RSP {
            st.violate(format!(
                "the unwind stub returns to {to:#x} with rsp {} (expected the trampoline at entry_rsp)",
                st.region(rsp)
            ));
        }
        st.shadow.clear();
        return;
    }
    let Some(top) = st.shadow.pop() else {
        st.violate(format!(
            "ret at rsp {} with no call to return from",
            st.region(rsp)
        ));
        return;
    };
    if !ok || to != top.ret {
        st.violate(format!(
            "ret to {} but the matching call returns to {}",
            st.describe(to),
            st.describe(top.ret)
        ));
    }
    if rsp.wrapping_add(8) != top.rsp_after {
        st.violate(format!(
            "ret with rsp at {}, the call left it at {}",
            st.region(rsp),
            st.region(top.rsp_after.wrapping_sub(8))
        ));
    }
    let now = [
        rd(uc, RegisterX86::RBX),
        rd(uc, RegisterX86::RBP),
        rd(uc, RegisterX86::R12),
    ];
    for (i, name) in ["rbx", "rbp", "r12"].iter().enumerate() {
        if now[i] != top.saved[i] {
            st.violate(format!(
                "callee-saved {name} not preserved: {:#x} at the call, {:#x} at the ret to {}",
                top.saved[i],
                now[i],
                st.describe(top.ret)
            ));
        }
    }
}

fn mem_hook(st: &RefCell<St>, kind: MemType, addr: u64, size: usize, value: i64) {
    let mut guard = st.borrow_mut();
    let st = &mut *guard;
    let write = matches!(kind, MemType::WRITE);
    if write && (STACK_TOP - STACK_MAPPED..STACK_TOP).contains(&addr) {
        // What the next run must clear (a write cannot go past the end of
        // the mapping: unicorn refuses it).
        st.stack_lo = st.stack_lo.min(addr);
        st.stack_hi = st.stack_hi.max((addr + size as u64).min(STACK_TOP));
    }
    let (pc, op) = match st.cur {
        Cur::Import(_) => return, // the host's own stack use
        Cur::Code(a, op) => (a, Some(op)),
        Cur::None => (0, None),
    };
    let size = size as u64;
    let end = addr.wrapping_add(size);
    // The atomic forms must be naturally aligned (a split lock stalls every
    // CPU and faults in the kernel under split-lock detection).
    let atomic = matches!(
        op,
        Some(Op::LockXadd { .. } | Op::LockCmpxchg { .. } | Op::Xchg { .. })
    );
    if atomic && !addr.is_multiple_of(size.max(1)) {
        let w = format!(
            "misaligned atomic access of {size} bytes at {} by {}",
            st.region(addr),
            st.describe(pc)
        );
        st.violate(w);
    }
    if allowed(st, write, pc, op, addr, size, value) {
        return;
    }
    let rw = if write { "write" } else { "read" };
    let r = st.region(addr);
    let w = format!(
        "{rw} of {size} bytes at {r} by {} ({op:?})",
        st.describe(pc)
    );
    let _ = end;
    st.violate(w);
}

fn allowed(
    st: &mut St,
    write: bool,
    pc: u64,
    op: Option<Op>,
    addr: u64,
    size: u64,
    value: i64,
) -> bool {
    let end = addr.wrapping_add(size);
    // Statics.
    if addr >= DATA && end <= DATA + st.s.data_size {
        return true;
    }
    // Stack.
    if (ENTRY_RSP - STACK_ALLOWED..ENTRY_RSP).contains(&addr) && end <= ENTRY_RSP {
        let pushes = matches!(
            op,
            Some(Op::Push { .. } | Op::Call { .. } | Op::CallRip { .. })
        );
        let own_top = st
            .shadow
            .last()
            .map_or(ENTRY_RSP, |f| f.rsp_after.wrapping_sub(8));
        if write && end > own_top && !pushes {
            let w = format!(
                "write of {size} bytes at {} above its own frame (return address at {}) by {}",
                st.region(addr),
                st.region(own_top),
                st.describe(pc)
            );
            st.violate(w);
        }
        if addr < st.rsp_cur && !pushes {
            let w = format!(
                "access of {size} bytes at {} below rsp ({}) by {}",
                st.region(addr),
                st.region(st.rsp_cur),
                st.describe(pc)
            );
            st.violate(w);
        }
        return true;
    }
    if addr == ENTRY_RSP && size == 8 && !write && matches!(op, Some(Op::Ret)) {
        return true;
    }
    // Slices.
    for &(base, len, writable) in &st.slices {
        if addr >= base && end <= base + len && (writable || !write) {
            return true;
        }
    }
    // The image: rodata read-only; a slot only by its call.
    if addr >= IMAGE && end <= IMAGE + st.s.code_len.max(st.s.slots.1) && !write {
        let o = addr - IMAGE;
        if o >= st.s.rodata.0 && o + size <= st.s.rodata.1 {
            return true;
        }
        if let Some(Op::CallRip { disp }) = op {
            let info = st.insn(pc);
            let slot = (pc + u64::from(info.map_or(0, |i| i.len))).wrapping_add(disp as i64 as u64);
            if slot == addr && o >= st.s.slots.0 && o + 8 <= st.s.slots.1 && size == 8 {
                return true;
            }
        }
    }
    // The context block.
    if addr >= CTX && end <= CTX + 0x300 {
        let o = addr - CTX;
        let info = st.insn(pc);
        if !write && ((0x20..0x60).contains(&o) && end <= CTX + 0x60 || (0x100..0x300).contains(&o))
        {
            return true;
        }
        if let Some(InsnInfo {
            at: Where::Stub(k), ..
        }) = info
            && write
            && o == 8
            && size == 8
            && value as u64 == k
        {
            return true;
        }
        if !write
            && o == 0
            && size == 8
            && matches!(
                info,
                Some(InsnInfo {
                    at: Where::Unwind,
                    ..
                })
            )
        {
            return true;
        }
    }
    false
}

/// An object laid out for the oracle: its image (linked with the import
/// stubs' addresses) and its statics, each as many bytes as mapped.
pub struct Loaded<'a, 'o> {
    obj: &'a Object<'o>,
    s: Rc<Static>,
    /// (image, statics), or why the object cannot be laid out.
    layout: Result<(Vec<u8>, Vec<u8>), String>,
    /// Distinct for every `Loaded` of the process.
    id: u64,
}

impl<'a, 'o> Loaded<'a, 'o> {
    pub fn new(obj: &'a Object<'o>, s: &Rc<Static>) -> Self {
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let l = obj.layout();
        // Image, R+X as the runtime maps it (the code hook decides what may run).
        let image_len = page_up(u64::from(l.image_len).max(1));
        let mut image = vec![0u8; image_len as usize];
        let slots: Vec<u64> = (0..u64::from(l.slot_count))
            .map(|k| IMPORTS + IMPORT_STRIDE * k)
            .collect();
        // Statics: `data size` bytes from DATA (the page rest is a guard the hook reports).
        let data_len = page_up(u64::from(l.data_size).max(1));
        let mut data = vec![0u8; data_len as usize];
        let layout = if kpl_runtime_core::write_image(obj, &slots, &mut image).is_err() {
            Err("cannot lay out the image".to_string())
        } else if kpl_runtime_core::write_data(obj, &mut data).is_err() {
            Err("cannot fill the data region".to_string())
        } else {
            Ok((image, data))
        };
        Loaded {
            obj,
            s: s.clone(),
            layout,
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// A region of the virtual layout whose size depends on the object or the
/// run: its address, size and protection.
type Region = (u64, u64, Prot);

/// One unicorn engine, reused across runs: the hooks are registered once and
/// read the run's state from a shared cell; the regions whose size does not
/// depend on the object (import stubs, the trampoline's return point, the
/// context block, the stack) are mapped once; the others (image, statics,
/// slices) are remapped only when their size changes, so that every region
/// is mapped with exactly the size a fresh engine would give it. Before each
/// run every writable byte a run may have changed is rewritten (statics,
/// context block and slices in full; on the stack, the bytes the last run
/// wrote, which the write hook records), the CPU state is restored from a
/// context saved when
/// the engine was new, and whenever image bytes change, every translated
/// block made from any of them is invalidated (unicorn 2.1.5's `mem_write`
/// does not invalidate translated blocks), so a run sees what it would see
/// in a fresh engine.
pub struct Engine {
    uc: Unicorn<'static, ()>,
    st: Rc<RefCell<St>>,
    /// The regions of variable size now mapped.
    mapped: Vec<Region>,
    /// The CPU state of a new engine.
    fresh: Context,
    /// The image bytes now in memory at [`IMAGE`] (empty: none), and the
    /// [`Loaded::id`] they were last checked against.
    image: Vec<u8>,
    image_id: u64,
    /// Zeros, as many as the stack has bytes.
    zeros: Vec<u8>,
    /// Image writes (each one followed by an invalidation of the blocks
    /// translated from the bytes written).
    pub image_loads: u64,
    /// Image bytes whose translations were invalidated, and image bytes
    /// the runs had mapped (how warm the translation cache stayed).
    pub invalidated: u64,
    pub image_bytes: u64,
    /// Regions mapped after an unmap or for the first time.
    pub maps: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        let mut uc = Unicorn::new(Arch::X86, Mode::MODE_64).expect("unicorn");
        // Import stubs and the trampoline's return point.
        uc.mem_map(IMPORTS, 0x1000, Prot::READ | Prot::EXEC)
            .expect("map");
        uc.mem_write(IMPORTS, &[0xc3; 0x1000]).expect("write");
        uc.mem_map(RET_ADDR, 0x1000, Prot::READ | Prot::EXEC)
            .expect("map");
        uc.mem_write(RET_ADDR, &[0xf4; 0x1000]).expect("write");
        uc.mem_map(CTX, 0x1000, Prot::READ | Prot::WRITE)
            .expect("map");
        uc.mem_map(
            STACK_TOP - STACK_MAPPED,
            STACK_MAPPED,
            Prot::READ | Prot::WRITE,
        )
        .expect("map");
        let fresh = uc.context_init().expect("context");
        let state = Rc::new(RefCell::new(St::idle()));
        let c = state.clone();
        uc.add_code_hook(1, 0, move |uc, addr, size| code_hook(uc, &c, addr, size))
            .expect("hook");
        let c = state.clone();
        uc.add_mem_hook(
            HookType::MEM_READ | HookType::MEM_WRITE,
            1,
            0,
            move |_, kind, addr, size, value| {
                mem_hook(&c, kind, addr, size, value);
                true
            },
        )
        .expect("hook");
        let c = state.clone();
        uc.add_mem_hook(
            HookType::MEM_INVALID,
            1,
            0,
            move |_, kind, addr, size, _| {
                let mut st = c.borrow_mut();
                let pc = match st.cur {
                    Cur::Code(a, _) => st.describe(a),
                    Cur::Import(k) => format!("import {k}"),
                    Cur::None => "?".into(),
                };
                let r = st.region(addr);
                st.violate(format!(
                    "{kind:?} of {size} bytes at {r} (unmapped or protected) by {pc}"
                ));
                false
            },
        )
        .expect("hook");
        let c = state.clone();
        uc.add_intr_hook(move |uc, intno| {
            let mut st = c.borrow_mut();
            let pc = rd(uc, RegisterX86::RIP);
            let w = format!("CPU exception/interrupt {intno} at {}", st.describe(pc));
            st.violate(w);
            let _ = uc.emu_stop();
        })
        .expect("hook");
        let c = state.clone();
        uc.add_insn_invalid_hook(move |uc| {
            let mut st = c.borrow_mut();
            let pc = rd(uc, RegisterX86::RIP);
            let w = format!("invalid instruction (#UD) at {}", st.describe(pc));
            st.violate(w);
            false
        })
        .expect("hook");
        Engine {
            uc,
            st: state,
            mapped: Vec::new(),
            fresh,
            image: Vec::new(),
            image_id: 0,
            zeros: vec![0; STACK_MAPPED as usize],
            image_loads: 0,
            invalidated: 0,
            image_bytes: 0,
            maps: 0,
        }
    }

    /// Maps exactly `want` (besides the fixed regions), unmapping what is
    /// mapped at another size or protection; forgets the image if its
    /// region is remapped.
    fn remap(&mut self, want: &[Region]) {
        let mut i = 0;
        while i < self.mapped.len() {
            let r = self.mapped[i];
            if want.contains(&r) {
                i += 1;
                continue;
            }
            self.uc.mem_unmap(r.0, r.1).expect("unmap");
            if r.0 == IMAGE {
                self.image.clear();
                self.image_id = 0;
            }
            self.mapped.swap_remove(i);
        }
        for &r in want {
            if !self.mapped.contains(&r) {
                self.uc.mem_map(r.0, r.1, r.2).expect("map");
                self.maps += 1;
                self.mapped.push(r);
            }
        }
    }

    /// Runs one invocation of `run.export` of `obj` (which need not be
    /// verified); the report is the one a fresh engine would give.
    pub fn run(&mut self, obj: &Object<'_>, s: &Rc<Static>, run: &Run) -> Report {
        self.run_loaded(&Loaded::new(obj, s), run)
    }

    /// [`Engine::run`] for an object already laid out.
    pub fn run_loaded(&mut self, o: &Loaded<'_, '_>, run: &Run) -> Report {
        let fail = |what: String| Report {
            violations: vec![what],
            insns: 0,
            outcome: Outcome::Stopped,
        };
        let (obj, s) = (o.obj, &o.s);
        let Some(export) = obj.export(&run.export) else {
            return fail(format!("no export {}", run.export));
        };
        let (image, data) = match &o.layout {
            Ok(x) => x,
            Err(e) => return fail(e.clone()),
        };
        let image_len = image.len() as u64;
        let mut want = vec![
            (IMAGE, image_len, Prot::READ | Prot::EXEC),
            (DATA, data.len() as u64, Prot::READ | Prot::WRITE),
        ];
        // Slices and the context block.
        let mut ctx = [0u8; 0x1000];
        let put = |ctx: &mut [u8], off: usize, v: u64| {
            ctx[off..off + 8].copy_from_slice(&v.to_le_bytes())
        };
        put(&mut ctx, 0x00, ENTRY_RSP);
        put(&mut ctx, 0x08, u64::MAX);
        put(&mut ctx, 0x10, DATA);
        put(&mut ctx, 0x18, 0x4057);
        let mut regs = Vec::new();
        let mut slices = Vec::new();
        let mut slice_pages = Vec::new();
        let mut h = 0u64;
        for a in &run.args {
            match a {
                Arg::Int(v) => regs.push(*v),
                Arg::Slice { bytes, writable } => {
                    // The slice ends flush against the end of its pages.
                    let len = bytes.len() as u64;
                    let mapped = page_up(len.max(1));
                    let region = SLICES + h * SLICE_STRIDE;
                    let base = region + mapped - len;
                    want.push((region, mapped, Prot::READ | Prot::WRITE));
                    slice_pages.push((region, mapped - len, bytes));
                    put(&mut ctx, 0x20 + 8 * h as usize, base);
                    put(&mut ctx, 0x60 + 8 * h as usize, len);
                    ctx[0xA0 + h as usize] = u8::from(*writable);
                    for s in 0..4usize {
                        put(&mut ctx, 0x100 + 0x40 * s + 8 * h as usize, len >> s);
                        let w = if *writable { len >> s } else { 0 };
                        put(&mut ctx, 0x200 + 0x40 * s + 8 * h as usize, w);
                    }
                    slices.push((base, len, *writable));
                    regs.push(h);
                    h += 1;
                }
            }
        }
        self.remap(&want);
        self.image_bytes += image_len;
        let uc = &mut self.uc;
        if self.image.is_empty() {
            // A new mapping (unmapping invalidated what was translated there).
            uc.mem_write(IMAGE, image).expect("write");
            uc.ctl_remove_cache(IMAGE, IMAGE + image_len)
                .expect("invalidate");
            self.invalidated += image_len;
            self.image.clone_from(image);
            self.image_id = o.id;
            self.image_loads += 1;
        } else if self.image_id != o.id {
            if let Some(first) = self.image.iter().zip(image).position(|(a, b)| a != b) {
                // Same size: write the bytes that differ and invalidate every
                // translated block made from any of them (unicorn 2.1.5's
                // `mem_write` does not); blocks made only from bytes that are
                // the same at the same address stay valid.
                let last = self
                    .image
                    .iter()
                    .zip(image)
                    .rposition(|(a, b)| a != b)
                    .unwrap_or(first);
                uc.mem_write(IMAGE + first as u64, &image[first..=last])
                    .expect("write");
                uc.ctl_remove_cache(IMAGE + first as u64, IMAGE + last as u64 + 1)
                    .expect("invalidate");
                self.invalidated += (last + 1 - first) as u64;
                self.image.clone_from(image);
                self.image_loads += 1;
            }
            self.image_id = o.id;
        }
        // The writable regions as a fresh engine has them: statics,
        // slices (zeros, then the bytes flush against the end), context
        // block; on the stack, what the last run wrote is zeroed.
        uc.mem_write(DATA, data).expect("write");
        for (region, at, bytes) in slice_pages {
            uc.mem_write(region, &self.zeros[..at as usize])
                .expect("write");
            uc.mem_write(region + at, bytes).expect("write");
        }
        uc.mem_write(CTX, &ctx).expect("write");
        let (lo, hi) = {
            let st = self.st.borrow();
            (st.stack_lo, st.stack_hi)
        };
        if lo < hi {
            uc.mem_write(lo, &self.zeros[..(hi - lo) as usize])
                .expect("write");
        }
        let mut top = [0u8; 32];
        top[..8].copy_from_slice(&RET_ADDR.to_le_bytes());
        for (i, v) in SENTINELS.iter().enumerate() {
            top[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        uc.mem_write(ENTRY_RSP, &top).expect("write");
        // Registers: a new engine's, then the trampoline's.
        uc.context_restore(&self.fresh).expect("context");
        let mut junk = 0x9e37_79b9_7f4a_7c15u64 ^ run.fuel;
        for r in CALLER_SAVED {
            junk = junk.rotate_left(17).wrapping_mul(0x2545_f491_4f6c_dd1d);
            uc.reg_write(r, junk).expect("reg");
        }
        for (r, v) in ARG_REGS.iter().zip(&regs) {
            uc.reg_write(*r, *v).expect("reg");
        }
        uc.reg_write(RegisterX86::RBX, SENTINELS[0]).expect("reg");
        uc.reg_write(RegisterX86::RBP, SENTINELS[1]).expect("reg");
        uc.reg_write(RegisterX86::R12, SENTINELS[2]).expect("reg");
        uc.reg_write(RegisterX86::R13, run.fuel).expect("reg");
        uc.reg_write(RegisterX86::R14, DATA).expect("reg");
        uc.reg_write(RegisterX86::R15, CTX).expect("reg");
        uc.reg_write(RegisterX86::RSP, ENTRY_RSP).expect("reg");
        let func = s
            .func_starts
            .iter()
            .position(|&f| f == u64::from(export.code_offset));
        let cap = (run.fuel + 1)
            .saturating_mul(s.total_insns)
            .saturating_mul(s.nfuncs as u64 + 1)
            .clamp(10_000, MAX_INSNS);
        *self.st.borrow_mut() = St {
            s: s.clone(),
            fuel: run.fuel,
            cap,
            slices,
            cur: Cur::None,
            prev: Cur::None,
            rsp_cur: ENTRY_RSP,
            r13: run.fuel,
            shadow: vec![Frame {
                ret: RET_ADDR,
                rsp_after: ENTRY_RSP + 8,
                saved: SENTINELS,
                func,
                since_dec: 0,
            }],
            violations: Vec::new(),
            insns: 0,
            junk: 0x1234_5678_9abc_def1 ^ run.fuel,
            stack_lo: u64::MAX,
            stack_hi: 0,
        };
        let res = uc.emu_start(
            IMAGE + u64::from(export.code_offset),
            RET_ADDR,
            0,
            cap as usize + 16,
        );
        let rip = rd(uc, RegisterX86::RIP);
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        let mut outcome = Outcome::Stopped;
        match res {
            Err(e) if st.violations.is_empty() => {
                let w = format!("emulation failed at {}: {e:?}", st.describe(rip));
                st.violate(w);
            }
            Ok(()) if rip != RET_ADDR && st.violations.is_empty() => {
                let w = format!(
                    "did not return within {cap} instructions (at {})",
                    st.describe(rip)
                );
                st.violate(w);
            }
            _ => {}
        }
        if rip == RET_ADDR {
            let mut b = [0u8; 8];
            uc.mem_read(CTX + 8, &mut b).expect("ctx");
            let site = u64::from_le_bytes(b);
            let rsp = rd(uc, RegisterX86::RSP);
            if rsp != ENTRY_RSP + 8 {
                st.violate(format!(
                    "back in the trampoline with rsp {} (expected entry_rsp+8)",
                    st.region(rsp)
                ));
            }
            let r13 = rd(uc, RegisterX86::R13);
            if r13 > run.fuel {
                st.violate(format!(
                    "back in the trampoline with r13 = {r13:#x} > fuel {}",
                    run.fuel
                ));
            }
            if rd(uc, RegisterX86::R14) != DATA || rd(uc, RegisterX86::R15) != CTX {
                st.violate("back in the trampoline with r14/r15 changed".into());
            }
            if site == u64::MAX {
                let now = [
                    rd(uc, RegisterX86::RBX),
                    rd(uc, RegisterX86::RBP),
                    rd(uc, RegisterX86::R12),
                ];
                if now != SENTINELS {
                    st.violate(format!(
                        "returned with callee-saved rbx/rbp/r12 changed: {now:x?}"
                    ));
                }
                outcome = Outcome::Returned(rd(uc, RegisterX86::RAX));
            } else {
                if site as usize >= st.s.site_kinds.len() {
                    st.violate(format!(
                        "trapped with trap_site {site:#x}, not a site of the object"
                    ));
                }
                outcome = Outcome::Trapped(site);
            }
            // The trampoline's saved registers must be intact.
            let mut saved = [0u8; 24];
            uc.mem_read(ENTRY_RSP + 8, &mut saved).expect("stack");
            for (i, v) in SENTINELS.iter().enumerate() {
                if saved[8 * i..8 * i + 8] != v.to_le_bytes() {
                    st.violate("the trampoline's saved registers were overwritten".into());
                }
            }
        }
        Report {
            violations: std::mem::take(&mut st.violations),
            insns: st.insns,
            outcome,
        }
    }

    /// Runs every export of `bytes` with [`default_runs`]; returns the
    /// violations (each prefixed with its invocation) and the instructions
    /// executed.
    pub fn check_object(&mut self, bytes: &[u8]) -> (Vec<String>, u64) {
        check_with(bytes, |o, r| self.run_loaded(o, r))
    }
}

/// Runs one invocation in a new engine (see [`Engine::run`]).
pub fn run(obj: &Object<'_>, s: &Rc<Static>, run: &Run) -> Report {
    Engine::new().run(obj, s, run)
}

/// Argument vectors for an export: scalars at a few values, slices of a
/// few lengths, with a generous and a tiny fuel.
pub fn default_runs(obj: &Object<'_>) -> Vec<Run> {
    let mut runs = Vec::new();
    for e in obj.exports() {
        for variant in 0..5u64 {
            let args = e
                .signature
                .params()
                .iter()
                .enumerate()
                .map(|(i, p)| match *p {
                    ValType::Scalar(t) => Arg::Int(scalar(t, variant, i as u64)),
                    ValType::Slice { writable, .. } => {
                        let len = [64usize, 13, 0, 64, 8][variant as usize];
                        let bytes = (0..len)
                            .map(|j| (j as u8).wrapping_mul(37).wrapping_add(i as u8 + 5))
                            .collect();
                        Arg::Slice { bytes, writable }
                    }
                })
                .collect();
            runs.push(Run {
                export: e.name.to_string(),
                args,
                fuel: [400, 3, 1, 50, 400][variant as usize],
            });
        }
    }
    runs
}

fn scalar(t: ScalarType, variant: u64, i: u64) -> u64 {
    let v: i64 = match variant {
        0 => 3 + i as i64,
        1 => -1,
        2 => 0x7fff_fff0,
        3 => 0,
        _ => 0x1_0000_0002 + i as i64,
    };
    match t {
        ScalarType::U8 => v as u8 as u64,
        ScalarType::U16 => v as u16 as u64,
        ScalarType::U32 => v as u32 as u64,
        ScalarType::U64 => v as u64,
        ScalarType::I8 => v as i8 as i64 as u64,
        ScalarType::I16 => v as i16 as i64 as u64,
        ScalarType::I32 => v as i32 as i64 as u64,
        ScalarType::I64 => v as u64,
        ScalarType::Bool => (v & 1) as u64,
    }
}

fn check_with(
    bytes: &[u8],
    mut run: impl FnMut(&Loaded<'_, '_>, &Run) -> Report,
) -> (Vec<String>, u64) {
    let obj = match Object::parse(bytes) {
        Ok(o) => o,
        Err(e) => return (vec![format!("does not parse: {e:?}")], 0),
    };
    let s = Rc::new(Static::new(&obj));
    let loaded = Loaded::new(&obj, &s);
    let mut out = Vec::new();
    let mut insns = 0;
    let mut seen = HashSet::new();
    for r in default_runs(&obj) {
        let rep = run(&loaded, &r);
        insns += rep.insns;
        for v in rep.violations {
            if seen.insert(v.clone()) {
                out.push(format!("{} (fuel {}): {v}", r.export, r.fuel));
            }
        }
    }
    (out, insns)
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// [`Engine::check_object`] in this thread's engine.
pub fn check_object(bytes: &[u8]) -> (Vec<String>, u64) {
    ENGINE.with(|e| {
        e.borrow_mut()
            .get_or_insert_with(Engine::new)
            .check_object(bytes)
    })
}

/// [`check_object`] with a new engine for every invocation (the reference
/// the reused engine is tested against).
pub fn check_object_fresh(bytes: &[u8]) -> (Vec<String>, u64) {
    check_with(bytes, |o, r| Engine::new().run_loaded(o, r))
}
