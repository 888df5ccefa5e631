//! The verifier's decoder accepts every instruction kplc emits (all assembly
//! snapshots), agrees with iced-x86 on length, mnemonic and operands for
//! everything it accepts (snapshots, an exhaustive sweep and property tests),
//! refuses privileged, system, I/O, string, segment, SIMD and indirect-jump
//! instructions and stray prefixes, and never panics.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use kpl_runtime_core::decode::*;
use proptest::prelude::*;

use DecodeError as E;

// ---------------------------------------------------------------------------
// Comparing a decoded `Insn` with iced-x86.

/// An operand in a form both decoders can be brought to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opnd {
    /// Register number 0–15 and size in bytes; AH–BH are 16–19, size 1.
    Reg(u8, usize),
    /// Base (`None` = RIP), index and scale, displacement (RIP: the absolute
    /// address for ip 0), bytes accessed (0 for `lea`).
    Mem(Option<u8>, Option<(u8, u32)>, u64, usize),
    /// Immediate: width in bytes and value truncated to it.
    Imm(usize, u64),
    /// Branch target for ip 0.
    Branch(u64),
}

const GPR64: [Register; 16] = [
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

/// The number 0–15 of a general register of any size (`None` for others).
fn gpr(r: Register) -> Option<u8> {
    GPR64
        .iter()
        .position(|&g| g == r.full_register())
        .map(|n| n as u8)
}

fn imm(width: usize, value: i64) -> Opnd {
    let mask = if width == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    Opnd::Imm(width, value as u64 & mask)
}

fn mem(m: Mem, len: u8) -> Opnd {
    let (base, disp) = match m.base {
        Base::Reg(r) => (Some(r), i64::from(m.disp) as u64),
        Base::Rip => (None, (i64::from(len) + i64::from(m.disp)) as u64),
    };
    let index = m.index.map(|(i, s)| (i, u32::from(s)));
    Opnd::Mem(base, index, disp, usize::from(m.size))
}

fn cc_mnemonic(cc: Cond, jump: bool) -> Mnemonic {
    use Mnemonic as M;
    let (j, s) = match cc {
        Cond::O => (M::Jo, M::Seto),
        Cond::No => (M::Jno, M::Setno),
        Cond::B => (M::Jb, M::Setb),
        Cond::Ae => (M::Jae, M::Setae),
        Cond::E => (M::Je, M::Sete),
        Cond::Ne => (M::Jne, M::Setne),
        Cond::Be => (M::Jbe, M::Setbe),
        Cond::A => (M::Ja, M::Seta),
        Cond::S => (M::Js, M::Sets),
        Cond::Ns => (M::Jns, M::Setns),
        Cond::P => (M::Jp, M::Setp),
        Cond::Np => (M::Jnp, M::Setnp),
        Cond::L => (M::Jl, M::Setl),
        Cond::Ge => (M::Jge, M::Setge),
        Cond::Le => (M::Jle, M::Setle),
        Cond::G => (M::Jg, M::Setg),
    };
    if jump { j } else { s }
}

fn alu_mnemonic(op: AluOp) -> Mnemonic {
    match op {
        AluOp::Add => Mnemonic::Add,
        AluOp::Or => Mnemonic::Or,
        AluOp::And => Mnemonic::And,
        AluOp::Sub => Mnemonic::Sub,
        AluOp::Xor => Mnemonic::Xor,
        AluOp::Cmp => Mnemonic::Cmp,
        AluOp::Test => Mnemonic::Test,
    }
}

/// What iced-x86 should report for `insn`: mnemonic and explicit operands.
fn expected(insn: &Insn) -> (Mnemonic, Vec<Opnd>) {
    use Mnemonic as M;
    use Opnd::{Branch, Reg};
    let target = |rel: i32| Branch((i64::from(insn.len) + i64::from(rel)) as u64);
    let sz = usize::from;
    let mem = |m: Mem| mem(m, insn.len);
    match insn.op {
        Op::Endbr64 => (M::Endbr64, vec![]),
        Op::Push { reg } => (M::Push, vec![Reg(reg, 8)]),
        Op::Pop { reg } => (M::Pop, vec![Reg(reg, 8)]),
        Op::Ret => (M::Ret, vec![]),
        Op::Cqo => (M::Cqo, vec![]),
        Op::Mov { size, dst, src } => (M::Mov, vec![Reg(dst, sz(size)), Reg(src, sz(size))]),
        Op::MovImm { size, dst, imm: i } => (M::Mov, vec![Reg(dst, sz(size)), imm(sz(size), i)]),
        Op::Extend {
            dst,
            src,
            from,
            signed,
        } => {
            let (m, to) = match (from, signed) {
                (4, true) => (M::Movsxd, 8),
                (_, true) => (M::Movsx, 8),
                (_, false) => (M::Movzx, 4),
            };
            (m, vec![Reg(dst, to), Reg(src, sz(from))])
        }
        Op::ExtendHigh { dst, src } => (M::Movzx, vec![Reg(dst, 4), Reg(16 + src, 1)]),
        Op::Load {
            dst,
            mem: m,
            signed,
        } => {
            let (mn, to) = match (m.size, signed) {
                (8, false) => (M::Mov, 8),
                (4, false) => (M::Mov, 4),
                (_, false) => (M::Movzx, 4),
                (4, true) => (M::Movsxd, 8),
                (_, true) => (M::Movsx, 8),
            };
            (mn, vec![Reg(dst, to), mem(m)])
        }
        Op::Store { src, mem: m } => (M::Mov, vec![mem(m), Reg(src, sz(m.size))]),
        Op::StoreImm { mem: m, imm: i } => (M::Mov, vec![mem(m), imm(8, i)]),
        Op::Lea { dst, mem: m } => (M::Lea, vec![Reg(dst, 8), mem(m)]),
        Op::Alu { op, size, dst, src } => (
            alu_mnemonic(op),
            vec![Reg(dst, sz(size)), Reg(src, sz(size))],
        ),
        Op::AluImm {
            op,
            size,
            dst,
            imm: i,
        } => (alu_mnemonic(op), vec![Reg(dst, sz(size)), imm(sz(size), i)]),
        Op::CmpMem { size, reg, mem: m } => (M::Cmp, vec![Reg(reg, sz(size)), mem(m)]),
        Op::CmpMemImm { mem: m, imm: i } => (M::Cmp, vec![mem(m), imm(1, i)]),
        Op::Imul { size, dst, src } => (M::Imul, vec![Reg(dst, sz(size)), Reg(src, sz(size))]),
        Op::ImulImm {
            size,
            dst,
            src,
            imm: i,
        } => (
            M::Imul,
            vec![Reg(dst, sz(size)), Reg(src, sz(size)), imm(sz(size), i)],
        ),
        Op::Shift {
            op,
            size,
            dst,
            count,
        } => {
            let m = match op {
                ShiftOp::Shl => M::Shl,
                ShiftOp::Shr => M::Shr,
                ShiftOp::Sar => M::Sar,
            };
            let c = match count {
                Count::Imm(n) => imm(1, i64::from(n)),
                Count::Cl => Reg(1, 1),
            };
            (m, vec![Reg(dst, sz(size)), c])
        }
        Op::Unary { op, size, reg } => {
            let m = match op {
                UnaryOp::Neg => M::Neg,
                UnaryOp::Not => M::Not,
            };
            (m, vec![Reg(reg, sz(size))])
        }
        Op::Div { signed, src } => (if signed { M::Idiv } else { M::Div }, vec![Reg(src, 8)]),
        Op::MulWide { signed, src } => (if signed { M::Imul } else { M::Mul }, vec![Reg(src, 8)]),
        Op::Dec { reg } => (M::Dec, vec![Reg(reg, 8)]),
        Op::Setcc { cc, dst } => (cc_mnemonic(cc, false), vec![Reg(dst, 1)]),
        Op::Jcc { cc, rel } => (cc_mnemonic(cc, true), vec![target(rel)]),
        Op::Jmp { rel } => (M::Jmp, vec![target(rel)]),
        Op::Call { rel } => (M::Call, vec![target(rel)]),
        Op::LockXadd { reg, mem: m } => (M::Xadd, vec![mem(m), Reg(reg, sz(m.size))]),
        Op::LockCmpxchg { reg, mem: m } => (M::Cmpxchg, vec![mem(m), Reg(reg, sz(m.size))]),
        Op::Xchg { reg, mem: m } => (M::Xchg, vec![mem(m), Reg(reg, sz(m.size))]),
        Op::CallRip { disp } => (
            M::Call,
            vec![mem(Mem {
                base: Base::Rip,
                index: None,
                disp,
                size: 8,
            })],
        ),
    }
}

/// What iced-x86 reports, in the same terms.
fn actual(i: &Instruction) -> (Mnemonic, Vec<Opnd>) {
    let ops = (0..i.op_count())
        .map(|n| match i.op_kind(n) {
            OpKind::Register => {
                let r = i.op_register(n);
                let high = [Register::AH, Register::CH, Register::DH, Register::BH];
                let n = match high.iter().position(|&h| h == r) {
                    Some(h) => 16 + h as u8,
                    None => gpr(r).unwrap_or(u8::MAX),
                };
                Opnd::Reg(n, r.size())
            }
            OpKind::Memory => {
                let base = match i.memory_base() {
                    Register::RIP => None,
                    Register::None => Some(u8::MAX), // never accepted
                    r => Some(gpr(r).unwrap_or(u8::MAX)),
                };
                let index = match i.memory_index() {
                    Register::None => None,
                    r => Some((gpr(r).unwrap_or(u8::MAX), i.memory_index_scale())),
                };
                let size = i.memory_size().size();
                Opnd::Mem(base, index, i.memory_displacement64(), size)
            }
            OpKind::NearBranch64 => Opnd::Branch(i.near_branch_target()),
            k => {
                let width = match k {
                    OpKind::Immediate8 => 1,
                    OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
                    OpKind::Immediate64 | OpKind::Immediate8to64 | OpKind::Immediate32to64 => 8,
                    other => panic!("operand kind {other:?}"),
                };
                imm(width, i.immediate(n) as i64)
            }
        })
        .collect();
    (i.mnemonic(), ops)
}

/// Asserts that iced-x86 decodes `code` (ip 0) as `insn`: same length,
/// mnemonic and operands; and that decoding only the instruction's own
/// bytes gives the same result while any shorter slice is `Truncated`.
fn agrees_with_iced(code: &[u8], insn: &Insn) {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let i = d.decode();
    assert!(
        !i.is_invalid(),
        "iced refuses {code:02x?}, we read {insn:?}"
    );
    assert_eq!(
        i.len(),
        usize::from(insn.len),
        "length of {code:02x?}: {insn:?}"
    );
    assert_eq!(
        actual(&i),
        expected(insn),
        "operands of {code:02x?}: {insn:?}"
    );
    let own = &code[..usize::from(insn.len)];
    assert_eq!(decode(own), Ok(*insn));
    for k in 0..own.len() {
        assert_eq!(decode(&own[..k]), Err(E::Truncated), "{:02x?}", &own[..k]);
    }
}

/// Decodes `code`; if accepted, cross-checks it with iced-x86.
fn check(code: &[u8]) -> Option<Insn> {
    let insn = decode(code).ok()?;
    agrees_with_iced(code, &insn);
    Some(insn)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Every instruction kplc emits.

#[test]
fn every_snapshot_instruction_decodes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/asm");
    let (mut files, mut insns) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "snap") {
            continue;
        }
        files += 1;
        // "0013:  488b3424              mov     rsi, qword ptr [rsp]"
        let listing: Vec<(String, Vec<u8>)> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (offset, rest) = l.split_once(":  ")?;
                u32::from_str_radix(offset, 16).ok()?;
                let bytes = rest.split_whitespace().next()?;
                Some((l.to_string(), hex(bytes)))
            })
            .collect();
        // The file's code as one stream, so each instruction is decoded with
        // the following bytes present, as the verifier sees it.
        let stream: Vec<u8> = listing.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut at = 0;
        for (line, bytes) in &listing {
            let insn = decode(&stream[at..])
                .unwrap_or_else(|e| panic!("{}: `{line}` refused: {e}", path.display()));
            assert_eq!(
                usize::from(insn.len),
                bytes.len(),
                "{}: `{line}`",
                path.display()
            );
            agrees_with_iced(&stream[at..], &insn);
            at += bytes.len();
            insns += 1;
        }
    }
    eprintln!("{insns} instructions of {files} snapshot listings decoded");
    // A floor, so that a listing format change cannot make this test read
    // nothing. (The code generator stopped emitting dead spills and reloads
    // in 2026-12, which took the corpus from 20,600 to 19,800 instructions.)
    assert!(
        files >= 200 && insns >= 15_000,
        "{files} files, {insns} instructions"
    );
}

