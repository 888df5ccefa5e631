//! x86-64 emission with dynasmrt into one position-independent buffer:
//! every function, then the trap-site stubs and the shared unwind stub. The
//! code reaches read-only data and import slots RIP-relatively; those
//! displacements are patched once the code length (and so the image layout)
//! is known. The forms emitted are exactly those of
//! `book/src/runtime/abi.md`: no red zone, no SSE, `endbr64` at every
//! function entry, no indirect jumps, checks before every access that is not
//! proven in range, a fuel decrement on every loop back-edge.

// dynasm's expansion of dynamic registers (`Rq(r)`) converts the register
// number with `.into()`, which clippy sees as a same-type conversion.
#![allow(clippy::useless_conversion)]

use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm, x64::X64Relocation};

use kpl_runtime_core::format::ImageLayout;

use super::regalloc::{Allocation, Loc};
use super::x86::{self, AluImm, Mem, Shift};
use crate::ir::*;
use crate::lower::Module;

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RSP: u8 = 4;
const RDI: u8 = 7;
const R14: u8 = 14;
const R15: u8 = 15;
const ARG_REGS: [u8; 6] = [7, 6, 2, 1, 8, 9];
/// Context block offsets (see the ABI chapter).
const CTX_TRAP_SITE: i32 = 0x08;
const CTX_SLICE_PTR: i32 = 0x20;
/// The length tables: per access scale (1, 2, 4, 8 bytes) the number of
/// whole elements of that size in each slice, for reads at 0x100 and for
/// writes at 0x200 (0 for slices handed in read-only). Checking against the
/// access's own scale makes the declared element type irrelevant to safety.
fn len_table(write: bool, scale: u8) -> i32 {
    let base = if write { 0x200 } else { 0x100 };
    let idx = match scale {
        1 => 0,
        2 => 1,
        4 => 2,
        _ => 3,
    };
    base + 0x40 * idx
}

/// What a RIP-relative displacement points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RipTarget {
    Rodata(u32),
    ImportSlot(u32),
}

/// Per-function facts for the object file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    pub name: String,
    pub exported: bool,
    pub offset: u32,
    pub len: u32,
    /// Bytes of stack this function's frame takes, return address included.
    pub frame_bytes: u32,
    pub callees: Vec<u32>,
}

/// The emitted machine code and everything needed to place it.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub bytes: Vec<u8>,
    pub funcs: Vec<FuncInfo>,
    /// Per trap site: code offset of the checked operation.
    pub site_offsets: Vec<u32>,
    /// (disp32 position in `bytes`, target), to patch at layout time.
    pub rip_fixups: Vec<(u32, RipTarget)>,
    /// (code offset, source byte offset), ascending by code offset.
    pub source_map: Vec<(u32, u32)>,
    /// Labels for the disassembly: (offset, name).
    pub labels: Vec<(u32, String)>,
}

impl Code {
    /// Writes the final RIP-relative displacements for this layout.
    pub fn patch(&mut self, layout: &ImageLayout) {
        for &(at, target) in &self.rip_fixups {
            let dest = match target {
                RipTarget::Rodata(o) => layout.rodata_offset + o,
                RipTarget::ImportSlot(i) => layout
                    .slot_offset(i)
                    .expect("every import the code calls has a slot"),
            };
            let disp = i64::from(dest) - i64::from(at + 4);
            self.bytes[at as usize..at as usize + 4].copy_from_slice(&(disp as i32).to_le_bytes());
        }
    }
}

struct Emitter {
    ops: VecAssembler<X64Relocation>,
    func_labels: Vec<DynamicLabel>,
    site_labels: Vec<DynamicLabel>,
    unwind: DynamicLabel,
    code: Code,
    alloc: Allocation,
    frame: u32,
    spill_base: u32,
    agg_base: u32,
    pushes: Vec<u8>,
    last_src: u32,
    site_src: Vec<u32>,
    budget: crate::lower::BudgetCheck,
    /// The handle whose masked value (`h & 7`) `rax` holds: set by a slice
    /// entry's read, valid only up to the next instruction, so a
    /// `SliceLen` and a `SliceBase` of one handle next to each other mask
    /// it once.
    rax_mask: Option<V>,
    /// The register whose value the flags' ZF describes: set by an ALU
    /// form with an immediate (`and r, k` …) that wrote it, valid only up
    /// to the next instruction, so a fused `cmp r, 0` + `je`/`jne` right
    /// after it is left out.
    zf_of: Option<V>,
}

