//! Structural mutation testing of the verifier: the project's programs
//! (`compiler/tests/exec/*.kpl`, `examples/*/*.kpl`) are compiled by kplc,
//! decoded with iced-x86 into instructions whose branch targets, trap sites
//! and RIP-relative operands are symbolic, mutated (branches retargeted,
//! branches inserted into the middle of checked multi-instruction forms,
//! second entries into loop bodies, instructions duplicated, dropped,
//! swapped, their registers, sizes, immediates and conditions changed,
//! callees made to clobber callee-saved registers, division setups
//! replaced, hostile instructions inserted), re-encoded with iced's
//! BlockEncoder and rebuilt into a consistent object (function lengths,
//! trap-site offsets, stubs, RIP-relative displacements for the new
//! layout). Every mutant goes through `Object::parse` and the verifier; each
//! one the verifier ACCEPTS runs under the execution oracle, and an
//! accepted mutant the oracle flags is an ESCAPE: it is printed (mutation,
//! disassembly around it, violation) and written to a file.
//!
//! Two tests share the loop: `mutants_run` checks the machinery (round
//! trips verify, mutants are built, accepted and run) and reports escapes
//! without failing; `no_escapes` fails on any escape.
//!
//! `KPL_STRUCT_MUTANTS=N` (default 600), `KPL_SEED=S` (default 1),
//! `KPL_ESCAPE_DIR=dir` (default: a temporary directory).
//!
//! Long run: `KPL_STRUCT_MUTANTS=10000000 KPL_SEED=1 cargo test --release -p
//! kpl-redteam --test structural -- --nocapture no_escapes`.

mod common;

use std::collections::HashMap;
use std::time::Instant;

