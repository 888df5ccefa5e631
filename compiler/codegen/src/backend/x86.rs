//! Encoders for the x86-64 memory-operand instructions the code generator
//! emits with run-time chosen base, index and scale (loads, stores and the
//! atomic read-modify-write forms) (dynasm's macro needs the
//! scale as a literal), and for the register-immediate forms in their
//! shortest encoding (dynasm always gives a run-time register a REX prefix
//! and a run-time immediate 32 bits). Each returns the instruction bytes; tests check every
//! form against iced-x86's decoder.

/// A memory operand `[base + index*scale + disp]` or `[rip + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    Base {
        base: u8,
        index: Option<(u8, u8)>,
        disp: i32,
    },
    /// RIP-relative; `disp` is patched later (see [`rip_disp_offset`]).
    Rip { disp: i32 },
}

fn rex(w: bool, reg: u8, index: u8, base: u8) -> u8 {
    0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3)
}

/// ModRM (+SIB, +displacement) bytes for `reg` and `mem`, and the REX bits
/// the operand needs.
fn modrm(reg: u8, mem: Mem) -> (u8, u8, Vec<u8>) {
    let mut out = Vec::with_capacity(6);
    match mem {
        Mem::Rip { disp } => {
            out.push(((reg & 7) << 3) | 0b101);
            out.extend_from_slice(&disp.to_le_bytes());
            (reg, 0, out)
        }
        Mem::Base { base, index, disp } => {
            let (m, disp_bytes): (u8, Vec<u8>) = if disp == 0 && base & 7 != 5 {
                (0b00, vec![])
            } else if let Ok(d8) = i8::try_from(disp) {
                (0b01, vec![d8 as u8])
            } else {
                (0b10, disp.to_le_bytes().to_vec())
            };
            match index {
                None if base & 7 != 4 => {
                    out.push((m << 6) | ((reg & 7) << 3) | (base & 7));
                }
                None => {
                    out.push((m << 6) | ((reg & 7) << 3) | 0b100);
                    out.push((0b100 << 3) | (base & 7));
                }
                Some((idx, scale)) => {
                    let ss = match scale {
                        1 => 0,
                        2 => 1,
                        4 => 2,
                        _ => 3,
                    };
                    out.push((m << 6) | ((reg & 7) << 3) | 0b100);
                    out.push((ss << 6) | ((idx & 7) << 3) | (base & 7));
                }
            }
            out.extend_from_slice(&disp_bytes);
            let index_reg = index.map_or(0, |(i, _)| i);
            (reg, index_reg, out)
        }
    }
}

fn base_reg(mem: Mem) -> u8 {
    match mem {
        Mem::Base { base, .. } => base,
        Mem::Rip { .. } => 0,
    }
}

/// Assembles `[prefix] [REX] opcode modrm...`. `byte_reg` forces a REX
/// prefix so that registers 4–7 mean spl/bpl/sil/dil rather than ah–bh.
fn encode(
    prefix: Option<u8>,
    w: bool,
    byte_reg: bool,
    opcode: &[u8],
    reg: u8,
    mem: Mem,
) -> Vec<u8> {
    let (r, x, tail) = modrm(reg, mem);
    let mut out = Vec::with_capacity(10);
    if let Some(p) = prefix {
        out.push(p);
    }
    let rx = rex(w, r, x, base_reg(mem));
    if rx != 0x40 || (byte_reg && (4..8).contains(&reg)) {
        out.push(rx);
    }
    out.extend_from_slice(opcode);
    out.extend_from_slice(&tail);
    out
}

/// Loads a scalar of `size` bytes into `dst`, zero- or sign-extending to 64 bits.
pub fn load(dst: u8, mem: Mem, size: u8, signed: bool) -> Vec<u8> {
    match (size, signed) {
        (1, false) => encode(None, false, false, &[0x0f, 0xb6], dst, mem),
        (1, true) => encode(None, true, false, &[0x0f, 0xbe], dst, mem),
        (2, false) => encode(None, false, false, &[0x0f, 0xb7], dst, mem),
        (2, true) => encode(None, true, false, &[0x0f, 0xbf], dst, mem),
        (4, false) => encode(None, false, false, &[0x8b], dst, mem),
        (4, true) => encode(None, true, false, &[0x63], dst, mem),
        _ => encode(None, true, false, &[0x8b], dst, mem),
    }
}