// ---------------------------------------------------------------------------
// 2. Agreement with iced-x86 on everything accepted.

/// Every 3-byte start (opcode, REX + opcode, ModRM, SIB, 0F-escape …) before
/// a fixed tail, and every 66- or REX-prefixed 2-byte start.
#[test]
fn exhaustive_three_byte_sweep_agrees_with_iced() {
    const TAIL: [u8; 12] = [
        0x85, 0x12, 0xF0, 0x7F, 0x01, 0x80, 0xFF, 0x33, 0x44, 0x55, 0x66, 0x77,
    ];
    let mut code = [0u8; 15];
    code[3..].copy_from_slice(&TAIL);
    let mut accepted = 0u32;
    for n in 0..1u32 << 24 {
        code[..3].copy_from_slice(&n.to_be_bytes()[1..]);
        accepted += u32::from(check(&code).is_some());
    }
    for first in (0x40..=0x4F).chain([0x66]) {
        code[0] = first;
        for second in 0x40..=0x4F {
            code[1] = second;
            for n in 0..1u32 << 16 {
                code[2..4].copy_from_slice(&n.to_be_bytes()[2..]);
                accepted += u32::from(check(&code).is_some());
            }
        }
    }
    eprintln!("exhaustive sweep: {accepted} accepted sequences cross-checked");
    assert!(accepted > 1_000_000, "{accepted}");
}

