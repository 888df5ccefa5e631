//! The verifier's instruction decoder: one x86-64 instruction at a time, and
//! only the forms kplc emits (`book/src/runtime/sandbox.md`). Everything else
//! is refused: privileged and system instructions, I/O, string operations,
//! segment and control registers, x87/SSE/AVX, indirect jumps, indirect calls
//! other than `call qword [rip + disp32]`, and every prefix except a REX byte,
//! `66` on a 16-bit store or atomic, the `f0` (`lock`) of `lock xadd` and
//! `lock cmpxchg` on memory (the atomic built-ins) and the `f3` of `endbr64`.
//!
//! The decoder is a table: [`decode`] strips the few allowed prefixes, then
//! one `match` arm per accepted opcode says which operand forms (register or
//! memory, ModRM `/digit`, REX.W) it takes, and why kplc needs it. The result
//! is a fully typed [`Op`]: registers are numbers 0–15 (rax = 0 … r15 = 15),
//! sizes are in bytes, immediates are sign-extended from their encoding as
//! the CPU does, and branch displacements are relative to the end of the
//! instruction. An `Op` means one thing only, so the verifier never looks at
//! bytes: AH–BH byte registers (but for `movzx r32, ah`, which is its own
//! [`Op::ExtendHigh`]), addresses without a base register and operand sizes
//! kplc never uses are refused rather than represented.
//!
//! Every accepted byte sequence is cross-checked against iced-x86 (length,
//! mnemonic and operands) by `tests/decode.rs`.

use core::fmt;

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Length in bytes (at most 15).
    pub len: u8,
    /// What it does.
    pub op: Op,
}

/// The base of a memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// A general register, 0–15.
    Reg(u8),
    /// The address of the next instruction (`[rip + disp32]`).
    Rip,
}

/// A memory operand `[base + index*scale + disp]` accessed with `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    /// Base register or RIP.
    pub base: Base,
    /// Index register (never rsp) and scale 1, 2, 4 or 8; never with RIP.
    pub index: Option<(u8, u8)>,
    /// Displacement (sign-extended from 8 or 32 bits); relative to the end
    /// of the instruction when the base is RIP.
    pub disp: i32,
    /// Bytes read or written: 1, 2, 4 or 8; 0 for `lea` (nothing accessed).
    pub size: u8,
}

/// A condition code, numbered as in the `jcc`/`setcc` opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the x86 names
pub enum Cond {
    O = 0,
    No,
    B,
    Ae,
    E,
    Ne,
    Be,
    A,
    S,
    Ns,
    P,
    Np,
    L,
    Ge,
    Le,
    G,
}

impl Cond {
    /// The condition in the low four bits of an opcode.
    const fn from_low_bits(opcode: u8) -> Cond {
        use Cond::*;
        match opcode & 15 {
            0 => O,
            1 => No,
            2 => B,
            3 => Ae,
            4 => E,
            5 => Ne,
            6 => Be,
            7 => A,
            8 => S,
            9 => Ns,
            10 => P,
            11 => Np,
            12 => L,
            13 => Ge,
            14 => Le,
            _ => G,
        }
    }
}

/// A two-operand ALU operation (`dst op= src`; `Cmp` and `Test` only set flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the x86 names
pub enum AluOp {
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
    Test,
}

/// A shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    /// Shift left.
    Shl,
    /// Logical shift right.
    Shr,
    /// Arithmetic shift right.
    Sar,
}

/// A shift count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// An immediate (`C1 ib`, or 1 for `D1`); the CPU masks it to 5 or 6 bits.
    Imm(u8),
    /// The `cl` register.
    Cl,
}

/// `neg` or `not`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// Two's complement negation.
    Neg,
    /// Bitwise complement.
    Not,
}