use common::Rng;
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, ConditionCode, Decoder, DecoderOptions, Encoder,
    FlowControl, Formatter, Instruction, InstructionBlock, IntelFormatter, MemoryOperand, OpKind,
    Register,
};
use kplc::kpo::{ObjectParts, TrapKind, TrapSite};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tgt {
    Node(u32),
    Stub(usize),
    Unwind,
    /// A code offset that is no instruction (kept as is).
    Abs(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rip {
    /// Offset from the start of RODATA (the slots follow it).
    Rodata(i64),
}

#[derive(Clone, Debug)]
struct Node {
    id: u32,
    ins: Instruction,
    target: Option<Tgt>,
    rip: Option<Rip>,
}

#[derive(Clone, Debug)]
struct Prog {
    name: String,
    parts: ObjectParts,
    funcs: Vec<Vec<Node>>,
    sites: Vec<(TrapKind, Tgt)>,
    next_id: u32,
}

const STUB_LEN: u64 = 13;

fn decode_prog(name: &str, parts: &ObjectParts) -> Option<Prog> {
    let l = parts.layout();
    let stubs_start = parts
        .functions
        .iter()
        .map(|f| f.code_offset + f.code_len)
        .max()? as u64;
    let nsites = parts.trap_sites.len() as u64;
    let unwind = stubs_start + STUB_LEN * nsites;
    let mut funcs = Vec::new();
    let mut by_off = HashMap::new();
    let mut id = 0u32;
    for f in &parts.functions {
        let (s, e) = (
            f.code_offset as usize,
            (f.code_offset + f.code_len) as usize,
        );
        let mut d = Decoder::with_ip(64, &parts.code[s..e], s as u64, DecoderOptions::NONE);
        let mut nodes = Vec::new();
        for ins in &mut d {
            if ins.is_invalid() {
                return None;
            }
            by_off.insert(ins.ip(), id);
            nodes.push(Node {
                id,
                ins,
                target: None,
                rip: None,
            });
            id += 1;
        }
        funcs.push(nodes);
    }
    let tgt = |t: u64| -> Tgt {
        if let Some(&n) = by_off.get(&t) {
            Tgt::Node(n)
        } else if t >= stubs_start && t < unwind && (t - stubs_start).is_multiple_of(STUB_LEN) {
            Tgt::Stub(((t - stubs_start) / STUB_LEN) as usize)
        } else if t == unwind {
            Tgt::Unwind
        } else {
            Tgt::Abs(t)
        }
    };
    for f in funcs.iter_mut() {
        for n in f.iter_mut() {
            if is_branch(&n.ins) {
                n.target = Some(tgt(n.ins.near_branch_target()));
                n.ins.set_code(n.ins.code().as_near_branch());
            }
            if n.ins.is_ip_rel_memory_operand() {
                let a = n.ins.ip_rel_memory_address();
                n.rip = Some(Rip::Rodata(a as i64 - i64::from(l.rodata_offset)));
            }
        }
    }
    let sites = parts
        .trap_sites
        .iter()
        .map(|s| (s.kind, tgt(u64::from(s.code_offset))))
        .collect();
    Some(Prog {
        name: name.into(),
        parts: parts.clone(),
        funcs,
        sites,
        next_id: id,
    })
}

fn is_branch(i: &Instruction) -> bool {
    i.is_jcc_short_or_near() || i.is_jmp_short_or_near() || i.is_call_near()
}

/// Lays out and encodes `p`; returns the object parts and the address of
/// every node id.
fn encode_prog(p: &Prog) -> Option<(ObjectParts, HashMap<u32, u64>)> {
    let mut enc = Encoder::new(64);
    // Lengths: near branches and disp32 RIP operands have fixed sizes.
    let mut addr = HashMap::new();
    let mut pc = 0u64;
    let mut starts = Vec::new();
    for f in &p.funcs {
        starts.push(pc);
        for n in f {
            let mut i = n.ins;
            if n.target.is_some() {
                i.set_near_branch64(pc + 0x100);
            }
            if n.rip.is_some() {
                i.set_memory_displacement64(pc + 0x100);
            }
            let len = enc.encode(&i, pc).ok()? as u64;
            addr.insert(n.id, pc);
            pc += len;
        }
    }
    let stubs_start = pc;
    let nsites = p.sites.len() as u64;
    let unwind = stubs_start + STUB_LEN * nsites;
    let code_len = unwind + 4;
    let rodata_offset = (code_len + 15) & !15;
    let resolve = |t: Tgt| -> Option<u64> {
        Some(match t {
            Tgt::Node(id) => *addr.get(&id)?,
            Tgt::Stub(k) => stubs_start + STUB_LEN * k as u64,
            Tgt::Unwind => unwind,
            Tgt::Abs(a) => a,
        })
    };
    let mut list = Vec::new();
    for f in &p.funcs {
        for n in f {
            let mut i = n.ins;
            i.set_ip(addr[&n.id]);
            if let Some(t) = n.target {
                i.set_near_branch64(resolve(t)?);
            }
            if let Some(Rip::Rodata(off)) = n.rip {
                i.set_memory_displacement64((rodata_offset as i64 + off) as u64);
            }
            list.push(i);
        }
    }
    let block = InstructionBlock::new(&list, 0);
    let res = BlockEncoder::encode(64, block, BlockEncoderOptions::DONT_FIX_BRANCHES).ok()?;
    let mut code = res.code_buffer;
    if code.len() as u64 != stubs_start {
        return None;
    }
    for k in 0..nsites {
        code.extend([0x49, 0xc7, 0x47, 0x08]);
        code.extend((k as u32).to_le_bytes());
        code.push(0xe9);
        code.extend(((STUB_LEN * (nsites - k - 1)) as u32).to_le_bytes());
    }
    code.extend([0x49, 0x8b, 0x27, 0xc3]);
    let mut parts = p.parts.clone();
    parts.code = code;
    for (i, f) in p.funcs.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(stubs_start);
        parts.functions[i].code_offset = starts[i] as u32;
        parts.functions[i].code_len = (end - starts[i]) as u32;
        if f.is_empty() {
            return None;
        }
    }
    for e in parts.exports.iter_mut() {
        let fi = p
            .parts
            .functions
            .iter()
            .position(|f| f.code_offset == e.code_offset)?;
        e.code_offset = starts[fi] as u32;
    }
    parts.trap_sites = p
        .sites
        .iter()
        .map(|&(kind, t)| TrapSite {
            kind,
            code_offset: resolve(t).unwrap_or(0).min(stubs_start.saturating_sub(1)) as u32,
        })
        .collect();
    parts.source_map.clear();
    Some((parts, addr))
}

// ---- instruction helpers ----

fn gpr(full: Register, size: usize) -> Register {
    Register::values()
        .find(|r| {
            r.is_gpr()
                && r.full_register() == full
                && r.size() == size
                && !matches!(r, Register::AH | Register::BH | Register::CH | Register::DH)
        })
        .unwrap_or(full)
}

const GPRS: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];