/// Starts that land in the accepted tables often: an optional 66 and/or
/// REX, an allowed opcode (or a near miss), then random ModRM, SIB and tail.
fn biased() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        4 => Just(vec![]),
        4 => (0x40..=0x4Fu8).prop_map(|r| vec![r]),
        1 => Just(vec![0x66]),
        1 => (0x40..=0x4Fu8).prop_map(|r| vec![0x66, r]),
        1 => any::<u8>().prop_map(|p| vec![p]),
    ];
    let opcode = prop_oneof![
        6 => prop::sample::select(vec![
            0x01u8, 0x03, 0x09, 0x0B, 0x21, 0x23, 0x29, 0x2B, 0x31, 0x33, 0x39, 0x3B, 0x50,
            0x55, 0x58, 0x5F, 0x63, 0x69, 0x6B, 0x70, 0x7F, 0x80, 0x81, 0x83, 0x85, 0x88,
            0x89, 0x8B, 0x8D, 0x99, 0xB8, 0xBF, 0xC1, 0xC3, 0xC7, 0xD1, 0xD3, 0xE8, 0xE9,
            0xEB, 0xF7, 0xFF,
        ])
        .prop_map(|b| vec![b]),
        3 => prop::sample::select(vec![0x80u8, 0x85, 0x8F, 0x90, 0x94, 0x9F, 0xAF, 0xB6, 0xB7, 0xBE, 0xBF])
            .prop_map(|b| vec![0x0F, b]),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => any::<u8>().prop_map(|b| vec![0x0F, b]),
    ];
    (prefix, opcode, prop::collection::vec(any::<u8>(), 0..14)).prop_map(|(mut p, o, t)| {
        p.extend(o);
        p.extend(t);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(50_000))]

    /// Biased inputs: whatever is accepted, iced-x86 reads the same way.
    #[test]
    fn biased_inputs_agree_with_iced(code in biased()) {
        check(&code);
    }

    /// Arbitrary bytes: never a panic, and agreement whenever accepted.
    #[test]
    fn arbitrary_bytes_never_panic(code in prop::collection::vec(any::<u8>(), 0..24)) {
        check(&code);
    }
}