/// An accepted instruction. `size` is the operand size in bytes (4 or 8 unless
/// stated); a 4-byte write to a register zero-extends into all 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `endbr64`: every function starts with one.
    Endbr64,
    /// `push r64`: saving a callee-saved register in a prologue.
    Push {
        /// Register pushed.
        reg: u8,
    },
    /// `pop r64`: restoring it in the epilogue.
    Pop {
        /// Register popped.
        reg: u8,
    },
    /// `ret`.
    Ret,
    /// `cqo`: sign-extends rax into rdx before `idiv`.
    Cqo,
    /// `mov dst, src` between registers.
    Mov {
        /// 4 or 8.
        size: u8,
        /// Destination register.
        dst: u8,
        /// Source register.
        src: u8,
    },
    /// `mov dst, imm`: `B8+r imm32` (size 4), `REX.W C7 /0 imm32` and
    /// `REX.W B8+r imm64` (size 8).
    MovImm {
        /// 4 or 8.
        size: u8,
        /// Destination register.
        dst: u8,
        /// The immediate, sign-extended; the low `size` bytes are written.
        imm: i64,
    },
    /// `movzx r32, r8/r16`, `movsx r64, r8/r16`, `movsxd r64, r32`: all 64
    /// bits of `dst` get the low `from` bytes of `src`, zero- or sign-extended.
    Extend {
        /// Destination register.
        dst: u8,
        /// Source register.
        src: u8,
        /// 1, 2 or 4.
        from: u8,
        /// Sign-extend (else zero-extend).
        signed: bool,
    },
    /// `movzx r32, ah/ch/dh/bh` (no REX): all 64 bits of `dst` get bits
    /// 8–15 of `src` (rax, rcx, rdx or rbx), zero-extended. kplc stores
    /// `(x >> 8) as u8` this way: a shift would compete with the multiplies
    /// for the one port that runs both on some cores.
    ExtendHigh {
        /// Destination register, 0–7.
        dst: u8,
        /// The register whose second byte is read, 0–3.
        src: u8,
    },
    /// A load of `mem.size` bytes into all 64 bits of `dst`, zero- or
    /// sign-extended: `mov r64`/`mov r32` (8B), `movzx r32` (0F B6/B7),
    /// `movsx r64` (REX.W 0F BE/BF), `movsxd r64` (REX.W 63).
    Load {
        /// Destination register.
        dst: u8,
        /// Source.
        mem: Mem,
        /// Sign-extend (else zero-extend).
        signed: bool,
    },
    /// `mov [mem], src` storing the low `mem.size` bytes (88, 66 89, 89, REX.W 89).
    Store {
        /// Source register.
        src: u8,
        /// Destination.
        mem: Mem,
    },
    /// `mov qword [mem], simm32` (REX.W C7 /0): trap stubs record their site.
    StoreImm {
        /// Destination (size 8).
        mem: Mem,
        /// The immediate, sign-extended.
        imm: i64,
    },
    /// `lea r64, [mem]`: the address of read-only data (`[rip + disp32]`).
    Lea {
        /// Destination register.
        dst: u8,
        /// The address computed (size 0).
        mem: Mem,
    },
    /// `add/or/and/sub/xor/cmp/test dst, src` between registers.
    Alu {
        /// Operation.
        op: AluOp,
        /// 4 or 8.
        size: u8,
        /// Destination (first) operand.
        dst: u8,
        /// Source (second) operand.
        src: u8,
    },
    /// `add/or/and/sub/xor/cmp dst, imm` (81 /d imm32, 83 /d imm8).
    AluImm {
        /// Operation (never `Test`).
        op: AluOp,
        /// 4 or 8.
        size: u8,
        /// Destination register.
        dst: u8,
        /// The immediate, sign-extended.
        imm: i64,
    },
    /// `cmp reg, [mem]` (3B): the slice bounds check against its length.
    CmpMem {
        /// 4 or 8 (also `mem.size`).
        size: u8,
        /// First operand.
        reg: u8,
        /// Second operand.
        mem: Mem,
    },
    /// `cmp byte [mem], imm8` (80 /7): the stop-flag budget check.
    CmpMemImm {
        /// First operand (size 1).
        mem: Mem,
        /// The immediate, sign-extended.
        imm: i64,
    },
    /// `imul dst, src` (0F AF).
    Imul {
        /// 4 or 8.
        size: u8,
        /// Destination and first factor.
        dst: u8,
        /// Second factor.
        src: u8,
    },
    /// `imul dst, src, imm` (69 imm32, 6B imm8).
    ImulImm {
        /// 4 or 8.
        size: u8,
        /// Destination.
        dst: u8,
        /// First factor.
        src: u8,
        /// Second factor, sign-extended.
        imm: i64,
    },
    /// `shl/shr/sar dst, count` (C1, D1, D3).
    Shift {
        /// Operation.
        op: ShiftOp,
        /// 4 or 8.
        size: u8,
        /// Register shifted.
        dst: u8,
        /// Count.
        count: Count,
    },
    /// `neg` / `not` (F7 /3, /2).
    Unary {
        /// Operation.
        op: UnaryOp,
        /// 4 or 8.
        size: u8,
        /// Register.
        reg: u8,
    },
    /// `div r64` / `idiv r64` (REX.W F7 /6, /7): rdx:rax by `src`.
    Div {
        /// `idiv` (else `div`).
        signed: bool,
        /// Divisor.
        src: u8,
    },
    /// `mul r64` / `imul r64` (REX.W F7 /4, /5): the full 128-bit product
    /// of rax and `src` into rdx:rax, for division by a constant (its
    /// reciprocal's high half). Writes rax, rdx and the flags.
    MulWide {
        /// `imul` (else `mul`).
        signed: bool,
        /// Second factor (the first is rax).
        src: u8,
    },
    /// `dec r64` (REX.W FF /1): the fuel counter r13 on loop back-edges.
    Dec {
        /// Register.
        reg: u8,
    },
    /// `setcc r8` (0F 90–9F): a comparison result as a byte.
    Setcc {
        /// Condition.
        cc: Cond,
        /// Byte register written (never AH–BH).
        dst: u8,
    },
    /// `jcc rel8/rel32` (70–7F, 0F 80–8F).
    Jcc {
        /// Condition.
        cc: Cond,
        /// Target relative to the end of the instruction.
        rel: i32,
    },
    /// `jmp rel8/rel32` (EB, E9).
    Jmp {
        /// Target relative to the end of the instruction.
        rel: i32,
    },
    /// `lock xadd [mem], reg` (F0 0F C0, F0 [66] 0F C1): `atomic_add` and
    /// `atomic_sub`. Adds `reg` to memory; `reg` gets the old value (its low
    /// `mem.size` bytes); writes the flags.
    LockXadd {
        /// Register added and written.
        reg: u8,
        /// The memory operand (1, 2, 4 or 8 bytes).
        mem: Mem,
    },
    /// `lock cmpxchg [mem], reg` (F0 0F B0, F0 [66] 0F B1): `atomic_cas`.
    /// Compares memory with rax; stores `reg` if equal, else loads memory
    /// into rax; writes rax and the flags.
    LockCmpxchg {
        /// The new value (read).
        reg: u8,
        /// The memory operand (1, 2, 4 or 8 bytes).
        mem: Mem,
    },
    /// `xchg [mem], reg` (86, [66] 87; locked by the processor without a
    /// prefix): `atomic_swap` and `atomic_store`. `reg` gets the old value;
    /// the flags are kept.
    Xchg {
        /// Register stored and written.
        reg: u8,
        /// The memory operand (1, 2, 4 or 8 bytes).
        mem: Mem,
    },
    /// `call rel32` (E8) to a plugin function.
    Call {
        /// Target relative to the end of the instruction.
        rel: i32,
    },
    /// `call qword [rip + disp32]` (FF 15): the call through an import slot.
    CallRip {
        /// Slot address relative to the end of the instruction.
        disp: i32,
    },
}

