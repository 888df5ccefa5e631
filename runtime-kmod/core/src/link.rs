//! Linking and image assembly, without allocation: [`link`] resolves each
//! import slot against the host's table by module, name and signature hash;
//! [`write_code`], [`write_ro`], [`write_image`] and [`write_data`] fill
//! caller-provided buffers.
//!
//! A runtime places the image as two parts (object-format.md, "Image
//! layout"): the *code part* (CODE, executable) and the *read-only part*
//! (RODATA then the import slots, never executable), anywhere within ±2 GiB
//! of each other. [`write_code`] moves every RIP-relative displacement by the
//! distance between the parts; [`write_ro`] fills the read-only part.

use crate::decode::{self, Base, Mem, Op};
use crate::error::LinkError;
use crate::format::SLOT_LEN;
use crate::object::Object;

/// One function the host offers to plugins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostImport<'h> {
    /// Import module (`kernel`).
    pub module: &'h str,
    /// Function name.
    pub name: &'h str,
    /// FNV-1a-64 of the canonical signature text the host implements.
    pub hash: u64,
}

/// Resolves every import of `obj`: on success `resolution[slot]` is the index
/// in `host` of the function for that slot. The first failing import is
/// reported, naming it and whether it is missing or has another signature.
pub fn link<'a>(
    obj: &Object<'a>,
    host: &[HostImport<'_>],
    resolution: &mut [u32],
) -> Result<(), LinkError<'a>> {
    let needed = obj.import_count();
    let got = resolution.len();
    let out = resolution
        .get_mut(..needed)
        .ok_or(too_small("resolution", needed, got))?;
    for (r, imp) in out.iter_mut().zip(obj.imports()) {
        let at = obj.import_entry_at(imp.slot as usize);
        // Host tables are short (tens of entries): a linear scan is both the
        // simplest and, at this size, the fastest lookup.
        let found = host
            .iter()
            .position(|h| h.module == imp.module && h.name == imp.name)
            .and_then(|i| Some((u32::try_from(i).ok()?, host.get(i)?)));
        let Some((index, h)) = found else {
            return Err(LinkError::Missing {
                slot: imp.slot,
                at,
                module: imp.module,
                name: imp.name,
            });
        };
        if h.hash != imp.sig_hash {
            return Err(LinkError::HashMismatch {
                slot: imp.slot,
                at,
                module: imp.module,
                name: imp.name,
                object_hash: imp.sig_hash,
                host_hash: h.hash,
            });
        }
        *r = index;
    }
    Ok(())
}

fn too_small<'a>(what: &'static str, needed: usize, got: usize) -> LinkError<'a> {
    LinkError::BufferTooSmall { what, needed, got }
}

/// Fills `image` (at least `layout().image_len` bytes) with the contiguous
/// image: CODE, RODATA and the slots at their layout offsets, `slots[k]`
/// being the address for import slot `k`. A runtime that maps this as one
/// executable region makes RODATA and the slots executable too; prefer the
/// split form ([`write_code`] and [`write_ro`]).
/// Every other byte becomes `0xCC` (`int3`), so padding never decodes as
/// anything but a trap.
pub fn write_image<'a>(
    obj: &Object<'a>,
    slots: &[u64],
    image: &mut [u8],
) -> Result<(), LinkError<'a>> {
    let l = obj.layout();
    let image_len = l.image_len as usize;
    if image.len() < image_len {
        return Err(too_small("image", image_len, image.len()));
    }
    let slot_count = l.slot_count as usize;
    let slots = slots
        .get(..slot_count)
        .ok_or(too_small("slots", slot_count, slots.len()))?;
    let got = image.len();
    image.fill(0xCC);
    let parts = [(0, obj.code()), (l.rodata_offset as usize, obj.rodata())];
    for (off, bytes) in parts {
        let dst = off
            .checked_add(bytes.len())
            .and_then(|end| image.get_mut(off..end));
        dst.ok_or(too_small("image", image_len, got))?
            .copy_from_slice(bytes);
    }
    let slot_area = image
        .get_mut(l.slots_offset as usize..image_len)
        .unwrap_or(&mut []);
    let (chunks, _) = slot_area.as_chunks_mut::<{ SLOT_LEN as usize }>();
    for (dst, addr) in chunks.iter_mut().zip(slots) {
        *dst = addr.to_le_bytes();
    }
    Ok(())
}