/// Encodes a module whose functions are final (optimised, inlined) with
/// their register allocations (`allocs[i]` for `module.funcs[i]`): code
/// bytes with RIP-relative fixups still to patch for the image layout.
pub fn emit(module: &Module, allocs: Vec<Allocation>, budget: crate::lower::BudgetCheck) -> Code {
    let mut ops = VecAssembler::<X64Relocation>::new(0);
    let func_labels: Vec<DynamicLabel> = module
        .funcs
        .iter()
        .map(|_| ops.new_dynamic_label())
        .collect();
    let site_labels: Vec<DynamicLabel> = module
        .sites
        .iter()
        .map(|_| ops.new_dynamic_label())
        .collect();
    let unwind = ops.new_dynamic_label();
    let mut e = Emitter {
        ops,
        func_labels,
        site_labels,
        unwind,
        code: Code {
            site_offsets: vec![0; module.sites.len()],
            ..Code::default()
        },
        alloc: Allocation {
            loc: vec![],
            spill_slots: 0,
            callee_saved_used: vec![],
            order: vec![],
        },
        frame: 0,
        spill_base: 0,
        agg_base: 0,
        pushes: vec![],
        last_src: u32::MAX,
        site_src: module.sites.iter().map(|s| s.1).collect(),
        budget,
        rax_mask: None,
        zf_of: None,
    };
    for (i, (f, alloc)) in module.funcs.iter().zip(allocs).enumerate() {
        e.function(i, f, alloc);
    }
    // Trap stubs: record which site trapped, then unwind to the trampoline.
    for (k, label) in e.site_labels.clone().into_iter().enumerate() {
        let at = e.ops.offset().0 as u32;
        e.code.labels.push((at, format!("trap_site_{k}")));
        dynasm!(e.ops ; .arch x64 ; =>label);
        let b = x86::store_imm64(
            Mem::Base {
                base: R15,
                index: None,
                disp: CTX_TRAP_SITE,
            },
            k as i32,
        );
        e.ops.extend(b);
        let unwind = e.unwind;
        dynasm!(e.ops ; .arch x64 ; jmp =>unwind);
    }
    let at = e.ops.offset().0 as u32;
    e.code.labels.push((at, "trap_unwind".to_string()));
    let unwind = e.unwind;
    dynasm!(e.ops ; .arch x64 ; =>unwind ; mov rsp, QWORD [r15] ; ret);
    let mut code = e.code;
    code.bytes = e.ops.finalize().unwrap_or_default();
    code
}

impl Emitter {
    fn here(&self) -> u32 {
        self.ops.offset().0 as u32
    }

    fn mark_source(&mut self, pos: u32) {
        if pos != self.last_src {
            self.last_src = pos;
            let at = self.here();
            if let Some(last) = self.code.source_map.last_mut()
                && last.0 == at
            {
                last.1 = pos;
                return;
            }
            self.code.source_map.push((at, pos));
        }
    }

    fn spill_mem(&self, slot: u32) -> Mem {
        Mem::Base {
            base: RSP,
            index: None,
            disp: (self.spill_base + 8 * slot) as i32,
        }
    }

    /// A register holding `v` (loading a spilled value into `scratch`).
    fn get(&mut self, v: V, scratch: u8) -> u8 {
        match self.alloc.loc[v as usize] {
            Loc::Reg(r) => r,
            Loc::Spill(s) => {
                let b = x86::load(scratch, self.spill_mem(s), 8, false);
                self.ops.extend(b);
                scratch
            }
            Loc::Unused => scratch,
        }
    }

    /// The register to compute `v` into.
    fn target(&self, v: V, scratch: u8) -> u8 {
        match self.alloc.loc[v as usize] {
            Loc::Reg(r) => r,
            _ => scratch,
        }
    }

    /// Stores a value computed in `reg` to `v`'s home if it is spilled.
    fn put(&mut self, v: V, reg: u8) {
        match self.alloc.loc[v as usize] {
            Loc::Reg(r) if r != reg => {
                dynasm!(self.ops ; .arch x64 ; mov Rq(r), Rq(reg));
            }
            Loc::Spill(s) => {
                let b = x86::store(reg, self.spill_mem(s), 8);
                self.ops.extend(b);
            }
            _ => {}
        }
    }

    fn mov(&mut self, dst: u8, src: u8) {
        if dst != src {
            dynasm!(self.ops ; .arch x64 ; mov Rq(dst), Rq(src));
        }
    }

    /// `mul src` or `imul src` (one operand, 64-bit): rdx:rax = rax * src.
    fn mul_wide(&mut self, op: Op, src: u8) {
        if op == Op::MulHiS {
            dynasm!(self.ops ; .arch x64 ; imul Rq(src));
        } else {
            dynasm!(self.ops ; .arch x64 ; mul Rq(src));
        }
    }

    fn load_imm(&mut self, r: u8, value: i64) {
        if value == 0 {
            self.ops.extend(x86::zero32(r));
        } else if let Ok(v) = u32::try_from(value) {
            self.ops.extend(x86::mov_imm32(r, v));
        } else if let Ok(v) = i32::try_from(value) {
            dynasm!(self.ops ; .arch x64 ; mov Rq(r), v);
        } else {
            dynasm!(self.ops ; .arch x64 ; mov Rq(r), QWORD value);
        }
    }