/// Why the bytes at an offset are not an accepted instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The code ends inside the instruction.
    Truncated,
    /// A prefix that is not allowed (here or at all), including a REX byte on
    /// an instruction that takes none.
    BadPrefix {
        /// The prefix byte.
        prefix: u8,
    },
    /// An opcode not on the allow-list; two-byte opcodes read `0x0Fxx`.
    Unsupported {
        /// The opcode.
        opcode: u16,
    },
    /// An allowed opcode with operands kplc never emits: another ModRM
    /// `/digit`, register instead of memory or the reverse, another operand
    /// size (REX.W) or an AH–BH byte register.
    BadForm {
        /// The opcode (`0x0Fxx` for two-byte opcodes).
        opcode: u16,
    },
    /// A memory operand without a base register (absolute `[disp32]` or
    /// `[index*scale + disp32]`), or a SIB scale without an index.
    BadAddress,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Truncated => write!(f, "instruction runs past the end of the code"),
            DecodeError::BadPrefix { prefix } => write!(f, "prefix {prefix:02x} not allowed"),
            DecodeError::Unsupported { opcode } => write!(f, "opcode {} not allowed", Hex(opcode)),
            DecodeError::BadForm { opcode } => {
                write!(
                    f,
                    "operands of opcode {} not in an allowed form",
                    Hex(opcode)
                )
            }
            DecodeError::BadAddress => write!(f, "memory operand without a base register"),
        }
    }
}

/// An opcode as its bytes: `c3`, `0f 05`.
struct Hex(u16);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [hi, lo] = self.0.to_be_bytes();
        if hi == 0 {
            write!(f, "{lo:02x}")
        } else {
            write!(f, "{hi:02x} {lo:02x}")
        }
    }
}

/// `endbr64`, the only instruction with an `f3` prefix.
const ENDBR64: [u8; 4] = [0xF3, 0x0F, 0x1E, 0xFA];

/// Legacy prefixes other than `66`: lock, rep/repne, segment overrides and
/// the address-size override. None is ever allowed.
const fn is_legacy_prefix(b: u8) -> bool {
    matches!(
        b,
        0xF0 | 0xF2 | 0xF3 | 0x26 | 0x2E | 0x36 | 0x3E | 0x64 | 0x65 | 0x67
    )
}

/// The REX byte's fields, pre-shifted to bit 3 of a register number.
#[derive(Clone, Copy)]
struct Rex {
    /// The prefix byte, 0 when absent.
    byte: u8,
    present: bool,
    w: bool,
    r: u8,
    x: u8,
    b: u8,
}

impl Rex {
    const NONE: Rex = Rex {
        byte: 0,
        present: false,
        w: false,
        r: 0,
        x: 0,
        b: 0,
    };

    const fn new(byte: u8) -> Rex {
        Rex {
            byte,
            present: true,
            w: byte & 8 != 0,
            r: (byte & 4) << 1,
            x: (byte & 2) << 2,
            b: (byte & 1) << 3,
        }
    }

    /// The operand size REX.W selects.
    const fn size(self) -> u8 {
        if self.w { 8 } else { 4 }
    }
}

/// The bytes being decoded and the position reached.
struct Cursor<'a> {
    code: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N).ok_or(DecodeError::Truncated)?;
        let b = self.code.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        let b = <[u8; N]>::try_from(b).map_err(|_| DecodeError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.bytes()?;
        Ok(b)
    }

    fn i8(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from(i8::from_le_bytes(self.bytes()?)))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.bytes()?))
    }
}

/// The r/m operand of a ModRM byte.
enum Rm {
    Reg(u8),
    Mem(Mem),
}

/// Reads ModRM (+ SIB + displacement): the `reg` field extended by REX.R
/// (its low three bits are the `/digit` of group opcodes) and the r/m
/// operand, which gets `size` if it is memory.
#[inline(always)]
fn modrm(c: &mut Cursor<'_>, rex: Rex, size: u8) -> Result<(u8, Rm), DecodeError> {
    let m = c.u8()?;
    let (md, reg, low) = (m >> 6, (m >> 3) & 7, m & 7);
    let rm = if md == 3 {
        Rm::Reg(low | rex.b)
    } else {
        Rm::Mem(read_mem(c, rex, md, low, size)?)
    };
    Ok((reg | rex.r, rm))
}

/// Reads the ModRM of a group opcode: the `/digit` (REX.R is ignored, as
/// the CPU does) and the r/m operand.
#[inline(always)]
fn group(c: &mut Cursor<'_>, rex: Rex, size: u8) -> Result<(u8, Rm), DecodeError> {
    let (reg, rm) = modrm(c, rex, size)?;
    Ok((reg & 7, rm))
}

/// The memory operand of a ModRM with `mod` = `md` (0–2) and `r/m` = `low`.
#[inline(always)]
fn read_mem(c: &mut Cursor<'_>, rex: Rex, md: u8, low: u8, size: u8) -> Result<Mem, DecodeError> {
    let (base, index) = match low {
        4 => {
            let sib = c.u8()?;
            let (ss, idx, base) = (sib >> 6, ((sib >> 3) & 7) | rex.x, sib & 7);
            if md == 0 && base == 5 {
                return Err(DecodeError::BadAddress); // no base: [index*s + disp32]
            }
            let index = match (idx, ss) {
                (4, 0) => None, // index field 100 without REX.X: none
                (4, _) => return Err(DecodeError::BadAddress),
                (i, 0) => Some((i, 1)),
                (i, 1) => Some((i, 2)),
                (i, 2) => Some((i, 4)),
                (i, _) => Some((i, 8)),
            };
            (Base::Reg(base | rex.b), index)
        }
        5 if md == 0 => (Base::Rip, None),
        _ => (Base::Reg(low | rex.b), None),
    };
    let disp = match (md, base) {
        (0, Base::Rip) | (2, _) => c.i32()?,
        (1, _) => c.i8()?,
        _ => 0,
    };
    Ok(Mem {
        base,
        index,
        disp,
        size,
    })
}

/// A byte register operand: without a REX prefix 4–7 would be AH–BH.
fn byte_reg(reg: u8, rex: Rex, opcode: u16) -> Result<u8, DecodeError> {
    if !rex.present && (4..8).contains(&reg) {
        return Err(DecodeError::BadForm { opcode });
    }
    Ok(reg)
}

/// The operation of an ALU row: x86 numbers add, or, adc, sbb, and, sub,
/// xor, cmp 0 to 7, both in the register-register opcodes (`opcode >> 3`)
/// and in group 1's ModRM digit. `None` for adc and sbb, which KPL never
/// emits.
#[inline(always)]
fn alu_op(row: u8) -> Option<AluOp> {
    Some(match row {
        0 => AluOp::Add,
        1 => AluOp::Or,
        4 => AluOp::And,
        5 => AluOp::Sub,
        6 => AluOp::Xor,
        7 => AluOp::Cmp,
        _ => return None,
    })
}