/// Fills the code part of a split image: `code_out` (at least
/// `layout().code_len` bytes; typically the page-rounded writable view of the
/// executable mapping) gets CODE, with every RIP-relative displacement moved
/// so that it reaches the same byte of the read-only part placed `ro_delta`
/// bytes after the code part (`ro_delta` = address of the read-only part −
/// address of the code part; negative if it lies below). Bytes past CODE
/// become `0xCC` (`int3`).
///
/// The instructions of each function are decoded linearly from its start
/// with [`decode::decode`], as the verifier does. The RIP-relative forms
/// relocated are `mov`/`movzx`/`movsx`/`movsxd` loads, `lea`, `cmp reg,
/// [mem]` and `call [rip + disp32]`; in each the disp32 is the last 4 bytes
/// of the instruction and must point into the read-only part (virtual offsets
/// `rodata_offset ..= image_len`). Its new value is `disp + ro_delta −
/// rodata_offset`. Any other RIP-relative form, an undecodable instruction,
/// an instruction running past its function, a target outside the
/// read-only part or a displacement that no longer fits 32 bits is a
/// [`LinkError::Relocation`]. The bytes after the functions (trap stubs and
/// the unwind stub, which have no RIP-relative operand) are copied as they
/// are. With `ro_delta == rodata_offset` (the contiguous layout) the output
/// is CODE byte for byte.
pub fn write_code<'a>(
    obj: &Object<'a>,
    code_out: &mut [u8],
    ro_delta: i64,
) -> Result<(), LinkError<'a>> {
    let l = obj.layout();
    let code = obj.code();
    let got = code_out.len();
    let dst = code_out
        .get_mut(..code.len())
        .ok_or(too_small("code", code.len(), got))?;
    dst.copy_from_slice(code);
    // Added to every relocated displacement (None: `ro_delta` is absurd).
    let shift = ro_delta.checked_sub(i64::from(l.rodata_offset));
    let ro_start = i64::from(l.rodata_offset);
    let ro_end = i64::from(l.image_len);
    for f in obj.functions() {
        let bad = |code_offset: u32, reason: &'static str| LinkError::Relocation {
            code_offset,
            reason,
        };
        let end = f
            .code_offset
            .checked_add(f.code_len)
            .ok_or(bad(f.code_offset, "function runs past the code"))?;
        let mut at = f.code_offset;
        while at < end {
            let bytes = code.get(at as usize..end as usize).unwrap_or(&[]);
            let insn = decode::decode(bytes).map_err(|e| match e {
                decode::DecodeError::Truncated => bad(at, "instruction runs past its function"),
                _ => bad(at, "undecodable instruction"),
            })?;
            let next = at
                .checked_add(u32::from(insn.len))
                .filter(|n| *n <= end && insn.len > 0)
                .ok_or(bad(at, "instruction runs past its function"))?;
            let disp = match rip_operand(&insn.op) {
                Rip::None => None,
                Rip::Relocate(disp) => Some(disp),
                Rip::Refuse => return Err(bad(at, "RIP-relative operand in a form not relocated")),
            };
            if let Some(disp) = disp {
                let target = i64::from(next).checked_add(i64::from(disp));
                if !target.is_some_and(|t| t >= ro_start && t <= ro_end) {
                    return Err(bad(
                        at,
                        "RIP-relative operand outside read-only data and slots",
                    ));
                }
                let moved = shift
                    .and_then(|s| i64::from(disp).checked_add(s))
                    .and_then(|d| i32::try_from(d).ok())
                    .ok_or(bad(at, "displacement does not fit 32 bits once relocated"))?;
                let field = next
                    .checked_sub(4)
                    .filter(|s| *s >= at)
                    .and_then(|s| code_out.get_mut(s as usize..next as usize))
                    .ok_or(bad(at, "instruction too short for a disp32"))?;
                // The decoder read `disp` from these very bytes: refuse
                // rather than patch if they say otherwise.
                if field != disp.to_le_bytes() {
                    return Err(bad(at, "disp32 is not the last 4 bytes of the instruction"));
                }
                field.copy_from_slice(&moved.to_le_bytes());
            }
            at = next;
        }
    }
    code_out.get_mut(code.len()..).unwrap_or(&mut []).fill(0xCC);
    Ok(())
}