/// Stores the low `size` bytes of `src`.
pub fn store(src: u8, mem: Mem, size: u8) -> Vec<u8> {
    match size {
        1 => encode(None, false, true, &[0x88], src, mem),
        2 => encode(Some(0x66), false, false, &[0x89], src, mem),
        4 => encode(None, false, false, &[0x89], src, mem),
        _ => encode(None, true, false, &[0x89], src, mem),
    }
}

/// `movzx r32, r8h` (`0F B6 /r`, no REX): `reg` (rax–rbx, 0–3) gets bits
/// 8–15 of itself, zero-extended; the verifier's `ExtendHigh`.
pub fn movzx_second_byte(reg: u8) -> Vec<u8> {
    debug_assert!(reg < 4, "only rax–rbx have a second byte register");
    vec![0x0F, 0xB6, 0xC0 | (reg << 3) | (4 + reg)]
}

/// The operand-size prefix and REX.W of a `size`-byte register operand of
/// the `0F C0/C1`, `0F B0/B1` and `86/87` families (the byte form is the
/// even opcode).
fn rmw(lock: bool, even: &[u8], odd: &[u8], reg: u8, mem: Mem, size: u8) -> Vec<u8> {
    let bytes = match size {
        1 => encode(None, false, true, even, reg, mem),
        2 => encode(Some(0x66), false, false, odd, reg, mem),
        4 => encode(None, false, false, odd, reg, mem),
        _ => encode(None, true, false, odd, reg, mem),
    };
    if lock {
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(0xF0);
        out.extend(bytes);
        out
    } else {
        bytes
    }
}

/// `lock xadd [mem], reg` of `size` bytes: `reg` gets the old value.
pub fn lock_xadd(reg: u8, mem: Mem, size: u8) -> Vec<u8> {
    rmw(true, &[0x0f, 0xc0], &[0x0f, 0xc1], reg, mem, size)
}

/// `lock cmpxchg [mem], reg` of `size` bytes: compares with rax.
pub fn lock_cmpxchg(reg: u8, mem: Mem, size: u8) -> Vec<u8> {
    rmw(true, &[0x0f, 0xb0], &[0x0f, 0xb1], reg, mem, size)
}

/// `xchg [mem], reg` of `size` bytes (locked by the processor without a
/// prefix).
pub fn xchg(reg: u8, mem: Mem, size: u8) -> Vec<u8> {
    rmw(false, &[0x86], &[0x87], reg, mem, size)
}

/// `cmp reg, qword [mem]`.
pub fn cmp_reg_mem(reg: u8, mem: Mem) -> Vec<u8> {
    encode(None, true, false, &[0x3b], reg, mem)
}

/// `lea reg, [mem]`.
pub fn lea(reg: u8, mem: Mem) -> Vec<u8> {
    encode(None, true, false, &[0x8d], reg, mem)
}

/// `call qword [mem]`.
pub fn call_mem(mem: Mem) -> Vec<u8> {
    encode(None, false, false, &[0xff], 2, mem)
}

/// `mov qword [mem], imm32` (sign-extended).
pub fn store_imm64(mem: Mem, imm: i32) -> Vec<u8> {
    let mut v = encode(None, true, false, &[0xc7], 0, mem);
    v.extend_from_slice(&imm.to_le_bytes());
    v
}

/// The group-1 operations kplc applies to a register and an immediate
/// (the `/digit` of `81 /d id` and `83 /d ib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluImm {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// The shifts by an immediate (the `/digit` of `C1 /d ib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// A REX prefix for a register-direct instruction, left out when it would
/// carry no bit (`40`): the first eight registers need none at 32 bits.
fn rex_rm(out: &mut Vec<u8>, w: bool, reg: u8, rm: u8) {
    let rx = rex(w, reg, 0, rm);
    if rx != 0x40 {
        out.push(rx);
    }
}