/// Decodes the instruction at the start of `code`.
///
/// Never panics; an instruction longer than `code` is [`DecodeError::Truncated`].
#[inline(never)]
pub fn decode(code: &[u8]) -> Result<Insn, DecodeError> {
    match common(code) {
        Some(insn) => Ok(insn),
        None => decode_rare(code),
    }
}

/// [`decode`] into a place: the operation is written to `out` (anything
/// on an error) and the length returned. The verifier's layout pass
/// decodes straight into its instruction table with it: the common forms
/// are then written once, where they stay, whereas an [`Insn`] returned
/// by value was written by the decoder field by field and copied by the
/// caller in wider pieces, which stalled on every instruction (a load
/// cannot take its bytes from several narrower stores still in flight).
/// Inlined into that pass, its only caller in the verifier: a call's entry
/// and exit were about 18 instructions per instruction decoded.
#[inline(always)]
pub fn decode_into(code: &[u8], out: &mut Op) -> Result<u8, DecodeError> {
    if let Some(len) = common_into(code, out) {
        return Ok(len);
    }
    let insn = decode_rare(code)?;
    *out = insn.op;
    Ok(insn.len)
}

/// The general path, out of line: inlined into [`decode`], its prefix
/// handling and tables made every call save six registers and set up a
/// 200-byte frame, even the common forms that never reach it. The memory
/// and two-byte forms (a sixth of a large plugin) come here too, to
/// [`mem_forms`] first: in [`common`], their arms made every other decode
/// save more registers. (`cold` only places it out of the way.)
#[cold]
#[inline(never)]
fn decode_rare(code: &[u8]) -> Result<Insn, DecodeError> {
    match mem_forms(code) {
        Some(insn) => Ok(insn),
        None => decode_general(code),
    }
}

/// The memory and two-byte forms [`common`] leaves, decoded here without
/// the prefix handling: 32/64-bit loads and stores and `lea`, `imul r, r`,
/// `movzx r32` / `movsx r64` (register or memory), after an optional REX
/// byte. Memory operands are read by the general path's own [`read_mem`],
/// so an address it refuses is `None` here and refused there. `Some` is
/// exactly what [`decode_general`] returns (checked over every REX, ModRM
/// and SIB byte by the tests below); anything else is `None`.
#[inline(always)]
fn mem_forms(code: &[u8]) -> Option<Insn> {
    let (rex, at) = match code.first() {
        Some(&b) if b & 0xF0 == 0x40 => (Rex::new(b), 1usize),
        _ => (Rex::NONE, 0usize),
    };
    let opcode = *code.get(at)?;
    let m = *code.get(at.checked_add(1)?)?;
    let next = at.checked_add(2)?;
    let size = rex.size();
    let reg = ((m >> 3) & 7) | rex.r;
    let (op, len) = match opcode {
        0x89 | 0x8B | 0x8D if m >> 6 != 3 && (opcode != 0x8D || rex.w) => {
            let mut c = Cursor { code, pos: next };
            let msize = if opcode == 0x8D { 0 } else { size };
            let mem = read_mem(&mut c, rex, m >> 6, m & 7, msize).ok()?;
            let op = match opcode {
                0x89 => Op::Store { src: reg, mem },
                0x8B => Op::Load {
                    dst: reg,
                    mem,
                    signed: false,
                },
                _ => Op::Lea { dst: reg, mem },
            };
            (op, c.pos)
        }
        // The general path's pairing of REX.W and opcode for movzx/movsx.
        0x0F if m == 0xAF || (matches!(m, 0xB6 | 0xB7 | 0xBE | 0xBF) && rex.w == (m >= 0xBE)) => {
            let m2 = *code.get(next)?;
            let (reg2, rm2) = (((m2 >> 3) & 7) | rex.r, (m2 & 7) | rex.b);
            let after = next.checked_add(1)?;
            let direct2 = m2 >> 6 == 3;
            if m == 0xAF {
                if !direct2 {
                    return None;
                }
                let (dst, src) = (reg2, rm2);
                (Op::Imul { size, dst, src }, after)
            } else {
                let (signed, from) = (rex.w, if m & 1 == 0 { 1 } else { 2 });
                if direct2 {
                    // Without REX, byte registers 4–7 are AH–BH.
                    if from == 1 && !rex.present && (4..8).contains(&rm2) {
                        if signed {
                            return None;
                        }
                        let op = Op::ExtendHigh {
                            dst: reg2,
                            src: rm2 & 3,
                        };
                        return Some(Insn {
                            len: u8::try_from(after).ok()?,
                            op,
                        });
                    }
                    let (dst, src) = (reg2, rm2);
                    let op = Op::Extend {
                        dst,
                        src,
                        from,
                        signed,
                    };
                    (op, after)
                } else {
                    let mut c = Cursor { code, pos: after };
                    let mem = read_mem(&mut c, rex, m2 >> 6, m2 & 7, from).ok()?;
                    let op = Op::Load {
                        dst: reg2,
                        mem,
                        signed,
                    };
                    (op, c.pos)
                }
            }
        }
        _ => return None,
    };
    Some(Insn {
        len: u8::try_from(len).ok()?,
        op,
    })
}

/// The register forms most of kplc's code is made of — `push`/`pop` of a
/// register and `ret` (every prologue and epilogue), register-register
/// ALU, `test` and `mov` (optional REX), group 1 with an immediate on a
/// register (optional REX), `dec r64`, `mov r64, simm32`, shifts and
/// `imul` by an immediate on a register, `endbr64`, and `jcc`/`jmp`/`call`
/// with a displacement (no prefix) — decoded without the general path's
/// prefix handling, which was most of what decoding them cost. No memory
/// operand and no two-byte opcode but `jcc`: their arms need registers
/// that every decode then saved (see [`decode_rare`]). `Some` is exactly
/// what [`decode_general`] returns for the same bytes (checked for every
/// REX, opcode and ModRM byte by the tests below); anything else is
/// `None`, and [`decode`] takes the general path.
#[inline(always)]
fn common(code: &[u8]) -> Option<Insn> {
    let mut op = Op::Ret;
    let len = common_into(code, &mut op)?;
    Some(Insn { len, op })
}

