//! Linking and image assembly, without allocation: [`link`] resolves each
//! import slot against the host's table by module, name and signature hash;
//! [`write_image`] and [`write_data`] fill caller-provided buffers.

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

/// Fills `image` (at least `layout().image_len` bytes; typically the
/// page-rounded writable alias of the code arena): CODE, RODATA and the slots
/// at their layout offsets, `slots[k]` being the address for import slot `k`.
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