/// A register, biased towards the reserved and the check registers.
fn pick_reg(rng: &mut Rng) -> Register {
    const HOT: [Register; 8] = [
        Register::R13,
        Register::R14,
        Register::R15,
        Register::RSP,
        Register::RDX,
        Register::RCX,
        Register::RAX,
        Register::RDI,
    ];
    if rng.chance(2) {
        HOT[rng.below(HOT.len())]
    } else {
        GPRS[rng.below(16)]
    }
}

fn ins2(code: Code, a: Register, b: Register) -> Instruction {
    Instruction::with2(code, a, b).expect("form")
}

fn ins_ri(code: Code, a: Register, imm: i32) -> Instruction {
    Instruction::with2(code, a, imm).expect("form")
}

/// Hostile instructions to insert or to replace with.
fn template(rng: &mut Rng) -> (Instruction, &'static str) {
    use Code::*;
    use Register::*;
    let r = pick_reg(rng);
    let r32 = gpr(r, 4);
    let imm = [0, 1, 7, 8, -1, 0x7fff_ffff, 0x1000, 64][rng.below(8)];
    match rng.below(30) {
        0 => (ins2(Mov_r32_rm32, r32, r32), "mov r32, r32 (truncation)"),
        1 => (ins_ri(Mov_r32_imm32, r32, imm), "mov r32, imm"),
        2 => (
            ins_ri(Add_rm64_imm8, r, [1, 8, -8, 16][rng.below(4)]),
            "add r64, imm8",
        ),
        3 => (
            ins_ri(Sub_rm64_imm8, r, [1, 8, -8, 16][rng.below(4)]),
            "sub r64, imm8",
        ),
        4 => (ins2(Movsxd_r64_rm32, r, gpr(pick_reg(rng), 4)), "movsxd"),
        5 => (
            Instruction::with1(Code::Sete_rm8, gpr(r, 1)).expect("setcc"),
            "setcc r8",
        ),
        6 => (
            Instruction::with2(
                Mov_rm64_imm32,
                MemoryOperand::with_base_displ(RSP, 8 * rng.below(4) as i64),
                imm,
            )
            .expect("store"),
            "mov qword [rsp+d], imm",
        ),
        7 => (ins2(Mov_r64_rm64, RDI, pick_reg(rng)), "mov rdi, r"),
        8 => (
            ins_ri(And_rm32_imm8, gpr(pick_reg(rng), 4), 7),
            "and r32, 7",
        ),
        9 => (
            Instruction::with2(
                Mov_r64_rm64,
                pick_reg(rng),
                MemoryOperand::new(R15, pick_reg(rng), 8, 0x20, 1, false, Register::None),
            )
            .expect("load"),
            "mov r, [r15+r*8+0x20]",
        ),
        10 => (Instruction::with1(Dec_rm64, R13).expect("dec"), "dec r13"),
        11 => (Instruction::with1(Inc_rm64, R13).expect("inc"), "inc r13"),
        12 => (ins2(Xor_r32_rm32, EDX, EDX), "xor edx, edx"),
        13 => (Instruction::with(Cqo), "cqo"),
        14 => (ins2(Mov_r64_rm64, RDX, pick_reg(rng)), "mov rdx, r"),
        15 => (ins2(Test_rm64_r64, RCX, RCX), "test rcx, rcx"),
        16 => (
            Instruction::with2(Mov_rm64_r64, MemoryOperand::with_base(R15), pick_reg(rng))
                .expect("store"),
            "mov [r15], r",
        ),
        17 => (
            Instruction::with1(Push_r64, pick_reg(rng)).expect("push"),
            "push",
        ),
        18 => (
            Instruction::with1(Pop_r64, pick_reg(rng)).expect("pop"),
            "pop",
        ),
        19 => (
            ins_ri(Mov_r32_imm32, [EBX, EBP, R12D][rng.below(3)], imm),
            "clobber callee-saved",
        ),
        20 => (
            ins2(
                Xor_r32_rm32,
                [EBX, EBP, R12D][rng.below(3)],
                [EBX, EBP, R12D][rng.below(3)],
            ),
            "xor callee-saved",
        ),
        21 => (ins_ri(Shl_rm64_imm8, r, 3), "shl r, 3"),
        22 => (ins2(Mov_r64_rm64, r, pick_reg(rng)), "mov r64, r64"),
        23 => (ins2(Add_r64_rm64, r, pick_reg(rng)), "add r64, r64"),
        24 => (
            ins2(Cmp_r64_rm64, pick_reg(rng), pick_reg(rng)),
            "cmp r64, r64",
        ),
        25 => (
            ins_ri(Cmp_rm64_imm8, pick_reg(rng), imm.clamp(-128, 127)),
            "cmp r64, imm8",
        ),
        26 => (
            Instruction::with2(
                Mov_rm64_r64,
                MemoryOperand::with_base_displ(RSP, 8 * rng.below(6) as i64),
                pick_reg(rng),
            )
            .expect("store"),
            "mov [rsp+d], r",
        ),
        27 => (ins2(Mov_r32_rm32, ESP, ESP), "mov esp, esp"),
        28 => (ins2(Mov_r64_rm64, r, RSP), "mov r, rsp"),
        _ => (
            ins2(Mov_rm8_r8, gpr(r, 1), gpr(pick_reg(rng), 1)),
            "mov r8, r8",
        ),
    }
}