/// [`common`] writing the operation into `out` (untouched when `None`)
/// and returning the length.
#[inline(always)]
fn common_into(code: &[u8], out: &mut Op) -> Option<u8> {
    match code.first() {
        Some(&b) if b & 0xF8 == 0x48 => forms::<1, true>(code, Rex::new(b), out),
        Some(&b) if b & 0xF8 == 0x40 => forms::<1, false>(code, Rex::new(b), out),
        _ => forms::<0, false>(code, Rex::NONE, out),
    }
}

/// [`common`] after `AT` bytes of prefix (a REX byte or none) whose REX.W
/// is `W`: one copy of the table for no REX, REX without W and REX.W, so
/// that the offsets and operand size are constants in each (and without
/// REX all its fields), which saves registers and instructions. `rex.w`
/// is `W` (the caller's REX byte says so).
#[inline(always)]
fn forms<const AT: usize, const W: bool>(code: &[u8], rex: Rex, out: &mut Op) -> Option<u8> {
    let at = AT;
    let rex = Rex { w: W, ..rex };
    let opcode = *code.get(at)?;
    let m = *code.get(at.checked_add(1)?)?;
    let next = at.checked_add(2)?;
    let imm8 = || code.get(next).map(|&b| i32::from(b as i8));
    let imm32 = || {
        let b = code.get(next..next.checked_add(4)?)?;
        <[u8; 4]>::try_from(b).ok().map(i32::from_le_bytes)
    };
    let size = rex.size();
    // ModRM with a register operand: (`reg` extended by REX.R, r/m by REX.B).
    let (reg, rm) = (((m >> 3) & 7) | rex.r, (m & 7) | rex.b);
    let direct = m >> 6 == 3;
    let (op, len) = match opcode {
        0x01 | 0x03 | 0x09 | 0x0B | 0x21 | 0x23 | 0x29 | 0x2B | 0x31 | 0x33 | 0x39 | 0x3B
            if direct =>
        {
            let op = alu_op(opcode >> 3)?;
            let (dst, src) = if opcode & 2 == 0 {
                (rm, reg)
            } else {
                (reg, rm)
            };
            (Op::Alu { op, size, dst, src }, next)
        }
        0x85 if direct => {
            let (dst, src) = (rm, reg);
            (
                Op::Alu {
                    op: AluOp::Test,
                    size,
                    dst,
                    src,
                },
                next,
            )
        }
        0x89 if direct => (
            Op::Mov {
                size,
                dst: rm,
                src: reg,
            },
            next,
        ),
        0x8B if direct => (
            Op::Mov {
                size,
                dst: reg,
                src: rm,
            },
            next,
        ),
        0x81 | 0x83 if direct => {
            let op = alu_op((m >> 3) & 7)?;
            let (imm, n) = if opcode == 0x81 {
                (imm32()?, 4)
            } else {
                (imm8()?, 1)
            };
            let imm = i64::from(imm);
            (
                Op::AluImm {
                    op,
                    size,
                    dst: rm,
                    imm,
                },
                next.checked_add(n)?,
            )
        }
        // imul reg, reg, imm32 / imm8: multiplication by a constant.
        0x69 | 0x6B if direct => {
            let (imm, n) = if opcode == 0x69 {
                (imm32()?, 4)
            } else {
                (imm8()?, 1)
            };
            let imm = i64::from(imm);
            (
                Op::ImulImm {
                    size,
                    dst: reg,
                    src: rm,
                    imm,
                },
                next.checked_add(n)?,
            )
        }
        // dec r64 (the fuel counter): group 5's /1 on a register.
        0xFF if direct && rex.w && (m >> 3) & 7 == 1 => (Op::Dec { reg: rm }, next),
        // mov r64, simm32: group 11's /0 on a register.
        0xC7 if direct && rex.w && (m >> 3) & 7 == 0 => (
            Op::MovImm {
                size,
                dst: rm,
                imm: i64::from(imm32()?),
            },
            next.checked_add(4)?,
        ),
        // shl/shr/sar reg, imm8: group 2's /4, /5, /7 on a register.
        0xC1 if direct && matches!((m >> 3) & 7, 4 | 5 | 7) => {
            let op = match (m >> 3) & 7 {
                4 => ShiftOp::Shl,
                5 => ShiftOp::Shr,
                _ => ShiftOp::Sar,
            };
            let count = Count::Imm(*code.get(next)?);
            (
                Op::Shift {
                    op,
                    size,
                    dst: rm,
                    count,
                },
                next.checked_add(1)?,
            )
        }
        // push/pop of a register (REX.B extends it; the other REX bits
        // are ignored, as the general path ignores them).
        0x50..=0x57 => (
            Op::Push {
                reg: (opcode & 7) | rex.b,
            },
            at.checked_add(1)?,
        ),
        0x58..=0x5F => (
            Op::Pop {
                reg: (opcode & 7) | rex.b,
            },
            at.checked_add(1)?,
        ),
        _ if rex.present => return None,
        0xF3 if code.starts_with(&ENDBR64) => (Op::Endbr64, 4),
        0xC3 => (Op::Ret, 1),
        0x70..=0x7F => {
            let rel = i32::from(m as i8);
            (
                Op::Jcc {
                    cc: Cond::from_low_bits(opcode),
                    rel,
                },
                2,
            )
        }
        0xEB => (
            Op::Jmp {
                rel: i32::from(m as i8),
            },
            2,
        ),
        0xE8 | 0xE9 => {
            let b = code.get(1..5)?;
            let rel = <[u8; 4]>::try_from(b).ok().map(i32::from_le_bytes)?;
            let op = if opcode == 0xE8 {
                Op::Call { rel }
            } else {
                Op::Jmp { rel }
            };
            (op, 5)
        }
        0x0F if m & 0xF0 == 0x80 => {
            let rel = imm32()?;
            (
                Op::Jcc {
                    cc: Cond::from_low_bits(m),
                    rel,
                },
                6,
            )
        }
        _ => return None,
    };
    let len = u8::try_from(len).ok()?;
    *out = op;
    Some(len)
}