    /// Emits one final function with its register allocation.
    fn function(&mut self, index: usize, f: &Func, alloc: Allocation) {
        self.alloc = alloc;
        self.pushes = self.alloc.callee_saved_used.clone();
        // The frame holds spill slots and aggregate locals only: arguments
        // move register to register (`parallel_move`), so a function without
        // spills or aggregates has no frame, and nothing to zero.
        let agg_off = (8 * self.alloc.spill_slots).div_ceil(16) * 16;
        let body = (agg_off + f.aggregate_bytes).div_ceil(8) * 8;
        let pushed = 8 + 8 * self.pushes.len() as u32;
        let calls = f
            .blocks
            .iter()
            .any(|b| b.insts.iter().any(|(i, _)| i.is_call()));
        // At entry rsp ≡ 8 (mod 16); keep it 16-aligned at every call. A
        // function that calls nothing needs no alignment.
        self.frame = if calls {
            (body + pushed).div_ceil(16) * 16 - pushed
        } else {
            body
        };
        // Alignment padding goes at the bottom, where nothing reads it: the
        // bytes that are read lie right under the pushes.
        let pad = self.frame - body;
        self.spill_base = pad;
        self.agg_base = pad + agg_off;
        let start = self.here();
        self.code.labels.push((start, f.name.clone()));
        let label = self.func_labels[index];
        dynasm!(self.ops ; .arch x64 ; =>label);
        // endbr64: a valid indirect-branch target on kernels with IBT.
        self.ops.extend([0xf3, 0x0f, 0x1e, 0xfa]);
        for r in self.pushes.clone() {
            self.ops.extend(x86::push_pop(false, r));
        }
        let frame = self.frame as i32;
        if frame > 0 {
            dynasm!(self.ops ; .arch x64 ; sub rsp, frame);
        }
        if body > 0 {
            // Zero the spill slots and aggregates, top down: the verifier
            // lets a function read only stack bytes it wrote (what lay
            // there before may be host data), and follows one descending
            // run of stores from the pushes. `rax` carries no argument.
            dynasm!(self.ops ; .arch x64 ; xor eax, eax);
            for k in (pad as usize / 8..frame as usize / 8).rev() {
                self.ops.extend(x86::store(RAX, frame_slot(k), 8));
            }
        }
        // Parameters arrive in argument registers: spilled ones are stored
        // first (every argument register still holds its value), then the
        // rest move to their registers as one parallel move.
        let mut moves = Vec::new();
        for (k, &p) in f.params.iter().enumerate() {
            match self.alloc.loc[p as usize] {
                Loc::Reg(r) => moves.push((r, Src::Reg(ARG_REGS[k]))),
                Loc::Spill(_) => self.put(p, ARG_REGS[k]),
                Loc::Unused => {}
            }
        }
        self.parallel_move(moves);
        let block_labels: Vec<DynamicLabel> = f
            .blocks
            .iter()
            .map(|_| self.ops.new_dynamic_label())
            .collect();
        let order = self.alloc.order.clone();
        let use_count = f.use_counts();
        let mut callees = Vec::new();
        for (pos, &b) in order.iter().enumerate() {
            let next = order.get(pos + 1).copied();
            let block = &f.blocks[b as usize];
            let l = block_labels[b as usize];
            dynasm!(self.ops ; .arch x64 ; =>l);
            self.rax_mask = None;
            self.zf_of = None;
            // A branch on a comparison computed just before it is fused.
            let fused = matches!(
                (&block.term, block.insts.last()),
                (
                    Term::Branch { cond, .. },
                    Some((Inst::Cmp { dst, .. } | Inst::CmpImm { dst, .. }, _)),
                ) if dst == cond && use_count[*cond as usize] == 1
            );
            // A constant read only by this block's `ret` is materialised
            // straight into `rax` there, not into its register and then
            // copied (`xor eax, eax; ret`, not `xor r8d, r8d; mov rax, r8`).
            // Only the block's last write of it counts (the IR is not SSA);
            // earlier writes are dead, as nothing else reads it.
            let ret_const = match &block.term {
                Term::Ret(Some(v)) if use_count[*v as usize] == 1 => block
                    .insts
                    .iter()
                    .rposition(|(inst, _)| inst.def() == Some(*v))
                    .and_then(|k| match block.insts[k].0 {
                        Inst::Const { value, .. } => Some((k, value)),
                        _ => None,
                    }),
                _ => None,
            };
            let n = block.insts.len();
            let mut fused_cc = None;
            for (k, (inst, src)) in block.insts.iter().enumerate() {
                self.mark_source(*src);
                if fused && k == n - 1 {
                    // `and r, k; jne`: the ALU form set ZF from `r`
                    // already (the verifier learns nothing from either).
                    fused_cc = Some(match (inst, self.zf_of.take()) {
                        (
                            &Inst::CmpImm {
                                cc: cc @ (Cc::Eq | Cc::Ne),
                                a,
                                imm: 0,
                                ..
                            },
                            Some(z),
                        ) if z == a => cc,
                        _ => self.compare(inst),
                    });
                    continue;
                }
                if ret_const.is_some_and(|(at, _)| at == k) {
                    continue;
                }
                if let Inst::Call { func, .. } = inst {
                    callees.push(*func);
                }
                self.inst(inst);
            }
            self.mark_source(block.term_pos);
            match &block.term {
                Term::Jump(t) => {
                    if Some(*t) != next {
                        let l = block_labels[*t as usize];
                        dynasm!(self.ops ; .arch x64 ; jmp =>l);
                    }
                }
                Term::Branch { cond, then, els } => {
                    let (lt, le) = (block_labels[*then as usize], block_labels[*els as usize]);
                    let cc = match fused_cc {
                        Some(cc) => cc,
                        None => {
                            let r = self.get(*cond, RAX);
                            dynasm!(self.ops ; .arch x64 ; test Rq(r), Rq(r));
                            Cc::Ne
                        }
                    };
                    if Some(*then) == next {
                        self.jcc(cc.invert(), le);
                    } else {
                        self.jcc(cc, lt);
                        if Some(*els) != next {
                            dynasm!(self.ops ; .arch x64 ; jmp =>le);
                        }
                    }
                }
                Term::Ret(v) => {
                    if let Some((_, value)) = ret_const {
                        self.load_imm(RAX, value);
                    } else if let Some(v) = v {
                        let r = self.get(*v, RAX);
                        self.mov(RAX, r);
                    }
                    self.epilogue();
                }
            }
        }
        let end = self.here();
        callees.sort_unstable();
        callees.dedup();
        self.code.funcs.push(FuncInfo {
            name: f.name.clone(),
            exported: f.exported,
            offset: start,
            len: end - start,
            frame_bytes: self.frame + pushed,
            callees,
        });
    }