// ---------------------------------------------------------------------------
// 3. What the decoder reads, and what it refuses.

fn op(s: &str) -> Op {
    let code = hex(s);
    let insn = check(&code).unwrap_or_else(|| panic!("{s}: {:?}", decode(&code)));
    assert_eq!(usize::from(insn.len), code.len(), "{s}");
    insn.op
}

fn at(base: u8, index: Option<(u8, u8)>, disp: i32, size: u8) -> Mem {
    Mem {
        base: Base::Reg(base),
        index,
        disp,
        size,
    }
}

#[test]
#[rustfmt::skip] // a table: one line per case
fn emitted_forms_decode_to_typed_operations() {
    let rip = |disp, size| Mem {
        base: Base::Rip,
        index: None,
        disp,
        size,
    };
    let cases: &[(&str, Op)] = &[
        ("f30f1efa", Op::Endbr64),
        ("4053", Op::Push { reg: 3 }),
        ("53", Op::Push { reg: 3 }),
        ("415c", Op::Pop { reg: 12 }),
        ("c3", Op::Ret),
        ("4899", Op::Cqo),
        ("4889f0", Op::Mov { size: 8, dst: 0, src: 6 }),
        ("4589db", Op::Mov { size: 4, dst: 11, src: 11 }),
        ("40bfffffffff", Op::MovImm { size: 4, dst: 7, imm: -1 }),
        ("48c7c200000080", Op::MovImm { size: 8, dst: 2, imm: -0x8000_0000 }),
        ("48bf25232284e49cf2cb", Op::MovImm { size: 8, dst: 7, imm: 0xcbf2_9ce4_8422_2325_u64 as i64 }),
        ("4d8b44c760", Op::Load { dst: 8, mem: at(15, Some((0, 8)), 0x60, 8), signed: false }),
        ("8b34ba", Op::Load { dst: 6, mem: at(2, Some((7, 4)), 0, 4), signed: false }),
        ("460fb6140a", Op::Load { dst: 10, mem: at(2, Some((9, 1)), 0, 1), signed: false }),
        ("490fbe36", Op::Load { dst: 6, mem: at(14, None, 0, 1), signed: true }),
        ("486334ba", Op::Load { dst: 6, mem: at(2, Some((7, 4)), 0, 4), signed: true }),
        ("0fb6c0", Op::Extend { dst: 0, src: 0, from: 1, signed: false }),
        ("0fb6c4", Op::ExtendHigh { dst: 0, src: 0 }),
        ("0fb6cd", Op::ExtendHigh { dst: 1, src: 1 }),
        ("0fb6fe", Op::ExtendHigh { dst: 7, src: 2 }),
        ("0fb6ef", Op::ExtendHigh { dst: 5, src: 3 }),
        ("400fb6f6", Op::Extend { dst: 6, src: 6, from: 1, signed: false }),
        ("4c0fbfc6", Op::Extend { dst: 8, src: 6, from: 2, signed: true }),
        ("4c63d6", Op::Extend { dst: 10, src: 6, from: 4, signed: true }),
        ("48893c24", Op::Store { src: 7, mem: at(4, None, 0, 8) }),
        ("6641893c76", Op::Store { src: 7, mem: at(14, Some((6, 2)), 0, 2) }),
        ("4088742401", Op::Store { src: 6, mem: at(4, None, 1, 1) }),
        ("49c7470801000000", Op::StoreImm { mem: at(15, None, 8, 8), imm: 1 }),
        ("488d15d6010000", Op::Lea { dst: 2, mem: rip(0x1d6, 0) }),
        ("4d3bc8", Op::Alu { op: AluOp::Cmp, size: 8, dst: 9, src: 8 }),
        ("4d01da", Op::Alu { op: AluOp::Add, size: 8, dst: 10, src: 11 }),
        ("31d2", Op::Alu { op: AluOp::Xor, size: 4, dst: 2, src: 2 }),
        ("4885c9", Op::Alu { op: AluOp::Test, size: 8, dst: 1, src: 1 }),
        ("83e207", Op::AluImm { op: AluOp::And, size: 4, dst: 2, imm: 7 }),
        ("4881f7ffffffff", Op::AluImm { op: AluOp::Xor, size: 8, dst: 7, imm: -1 }),
        ("4881ec38000000", Op::AluImm { op: AluOp::Sub, size: 8, dst: 4, imm: 0x38 }),
        ("493b7cd760", Op::CmpMem { size: 8, reg: 7, mem: at(15, Some((2, 8)), 0x60, 8) }),
        ("4180bfb000000000", Op::CmpMemImm { mem: at(15, None, 0xb0, 1), imm: 0 }),
        ("41807f1000", Op::CmpMemImm { mem: at(15, None, 0x10, 1), imm: 0 }),
        ("480faff7", Op::Imul { size: 8, dst: 6, src: 7 }),
        ("4069c603000000", Op::ImulImm { size: 4, dst: 0, src: 6, imm: 3 }),
        ("6bc0fd", Op::ImulImm { size: 4, dst: 0, src: 0, imm: -3 }),
        ("48c1eb01", Op::Shift { op: ShiftOp::Shr, size: 8, dst: 3, count: Count::Imm(1) }),
        ("48d3f8", Op::Shift { op: ShiftOp::Sar, size: 8, dst: 0, count: Count::Cl }),
        ("d1e0", Op::Shift { op: ShiftOp::Shl, size: 4, dst: 0, count: Count::Imm(1) }),
        ("49f7db", Op::Unary { op: UnaryOp::Neg, size: 8, reg: 11 }),
        ("49f7d3", Op::Unary { op: UnaryOp::Not, size: 8, reg: 11 }),
        ("48f7f1", Op::Div { signed: false, src: 1 }),
        ("48f7f9", Op::Div { signed: true, src: 1 }),
        ("48f7e1", Op::MulWide { signed: false, src: 1 }),
        ("49f7eb", Op::MulWide { signed: true, src: 11 }),
        ("49ffcd", Op::Dec { reg: 13 }),
        ("0f9cc0", Op::Setcc { cc: Cond::L, dst: 0 }),
        ("400f94c7", Op::Setcc { cc: Cond::E, dst: 7 }),
        ("0f8333000000", Op::Jcc { cc: Cond::Ae, rel: 0x33 }),
        ("74fe", Op::Jcc { cc: Cond::E, rel: -2 }),
        ("e9c4ffffff", Op::Jmp { rel: -0x3c }),
        ("eb00", Op::Jmp { rel: 0 }),
        ("e8b7ffffff", Op::Call { rel: -0x49 }),
        ("ff152a010000", Op::CallRip { disp: 0x12a }),
        ("f0410fc006", Op::LockXadd { reg: 0, mem: at(14, None, 0, 1) }),
        ("f0410fc07603", Op::LockXadd { reg: 6, mem: at(14, None, 3, 1) }),
        ("f066410fc14602", Op::LockXadd { reg: 0, mem: at(14, None, 2, 2) }),
        ("f0410fc14608", Op::LockXadd { reg: 0, mem: at(14, None, 8, 4) }),
        ("f0490fc14618", Op::LockXadd { reg: 0, mem: at(14, None, 0x18, 8) }),
        ("f0410fc144b678", Op::LockXadd { reg: 0, mem: at(14, Some((6, 4)), 0x78, 4) }),
        ("f066410fc1447e20", Op::LockXadd { reg: 0, mem: at(14, Some((7, 2)), 0x20, 2) }),
        ("f0490fb15610", Op::LockCmpxchg { reg: 2, mem: at(14, None, 0x10, 8) }),
        ("f0410fb05602", Op::LockCmpxchg { reg: 2, mem: at(14, None, 0x2, 1) }),
        ("f066410fb116", Op::LockCmpxchg { reg: 2, mem: at(14, None, 0, 2) }),
        ("41864603", Op::Xchg { reg: 0, mem: at(14, None, 3, 1) }),
        ("6641874602", Op::Xchg { reg: 0, mem: at(14, None, 2, 2) }),
        ("4187460c", Op::Xchg { reg: 0, mem: at(14, None, 0xc, 4) }),
        ("49874618", Op::Xchg { reg: 0, mem: at(14, None, 0x18, 8) }),
        ("488708", Op::Xchg { reg: 1, mem: at(0, None, 0, 8) }),
    ];
    for &(code, want) in cases {
        assert_eq!(op(code), want, "{code}");
    }
}