/// [`decode`] of any instruction: the prefixes, then the opcode tables.
/// Inlined into [`decode_rare`], its one caller (and the test).
#[inline(always)]
fn decode_general(code: &[u8]) -> Result<Insn, DecodeError> {
    if code.starts_with(&ENDBR64) {
        return Ok(Insn {
            len: 4,
            op: Op::Endbr64,
        });
    }
    if ENDBR64.starts_with(code) {
        return Err(DecodeError::Truncated); // also the empty slice
    }
    let mut c = Cursor { code, pos: 0 };
    let mut b = c.u8()?;
    // `lock` comes first, then `66`, then REX: the order kplc writes them.
    let lock = b == 0xF0;
    if lock {
        b = c.u8()?;
    }
    let o16 = b == 0x66;
    if o16 {
        b = c.u8()?;
    }
    let mut rex = Rex::NONE;
    if b & 0xF0 == 0x40 {
        rex = Rex::new(b);
        b = c.u8()?;
    }
    if is_legacy_prefix(b) || b == 0x66 {
        return Err(DecodeError::BadPrefix { prefix: b });
    }
    // `66` is the operand-size prefix of `mov word [m], r16`, `xchg word
    // [m], r16` and the two locked forms only (checked in their arms).
    if o16 && (!matches!(b, 0x89 | 0x87 | 0x0F) || rex.w) {
        return Err(DecodeError::BadPrefix { prefix: 0x66 });
    }
    // `lock` only on the two-byte locked forms (checked in their arms).
    if lock && b != 0x0F {
        return Err(DecodeError::BadPrefix { prefix: 0xF0 });
    }
    let op = if b == 0x0F {
        let b2 = c.u8()?;
        two_byte(&mut c, rex, lock, o16, b2)?
    } else {
        one_byte(&mut c, rex, o16, b)?
    };
    let len = u8::try_from(c.pos).map_err(|_| DecodeError::Truncated)?;
    Ok(Insn { len, op })
}

/// Refuses a REX prefix on an instruction that has no use for one.
fn no_rex(rex: Rex) -> Result<(), DecodeError> {
    if rex.present {
        return Err(DecodeError::BadPrefix { prefix: rex.byte });
    }
    Ok(())
}