    /// Where `v` is, as the source of a move (`None`: never used).
    fn src(&self, v: V) -> Option<Src> {
        match self.alloc.loc[v as usize] {
            Loc::Reg(r) => Some(Src::Reg(r)),
            Loc::Spill(s) => Some(Src::Slot(s)),
            Loc::Unused => None,
        }
    }

    /// Sets every destination register to its source at once: a move runs
    /// when no pending move still reads its destination; a cycle is broken
    /// through `rax` (never a destination: not an argument register, never
    /// allocated). Destinations are distinct.
    fn parallel_move(&mut self, moves: Vec<(u8, Src)>) {
        let mut pending: Vec<(u8, Src)> = moves
            .into_iter()
            .filter(|&(d, s)| s != Src::Reg(d))
            .collect();
        while !pending.is_empty() {
            let ready = pending
                .iter()
                .position(|&(d, _)| !pending.iter().any(|&(_, s)| s == Src::Reg(d)));
            match ready {
                Some(i) => {
                    let (d, s) = pending.remove(i);
                    match s {
                        Src::Reg(r) => self.mov(d, r),
                        Src::Slot(k) => {
                            let m = self.spill_mem(k);
                            self.ops.extend(x86::load(d, m, 8, false));
                        }
                        Src::Imm(v) => self.load_imm(d, v),
                    }
                }
                None => {
                    // Every destination is still read: all are in cycles.
                    let d = pending[0].0;
                    self.mov(RAX, d);
                    for m in &mut pending {
                        if m.1 == Src::Reg(d) {
                            m.1 = Src::Reg(RAX);
                        }
                    }
                }
            }
        }
    }

    fn epilogue(&mut self) {
        let frame = self.frame as i32;
        if frame > 0 {
            dynasm!(self.ops ; .arch x64 ; add rsp, frame);
        }
        for r in self.pushes.clone().into_iter().rev() {
            self.ops.extend(x86::push_pop(true, r));
        }
        dynasm!(self.ops ; .arch x64 ; ret);
    }

    fn jcc(&mut self, cc: Cc, l: DynamicLabel) {
        match cc {
            Cc::Eq => dynasm!(self.ops ; .arch x64 ; je =>l),
            Cc::Ne => dynasm!(self.ops ; .arch x64 ; jne =>l),
            Cc::Lt => dynasm!(self.ops ; .arch x64 ; jl =>l),
            Cc::Le => dynasm!(self.ops ; .arch x64 ; jle =>l),
            Cc::Gt => dynasm!(self.ops ; .arch x64 ; jg =>l),
            Cc::Ge => dynasm!(self.ops ; .arch x64 ; jge =>l),
            Cc::B => dynasm!(self.ops ; .arch x64 ; jb =>l),
            Cc::Be => dynasm!(self.ops ; .arch x64 ; jbe =>l),
            Cc::A => dynasm!(self.ops ; .arch x64 ; ja =>l),
            Cc::Ae => dynasm!(self.ops ; .arch x64 ; jae =>l),
        }
    }

    /// Emits the `cmp` of a comparison and returns its condition.
    fn compare(&mut self, inst: &Inst) -> Cc {
        match *inst {
            Inst::Cmp { cc, a, b, .. } => {
                let ra = self.get(a, RAX);
                let rb = self.get(b, RCX);
                dynasm!(self.ops ; .arch x64 ; cmp Rq(ra), Rq(rb));
                cc
            }
            Inst::CmpImm { cc, a, imm, .. } => {
                let ra = self.get(a, RAX);
                self.ops.extend(x86::alu_imm(AluImm::Cmp, true, ra, imm));
                cc
            }
            _ => Cc::Ne,
        }
    }