/// `op reg, imm` on 64 bits (`w`) or 32 bits (which zero-extends): the
/// sign-extended 8-bit immediate form (`83`) when `imm` fits it, which is
/// the same operation three bytes shorter, else `81` with 32 bits.
pub fn alu_imm(op: AluImm, w: bool, reg: u8, imm: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(7);
    rex_rm(&mut out, w, 0, reg);
    let modrm = 0xC0 | ((op as u8) << 3) | (reg & 7);
    match i8::try_from(imm) {
        Ok(b) => out.extend([0x83, modrm, b as u8]),
        Err(_) => {
            out.extend([0x81, modrm]);
            out.extend_from_slice(&imm.to_le_bytes());
        }
    }
    out
}

/// `shl/shr/sar reg, imm8` on 64 bits (`w`) or 32 bits.
pub fn shift_imm(op: Shift, w: bool, reg: u8, count: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    rex_rm(&mut out, w, 0, reg);
    out.extend([0xC1, 0xC0 | ((op as u8) << 3) | (reg & 7), count]);
    out
}

/// `imul dst, src, imm` on 64 bits (`w`) or 32 bits: `6B` with a
/// sign-extended 8-bit immediate when `imm` fits it, else `69`.
pub fn imul_imm(w: bool, dst: u8, src: u8, imm: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(7);
    rex_rm(&mut out, w, dst, src);
    let modrm = 0xC0 | ((dst & 7) << 3) | (src & 7);
    match i8::try_from(imm) {
        Ok(b) => out.extend([0x6B, modrm, b as u8]),
        Err(_) => {
            out.extend([0x69, modrm]);
            out.extend_from_slice(&imm.to_le_bytes());
        }
    }
    out
}

/// `push reg` / `pop reg` (64-bit): a REX prefix only for `r8`–`r15`.
pub fn push_pop(pop: bool, reg: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(2);
    rex_rm(&mut out, false, 0, reg);
    out.push(if pop { 0x58 } else { 0x50 } + (reg & 7));
    out
}

/// `mov reg32, imm32` (`B8+r`): the constant zero-extended to 64 bits.
pub fn mov_imm32(reg: u8, imm: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(6);
    rex_rm(&mut out, false, 0, reg);
    out.push(0xB8 + (reg & 7));
    out.extend_from_slice(&imm.to_le_bytes());
    out
}

/// `xor reg32, reg32`: zero in all 64 bits.
pub fn zero32(reg: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(3);
    rex_rm(&mut out, false, reg, reg);
    out.extend([0x31, 0xC0 | ((reg & 7) << 3) | (reg & 7)]);
    out
}