/// The one-byte opcode table: one arm per accepted opcode.
#[rustfmt::skip] // a table: one line per form reads best
#[inline(always)]
fn one_byte(c: &mut Cursor<'_>, rex: Rex, o16: bool, opcode: u8) -> Result<Op, DecodeError> {
    let op16 = u16::from(opcode);
    let bad = DecodeError::BadForm { opcode: op16 };
    let size = rex.size();
    Ok(match opcode {
        // ALU register-register, both directions (`op r/m, reg` = 01/09/…/39,
        // `op reg, r/m` = 03/0B/…/3B): arithmetic, masks, comparisons. The
        // only memory form is `cmp reg, [m]` (3B): slice bounds checks.
        0x01 | 0x03 | 0x09 | 0x0B | 0x21 | 0x23 | 0x29 | 0x2B | 0x31 | 0x33 | 0x39 | 0x3B => {
            let op = alu_op(opcode >> 3).ok_or(bad)?;
            match (modrm(c, rex, size)?, opcode & 2 != 0) {
                ((src, Rm::Reg(dst)), false) | ((dst, Rm::Reg(src)), true) => {
                    Op::Alu { op, size, dst, src }
                }
                ((reg, Rm::Mem(mem)), true) if opcode == 0x3B => Op::CmpMem { size, reg, mem },
                _ => return Err(bad),
            }
        }
        // push/pop of callee-saved registers; dynasm may add an empty REX.
        0x50..=0x57 => Op::Push { reg: (opcode & 7) | rex.b },
        0x58..=0x5F => Op::Pop { reg: (opcode & 7) | rex.b },
        // movsxd r64, r/m32: sign-extending an i32.
        0x63 if rex.w => match modrm(c, rex, 4)? {
            (dst, Rm::Reg(src)) => Op::Extend { dst, src, from: 4, signed: true },
            (dst, Rm::Mem(mem)) => Op::Load { dst, mem, signed: true },
        },
        // imul reg, reg, imm32 / imm8: multiplication by a constant.
        0x69 | 0x6B => match modrm(c, rex, size)? {
            (dst, Rm::Reg(src)) => {
                let imm = if opcode == 0x69 { i64::from(c.i32()?) } else { i64::from(c.i8()?) };
                Op::ImulImm { size, dst, src, imm }
            }
            _ => return Err(bad),
        },
        // jcc rel8: short conditional branches.
        0x70..=0x7F => {
            no_rex(rex)?;
            Op::Jcc { cc: Cond::from_low_bits(opcode), rel: c.i8()? }
        }
        // cmp byte [m], imm8: the stop-flag variant of the budget check.
        0x80 => match group(c, rex, 1)? {
            (7, Rm::Mem(mem)) => Op::CmpMemImm { mem, imm: i64::from(c.i8()?) },
            _ => return Err(bad),
        },
        // Group 1 with imm32 / imm8 on a register: add, or, and, sub, xor, cmp
        // (not adc/sbb, never on memory).
        0x81 | 0x83 => {
            let (digit, rm) = group(c, rex, size)?;
            let op = alu_op(digit).ok_or(bad)?;
            let Rm::Reg(dst) = rm else { return Err(bad) };
            let imm = if opcode == 0x81 { i64::from(c.i32()?) } else { i64::from(c.i8()?) };
            Op::AluImm { op, size, dst, imm }
        }
        // test reg, reg: zero checks of divisors and conditions.
        0x85 => match modrm(c, rex, size)? {
            (src, Rm::Reg(dst)) => Op::Alu { op: AluOp::Test, size, dst, src },
            _ => return Err(bad),
        },
        // mov byte [m], r8: byte stores (REX makes 4–7 sil/dil/spl/bpl).
        0x88 => match modrm(c, rex, 1)? {
            (src, Rm::Mem(mem)) => Op::Store { src: byte_reg(src, rex, op16)?, mem },
            _ => return Err(bad),
        },
        // xchg [m], r8 / r16 / r32 / r64: atomic_swap and atomic_store
        // (memory only: the processor locks it).
        0x86 => match modrm(c, rex, 1)? {
            (reg, Rm::Mem(mem)) => Op::Xchg { reg: byte_reg(reg, rex, op16)?, mem },
            _ => return Err(bad),
        },
        0x87 => match modrm(c, rex, if o16 { 2 } else { size })? {
            (reg, Rm::Mem(mem)) => Op::Xchg { reg, mem },
            _ => return Err(bad),
        },
        // mov r/m, reg: register moves and 16/32/64-bit stores.
        0x89 => match modrm(c, rex, if o16 { 2 } else { size })? {
            (src, Rm::Mem(mem)) => Op::Store { src, mem },
            _ if o16 => return Err(DecodeError::BadPrefix { prefix: 0x66 }),
            (src, Rm::Reg(dst)) => Op::Mov { size, dst, src },
        },
        // mov reg, r/m: 32/64-bit loads (and register moves).
        0x8B => match modrm(c, rex, size)? {
            (dst, Rm::Mem(mem)) => Op::Load { dst, mem, signed: false },
            (dst, Rm::Reg(src)) => Op::Mov { size, dst, src },
        },
        // lea r64, [m]: the address of read-only data.
        0x8D if rex.w => match modrm(c, rex, 0)? {
            (dst, Rm::Mem(mem)) => Op::Lea { dst, mem },
            _ => return Err(bad),
        },
        // cqo: before idiv.
        0x99 if rex.w => Op::Cqo,
        // mov r32, imm32 / movabs r64, imm64: constants.
        0xB8..=0xBF => {
            let imm = if rex.w { i64::from_le_bytes(c.bytes()?) } else { i64::from(c.i32()?) };
            Op::MovImm { size, dst: (opcode & 7) | rex.b, imm }
        }
        // shl/shr/sar reg, imm8 / 1 / cl: shifts.
        0xC1 | 0xD1 | 0xD3 => {
            let (digit, rm) = group(c, rex, size)?;
            let op = match digit {
                4 => ShiftOp::Shl,
                5 => ShiftOp::Shr,
                7 => ShiftOp::Sar,
                _ => return Err(bad),
            };
            let Rm::Reg(dst) = rm else { return Err(bad) };
            let count = match opcode {
                0xC1 => Count::Imm(c.u8()?),
                0xD1 => Count::Imm(1),
                _ => Count::Cl,
            };
            Op::Shift { op, size, dst, count }
        }
        // ret.
        0xC3 => {
            no_rex(rex)?;
            Op::Ret
        }
        // mov r64, simm32 (negative constants) and mov qword [m], simm32
        // (trap stubs recording their site).
        0xC7 if rex.w => match group(c, rex, 8)? {
            (0, Rm::Reg(dst)) => Op::MovImm { size, dst, imm: i64::from(c.i32()?) },
            (0, Rm::Mem(mem)) => Op::StoreImm { mem, imm: i64::from(c.i32()?) },
            _ => return Err(bad),
        },
        // call rel32 / jmp rel32 / jmp rel8: direct control flow only.
        0xE8 | 0xE9 | 0xEB => {
            no_rex(rex)?;
            match opcode {
                0xE8 => Op::Call { rel: c.i32()? },
                0xE9 => Op::Jmp { rel: c.i32()? },
                _ => Op::Jmp { rel: c.i8()? },
            }
        }
        // Group 3 on a register: not, neg (32/64); the one-operand mul,
        // imul (division by constants), div, idiv (64 only).
        0xF7 => match (group(c, rex, size)?, rex.w) {
            ((2, Rm::Reg(reg)), _) => Op::Unary { op: UnaryOp::Not, size, reg },
            ((3, Rm::Reg(reg)), _) => Op::Unary { op: UnaryOp::Neg, size, reg },
            ((4, Rm::Reg(src)), true) => Op::MulWide { signed: false, src },
            ((5, Rm::Reg(src)), true) => Op::MulWide { signed: true, src },
            ((6, Rm::Reg(src)), true) => Op::Div { signed: false, src },
            ((7, Rm::Reg(src)), true) => Op::Div { signed: true, src },
            _ => return Err(bad),
        },
        // Group 5: dec r64 (fuel) and call qword [rip + disp32] (imports);
        // never jmp, never a call through a register or computed address.
        0xFF => match group(c, rex, 8)? {
            (1, Rm::Reg(reg)) if rex.w => Op::Dec { reg },
            (2, Rm::Mem(Mem { base: Base::Rip, disp, .. })) if !rex.present => Op::CallRip { disp },
            _ => return Err(bad),
        },
        // Allowed opcodes with the wrong REX.W.
        0x63 | 0x8D | 0x99 | 0xC7 => return Err(bad),
        _ => return Err(DecodeError::Unsupported { opcode: op16 }),
    })
}