    fn setcc(&mut self, cc: Cc) {
        match cc {
            Cc::Eq => dynasm!(self.ops ; .arch x64 ; sete al),
            Cc::Ne => dynasm!(self.ops ; .arch x64 ; setne al),
            Cc::Lt => dynasm!(self.ops ; .arch x64 ; setl al),
            Cc::Le => dynasm!(self.ops ; .arch x64 ; setle al),
            Cc::Gt => dynasm!(self.ops ; .arch x64 ; setg al),
            Cc::Ge => dynasm!(self.ops ; .arch x64 ; setge al),
            Cc::B => dynasm!(self.ops ; .arch x64 ; setb al),
            Cc::Be => dynasm!(self.ops ; .arch x64 ; setbe al),
            Cc::A => dynasm!(self.ops ; .arch x64 ; seta al),
            Cc::Ae => dynasm!(self.ops ; .arch x64 ; setae al),
        }
        dynasm!(self.ops ; .arch x64 ; movzx eax, al);
    }

    fn site_check(&mut self, site: SiteId) -> DynamicLabel {
        // The check itself maps to the source of what it checks.
        self.mark_source(self.site_src[site as usize]);
        self.code.site_offsets[site as usize] = self.here();
        self.site_labels[site as usize]
    }

    fn inst(&mut self, inst: &Inst) {
        // Only a slice entry right after another one may reuse the mask:
        // anything else may write `rax`.
        let mask = self.rax_mask.take();
        self.zf_of = None;
        match *inst {
            Inst::Const { dst, value } => {
                let r = self.target(dst, RAX);
                self.load_imm(r, value);
                self.put(dst, r);
            }
            Inst::Copy { dst, src } => {
                let s = self.get(src, RAX);
                self.put(dst, s);
            }
            Inst::Bin { op, dst, a, b } => {
                if matches!(op, Op::Shl | Op::Shr | Op::Sar | Op::Shl32) {
                    let rb = self.get(b, RCX);
                    self.mov(RCX, rb);
                    let ra = self.get(a, RAX);
                    self.mov(RAX, ra);
                    match op {
                        Op::Shl => dynasm!(self.ops ; .arch x64 ; shl rax, cl),
                        Op::Shl32 => dynasm!(self.ops ; .arch x64 ; shl eax, cl),
                        Op::Shr => dynasm!(self.ops ; .arch x64 ; shr rax, cl),
                        _ => dynasm!(self.ops ; .arch x64 ; sar rax, cl),
                    }
                    self.put(dst, RAX);
                    return;
                }
                if matches!(op, Op::MulHiU | Op::MulHiS) {
                    // rdx:rax = rax * b; the high half is the result.
                    let rb = self.get(b, RCX);
                    let ra = self.get(a, RAX);
                    self.mov(RAX, ra);
                    self.mul_wide(op, rb);
                    self.put(dst, RDX);
                    return;
                }
                let ra = self.get(a, RAX);
                let rb = self.get(b, RCX);
                let t = self.target(dst, RAX);
                // Compute into t without clobbering b first.
                let (t, src) = if t == rb && t != ra {
                    if matches!(
                        op,
                        Op::Add | Op::Mul | Op::And | Op::Or | Op::Xor | Op::Add32 | Op::Mul32
                    ) {
                        (t, ra)
                    } else {
                        self.mov(RAX, ra);
                        (RAX, rb)
                    }
                } else {
                    self.mov(t, ra);
                    (t, rb)
                };
                match op {
                    Op::Add => dynasm!(self.ops ; .arch x64 ; add Rq(t), Rq(src)),
                    Op::Sub => dynasm!(self.ops ; .arch x64 ; sub Rq(t), Rq(src)),
                    Op::Mul => dynasm!(self.ops ; .arch x64 ; imul Rq(t), Rq(src)),
                    Op::Add32 => dynasm!(self.ops ; .arch x64 ; add Rd(t), Rd(src)),
                    Op::Sub32 => dynasm!(self.ops ; .arch x64 ; sub Rd(t), Rd(src)),
                    Op::Mul32 => dynasm!(self.ops ; .arch x64 ; imul Rd(t), Rd(src)),
                    Op::And => dynasm!(self.ops ; .arch x64 ; and Rq(t), Rq(src)),
                    Op::Or => dynasm!(self.ops ; .arch x64 ; or Rq(t), Rq(src)),
                    _ => dynasm!(self.ops ; .arch x64 ; xor Rq(t), Rq(src)),
                }
                self.put(dst, t);
            }
            Inst::BinImm { op, dst, a, imm } if matches!(op, Op::MulHiU | Op::MulHiS) => {
                let ra = self.get(a, RCX);
                self.load_imm(RAX, i64::from(imm));
                self.mul_wide(op, ra);
                self.put(dst, RDX);
            }
            Inst::BinImm { op, dst, a, imm } => {
                let ra = self.get(a, RAX);
                let t = self.target(dst, RAX);
                if op == Op::Mul {
                    self.ops.extend(x86::imul_imm(true, t, ra, imm));
                    self.put(dst, t);
                    return;
                }
                if op == Op::Mul32 {
                    self.ops.extend(x86::imul_imm(false, t, ra, imm));
                    self.put(dst, t);
                    return;
                }
                self.mov(t, ra);
                let sh = (imm & 63) as u8;
                let bytes = match op {
                    Op::Add => x86::alu_imm(AluImm::Add, true, t, imm),
                    Op::Sub => x86::alu_imm(AluImm::Sub, true, t, imm),
                    Op::And => x86::alu_imm(AluImm::And, true, t, imm),
                    Op::Or => x86::alu_imm(AluImm::Or, true, t, imm),
                    Op::Xor => x86::alu_imm(AluImm::Xor, true, t, imm),
                    Op::Shl => x86::shift_imm(Shift::Shl, true, t, sh),
                    Op::Shr => x86::shift_imm(Shift::Shr, true, t, sh),
                    Op::Sar => x86::shift_imm(Shift::Sar, true, t, sh),
                    Op::Add32 => x86::alu_imm(AluImm::Add, false, t, imm),
                    Op::Sub32 => x86::alu_imm(AluImm::Sub, false, t, imm),
                    Op::Shl32 => x86::shift_imm(Shift::Shl, false, t, (imm & 31) as u8),
                    Op::Mul | Op::Mul32 | Op::MulHiU | Op::MulHiS => vec![],
                };
                self.ops.extend(bytes);
                self.put(dst, t);
                // ZF = (result == 0) after these (a shift by 0 keeps the
                // flags, so shifts are not among them); `put` only moves.
                if matches!(
                    op,
                    Op::Add | Op::Sub | Op::And | Op::Or | Op::Xor | Op::Add32 | Op::Sub32
                ) {
                    self.zf_of = Some(dst);
                }
            }
            Inst::Neg { dst, a } | Inst::Not { dst, a } => {
                let ra = self.get(a, RAX);
                let t = self.target(dst, RAX);
                self.mov(t, ra);
                if matches!(inst, Inst::Neg { .. }) {
                    dynasm!(self.ops ; .arch x64 ; neg Rq(t));
                } else {
                    dynasm!(self.ops ; .arch x64 ; not Rq(t));
                }
                self.put(dst, t);
            }
            Inst::Norm { dst, a, ty } => {
                let ra = self.get(a, RAX);
                let t = self.target(dst, RAX);
                match (ty.size, ty.signed) {
                    (1, false) => dynasm!(self.ops ; .arch x64 ; movzx Rd(t), Rb(ra)),
                    (1, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(t), Rb(ra)),
                    (2, false) => dynasm!(self.ops ; .arch x64 ; movzx Rd(t), Rw(ra)),
                    (2, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(t), Rw(ra)),
                    (4, false) => dynasm!(self.ops ; .arch x64 ; mov Rd(t), Rd(ra)),
                    (4, true) => dynasm!(self.ops ; .arch x64 ; movsxd Rq(t), Rd(ra)),
                    _ => self.mov(t, ra),
                }
                self.put(dst, t);
            }
            Inst::Cmp { dst, .. } | Inst::CmpImm { dst, .. } => {
                let cc = self.compare(inst);
                self.setcc(cc);
                self.put(dst, RAX);
            }
            Inst::Div {
                dst,
                a,
                b,
                signed,
                rem,
                min,
                div0,
                overflow,
                ..
            } => {
                let rb = self.get(b, RCX);
                self.mov(RCX, rb);
                let l0 = self.site_check(div0);
                dynasm!(self.ops ; .arch x64 ; test rcx, rcx ; jz =>l0);
                let ra = self.get(a, RAX);
                self.mov(RAX, ra);
                if let Some(min) = min {
                    // `idiv` never runs with a divisor of -1 (x86 faults on
                    // i64::MIN / -1): that case is computed directly, after
                    // the KPL overflow trap for the type's minimum.
                    let divide = self.ops.new_dynamic_label();
                    let done = self.ops.new_dynamic_label();
                    let lo = self.site_check(overflow);
                    dynasm!(self.ops ; .arch x64 ; cmp rcx, -1 ; jne =>divide);
                    self.load_imm(RDX, min);
                    dynasm!(self.ops ; .arch x64 ; cmp rax, rdx ; je =>lo);
                    if rem {
                        dynasm!(self.ops ; .arch x64 ; xor edx, edx ; jmp =>done);
                    } else {
                        dynasm!(self.ops ; .arch x64 ; neg rax ; jmp =>done);
                    }
                    dynasm!(self.ops ; .arch x64 ; =>divide ; cqo ; idiv rcx ; =>done);
                } else if signed {
                    dynasm!(self.ops ; .arch x64 ; cqo ; idiv rcx);
                } else {
                    dynasm!(self.ops ; .arch x64 ; xor edx, edx ; div rcx);
                }
                self.put(dst, if rem { RDX } else { RAX });
            }
            Inst::Load { dst, addr, ty } => {
                let t = self.target(dst, RAX);
                let mem = self.address(addr, false);
                self.ops.extend(x86::load(t, mem, ty.size, ty.signed));
                self.put(dst, t);
            }
            Inst::Store {
                addr,
                src,
                ty,
                second_byte,
            } => {
                let mem = self.address(addr, true);
                // The checks are done: rax, rcx or rdx (whichever the
                // address does not use) takes a spilled value, or the one
                // whose second byte is stored.
                let free = [RAX, RCX, RDX]
                    .into_iter()
                    .find(|r| !mem_uses(mem, *r))
                    .unwrap_or(RAX);
                let mut value = match self.alloc.loc[src as usize] {
                    Loc::Reg(r) => r,
                    Loc::Spill(s) => {
                        self.ops
                            .extend(x86::load(free, self.spill_mem(s), 8, false));
                        free
                    }
                    Loc::Unused => RAX,
                };
                if second_byte {
                    // mov free, src ; movzx free32, free_h ; mov [mem],
                    // free_l: the byte without a shift, which some cores
                    // run on the one port that also multiplies.
                    self.mov(free, value);
                    self.ops.extend(x86::movzx_second_byte(free));
                    value = free;
                }
                self.ops.extend(x86::store(value, mem, ty.size));
            }
            Inst::Atomic {
                op,
                dst,
                addr,
                src,
                expected,
                ty,
            } => self.atomic(op, dst, addr, src, expected, ty),
            Inst::SliceLen {
                dst,
                handle,
                writable,
                size,
            } => self.slice_entry(dst, handle, len_table(writable, size), mask),
            Inst::SliceBase { dst, handle } => {
                self.slice_entry(dst, handle, CTX_SLICE_PTR, mask);
            }
            Inst::Call {
                dst,
                func,
                ref args,
            } => {
                let moves = args
                    .iter()
                    .zip(ARG_REGS)
                    .filter_map(|(&a, reg)| self.src(a).map(|s| (reg, s)))
                    .collect();
                self.parallel_move(moves);
                let l = self.func_labels[func as usize];
                dynasm!(self.ops ; .arch x64 ; call =>l);
                if let Some(d) = dst {
                    self.put(d, RAX);
                }
            }
            Inst::CallImport {
                dst,
                slot,
                ref args,
            } => {
                // rdi = context; KPL arguments follow, a string taking two.
                // Every argument register the import does not read is
                // zeroed: the verifier refuses an import call with a
                // possible host address (an earlier call's leftovers, the
                // entry's) in any of the five, since the object does not
                // say how many an import reads (sandbox.md, "Call rule").
                let mut k = 1;
                let mut moves = Vec::new();
                for a in args {
                    match *a {
                        ImportArg::Value(v) => {
                            let s = self.src(v).unwrap_or(Src::Imm(0));
                            moves.push((ARG_REGS[k], s));
                            k += 1;
                        }
                        ImportArg::Str { offset, len } => {
                            moves.push((ARG_REGS[k], Src::Imm(i64::from(offset))));
                            moves.push((ARG_REGS[k + 1], Src::Imm(i64::from(len))));
                            k += 2;
                        }
                    }
                }
                moves.extend(ARG_REGS.iter().skip(k).map(|&r| (r, Src::Imm(0))));
                self.parallel_move(moves);
                dynasm!(self.ops ; .arch x64 ; mov rdi, r15);
                let bytes = x86::call_mem(Mem::Rip { disp: 0 });
                let at = self.here() + x86::rip_disp_offset(bytes.len()) as u32;
                self.ops.extend(bytes);
                self.code.rip_fixups.push((at, RipTarget::ImportSlot(slot)));
                if let Some(d) = dst {
                    self.put(d, RAX);
                }
            }
            Inst::Budget { site } => {
                let l = self.site_check(site);
                match self.budget {
                    crate::lower::BudgetCheck::Fuel => {
                        dynasm!(self.ops ; .arch x64 ; dec r13 ; jz =>l);
                    }
                }
            }
            Inst::Trap { site } => {
                let l = self.site_check(site);
                dynasm!(self.ops ; .arch x64 ; jmp =>l);
            }
        }
        let _ = RDI;
    }