/// Where the disp32 of a RIP-relative instruction sits: it is the last four
/// bytes for every instruction above without an immediate.
pub fn rip_disp_offset(inst_len: usize) -> usize {
    inst_len - 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

    fn text(bytes: &[u8]) -> String {
        let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
        let inst = d.decode();
        assert_eq!(inst.len(), bytes.len(), "length of {bytes:02x?}");
        let mut out = String::new();
        let mut f = IntelFormatter::new();
        f.options_mut()
            .set_memory_size_options(iced_x86::MemorySizeOptions::Always);
        f.format(&inst, &mut out);
        out
    }

    #[test]
    fn forms_decode_as_intended() {
        let m = |base, index, disp| Mem::Base { base, index, disp };
        assert_eq!(
            text(&load(0, m(4, None, 8), 8, false)),
            "mov rax,qword ptr [rsp+8]"
        );
        assert_eq!(
            text(&load(9, m(14, Some((10, 4)), 0x100), 4, false)),
            "mov r9d,dword ptr [r14+r10*4+100h]"
        );
        assert_eq!(
            text(&load(6, m(2, Some((8, 1)), 0), 1, true)),
            "movsx rsi,byte ptr [rdx+r8]"
        );
        assert_eq!(
            text(&load(3, m(13, None, 0), 2, false)),
            "movzx ebx,word ptr [r13]"
        );
        assert_eq!(
            text(&load(12, m(5, None, 0), 4, true)),
            "movsxd r12,dword ptr [rbp]"
        );
        assert_eq!(
            text(&load(1, m(12, None, -8), 2, true)),
            "movsx rcx,word ptr [r12-8]"
        );
        assert_eq!(
            text(&store(6, m(4, Some((7, 2)), 0x7fff_0000), 1)),
            "mov byte ptr [rsp+rdi*2+7FFF0000h],sil"
        );
        assert_eq!(text(&store(1, m(0, None, 0), 2)), "mov word ptr [rax],cx");
        assert_eq!(
            text(&store(11, m(14, None, 16), 8)),
            "mov qword ptr [r14+10h],r11"
        );
        assert_eq!(
            text(&cmp_reg_mem(10, m(15, Some((0, 8)), 0x60))),
            "cmp r10,qword ptr [r15+rax*8+60h]"
        );
        assert_eq!(text(&lea(2, Mem::Rip { disp: 0x40 })), "lea rdx,[47h]");
        assert_eq!(
            text(&call_mem(Mem::Rip { disp: -0x10 })),
            "call qword ptr [0FFFFFFFFFFFFFFF6h]"
        );
        assert_eq!(
            text(&lock_xadd(0, m(14, Some((1, 4)), 8), 4)),
            "lock xadd dword ptr [r14+rcx*4+8],eax"
        );
        assert_eq!(
            text(&lock_xadd(6, m(14, None, 0), 1)),
            "lock xadd byte ptr [r14],sil"
        );
        assert_eq!(
            text(&lock_cmpxchg(2, m(14, Some((9, 2)), 0x10), 2)),
            "lock cmpxchg word ptr [r14+r9*2+10h],dx"
        );
        assert_eq!(
            text(&lock_cmpxchg(2, m(14, None, 0x18), 8)),
            "lock cmpxchg qword ptr [r14+18h],rdx"
        );
        assert_eq!(
            text(&xchg(0, m(14, None, 0x20), 8)),
            "xchg qword ptr [r14+20h],rax"
        );
        assert_eq!(
            text(&xchg(0, m(14, None, 3), 1)),
            "xchg byte ptr [r14+3],al"
        );
        assert_eq!(
            text(&store_imm64(m(15, None, 8), 7)),
            "mov qword ptr [r15+8],7"
        );
    }

    #[test]
    fn register_immediate_forms_decode_as_intended_and_take_no_empty_rex() {
        let cases: [(Vec<u8>, &str); 19] = [
            (alu_imm(AluImm::Cmp, true, 8, 16), "cmp r8,10h"),
            (alu_imm(AluImm::Cmp, true, 6, 0x14), "cmp rsi,14h"),
            (
                alu_imm(AluImm::Cmp, true, 0, -1),
                "cmp rax,0FFFFFFFFFFFFFFFFh",
            ),
            (alu_imm(AluImm::Cmp, true, 7, 0xffff), "cmp rdi,0FFFFh"),
            (alu_imm(AluImm::And, true, 10, 0x1fff), "and r10,1FFFh"),
            (alu_imm(AluImm::Add, false, 6, 1), "add esi,1"),
            (alu_imm(AluImm::Sub, false, 9, 128), "sub r9d,80h"),
            (
                alu_imm(AluImm::Or, true, 3, -128),
                "or rbx,0FFFFFFFFFFFFFF80h",
            ),
            (alu_imm(AluImm::Xor, true, 11, 127), "xor r11,7Fh"),
            (shift_imm(Shift::Shl, false, 7, 8), "shl edi,8"),
            (shift_imm(Shift::Sar, true, 12, 63), "sar r12,3Fh"),
            (mov_imm32(0, 1), "mov eax,1"),
            (mov_imm32(9, 0xdead_beef), "mov r9d,0DEADBEEFh"),
            (zero32(6), "xor esi,esi"),
            (imul_imm(false, 12, 5, 0x4d), "imul r12d,ebp,4Dh"),
            (imul_imm(false, 5, 3, 0x96), "imul ebp,ebx,96h"),
            (imul_imm(true, 3, 9, -3), "imul rbx,r9,0FFFFFFFFFFFFFFFDh"),
            (push_pop(false, 3), "push rbx"),
            (push_pop(true, 12), "pop r12"),
        ];
        for (bytes, want) in cases {
            assert_eq!(text(&bytes), want, "{bytes:02x?}");
            assert_ne!(bytes[0], 0x40, "{want}: an empty REX prefix");
        }
        assert_eq!(zero32(8), [0x45, 0x31, 0xC0]);
        assert_eq!(alu_imm(AluImm::Cmp, true, 8, 16), [0x49, 0x83, 0xF8, 0x10]);
        assert_eq!(alu_imm(AluImm::Cmp, true, 8, 128).len(), 7);
    }
}