/// The `0F xx` opcode table.
#[rustfmt::skip] // a table: one line per form reads best
#[inline(always)]
fn two_byte(c: &mut Cursor<'_>, rex: Rex, lock: bool, o16: bool, opcode: u8) -> Result<Op, DecodeError> {
    let op16 = 0x0F00 | u16::from(opcode);
    let bad = DecodeError::BadForm { opcode: op16 };
    let size = rex.size();
    // Only the locked forms take `lock` or `66`, and they always take `lock`.
    let locked = matches!(opcode, 0xB0 | 0xB1 | 0xC0 | 0xC1);
    if lock && !locked {
        return Err(DecodeError::BadPrefix { prefix: 0xF0 });
    }
    if locked && !lock {
        return Err(DecodeError::Unsupported { opcode: op16 });
    }
    if o16 && !(locked && opcode & 1 == 1) {
        return Err(DecodeError::BadPrefix { prefix: 0x66 });
    }
    Ok(match opcode {
        // lock xadd / lock cmpxchg [m], reg: the atomic built-ins, on memory only.
        0xB0 | 0xB1 | 0xC0 | 0xC1 => {
            let size = if opcode & 1 == 0 { 1 } else if o16 { 2 } else { size };
            let (reg, rm) = modrm(c, rex, size)?;
            let Rm::Mem(mem) = rm else { return Err(bad) };
            let reg = if size == 1 { byte_reg(reg, rex, op16)? } else { reg };
            if opcode >= 0xC0 { Op::LockXadd { reg, mem } } else { Op::LockCmpxchg { reg, mem } }
        }
        // jcc rel32: conditional branches.
        0x80..=0x8F => {
            no_rex(rex)?;
            Op::Jcc { cc: Cond::from_low_bits(opcode), rel: c.i32()? }
        }
        // setcc r8: materialising a comparison.
        0x90..=0x9F => match group(c, rex, 1)? {
            (0, Rm::Reg(dst)) => {
                Op::Setcc { cc: Cond::from_low_bits(opcode), dst: byte_reg(dst, rex, op16)? }
            }
            _ => return Err(bad),
        },
        // imul reg, reg.
        0xAF => match modrm(c, rex, size)? {
            (dst, Rm::Reg(src)) => Op::Imul { size, dst, src },
            _ => return Err(bad),
        },
        // movzx r32, r/m8 / r/m16 and movsx r64, r/m8 / r/m16: narrow
        // integers and their loads. kplc zero-extends into r32 and
        // sign-extends into r64; the other widths are refused.
        0xB6 | 0xB7 | 0xBE | 0xBF if rex.w == (opcode >= 0xBE) => {
            let (signed, from) = (rex.w, if opcode & 1 == 0 { 1 } else { 2 });
            match modrm(c, rex, from)? {
                (dst, Rm::Mem(mem)) => Op::Load { dst, mem, signed },
                // Without REX, byte registers 4–7 are AH–BH: only the
                // zero-extending `movzx r32, ah` is kept (see `ExtendHigh`).
                (dst, Rm::Reg(src)) if from == 1 && !rex.present && (4..8).contains(&src) => {
                    if signed {
                        return Err(bad);
                    }
                    Op::ExtendHigh { dst, src: src & 3 }
                }
                (dst, Rm::Reg(src)) => Op::Extend { dst, src, from, signed },
            }
        }
        0xB6 | 0xB7 | 0xBE | 0xBF => return Err(bad),
        _ => return Err(DecodeError::Unsupported { opcode: op16 }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`common`] and [`mem_forms`] say what the general path says, for every REX byte (or
    /// none), opcode and second byte, followed by displacement bytes of
    /// either sign, cut at every length.
    #[test]
    fn common_forms_decode_as_the_general_path_does() {
        let tails: [[u8; 5]; 3] = [[0; 5], [0xFF; 5], [0x80, 0x7F, 0x01, 0x92, 0x33]];
        let mut checked = 0u32;
        for prefix in core::iter::once(None).chain((0x40u8..=0x4F).map(Some)) {
            for opcode in 0u8..=255 {
                for second in 0u8..=255 {
                    for tail in &tails {
                        let bytes = prefix.into_iter().chain([opcode, second]).chain(*tail);
                        checked += fast_paths_agree(bytes, true);
                    }
                }
            }
        }
        // Every form the fast path takes was compared (and some were).
        assert!(checked > 100_000, "{checked}");
    }

    /// Checks that [`common`] and [`mem_forms`], where they decode the
    /// first `bytes` (at most 12; each prefix of them when `every_cut`,
    /// else all of them), decode as the general path does, and that
    /// [`decode_into`] agrees with [`decode`] on them; returns how many
    /// fast-path decodes were compared.
    fn fast_paths_agree(bytes: impl Iterator<Item = u8>, every_cut: bool) -> u32 {
        let mut buf = [0u8; 12];
        let mut n = 0usize;
        for (d, b) in buf.iter_mut().zip(bytes) {
            *d = b;
            n = n.saturating_add(1);
        }
        let mut checked = 0u32;
        for cut in if every_cut { 0..=n } else { n..=n } {
            let code = buf.get(..cut).unwrap_or(&[]);
            // `decode_into` says what `decode` says, refusals included.
            let mut op = Op::Ret;
            let into = decode_into(code, &mut op).map(|len| Insn { len, op });
            assert_eq!(into, decode(code), "{code:02x?}");
            for fast in [common(code), mem_forms(code)].into_iter().flatten() {
                assert_eq!(Ok(fast), decode_general(code), "{code:02x?}");
                checked = checked.saturating_add(1);
            }
        }
        checked
    }

    /// The same for [`mem_forms`] (and [`common`]) over every ModRM byte
    /// and, where a SIB byte follows, every SIB byte of the opcodes it
    /// takes: the sweep above sees only three of those bytes.
    #[test]
    fn common_memory_and_two_byte_forms_decode_as_the_general_path_does() {
        let openings: [&[u8]; 10] = [
            &[0x89],
            &[0x8B],
            &[0x8D],
            &[0x69],
            &[0x6B],
            &[0x0F, 0xAF],
            &[0x0F, 0xB6],
            &[0x0F, 0xB7],
            &[0x0F, 0xBE],
            &[0x0F, 0xBF],
        ];
        let tails: [[u8; 4]; 2] = [[0x80, 0x7F, 0x01, 0x92], [0xFF; 4]];
        let mut checked = 0u32;
        for prefix in core::iter::once(None).chain((0x40u8..=0x4F).map(Some)) {
            for opening in openings {
                for modrm in 0u8..=255 {
                    let sibs = if modrm >> 6 != 3 && modrm & 7 == 4 {
                        0u8..=255
                    } else {
                        0u8..=0
                    };
                    for sib in sibs {
                        for (t, tail) in tails.iter().enumerate() {
                            let bytes = prefix
                                .into_iter()
                                .chain(opening.iter().copied())
                                .chain([modrm, sib])
                                .chain(*tail);
                            // Every cut with the first tail, the whole with the second.
                            checked += fast_paths_agree(bytes, t == 0);
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }
}