/// The same instruction with another operand size, if iced has that form.
fn resize(i: &Instruction, names: &HashMap<String, Code>, size: usize) -> Option<Instruction> {
    let name = format!("{:?}", i.code());
    let bits = |n: usize| -> String { (n * 8).to_string() };
    let mut new = name.clone();
    for from in [8usize, 4, 2, 1] {
        if from == size {
            continue;
        }
        new = new.replace(&format!("r{}", bits(from)), &format!("r{}", bits(size)));
        new = new.replace(&format!("rm{}", bits(from)), &format!("rm{}", bits(size)));
    }
    if new == name {
        return None;
    }
    let code = *names.get(&new)?;
    let mut j = *i;
    j.set_code(code);
    for op in 0..j.op_count() {
        if j.op_kind(op) == OpKind::Register {
            let r = j.op_register(op);
            if r.is_gpr() {
                j.set_op_register(op, gpr(r.full_register(), size));
            }
        }
    }
    Some(j)
}

fn is_div(i: &Instruction) -> bool {
    matches!(i.code(), Code::Div_rm64 | Code::Idiv_rm64)
}

/// Is `b` the second half of a checked two-instruction form `a; b`?
fn is_pair(a: &Instruction, b: &Instruction) -> bool {
    let reads_r15 = |i: &Instruction| {
        i.op_count() == 2 && i.op_kind(1) == OpKind::Memory && i.memory_base() == Register::R15
    };
    (matches!(
        a.code(),
        Code::Cmp_r64_rm64
            | Code::Cmp_rm64_imm8
            | Code::Cmp_rm64_imm32
            | Code::Cmp_rm64_r64
            | Code::Test_rm64_r64
            | Code::Cmp_r32_rm32
            | Code::Test_rm32_r32
    ) && b.is_jcc_short_or_near())
        || (a.code() == Code::Dec_rm64 && a.op0_register() == Register::R13)
        || (a.code() == Code::Mov_r64_rm64
            && a.op0_register() == Register::RDI
            && a.op1_register() == Register::R15)
        || (a.code() == Code::Mov_rm64_r64
            && a.op0_register() == Register::RDI
            && a.op1_register() == Register::R15)
        || (matches!(
            a.code(),
            Code::Xor_r32_rm32 | Code::Xor_rm32_r32 | Code::Cqo
        ) && is_div(b))
        || (matches!(a.code(), Code::And_rm32_imm8 | Code::And_rm64_imm8) && a.immediate(1) == 7)
        || reads_r15(a)
        || a.is_jcc_short_or_near() && is_div(b)
}