    /// `dst = [r15 + (handle & 7) * 8 + table]`: one of a slice's entries
    /// in the context block, read through the masked handle (the form the
    /// verifier accepts). `mask`: the handle `rax` holds masked, when the
    /// previous instruction was such a read (the verifier's `masked(m)`
    /// is a fact about the value in `rax`, which nothing wrote since).
    fn slice_entry(&mut self, dst: V, handle: V, table: i32, mask: Option<V>) {
        if mask != Some(handle) {
            let h = self.get(handle, RAX);
            self.mov(RAX, h);
            dynasm!(self.ops ; .arch x64 ; and eax, 7);
        }
        let t = self.target(dst, RAX);
        self.ops.extend(x86::load(
            t,
            Mem::Base {
                base: R15,
                index: Some((RAX, 8)),
                disp: table,
            },
            8,
            false,
        ));
        self.put(dst, t);
        self.rax_mask = (t != RAX).then_some(handle);
    }

    /// An atomic read-modify-write: the operand in rax (the new value in
    /// rdx or rcx for `cmpxchg`, whichever the address leaves free, with
    /// the comparand in rax), the locked instruction, then the old value in
    /// rax brought to canonical form (the verifier knows nothing of it).
    fn atomic(
        &mut self,
        op: AtomicRmw,
        dst: V,
        addr: Addr,
        src: V,
        expected: Option<V>,
        ty: Scalar,
    ) {
        let mem = self.address(addr, true);
        let size = ty.size;
        match (op, expected) {
            (AtomicRmw::Cas, Some(e)) => {
                let free = [RDX, RCX]
                    .into_iter()
                    .find(|r| !mem_uses(mem, *r))
                    .unwrap_or(RDX);
                let n = self.get(src, free);
                self.mov(free, n);
                let x = self.get(e, RAX);
                self.mov(RAX, x);
                self.ops.extend(x86::lock_cmpxchg(free, mem, size));
            }
            _ => {
                let v = self.get(src, RAX);
                self.mov(RAX, v);
                match op {
                    AtomicRmw::Add => self.ops.extend(x86::lock_xadd(RAX, mem, size)),
                    AtomicRmw::Sub => {
                        dynasm!(self.ops ; .arch x64 ; neg rax);
                        self.ops.extend(x86::lock_xadd(RAX, mem, size));
                    }
                    AtomicRmw::Swap | AtomicRmw::Cas => self.ops.extend(x86::xchg(RAX, mem, size)),
                }
            }
        }
        match (size, ty.signed) {
            (1, false) => dynasm!(self.ops ; .arch x64 ; movzx eax, al),
            (1, true) => dynasm!(self.ops ; .arch x64 ; movsx rax, al),
            (2, false) => dynasm!(self.ops ; .arch x64 ; movzx eax, ax),
            (2, true) => dynasm!(self.ops ; .arch x64 ; movsx rax, ax),
            (4, false) => dynasm!(self.ops ; .arch x64 ; mov eax, eax),
            (4, true) => dynasm!(self.ops ; .arch x64 ; movsxd rax, eax),
            _ => {}
        }
        self.put(dst, RAX);
    }

