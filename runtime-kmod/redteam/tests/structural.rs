//! Structural mutation testing of the verifier: the project's programs
//! (`compiler/tests/exec/*.kpl`, `examples/*/*.kpl`) are compiled by kplc,
//! decoded with iced-x86 into instructions whose branch targets, trap sites
//! and RIP-relative operands are symbolic, mutated (branches retargeted,
//! branches inserted into the middle of checked multi-instruction forms,
//! second entries into loop bodies, instructions duplicated, dropped,
//! swapped, their registers, sizes, immediates and conditions changed,
//! callees made to clobber callee-saved registers, division setups
//! replaced, hostile instructions inserted), re-encoded with iced's
//! encoder at their new addresses and rebuilt into a consistent object
//! (function lengths, trap-site offsets, stubs, RIP-relative displacements
//! for the new layout). Every mutant goes through `Object::parse` and the
//! verifier; each one the verifier ACCEPTS runs under the execution oracle,
//! and an accepted mutant the oracle flags is an ESCAPE: it is printed
//! (mutation, disassembly around it, violation, and how to replay it) and
//! written to a file.
//!
//! Mutant `i` of seed `S` depends on (S, i) only: the mutants are shared out
//! among threads in chunks, each thread with its own oracle engine
//! ([`common::oracle::Engine`], reused from one object to the next).
//!
//! Two tests share the loop: `mutants_run` checks the machinery (round
//! trips verify, mutants are built, accepted and run) and reports escapes
//! without failing; `no_escapes` fails on any escape. `reused_engine_is_fresh`
//! checks the engine's reuse against fresh engines on mutants, accepted
//! or not.
//!
//! Settings (environment):
//! - `KPL_STRUCT_MUTANTS=N` (default 600), `KPL_SEED=S` (default 1);
//! - `KPL_THREADS=T` (default: the available cores);
//! - `KPL_ESCAPE_DIR=dir` (default: a temporary directory) keeps escaping
//!   objects as `escape-sS-I.kpo`;
//! - `KPL_MAX_ESCAPES=k`: stop after k escapes (default: never);
//! - `KPL_FIRST=I`: start at mutant I (`KPL_STRUCT_MUTANTS` counts from
//!   there): a run cut short after a progress line "every mutant from F to
//!   T done" is completed by one with `KPL_FIRST=T`;
//! - `KPL_REPLAY=I`: build, verify and run mutant I of seed S alone, and
//!   say what became of it;
//! - `KPL_PROGRESS=P`: a progress line with the running totals every P
//!   mutants (default 100000);
//! - `KPL_FRESH_EVERY=F`: about one accepted mutant in F is also run in
//!   fresh engines, and any difference stops the campaign (default: never).
//!
//! Long run (the issue's ten million, progress every 100k; the final line
//! starts with `structural: seed 1: done:`):
//! `KPL_STRUCT_MUTANTS=10000000 KPL_SEED=1 KPL_THREADS=2 KPL_MAX_ESCAPES=1
//! KPL_FRESH_EVERY=5000 KPL_ESCAPE_DIR=/tmp/kpl-escapes cargo test --release
//! -p kpl-redteam --test structural -- --nocapture --exact no_escapes`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use common::Rng;
use iced_x86::{
    Code, ConditionCode, Decoder, DecoderOptions, Encoder, FlowControl, Formatter, Instruction,
    IntelFormatter, MemoryOperand, OpKind, Register,
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

/// Where each node id was laid out (`None`: no such node).
struct Addrs(Vec<u64>);

impl Addrs {
    fn get(&self, id: &u32) -> Option<&u64> {
        self.0.get(*id as usize).filter(|&&a| a != u64::MAX)
    }
}

/// Lays out and encodes `p`; returns the object parts and the address of
/// every node id. Every instruction is encoded at its final address, so the
/// lengths of the first pass hold: near branches and disp32 RIP operands
/// have fixed sizes.
fn encode_prog(p: &Prog) -> Option<(ObjectParts, Addrs)> {
    let mut enc = Encoder::new(64);
    let mut addr = Addrs(vec![u64::MAX; p.next_id as usize + 1]);
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
            *addr.0.get_mut(n.id as usize)? = pc;
            pc += len;
        }
    }
    let _ = enc.take_buffer();
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
    for f in &p.funcs {
        for n in f {
            let mut i = n.ins;
            let at = *addr.get(&n.id)?;
            if let Some(t) = n.target {
                i.set_near_branch64(resolve(t)?);
            }
            if let Some(Rip::Rodata(off)) = n.rip {
                i.set_memory_displacement64((rodata_offset as i64 + off) as u64);
            }
            enc.encode(&i, at).ok()?;
        }
    }
    let mut code = enc.take_buffer();
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