const CONDS: [Code; 16] = [
    Code::Jo_rel32_64,
    Code::Jno_rel32_64,
    Code::Jb_rel32_64,
    Code::Jae_rel32_64,
    Code::Je_rel32_64,
    Code::Jne_rel32_64,
    Code::Jbe_rel32_64,
    Code::Ja_rel32_64,
    Code::Js_rel32_64,
    Code::Jns_rel32_64,
    Code::Jp_rel32_64,
    Code::Jnp_rel32_64,
    Code::Jl_rel32_64,
    Code::Jge_rel32_64,
    Code::Jle_rel32_64,
    Code::Jg_rel32_64,
];

fn branch(code: Code, t: Tgt, id: u32) -> Node {
    let mut ins = Instruction::with_branch(code, 0x1000).expect("branch");
    ins.set_code(code);
    Node {
        id,
        ins,
        target: Some(t),
        rip: None,
    }
}

fn plain(ins: Instruction, id: u32) -> Node {
    Node {
        id,
        ins,
        target: None,
        rip: None,
    }
}

fn fresh(p: &mut Prog) -> u32 {
    p.next_id += 1;
    p.next_id
}

fn budget_site(p: &mut Prog) -> usize {
    if let Some(k) = p.sites.iter().position(|s| s.0 == TrapKind::Budget) {
        return k;
    }
    p.sites.push((TrapKind::Budget, Tgt::Abs(0)));
    p.sites.len() - 1
}