#[test]
#[rustfmt::skip] // a table: one line per case
fn refuses_everything_else() {
    let bad = |opcode| E::BadForm { opcode };
    let un = |opcode| E::Unsupported { opcode };
    let pre = |prefix| E::BadPrefix { prefix };
    let cases: &[(&str, &str, DecodeError)] = &[
        // privileged, system, interrupts
        ("cli", "fa", un(0xFA)),
        ("sti", "fb", un(0xFB)),
        ("hlt", "f4", un(0xF4)),
        ("syscall", "0f05", un(0x0F05)),
        ("sysret", "480f07", un(0x0F07)),
        ("sysenter", "0f34", un(0x0F34)),
        ("int3", "cc", un(0xCC)),
        ("int 0x80", "cd80", un(0xCD)),
        ("int1", "f1", un(0xF1)),
        ("iretq", "48cf", un(0xCF)),
        ("wrmsr", "0f30", un(0x0F30)),
        ("rdmsr", "0f32", un(0x0F32)),
        ("rdtsc", "0f31", un(0x0F31)),
        ("cpuid", "0fa2", un(0x0FA2)),
        ("swapgs", "0f01f8", un(0x0F01)),
        ("lgdt [rax]", "0f0110", un(0x0F01)),
        ("mov cr3, rax", "0f22d8", un(0x0F22)),
        ("mov rax, cr0", "0f20c0", un(0x0F20)),
        ("mov dr7, rax", "0f23f8", un(0x0F23)),
        ("ud2", "0f0b", un(0x0F0B)),
        ("pushf", "9c", un(0x9C)),
        ("popf", "9d", un(0x9D)),
        ("nop", "90", un(0x90)),
        ("leave", "c9", un(0xC9)),
        ("ret 8", "c20800", un(0xC2)),
        ("retf", "cb", un(0xCB)),
        // I/O and string instructions
        ("in al, 0x60", "e460", un(0xE4)),
        ("in al, dx", "ec", un(0xEC)),
        ("out 0x80, al", "e680", un(0xE6)),
        ("out dx, al", "ee", un(0xEE)),
        ("insb", "6c", un(0x6C)),
        ("movsb", "a4", un(0xA4)),
        ("rep movsb", "f3a4", pre(0xF3)),
        ("rep stosq", "f348ab", pre(0xF3)),
        // segments
        ("mov rax, fs:[0]", "64488b042500000000", pre(0x64)),
        ("mov eax, gs:[0]", "658b042500000000", pre(0x65)),
        ("push fs", "0fa0", un(0x0FA0)),
        ("pop gs", "0fa9", un(0x0FA9)),
        ("mov ds, ax", "8ed8", un(0x8E)),
        ("mov ax, ds", "8cd8", un(0x8C)),
        ("far call [rax]", "ff18", bad(0xFF)),
        ("far jmp [rax]", "ff28", bad(0xFF)),
        // indirect control flow
        ("jmp rax", "ffe0", bad(0xFF)),
        ("jmp r11", "41ffe3", bad(0xFF)),
        ("call rax", "ffd0", bad(0xFF)),
        ("call r11", "41ffd3", bad(0xFF)),
        ("jmp [rax]", "ff20", bad(0xFF)),
        ("jmp [rip]", "ff2500000000", bad(0xFF)),
        ("call [rax]", "ff10", bad(0xFF)),
        ("call [r15+8]", "41ff5708", bad(0xFF)),
        ("call [rsp+rax*8]", "ff14c4", bad(0xFF)),
        ("REX call [rip]", "48ff1500000000", bad(0xFF)),
        ("loop", "e2fe", un(0xE2)),
        ("jrcxz", "e3fe", un(0xE3)),
        // other prefixes
        ("lock add [rdi], rax", "f0480107", pre(0xF0)),
        ("addr32 mov", "678b00", pre(0x67)),
        ("bnd jmp", "f2e900000000", pre(0xF2)),
        ("66 on a load", "668b00", pre(0x66)),
        ("66 on add", "6601c0", pre(0x66)),
        ("66 on a register move", "6689c0", pre(0x66)),
        ("66 with REX.W", "66488900", pre(0x66)),
        ("66 66", "66668900", pre(0x66)),
        ("66 after REX", "48668900", pre(0x66)),
        ("two REX", "4048 89c0", un(0x48)),
        ("REX on ret", "48c3", pre(0x48)),
        ("REX on jcc", "400f8400000000", pre(0x40)),
        ("REX on jmp rel8", "41eb00", pre(0x41)),
        ("REX on call", "40e800000000", pre(0x40)),
        ("f3 before endbr64's REX", "f3480f1efa", pre(0xF3)),
        // x87, SSE, AVX
        ("fld1", "d9e8", un(0xD9)),
        ("pxor xmm0, xmm0", "660fefc0", pre(0x66)),
        ("xorps xmm0, xmm0", "0f57c0", un(0x0F57)),
        ("movq xmm0, rax", "66480f6ec0", pre(0x66)),
        ("vpxor (VEX)", "c5f9efc0", un(0xC5)),
        ("EVEX", "62f1fd4800c0", un(0x62)),
        ("endbr32", "f30f1efb", pre(0xF3)),
        // allowed opcodes in forms kplc never emits
        ("add [rax], rcx", "48 0108", bad(0x01)),
        ("cmp [rax], rcx", "48 3908", bad(0x39)),
        ("adc rax, 1", "4881d001000000", bad(0x81)),
        ("add qword [rax], 1", "48830001", bad(0x83)),
        ("cmp al, 1 (80 /7 on a register)", "80f801", bad(0x80)),
        ("or byte [rax], 1", "800801", bad(0x80)),
        ("test rax, [rax]", "488500", bad(0x85)),
        ("mov bl, al", "88c3", bad(0x88)),
        ("mov [rax], ah", "8820", bad(0x88)),
        ("movsx eax, ah", "0fbec4", bad(0x0FBE)),
        ("movzx ax, ah", "660fb6c4", pre(0x66)),
        ("sete ah", "0f94c4", bad(0x0F94)),
        ("sete [rax]", "0f9400", bad(0x0F94)),
        ("movzx rax, al", "480fb6c0", bad(0x0FB6)),
        ("movsx eax, al", "0fbec0", bad(0x0FBE)),
        ("movsxd eax, eax", "63c0", bad(0x63)),
        ("lea eax, [rax]", "8d00", bad(0x8D)),
        ("lea with register operand", "488dc0", bad(0x8D)),
        ("cdq", "99", bad(0x99)),
        ("mov eax, imm32 via C7", "c7c001000000", bad(0xC7)),
        ("mov dword [rax], imm32", "c70001000000", bad(0xC7)),
        ("mov qword [rax] /1", "48c70801000000", bad(0xC7)),
        ("rol rax, 1", "48c1c001", bad(0xC1)),
        ("sal /6", "48c1f001", bad(0xC1)),
        ("shl qword [rax], cl", "48d320", bad(0xD3)),
        ("test rax, imm (F7 /0)", "48f7c001000000", bad(0xF7)),
        ("mul ecx", "f7e1", bad(0xF7)),
        ("imul ecx", "f7e9", bad(0xF7)),
        ("mul qword [rcx]", "48f721", bad(0xF7)),
        ("imul qword [rax+8]", "48f76808", bad(0xF7)),
        ("div ecx", "f7f1", bad(0xF7)),
        ("neg qword [rax]", "48f718", bad(0xF7)),
        ("dec ecx", "ffc9", bad(0xFF)),
        ("inc rax", "48ffc0", bad(0xFF)),
        ("dec qword [rax]", "48ff08", bad(0xFF)),
        ("push qword [rax]", "ff30", bad(0xFF)),
        ("imul rax, [rax]", "480faf00", bad(0x0FAF)),
        ("imul rax, [rax], 3", "486b0003", bad(0x6B)),
        ("xchg rax, rcx", "4891", un(0x91)),
        ("xchg rax, rcx (87 /r on registers)", "4887c8", bad(0x87)),
        ("xchg al, cl (86 /r on registers)", "86c8", bad(0x86)),
        ("xchg [rax], ah", "8620", bad(0x86)),
        ("cmpxchg [rax], rcx without lock", "480fb108", un(0x0FB1)),
        ("xadd [rax], rcx without lock", "480fc108", un(0x0FC1)),
        ("lock xadd rax, rcx (registers)", "f0480fc1c8", bad(0x0FC1)),
        ("lock cmpxchg rax, rcx (registers)", "f0480fb1c8", bad(0x0FB1)),
        ("lock xadd [rax], ah", "f00fc020", bad(0x0FC0)),
        ("lock xchg [rax], rcx", "f0488708", pre(0xF0)),
        ("lock cmpxchg8b [rax]", "f00fc708", pre(0xF0)),
        ("lock cmpxchg16b [rax]", "f0480fc708", pre(0xF0)),
        ("lock bts [rax], rcx", "f0480fab08", pre(0xF0)),
        ("lock inc qword [rax]", "f048ff00", pre(0xF0)),
        ("lock lock xadd", "f0f00fc108", pre(0xF0)),
        ("66 before lock", "66f00fc108", pre(0xF0)),
        ("REX before lock", "48f00fc108", pre(0xF0)),
        ("66 on a byte xadd", "f0660fc008", pre(0x66)),
        ("66 with REX.W on xadd", "f066480fc108", pre(0x66)),
        ("66 on a two-byte load", "660fb600", pre(0x66)),
        ("66 on a byte xchg", "668600", pre(0x66)),
        ("66 with REX.W on xchg", "66488700", pre(0x66)),
        ("mov rax, [moffs]", "48a10000000000000000", un(0xA1)),
        // addresses without a base register
        ("mov eax, [disp32]", "8b042500000000", E::BadAddress),
        ("mov eax, [rax*2+disp32]", "8b044500000000", E::BadAddress),
        ("REX.B does not make mod 0 base 101 a base", "418b042d00000000", E::BadAddress),
        ("SIB scale without index", "8b0460", E::BadAddress),
        // truncated
        ("nothing", "", E::Truncated),
        ("REX alone", "48", E::Truncated),
        ("66 alone", "66", E::Truncated),
        ("no ModRM", "4889", E::Truncated),
        ("no SIB", "488b04", E::Truncated),
        ("short disp32", "488b8000", E::Truncated),
        ("short imm", "4881c001", E::Truncated),
        ("short rel32", "e8000000", E::Truncated),
        ("short imm64", "48b80000000000", E::Truncated),
        ("half an endbr64", "f30f1e", E::Truncated),
        ("0f alone", "0f", E::Truncated),
    ];
    for &(what, code, want) in cases {
        assert_eq!(decode(&hex(code)), Err(want), "{what} ({code})");
    }
}

#[test]
fn errors_display() {
    let cases = [
        (E::Truncated, "instruction runs past the end of the code"),
        (E::BadPrefix { prefix: 0xF0 }, "prefix f0 not allowed"),
        (E::Unsupported { opcode: 0xFA }, "opcode fa not allowed"),
        (
            E::Unsupported { opcode: 0x0F05 },
            "opcode 0f 05 not allowed",
        ),
        (
            E::BadForm { opcode: 0xFF },
            "operands of opcode ff not in an allowed form",
        ),
        (E::BadAddress, "memory operand without a base register"),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
    }
}