/// What [`write_code`] does with an instruction's RIP-relative operand.
enum Rip {
    /// The instruction has none.
    None,
    /// Relocate this disp32 (the last 4 bytes of the instruction).
    Relocate(i32),
    /// A RIP-relative form the code generator never emits.
    Refuse,
}

fn rip_operand(op: &Op) -> Rip {
    let rip = |mem: &Mem| mem.base == Base::Rip;
    match *op {
        Op::Load { mem, .. } | Op::Lea { mem, .. } | Op::CmpMem { mem, .. } if rip(&mem) => {
            Rip::Relocate(mem.disp)
        }
        Op::CallRip { disp } => Rip::Relocate(disp),
        Op::Store { mem, .. } | Op::StoreImm { mem, .. } | Op::CmpMemImm { mem, .. }
            if rip(&mem) =>
        {
            Rip::Refuse
        }
        _ => Rip::None,
    }
}

/// Fills the read-only part of a split image: `ro_out` (at least
/// `layout().ro_len()` bytes) gets RODATA at 0, then `0xCC` padding, then
/// import slot `k` at `slot_offset(k) − rodata_offset` holding
/// `slot_addresses[k]`; bytes past `ro_len()` become `0xCC` too. The part
/// is the image's virtual bytes `rodata_offset .. image_len`, so
/// [`write_code`] with the same placement reaches it.
pub fn write_ro<'a>(
    obj: &Object<'a>,
    slot_addresses: &[u64],
    ro_out: &mut [u8],
) -> Result<(), LinkError<'a>> {
    let l = obj.layout();
    let ro_len = l.ro_len() as usize;
    let got = ro_out.len();
    if got < ro_len {
        return Err(too_small("read-only part", ro_len, got));
    }
    let slot_count = l.slot_count as usize;
    let slots = slot_addresses.get(..slot_count).ok_or(too_small(
        "slots",
        slot_count,
        slot_addresses.len(),
    ))?;
    ro_out.fill(0xCC);
    let rodata = obj.rodata();
    ro_out
        .get_mut(..rodata.len())
        .ok_or(too_small("read-only part", ro_len, got))?
        .copy_from_slice(rodata);
    let slots_at = l.slots_offset.saturating_sub(l.rodata_offset) as usize;
    let slot_area = ro_out.get_mut(slots_at..ro_len).unwrap_or(&mut []);
    let (chunks, _) = slot_area.as_chunks_mut::<{ SLOT_LEN as usize }>();
    for (dst, addr) in chunks.iter_mut().zip(slots) {
        *dst = addr.to_le_bytes();
    }
    Ok(())
}

/// Fills the writable data region (at least `layout().data_size` bytes):
/// DATA_INIT, then zeros to the end of `data`.
pub fn write_data<'a>(obj: &Object<'a>, data: &mut [u8]) -> Result<(), LinkError<'a>> {
    let size = obj.layout().data_size as usize;
    if data.len() < size {
        return Err(too_small("data", size, data.len()));
    }
    let init = obj.data_init();
    let got = data.len();
    let (head, tail) = data
        .split_at_mut_checked(init.len())
        .ok_or(too_small("data", size, got))?;
    head.copy_from_slice(init);
    tail.fill(0);
    Ok(())
}