/// Applies one random mutation; returns its description and the node it is
/// about (for the disassembly), or `None` when it does not apply.
fn mutate(p: &mut Prog, rng: &mut Rng, names: &HashMap<String, Code>) -> Option<(String, u32)> {
    let nf = p.funcs.len();
    let fi = rng.below(nf);
    let len = p.funcs[fi].len();
    if len < 2 {
        return None;
    }
    let op = rng.below(15);
    // Insertion points exclude index 0 (endbr64 must stay first).
    let pos = 1 + rng.below(len - 1);
    match op {
        // Retarget a branch to any instruction start (or a stub).
        0 | 1 => {
            let branches: Vec<(usize, usize)> = (0..nf)
                .flat_map(|f| (0..p.funcs[f].len()).map(move |i| (f, i)))
                .filter(|&(f, i)| p.funcs[f][i].target.is_some())
                .collect();
            let &(bf, bi) = branches.get(rng.below(branches.len()))?;
            let tf = if rng.chance(8) { rng.below(nf) } else { bf };
            let t = if rng.chance(12) {
                match rng.below(3) {
                    0 if !p.sites.is_empty() => Tgt::Stub(rng.below(p.sites.len())),
                    _ => Tgt::Unwind,
                }
            } else {
                let n = &p.funcs[tf];
                Tgt::Node(n[rng.below(n.len())].id)
            };
            let node = &mut p.funcs[bf][bi];
            let old = node.target;
            node.target = Some(t);
            Some((
                format!("retarget {} from {old:?} to {t:?}", node.ins),
                node.id,
            ))
        }
        // A branch into the middle of a checked two-instruction form, from
        // anywhere in the function (with the budget check when backward).
        2..=4 => {
            let f = &p.funcs[fi];
            let pairs: Vec<usize> = (1..f.len())
                .filter(|&i| is_pair(&f[i - 1].ins, &f[i].ins))
                .collect();
            let &mid = pairs.get(rng.below(pairs.len()))?;
            let tid = f[mid].id;
            let what = format!("branch into `{}` | `{}`", f[mid - 1].ins, f[mid].ins);
            let code = if rng.chance(3) {
                Code::Jmp_rel32_64
            } else {
                CONDS[rng.below(16)]
            };
            let mut ins = vec![];
            let backward = pos > mid;
            if backward && rng.chance(2) {
                let k = budget_site(p);
                ins.push(plain(
                    Instruction::with1(Code::Dec_rm64, Register::R13).expect("dec"),
                    fresh(p),
                ));
                ins.push(branch(Code::Je_rel32_64, Tgt::Stub(k), fresh(p)));
            }
            ins.push(branch(code, Tgt::Node(tid), fresh(p)));
            let id = ins.last().map(|n| n.id).unwrap_or(tid);
            for (j, n) in ins.into_iter().enumerate() {
                p.funcs[fi].insert(pos + j, n);
            }
            Some((format!("{what}: inserted {code:?} at index {pos}"), id))
        }
        // A second entry into a loop body (irreducible loop).
        5 => {
            let f = &p.funcs[fi];
            let idx: HashMap<u32, usize> = f.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
            let loops: Vec<(usize, usize)> = f
                .iter()
                .enumerate()
                .filter_map(|(i, n)| match n.target {
                    Some(Tgt::Node(t)) if n.ins.is_jmp_short_or_near() => {
                        idx.get(&t).filter(|&&h| h < i).map(|&h| (h, i))
                    }
                    _ => None,
                })
                .collect();
            let &(h, e) = loops.get(rng.below(loops.len()))?;
            if e <= h + 2 || h < 1 {
                return None;
            }
            let inside = h + 1 + rng.below(e - h - 1);
            let from = 1 + rng.below(h);
            let tid = f[inside].id;
            let code = CONDS[rng.below(16)];
            let what = format!(
                "second entry into the loop {}..{} at `{}`",
                h, e, f[inside].ins
            );
            let id = fresh(p);
            p.funcs[fi].insert(from, branch(code, Tgt::Node(tid), id));
            Some((what, id))
        }
        // Duplicate, drop, swap.
        6 => {
            let mut n = p.funcs[fi][pos].clone();
            n.id = fresh(p);
            let what = format!("duplicate `{}`", n.ins);
            let id = n.id;
            p.funcs[fi].insert(pos, n);
            Some((what, id))
        }
        7 => {
            let f = &mut p.funcs[fi];
            let gone = f.remove(pos);
            let next = f.get(pos).or(f.last()).map(|n| n.id)?;
            for g in p.funcs.iter_mut() {
                for n in g.iter_mut() {
                    if n.target == Some(Tgt::Node(gone.id)) {
                        n.target = Some(Tgt::Node(next));
                    }
                }
            }
            for s in p.sites.iter_mut() {
                if s.1 == Tgt::Node(gone.id) {
                    s.1 = Tgt::Node(next);
                }
            }
            Some((format!("drop `{}`", gone.ins), next))
        }
        8 => {
            let f = &mut p.funcs[fi];
            if pos + 1 >= f.len() {
                return None;
            }
            f.swap(pos, pos + 1);
            Some((
                format!("swap `{}` and `{}`", f[pos].ins, f[pos + 1].ins),
                f[pos].id,
            ))
        }
        // Change a register operand (or the base/index of a memory operand).
        9 | 10 => {
            let n = &mut p.funcs[fi][pos];
            let before = n.ins.to_string();
            let regs: Vec<u32> = (0..n.ins.op_count())
                .filter(|&o| n.ins.op_kind(o) == OpKind::Register)
                .collect();
            let has_mem = (0..n.ins.op_count()).any(|o| n.ins.op_kind(o) == OpKind::Memory)
                && n.rip.is_none();
            if has_mem && (regs.is_empty() || rng.chance(3)) {
                let r = pick_reg(rng);
                if rng.chance(2) || n.ins.memory_index() == Register::None {
                    n.ins.set_memory_base(r);
                } else if r != Register::RSP {
                    n.ins.set_memory_index(r);
                }
            } else {
                let &o = regs.get(rng.below(regs.len()))?;
                let old = n.ins.op_register(o);
                if !old.is_gpr() {
                    return None;
                }
                n.ins.set_op_register(o, gpr(pick_reg(rng), old.size()));
            }
            Some((format!("register: `{before}` -> `{}`", n.ins), n.id))
        }
        // Change the operand size.
        11 => {
            let n = &mut p.funcs[fi][pos];
            let size = [1usize, 2, 4, 8][rng.below(4)];
            let j = resize(&n.ins, names, size)?;
            let what = format!("size: `{}` -> `{j}`", n.ins);
            n.ins = j;
            Some((what, n.id))
        }
        // Immediates, displacements and conditions.
        12 => {
            let n = &mut p.funcs[fi][pos];
            let before = n.ins.to_string();
            if n.ins.is_jcc_short_or_near() {
                let cc = n.ins.condition_code();
                let _ = cc == ConditionCode::None;
                n.ins.set_code(CONDS[rng.below(16)]);
            } else if let Some(o) = (0..n.ins.op_count()).find(|&o| {
                matches!(
                    n.ins.op_kind(o),
                    OpKind::Immediate8to64
                        | OpKind::Immediate32to64
                        | OpKind::Immediate32
                        | OpKind::Immediate8to32
                        | OpKind::Immediate8
                )
            }) {
                let v = n.ins.immediate(o) as i64;
                let nv = v + [1, -1, 8, -8, 64][rng.below(5)];
                n.ins.try_set_immediate_i64(o, nv).ok()?;
            } else if (0..n.ins.op_count()).any(|o| n.ins.op_kind(o) == OpKind::Memory) {
                let delta = [1i64, -1, 8, -8, 0x40, -0x40][rng.below(6)];
                if let Some(Rip::Rodata(off)) = n.rip {
                    n.rip = Some(Rip::Rodata(off + delta));
                } else {
                    let d = n.ins.memory_displacement64() as i64 + delta;
                    n.ins.set_memory_displacement64(d as u64);
                    n.ins
                        .set_memory_displ_size(if (-128..128).contains(&d) { 1 } else { 4 });
                }
            } else {
                return None;
            }
            Some((format!("operand: `{before}` -> `{}`", n.ins), n.id))
        }
        // Replace with, or insert, a hostile instruction.
        13 => {
            let (ins, what) = template(rng);
            let old = p.funcs[fi][pos].ins;
            p.funcs[fi][pos] = Node {
                id: p.funcs[fi][pos].id,
                ins,
                target: None,
                rip: None,
            };
            Some((
                format!("replace `{old}` with `{ins}` ({what})"),
                p.funcs[fi][pos].id,
            ))
        }
        _ => {
            let (ins, what) = template(rng);
            let id = fresh(p);
            // Callee clobbers go right before a ret half of the time.
            let f = &p.funcs[fi];
            let rets: Vec<usize> = (1..f.len())
                .filter(|&i| f[i].ins.flow_control() == FlowControl::Return)
                .collect();
            let at = if rng.chance(2) && !rets.is_empty() {
                rets[rng.below(rets.len())]
            } else {
                pos
            };
            p.funcs[fi].insert(at, plain(ins, id));
            Some((format!("insert `{ins}` ({what}) at index {at}"), id))
        }
    }
}