    /// Emits the checks and base computation for an access and returns the
    /// memory operand. Uses rdx for a base register and rcx for a spilled
    /// index, so the access itself may use rax.
    fn address(&mut self, addr: Addr, write: bool) -> Mem {
        let disp = addr.disp as i32;
        let index = addr.index.map(|i| (self.get(i.v, RCX), i));
        let base = match addr.base {
            Base::Stack(off) => (RSP, disp + (self.agg_base + off) as i32),
            Base::Static(off) => (R14, disp + off as i32),
            Base::Rodata(off) => {
                let bytes = x86::lea(RDX, Mem::Rip { disp: 0 });
                let at = self.here() + x86::rip_disp_offset(bytes.len()) as u32;
                self.ops.extend(bytes);
                self.code.rip_fixups.push((at, RipTarget::Rodata(off)));
                (RDX, disp)
            }
            Base::Slice(h) => {
                let rh = self.get(h, RDX);
                self.mov(RDX, rh);
                dynasm!(self.ops ; .arch x64 ; and edx, 7);
                if let Some((
                    ri,
                    Index {
                        check: Check::SliceLen(site),
                        scale,
                        ..
                    },
                )) = index
                {
                    let l = self.site_check(site);
                    self.ops.extend(x86::cmp_reg_mem(
                        ri,
                        Mem::Base {
                            base: R15,
                            index: Some((RDX, 8)),
                            disp: len_table(write, scale),
                        },
                    ));
                    dynasm!(self.ops ; .arch x64 ; jae =>l);
                }
                self.ops.extend(x86::load(
                    RDX,
                    Mem::Base {
                        base: R15,
                        index: Some((RDX, 8)),
                        disp: CTX_SLICE_PTR,
                    },
                    8,
                    false,
                ));
                (RDX, disp)
            }
            Base::SlicePtr(b) => (self.get(b, RDX), disp),
        };
        if let Some((
            ri,
            Index {
                check: Check::BelowLen(len, site),
                ..
            },
        )) = index
        {
            // rax is free until the access itself.
            let rl = self.get(len, RAX);
            let l = self.site_check(site);
            dynasm!(self.ops ; .arch x64 ; cmp Rq(ri), Rq(rl) ; jae =>l);
        }
        if let Some((
            ri,
            Index {
                check: Check::Below(limit, site),
                ..
            },
        )) = index
        {
            let l = self.site_check(site);
            let limit = limit.min(i32::MAX as u64) as i32;
            self.ops.extend(x86::alu_imm(AluImm::Cmp, true, ri, limit));
            dynasm!(self.ops ; .arch x64 ; jae =>l);
        }
        Mem::Base {
            base: base.0,
            index: index.map(|(r, i)| (r, i.scale)),
            disp: base.1,
        }
    }
}

/// The `k`-th 8-byte slot of the frame, from `rsp` up.
fn frame_slot(k: usize) -> Mem {
    Mem::Base {
        base: RSP,
        index: None,
        disp: 8 * k as i32,
    }
}

/// Where one value of a parallel move comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Reg(u8),
    Slot(u32),
    Imm(i64),
}

fn mem_uses(mem: Mem, r: u8) -> bool {
    match mem {
        Mem::Base { base, index, .. } => base == r || index.is_some_and(|(i, _)| i == r),
        Mem::Rip { .. } => false,
    }
}