/// The 64-bit general register number `k` (0–15, in encoding order: rax,
/// rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8–r15, as iced lists them).
fn gpr64(k: usize) -> Register {
    Register::values()
        .filter(|r| r.is_gpr64())
        .nth(k)
        .unwrap_or(Register::RAX)
}

#[test]
fn registers_in_encoding_order() {
    let all: Vec<Register> = (0..16).map(gpr64).collect();
    assert_eq!(
        format!("{all:?}"),
        "[RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15]"
    );
}

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
        gpr64(rng.below(16))
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
    match rng.below(32) {
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
        // The one-operand multiply writes rdx:rax: it must kill `rdx = 0`,
        // `rdx = sign(rax)` and a checked divisor in either.
        29 => (
            Instruction::with1(Mul_rm64, pick_reg(rng)).expect("mul"),
            "mul r64",
        ),
        30 => (
            Instruction::with1(Imul_rm64, pick_reg(rng)).expect("imul"),
            "imul r64",
        ),
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

/// iced's forms by name (for [`resize`]).
fn code_names() -> HashMap<String, Code> {
    Code::values().map(|c| (format!("{c:?}"), c)).collect()
}

/// The programs kplc compiles, decoded.
fn decoded_programs() -> Vec<Prog> {
    common::programs()
        .iter()
        .filter_map(|(name, parts)| decode_prog(name, parts))
        .collect()
}

/// The campaign's engine, reused from one object to the next, against a
/// fresh engine for every invocation, on mutants the verifier has not
/// seen (most of them fault): every report must be the same.
#[test]
fn reused_engine_is_fresh() {
    use common::oracle::{Engine, Loaded, Static, default_runs};
    use kpl_runtime_core::Object;
    let n = common::env_num("KPL_FRESH_MUTANTS", 100);
    let (names, progs) = (code_names(), decoded_programs());
    let mut e = Engine::new();
    let (mut objects, mut runs, mut flagged) = (0, 0, 0);
    // Four mutants of a program (same chunk), then another program.
    for i in (0..n).map(|k| (k / 4 * 7) * CHUNK + k % 4) {
        let Some(m) = build_mutant(&progs, &names, 7, i) else {
            continue;
        };
        let Ok(bytes) = std::panic::catch_unwind(|| kplc::kpo::write(&m.parts)) else {
            continue;
        };
        let Ok(obj) = Object::parse(&bytes) else {
            continue;
        };
        let s = std::rc::Rc::new(Static::new(&obj));
        let o = Loaded::new(&obj, &s);
        objects += 1;
        for r in default_runs(&obj) {
            let reused = e.run_loaded(&o, &r);
            let fresh = Engine::new().run_loaded(&o, &r);
            assert_eq!(reused, fresh, "mutant {i} of seed 7: {r:?}");
            runs += 1;
            flagged += usize::from(!fresh.violations.is_empty());
        }
    }
    eprintln!(
        "{objects} mutants, {runs} runs: the reused engine agrees with fresh ones ({flagged} runs flagged; {} image loads, {} maps)",
        e.image_loads, e.maps
    );
    assert!(
        objects * 2 >= n && flagged * 20 >= runs,
        "{objects} mutants; only {flagged} of {runs} runs flagged"
    );
}

#[test]
fn mutants_run() {
    campaign(false);
}

#[test]
fn no_escapes() {
    campaign(true);
}

/// The verdict digest: a fixed-seed set of structural mutants (seed
/// `KPL_DIGEST_SEED`, default 11; `KPL_DIGEST_MUTANTS`, default 8000) plus
/// the unmutated round trip of every program, each verified, every verdict
/// (accept with the stack depth, or reject with the rule, the offset and
/// the words; "parse" or "unbuilt" before the verifier) one line, and
/// the XXH64 of all lines printed. A pure speed change to the verifier must
/// leave the digest unchanged: run it before and after, or set
/// `KPL_DIGEST_EXPECT=<16 hex digits>` to have it compared. Ignored by
/// default (it takes a while in a debug build):
/// `cargo test --release -p kpl-redteam --test structural -- --ignored
/// --nocapture --exact verdict_digest`.
#[test]
#[ignore]
fn verdict_digest() {
    use kpl_runtime_core::Object;
    use kpl_runtime_core::verify::OwnedWorkspace;
    let n = common::env_num("KPL_DIGEST_MUTANTS", 8000);
    let seed = common::env_num("KPL_DIGEST_SEED", 11);
    let (names, progs) = (code_names(), decoded_programs());
    let verdict = |bytes: &[u8]| -> String {
        let obj = match Object::parse(bytes) {
            Ok(o) => o,
            Err(e) => return format!("parse {e:?}"),
        };
        match OwnedWorkspace::for_object(&obj).verify(&obj) {
            Ok(v) => format!("accept max_stack={}", v.max_stack),
            Err(e) => format!("reject {} {:#x} {}", e.rule, e.offset, e.what),
        }
    };
    let mut all = String::new();
    let (mut objects, mut accepted) = (0u64, 0u64);
    let mut push = |line: String| {
        objects += 1;
        accepted += u64::from(line.contains(" accept "));
        all.push_str(&line);
        all.push('\n');
    };
    for p in &progs {
        let line = match encode_prog(p) {
            Some((parts, _)) => verdict(&kplc::kpo::write(&parts)),
            None => "unbuilt".into(),
        };
        push(format!("{} {line}", p.name));
    }
    for i in 0..n {
        let line = match build_mutant(&progs, &names, seed, i) {
            None => "unbuilt".into(),
            Some(m) => match std::panic::catch_unwind(|| kplc::kpo::write(&m.parts)) {
                Ok(bytes) => verdict(&bytes),
                Err(_) => "unwritable".into(),
            },
        };
        push(format!("#{i} {line}"));
    }
    let digest = format!("{:016x}", kpl_runtime_core::xxh64(all.as_bytes()));
    eprintln!(
        "verdict_digest: seed {seed}, {n} mutants: digest {digest} objects {objects} accepted {accepted}"
    );
    if let Ok(dump) = std::env::var("KPL_DIGEST_LINES") {
        std::fs::write(dump, &all).expect("write verdict lines");
    }
    if let Ok(want) = std::env::var("KPL_DIGEST_EXPECT") {
        assert_eq!(digest, want.trim(), "the verdicts changed");
    }
}

/// A built mutant: its mutations (description, node), the rebuilt parts,
/// every node's address and the object's bytes.
struct Mutant {
    prog: usize,
    muts: Vec<(String, u32)>,
    parts: ObjectParts,
    addr: Addrs,
    bytes: Option<Vec<u8>>,
}

/// Mutant `index` of the campaign with seed `seed`: it depends on
/// (seed, index) only, not on the thread that builds it nor on the
/// mutants before it, so any one can be rebuilt alone (`KPL_REPLAY`).
/// The [`CHUNK`] mutants of a chunk share their program (drawn per chunk),
/// so that a thread's engine keeps the blocks it translated from the code
/// that its mutants do not change. `None`: no mutation applied, or the
/// result could not be encoded.
fn build_mutant(
    progs: &[Prog],
    names: &HashMap<String, Code>,
    seed: u64,
    index: u64,
) -> Option<Mutant> {
    let prog = Rng::stream(seed ^ 0x7072_6f67, index / CHUNK).below(progs.len());
    let mut rng = Rng::stream(seed, index);
    let mut p = progs[prog].clone();
    let mut muts = Vec::new();
    for _ in 0..1 + usize::from(rng.chance(4)) {
        if let Some(m) = mutate(&mut p, &mut rng, names) {
            muts.push(m);
        }
    }
    if muts.is_empty() {
        return None;
    }
    let (parts, addr) = encode_prog(&p)?;
    Some(Mutant {
        prog,
        muts,
        parts,
        addr,
        bytes: None,
    })
}

/// Running totals of a campaign, shared by its threads.
#[derive(Default)]
struct Totals {
    tried: AtomicU64,
    built: AtomicU64,
    parsed: AtomicU64,
    accepted: AtomicU64,
    escapes: AtomicU64,
    insns: AtomicU64,
    /// Accepted mutants also run in fresh engines, and how many of them
    /// got another verdict there.
    fresh: AtomicU64,
    mismatches: AtomicU64,
    /// Nanoseconds in each stage, summed over the threads.
    ns: [AtomicU64; STAGES.len()],
}

const STAGES: [&str; 5] = ["mutate+encode", "kpo write", "parse", "verify", "oracle"];

/// CPU seconds this process has used (user and system, all threads), from
/// `/proc/self/stat` (in units of USER_HZ, 100 on Linux); 0 elsewhere.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

impl Totals {
    /// The running totals; `secs` of wall time and `cpu` CPU seconds since
    /// the first mutant.
    fn line(&self, n: u64, secs: f64, cpu: f64) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let tried = get(&self.tried);
        format!(
            "{tried} of {n} tried, {} built, {} parsed, {} accepted by the verifier, {} escapes; \
             {} instructions emulated; {} cross-checked in a fresh engine, {} mismatches; \
             {secs:.1} s, {:.0} mutants/s; {cpu:.1} CPU-s, {:.0} mutants per CPU-s",
            get(&self.built),
            get(&self.parsed),
            get(&self.accepted),
            get(&self.escapes),
            get(&self.insns),
            get(&self.fresh),
            get(&self.mismatches),
            tried as f64 / secs.max(1e-9),
            tried as f64 / cpu.max(1e-9)
        )
    }

    fn stages(&self) -> String {
        let ns: Vec<u64> = self.ns.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let all = ns.iter().sum::<u64>().max(1);
        STAGES
            .iter()
            .zip(&ns)
            .map(|(s, &t)| {
                format!(
                    "{s} {:.1} s ({:.0}%)",
                    t as f64 / 1e9,
                    100.0 * t as f64 / all as f64
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The campaign's settings and shared state.
struct Campaign<'a> {
    progs: &'a [Prog],
    names: &'a HashMap<String, Code>,
    seed: u64,
    /// The first mutant index and the number of mutants.
    from: u64,
    n: u64,
    dir: std::path::PathBuf,
    /// Every this many accepted mutants (per thread), the reused engine's
    /// verdict is compared with a fresh engine's (0: never).
    fresh_every: u64,
    every: u64,
    max_escapes: u64,
    replay: bool,
    t0: Instant,
    cpu0: f64,
    totals: Totals,
    next: AtomicU64,
    /// Per thread: the first mutant of the chunk it works on.
    current: Vec<AtomicU64>,
    stop: AtomicBool,
    escapes: Mutex<Vec<String>>,
    kinds: Mutex<BTreeMap<&'static str, u64>>,
}

/// Mutants a thread takes at a time.
const CHUNK: u64 = 64;

impl Campaign<'_> {
    /// A worker: takes chunks of mutant indices until none is left.
    fn work(&self, thread: usize) {
        let mut engine = common::oracle::Engine::new();
        self.work_with(thread, &mut engine);
        eprintln!(
            "structural: thread {thread}'s engine: {} image loads, {} of {} image bytes invalidated, {} regions mapped",
            engine.image_loads, engine.invalidated, engine.image_bytes, engine.maps
        );
    }

    fn work_with(&self, thread: usize, engine: &mut common::oracle::Engine) {
        let end = self.from + self.n;
        loop {
            // Chunks aligned on multiples of CHUNK (the first may be cut).
            // `current[thread]` moves to the new chunk only once the last
            // one is done (see `frontier`); a stop leaves it where it is.
            let k = self.next.fetch_add(1, Ordering::SeqCst);
            let start = (self.from / CHUNK + k) * CHUNK;
            self.current[thread].store(start.max(self.from).min(end), Ordering::SeqCst);
            if start >= end {
                return;
            }
            for i in start.max(self.from)..(start + CHUNK).min(end) {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                self.one(engine, thread, i);
                let tried = self.totals.tried.fetch_add(1, Ordering::Relaxed) + 1;
                if tried.is_multiple_of(self.every) {
                    let secs = self.t0.elapsed().as_secs_f64();
                    eprintln!(
                        "structural: seed {}: progress: {}; every mutant from {} to {} done",
                        self.seed,
                        self.totals.line(self.n, secs, cpu_secs() - self.cpu0),
                        self.from,
                        self.frontier()
                    );
                }
            }
        }
    }

    /// Every mutant from `from` up to this index (excluded) is done: a
    /// thread's `current` is the chunk it works on or, between two chunks,
    /// the one it finished (never past a chunk it has not finished), and
    /// the chunks no thread has taken yet lie above every `current`.
    fn frontier(&self) -> u64 {
        self.current
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .min()
            .unwrap_or(self.from)
    }

    /// Mutant `i`: build, write, parse, verify and, if accepted, run it
    /// under the oracle.
    fn one(&self, engine: &mut common::oracle::Engine, thread: usize, i: u64) {
        let ns = &self.totals.ns;
        let mut t = Instant::now();
        let mut lap = |stage: usize| {
            let now = Instant::now();
            ns[stage].fetch_add((now - t).as_nanos() as u64, Ordering::Relaxed);
            t = now;
        };
        let built = build_mutant(self.progs, self.names, self.seed, i);
        lap(0);
        let Some(mut m) = built else {
            if self.replay {
                eprintln!(
                    "replay: mutant {i} of seed {}: no mutation applies",
                    self.seed
                );
            }
            return;
        };
        self.totals.built.fetch_add(1, Ordering::Relaxed);
        let bytes = std::panic::catch_unwind(|| kplc::kpo::write(&m.parts));
        lap(1);
        let Ok(bytes) = bytes else {
            return;
        };
        let parses = kpl_runtime_core::Object::parse(&bytes).is_ok();
        lap(2);
        if !parses {
            self.replay_note(&m, "does not parse");
            return;
        }
        self.totals.parsed.fetch_add(1, Ordering::Relaxed);
        let verdict = common::verify(&bytes);
        lap(3);
        if let Err(e) = verdict {
            self.replay_note(&m, &format!("rejected by the verifier: {e}"));
            return;
        }
        self.totals.accepted.fetch_add(1, Ordering::Relaxed);
        let (v, n_insns) = engine.check_object(&bytes);
        lap(4);
        self.totals.insns.fetch_add(n_insns, Ordering::Relaxed);
        if self.fresh_every > 0
            && Rng::stream(self.seed ^ 0x6672_6573, i).chance(self.fresh_every as usize)
        {
            // Spot check of the engine's reuse: a fresh engine must agree.
            self.totals.fresh.fetch_add(1, Ordering::Relaxed);
            let fresh = common::oracle::check_object_fresh(&bytes);
            if fresh != (v.clone(), n_insns) {
                self.totals.mismatches.fetch_add(1, Ordering::Relaxed);
                std::fs::create_dir_all(&self.dir).expect("escape dir");
                let file = self.dir.join(format!("mismatch-s{}-{i}.kpo", self.seed));
                std::fs::write(&file, &bytes).expect("write");
                eprintln!(
                    "ORACLE MISMATCH (mutant {i}, seed {}, thread {thread}), kept as {}: reused engine {:?}, fresh engine {:?}",
                    self.seed,
                    file.display(),
                    (&v, n_insns),
                    fresh
                );
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        m.bytes = Some(bytes);
        if v.is_empty() {
            self.replay_note(&m, &format!("accepted, clean ({n_insns} instructions)"));
            return;
        }
        self.escape(&m, thread, i, &v);
    }

    /// In replay mode, what became of the mutant.
    fn replay_note(&self, m: &Mutant, what: &str) {
        if !self.replay {
            return;
        }
        eprintln!(
            "replay: mutant {} of seed {} ({}): {what}\n{}",
            self.from,
            self.seed,
            self.progs[m.prog].name,
            Self::mutations(m)
        );
    }

    /// The mutations, each with the disassembly around it.
    fn mutations(m: &Mutant) -> String {
        let mut out = String::new();
        for (what, id) in &m.muts {
            out.push_str(&format!("  mutation: {what}\n"));
            if let Some(&a) = m.addr.get(id) {
                out.push_str(&disassemble(&m.parts, a));
            }
        }
        out
    }

    fn escape(&self, m: &Mutant, thread: usize, i: u64, v: &[String]) {
        let bytes = m.bytes.as_deref().unwrap_or_default();
        std::fs::create_dir_all(&self.dir).expect("escape dir");
        let file = self.dir.join(format!("escape-s{}-{i}.kpo", self.seed));
        std::fs::write(&file, bytes).expect("write");
        let k = self.totals.escapes.fetch_add(1, Ordering::Relaxed) + 1;
        let mut report = format!(
            "ESCAPE #{k} (mutant {i}, seed {}, thread {thread}; replay: KPL_SEED={} KPL_REPLAY={i}) of {}, kept as {}\n",
            self.seed,
            self.seed,
            self.progs[m.prog].name,
            file.display()
        );
        report.push_str(&Self::mutations(m));
        for x in v.iter().take(4) {
            report.push_str(&format!("  violation: {x}\n"));
        }
        eprintln!("{report}");
        *self
            .kinds
            .lock()
            .expect("kinds")
            .entry(category(v))
            .or_insert(0) += 1;
        self.escapes.lock().expect("escapes").push(report);
        if k >= self.max_escapes {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The campaign; see the module documentation for its settings.
fn campaign(fail: bool) {
    let replay = std::env::var("KPL_REPLAY")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let n = match replay {
        Some(_) => 1,
        None => common::env_num("KPL_STRUCT_MUTANTS", 600),
    };
    let from = replay.unwrap_or_else(|| common::env_num("KPL_FIRST", 0));
    let seed = common::env_num("KPL_SEED", 1);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get() as u64);
    let threads = common::env_num("KPL_THREADS", cores).clamp(1, 256) as usize;
    let dir = std::env::var_os("KPL_ESCAPE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("kpl-escapes-{}", std::process::id()))
        });
    let names = code_names();
    let t0 = Instant::now();
    let progs = decoded_programs();
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
        "structural: {} programs decoded, {base_ok} round trips verify ({:.1} s); seed {seed}, {n} mutants from {from}, {threads} threads",
        progs.len(),
        t0.elapsed().as_secs_f64()
    );
    let c = Campaign {
        progs: &progs,
        names: &names,
        seed,
        from,
        n,
        dir,
        fresh_every: common::env_num("KPL_FRESH_EVERY", 0),
        every: common::env_num("KPL_PROGRESS", 100_000).max(1),
        max_escapes: common::env_num("KPL_MAX_ESCAPES", u64::MAX).max(1),
        replay: replay.is_some(),
        t0: Instant::now(),
        cpu0: cpu_secs(),
        totals: Totals::default(),
        next: AtomicU64::new(0),
        current: (0..threads).map(|_| AtomicU64::new(from)).collect(),
        stop: AtomicBool::new(false),
        escapes: Mutex::new(Vec::new()),
        kinds: Mutex::new(BTreeMap::new()),
    };
    std::thread::scope(|s| {
        for t in 0..threads {
            let c = &c;
            s.spawn(move || c.work(t));
        }
    });
    let secs = c.t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - c.cpu0;
    let frontier = c.frontier();
    let escapes = c.escapes.into_inner().expect("escapes");
    eprintln!(
        "structural: seed {seed}: done: {}; every mutant from {from} to {} done",
        c.totals.line(n, secs, cpu),
        frontier
    );
    eprintln!("structural: thread time by stage: {}", c.totals.stages());
    eprintln!(
        "structural: escapes by kind of violation: {:?}",
        c.kinds.into_inner().expect("kinds")
    );
    let accepted = c.totals.accepted.load(Ordering::Relaxed);
    assert!(
        accepted > 0 || n < 50,
        "no mutant was accepted: the mutator is broken"
    );
    let mismatches = c.totals.mismatches.load(Ordering::Relaxed);
    assert_eq!(mismatches, 0, "the reused engine and a fresh one disagree");
    if fail {
        assert!(
            escapes.is_empty(),
            "{} escapes:\n{}",
            escapes.len(),
            escapes.join("\n")
        );
    }
}