/// A coarse kind for an escape: the most serious of its violations.
fn category(v: &[String]) -> &'static str {
    let has = |k: &str| v.iter().any(|x| x.contains(k));
    if has("UNMAPPED") || has("read of") || has("write of") || has("below rsp") {
        "memory access outside the sandbox"
    } else if has("fetch at")
        || has("passes control")
        || has("enters a stub")
        || has("the matching call returns")
    {
        "control flow"
    } else if has("CPU exception") || has("invalid instruction") {
        "CPU exception"
    } else if has("import") {
        "import called without the context"
    } else if has("fuel passed")
        || has("fuel is exhausted")
        || has("without dec r13")
        || has("r13 changed")
        || has("instructions executed")
    {
        "budget"
    } else if has("r14") || has("r15") || has("rsp") {
        "reserved register or stack pointer"
    } else if has("callee-saved") {
        "callee-saved register not preserved"
    } else {
        "other"
    }
}

fn disassemble(parts: &ObjectParts, at: u64) -> String {
    let mut out = String::new();
    let Some(f) = parts
        .functions
        .iter()
        .find(|f| u64::from(f.code_offset) <= at && at < u64::from(f.code_offset + f.code_len))
    else {
        return out;
    };
    let (s, e) = (
        f.code_offset as usize,
        (f.code_offset + f.code_len) as usize,
    );
    let mut d = Decoder::with_ip(64, &parts.code[s..e], s as u64, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let all: Vec<Instruction> = (&mut d).into_iter().collect();
    let i = all.iter().position(|x| x.ip() >= at).unwrap_or(0);
    for x in &all[i.saturating_sub(8)..(i + 8).min(all.len())] {
        let mut t = String::new();
        fmt.format(x, &mut t);
        let mark = if x.ip() == at { "=>" } else { "  " };
        out.push_str(&format!("{mark} {:6x}  {t}\n", x.ip()));
    }
    out
}

#[test]
fn mutants_run() {
    campaign(false);
}

#[test]
fn no_escapes() {
    campaign(true);
}

fn campaign(fail: bool) {
    let n = common::env_num("KPL_STRUCT_MUTANTS", 600);
    let seed = common::env_num("KPL_SEED", 1);
    let dir = std::env::var_os("KPL_ESCAPE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("kpl-escapes-{}", std::process::id()))
        });
    let names: HashMap<String, Code> = Code::values().map(|c| (format!("{c:?}"), c)).collect();
    let t0 = Instant::now();
    let progs: Vec<Prog> = common::programs()
        .iter()
        .filter_map(|(name, parts)| decode_prog(name, parts))
        .collect();
    // The rebuild must be faithful: every unmutated program still verifies
    // and runs clean after the round trip.
    let mut base_ok = 0;
    for p in &progs {
        let (parts, _) = encode_prog(p).expect("re-encode");
        let bytes = kplc::kpo::write(&parts);
        match common::verify(&bytes) {
            Ok(()) => base_ok += 1,
            Err(e) => eprintln!("round trip of {} is rejected: {e}", p.name),
        }
    }
    assert!(
        base_ok * 10 >= progs.len() * 9,
        "only {base_ok} of {} round trips verify",
        progs.len()
    );
    eprintln!(
        "structural: {} programs decoded, {base_ok} round trips verify ({:.1} s)",
        progs.len(),
        t0.elapsed().as_secs_f64()
    );
    let mut rng = Rng::new(seed);
    let (mut made, mut parsed, mut accepted, mut insns) = (0u64, 0u64, 0u64, 0u64);
    let mut escapes = Vec::new();
    let mut kinds: std::collections::BTreeMap<&'static str, u64> = Default::default();
    let t1 = Instant::now();
    for i in 0..n {
        let mut p = progs[rng.below(progs.len())].clone();
        let mut muts = Vec::new();
        for _ in 0..1 + usize::from(rng.chance(4)) {
            if let Some(m) = mutate(&mut p, &mut rng, &names) {
                muts.push(m);
            }
        }
        if muts.is_empty() {
            continue;
        }
        let Some((parts, addr)) = encode_prog(&p) else {
            continue;
        };
        made += 1;
        let Ok(bytes) = std::panic::catch_unwind(|| kplc::kpo::write(&parts)) else {
            continue;
        };
        if kpl_runtime_core::Object::parse(&bytes).is_err() {
            continue;
        }
        parsed += 1;
        if common::verify(&bytes).is_err() {
            continue;
        }
        accepted += 1;
        let (v, n_insns) = common::oracle::check_object(&bytes);
        insns += n_insns;
        if v.is_empty() {
            continue;
        }
        std::fs::create_dir_all(&dir).expect("escape dir");
        let file = dir.join(format!("escape-s{seed}-{i}.kpo"));
        std::fs::write(&file, &bytes).expect("write");
        let mut report = format!(
            "ESCAPE #{} (mutant {i} of {}, seed {seed}) kept as {}\n",
            escapes.len() + 1,
            p.name,
            file.display()
        );
        for (what, id) in &muts {
            report.push_str(&format!("  mutation: {what}\n"));
            if let Some(&a) = addr.get(id) {
                report.push_str(&disassemble(&parts, a));
            }
        }
        for x in v.iter().take(4) {
            report.push_str(&format!("  violation: {x}\n"));
        }
        eprintln!("{report}");
        *kinds.entry(category(&v)).or_insert(0u64) += 1;
        escapes.push(report);
    }
    let secs = t1.elapsed().as_secs_f64();
    eprintln!(
        "structural: seed {seed}: {n} tried, {made} built, {parsed} parsed, {accepted} accepted by the verifier, {} escapes; \
         {insns} instructions emulated; {secs:.1} s, {:.0} mutants/s",
        escapes.len(),
        made as f64 / secs.max(1e-9)
    );
    eprintln!("structural: escapes by kind of violation: {kinds:?}");
    assert!(
        accepted > 0 || n < 50,
        "no mutant was accepted: the mutator is broken"
    );
    if fail {
        assert!(
            escapes.is_empty(),
            "{} escapes:\n{}",
            escapes.len(),
            escapes.join("\n")
        );
    }
}
