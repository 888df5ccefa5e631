//! The loader core as the Linux kernel module calls it: a small C ABI over
//! `kpl-runtime-core` (parse, verify, link, write the image and the data,
//! look up exports, imports, statics and trap sites). Built with
//! `-Zbuild-std` for a kernel target (`scripts/kernel-test.sh`), linked into
//! `kpl.ko`.
//!
//! No allocation here: the verifier's workspace comes from the C layer
//! (`kpl_kvzalloc`/`kpl_kvfree`, i.e. `kvzalloc`), everything else lives on
//! the stack or in buffers the caller passes. No panic path either: the build
//! fails if the linked object references the kernel's `panic`.
//!
//! Every function takes the object bytes again and parses them (the parse is
//! a linear pass and cheap next to verification); only `kpl_core_check`
//! verifies, and the C layer never writes an image it has not checked.

#![no_std]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use core::ffi::c_void;
use core::fmt::Write;

use kpl_runtime_core::format::{ScalarType, ValType};
use kpl_runtime_core::verify::{self, Decoded, FuncInfo, State, Workspace};
use kpl_runtime_core::{HostImport, Object};

unsafe extern "C" {
    /// The kernel's `panic()`. Referenced only if a panic path survives
    /// optimisation, which the build checks with `nm -u` (and fails).
    fn panic(fmt: *const core::ffi::c_char, ...) -> !;
    /// `kvzalloc(size, GFP_KERNEL | __GFP_NOWARN)` (C layer); NULL on failure.
    fn kpl_kvzalloc(size: usize) -> *mut c_void;
    /// `kvfree` (C layer).
    fn kpl_kvfree(ptr: *mut c_void);
}

#[panic_handler]
fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: the kernel's panic takes a NUL-terminated format string.
    unsafe { panic(c"kpl: Rust panic in the loader core\n".as_ptr()) }
}

/// The most entries a kernel import table may have (it has 7 today).
const MAX_HOST_IMPORTS: usize = 64;
/// The most imports an object may have here (each std-imports function once
/// is 7).
const MAX_IMPORTS: usize = 64;
/// Upper bound on the verifier's workspace, in bytes.
const MAX_WORKSPACE: usize = 256 << 20;

/// One kernel import, as the generated C table (`kpl_imports_gen.h`) holds it.
#[repr(C)]
pub struct KplHostImport {
    pub module: *const u8,
    pub module_len: usize,
    pub name: *const u8,
    pub name_len: usize,
    pub hash: u64,
    pub func: *const c_void,
}

/// What the C layer needs to place a checked object.
#[repr(C)]
pub struct KplInfo {
    pub code_len: u32,
    pub rodata_offset: u32,
    pub rodata_len: u32,
    pub slots_offset: u32,
    pub slot_count: u32,
    pub image_len: u32,
    /// Bytes of the read-only part (RODATA, padding, import slots), placed
    /// apart from the code and never executable.
    pub ro_len: u32,
    pub data_size: u32,
    pub export_count: u32,
    pub import_count: u32,
    pub trap_count: u32,
    pub _pad: u32,
    pub max_stack: u64,
    pub hash: u64,
}

/// Why a call failed. `stage`: 1 parse, 2 verify, 3 link, 4 out of memory,
/// 5 bad argument. `rule` is the verifier rule's name (verify only).
#[repr(C)]
pub struct KplError {
    pub stage: u32,
    pub offset: u32,
    pub rule: [u8; 16],
    pub msg: [u8; 192],
}

/// One export: `params[i]` is `0x00 | scalar code` for a scalar and
/// `0x80 | 0x40 (writable) | scalar code` for a slice.
#[repr(C)]
pub struct KplExport {
    pub name: [u8; 64],
    pub code_offset: u32,
    pub nparams: u32,
    pub params: [u8; 8],
    /// Scalar code of the return type, 0xff for none.
    pub ret: u8,
    pub _pad: [u8; 7],
}

/// Writes formatted text into a fixed, NUL-terminated buffer, cutting it
/// short when full.
struct Buf<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            let room = self.buf.len().saturating_sub(1);
            if self.at >= room {
                break;
            }
            if let Some(slot) = self.buf.get_mut(self.at) {
                *slot = b;
            }
            self.at = self.at.saturating_add(1);
        }
        if let Some(nul) = self.buf.get_mut(self.at) {
            *nul = 0;
        }
        Ok(())
    }
}

fn text(buf: &mut [u8], args: core::fmt::Arguments<'_>) {
    if let Some(first) = buf.first_mut() {
        *first = 0;
    }
    let _ = Buf { buf, at: 0 }.write_fmt(args);
}

fn fail(err: *mut KplError, stage: u32, offset: u32, args: core::fmt::Arguments<'_>) -> i32 {
    // SAFETY: the C layer passes a valid, exclusive KplError or NULL.
    if let Some(e) = unsafe { err.as_mut() } {
        e.stage = stage;
        e.offset = offset;
        e.rule = [0; 16];
        text(&mut e.msg, args);
    }
    -1
}

/// # Safety
/// `ptr` is valid for `len` bytes, or `len` is 0.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// # Safety
/// `ptr` is valid and exclusive for `len` bytes, or `len` is 0.
unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut [u8] {
    if ptr.is_null() || len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts_mut(ptr, len) }
}

/// # Safety
/// `ptr` is valid for `len` bytes of UTF-8, or `len` is 0.
unsafe fn utf8<'a>(ptr: *const u8, len: usize) -> &'a str {
    // SAFETY: the caller's contract.
    core::str::from_utf8(unsafe { bytes(ptr, len) }).unwrap_or("")
}

/// The kernel's table as the linker wants it, in a fixed array.
///
/// # Safety
/// `table` points at `n` valid entries whose strings are valid.
unsafe fn host_table<'h>(
    table: *const KplHostImport,
    n: usize,
    out: &mut [HostImport<'h>; MAX_HOST_IMPORTS],
) -> Option<usize> {
    if n > MAX_HOST_IMPORTS || (table.is_null() && n > 0) {
        return None;
    }
    for i in 0..n {
        // SAFETY: `i < n` entries are valid (the caller's contract).
        let e = unsafe { &*table.add(i) };
        let slot = out.get_mut(i)?;
        // SAFETY: the generated table's strings are valid UTF-8 of that length.
        *slot = HostImport {
            module: unsafe { utf8(e.module, e.module_len) },
            name: unsafe { utf8(e.name, e.name_len) },
            hash: e.hash,
        };
    }
    Some(n)
}

/// A kvzalloc'd array of `n` `T`s, freed on drop.
struct KvBuf<T> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> KvBuf<T> {
    fn new(len: usize, fill: T) -> Option<KvBuf<T>> {
        let size = len.max(1).checked_mul(core::mem::size_of::<T>())?;
        if size > MAX_WORKSPACE {
            return None;
        }
        // SAFETY: plain allocation; checked for NULL below.
        let ptr = unsafe { kpl_kvzalloc(size) }.cast::<T>();
        if ptr.is_null() {
            return None;
        }
        for i in 0..len {
            // SAFETY: `i < len` is inside the allocation, which kvzalloc
            // aligns to at least 8 bytes (every T here needs at most 8).
            unsafe { ptr.add(i).write(fill) };
        }
        Some(KvBuf { ptr, len })
    }

    fn slice(&mut self) -> &mut [T] {
        // SAFETY: `len` initialised elements, owned by `self`.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T> Drop for KvBuf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by kpl_kvzalloc in `new`.
        unsafe { kpl_kvfree(self.ptr.cast()) };
    }
}

/// Runs the verifier with a workspace from the kernel's allocator. The one
/// place that knows `Workspace`'s fields (they follow the core's `needs`).
fn run_verifier(obj: &Object<'_>) -> Result<verify::Verified, Result<verify::VerifyError, ()>> {
    let n = Workspace::needs(obj);
    let mut flags = KvBuf::new(n.code_bytes, 0u8).ok_or(Err(()))?;
    let mut slot = KvBuf::new(n.code_bytes, 0u32).ok_or(Err(()))?;
    let mut insns = KvBuf::new(n.insns, Decoded::EMPTY).ok_or(Err(()))?;
    let mut states = KvBuf::new(n.states, State::UNREACHED).ok_or(Err(()))?;
    let mut funcs = KvBuf::new(n.functions, FuncInfo::EMPTY).ok_or(Err(()))?;
    let mut ws = Workspace {
        flags: flags.slice(),
        slot: slot.slice(),
        insns: insns.slice(),
        states: states.slice(),
        funcs: funcs.slice(),
    };
    verify::verify(obj, &mut ws).map_err(Ok)
}

fn info_of(obj: &Object<'_>, max_stack: u64) -> KplInfo {
    let l = obj.layout();
    KplInfo {
        code_len: l.code_len,
        rodata_offset: l.rodata_offset,
        rodata_len: l.rodata_len,
        slots_offset: l.slots_offset,
        slot_count: l.slot_count,
        image_len: l.image_len,
        ro_len: l.ro_len(),
        data_size: l.data_size,
        export_count: u32::try_from(obj.exports().count()).unwrap_or(u32::MAX),
        import_count: u32::try_from(obj.import_count()).unwrap_or(u32::MAX),
        trap_count: u32::try_from(obj.trap_site_count()).unwrap_or(u32::MAX),
        _pad: 0,
        max_stack,
        hash: obj.hash(),
    }
}

/// Links `o`'s imports against the C layer's table: the table slot of each
/// import and the table's length, or the status of the failure (reported
/// in `err`).
///
/// # Safety
/// `table` is valid for `ntable` entries; `err` is valid and exclusive.
unsafe fn link_imports(
    o: &Object<'_>,
    table: *const KplHostImport,
    ntable: usize,
    err: *mut KplError,
) -> Result<([u32; MAX_IMPORTS], usize), i32> {
    let mut host = [HostImport {
        module: "",
        name: "",
        hash: 0,
    }; MAX_HOST_IMPORTS];
    // SAFETY: the caller's contract.
    let Some(n) = (unsafe { host_table(table, ntable, &mut host) }) else {
        return Err(fail(err, 5, 0, format_args!("bad import table")));
    };
    if o.import_count() > MAX_IMPORTS {
        return Err(fail(
            err,
            3,
            0,
            format_args!("more than {MAX_IMPORTS} imports"),
        ));
    }
    let mut resolution = [0u32; MAX_IMPORTS];
    if let Err(e) = kpl_runtime_core::link(o, host.get(..n).unwrap_or(&[]), &mut resolution) {
        return Err(fail(err, 3, 0, format_args!("cannot link: {e}")));
    }
    Ok((resolution, n))
}

/// Parses, verifies and link-checks an object; fills `info`. 0 or -1 (then
/// `err` says why).
///
/// # Safety
/// `obj` is valid for `len` bytes; `table` for `ntable` entries; `info` and
/// `err` are valid and exclusive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_check(
    obj: *const u8,
    len: usize,
    table: *const KplHostImport,
    ntable: usize,
    info: *mut KplInfo,
    err: *mut KplError,
) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { check(obj, len, table, ntable, info, err, true) }
}

/// **Test builds only** (cargo feature `testing`, which only
/// `scripts/kernel-test.sh` enables): `kpl_core_check` without the
/// verifier, so the kernel test can load objects a sound verifier refuses
/// (loops that ignore their fuel) and check that the watchdog still stops
/// them. `max_stack` is reported as 0.
///
/// # Safety
/// As `kpl_core_check`.
#[cfg(feature = "testing")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_check_unverified(
    obj: *const u8,
    len: usize,
    table: *const KplHostImport,
    ntable: usize,
    info: *mut KplInfo,
    err: *mut KplError,
) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { check(obj, len, table, ntable, info, err, false) }
}

/// # Safety
/// As `kpl_core_check`.
unsafe fn check(
    obj: *const u8,
    len: usize,
    table: *const KplHostImport,
    ntable: usize,
    info: *mut KplInfo,
    err: *mut KplError,
    verify: bool,
) -> i32 {
    // SAFETY: the caller's contract.
    let bytes = unsafe { bytes(obj, len) };
    let o = match Object::parse(bytes) {
        Ok(o) => o,
        Err(e) => {
            let at = u32::try_from(e.at).unwrap_or(u32::MAX);
            return fail(err, 1, at, format_args!("invalid object: {e}"));
        }
    };
    let max_stack = if verify {
        match run_verifier(&o) {
            Ok(v) => v.max_stack,
            Err(Ok(e)) => {
                let r = fail(
                    err,
                    2,
                    e.offset,
                    format_args!("rejected by the verifier: {e}"),
                );
                // SAFETY: as in `fail`.
                if let Some(er) = unsafe { err.as_mut() } {
                    text(&mut er.rule, format_args!("{}", e.rule));
                }
                return r;
            }
            Err(Err(())) => {
                return fail(
                    err,
                    4,
                    0,
                    format_args!("no memory for the verifier's workspace"),
                );
            }
        }
    } else {
        0
    };
    // SAFETY: the caller's contract.
    if let Err(r) = unsafe { link_imports(&o, table, ntable, err) } {
        return r;
    }
    // SAFETY: the caller's contract.
    if let Some(i) = unsafe { info.as_mut() } {
        *i = info_of(&o, max_stack);
    }
    0
}

/// Writes the image as two parts and the initial statics: `code` gets
/// CODE (int3 after it), its RIP-relative displacements moved so that they
/// reach the read-only part at `code + ro_delta`; `ro` gets RODATA and the
/// import slots holding the kernel functions' addresses; `data` the statics.
/// Call only after `kpl_core_check` accepted the same bytes.
///
/// # Safety
/// As `kpl_core_check`; `code`, `ro` and `data` are valid, exclusive
/// buffers of `code_len`, `ro_len` and `data_len` bytes (they are the
/// writable aliases, so `ro_delta` is passed apart: the distance between
/// where the parts will be executed and read).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_write(
    obj: *const u8,
    len: usize,
    table: *const KplHostImport,
    ntable: usize,
    code: *mut u8,
    code_len: usize,
    ro: *mut u8,
    ro_len: usize,
    ro_delta: i64,
    data: *mut u8,
    data_len: usize,
    err: *mut KplError,
) -> i32 {
    // SAFETY: the caller's contract.
    let bytes = unsafe { bytes(obj, len) };
    let Ok(o) = Object::parse(bytes) else {
        return fail(err, 1, 0, format_args!("invalid object"));
    };
    // SAFETY: the caller's contract.
    let (resolution, n) = match unsafe { link_imports(&o, table, ntable, err) } {
        Ok(linked) => linked,
        Err(r) => return r,
    };
    let count = o.import_count().min(MAX_IMPORTS);
    let mut slots = [0u64; MAX_IMPORTS];
    for (s, &r) in slots.iter_mut().zip(resolution.get(..count).unwrap_or(&[])) {
        if (r as usize) < n {
            // SAFETY: `r < ntable`: a valid entry.
            *s = unsafe { (*table.add(r as usize)).func } as u64;
        }
    }
    // SAFETY: the caller's contract.
    let code_part = unsafe { bytes_mut(code, code_len) };
    if let Err(e) = kpl_runtime_core::write_code(&o, code_part, ro_delta) {
        return fail(err, 3, 0, format_args!("cannot write the code: {e}"));
    }
    // SAFETY: the caller's contract.
    let ro_part = unsafe { bytes_mut(ro, ro_len) };
    if let Err(e) = kpl_runtime_core::write_ro(&o, slots.get(..count).unwrap_or(&[]), ro_part) {
        return fail(err, 3, 0, format_args!("cannot write the read-only data: {e}"));
    }
    // SAFETY: the caller's contract.
    let d = unsafe { bytes_mut(data, data_len) };
    if let Err(e) = kpl_runtime_core::write_data(&o, d) {
        return fail(err, 3, 0, format_args!("cannot write the data: {e}"));
    }
    0
}

fn scalar_code(s: ScalarType) -> u8 {
    s as u8
}

/// Fills `out` with export number `index`. 0, or -1 if there is none.
///
/// # Safety
/// `obj` is valid for `len` bytes; `out` is valid and exclusive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_export(
    obj: *const u8,
    len: usize,
    index: u32,
    out: *mut KplExport,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    let Some(e) = o.exports().nth(index as usize) else {
        return -1;
    };
    // SAFETY: the caller's contract.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return -1;
    };
    text(&mut out.name, format_args!("{}", e.name));
    out.code_offset = e.code_offset;
    out.params = [0; 8];
    let params = e.signature.params();
    out.nparams = u32::try_from(params.len()).unwrap_or(0);
    for (slot, p) in out.params.iter_mut().zip(params) {
        *slot = match *p {
            ValType::Scalar(s) => scalar_code(s),
            ValType::Slice { elem, writable } => {
                0x80 | if writable { 0x40 } else { 0 } | scalar_code(elem)
            }
        };
    }
    out.ret = e.signature.ret.map_or(0xff, scalar_code);
    out._pad = [0; 7];
    0
}

/// A static as STATICS lists it (`kpl_core_static`).
#[repr(C)]
pub struct KplStatic {
    /// Byte offset in the data region.
    pub offset: u32,
    /// Size in bytes (inside the data region: checked by the parser).
    pub size: u32,
    /// Scalar code of a scalar static or of an array's elements, 0 for
    /// anything else.
    pub elem: u32,
    /// Elements of type `elem` (naturally aligned; 0 without `elem`).
    pub count: u32,
}

/// Looks up the static called `name` (`name_len` bytes, no NUL) in the
/// object's STATICS. 0, or -1 if there is none.
///
/// # Safety
/// `obj` is valid for `len` bytes, `name` for `name_len` bytes; `out` is
/// valid and exclusive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_static(
    obj: *const u8,
    len: usize,
    name: *const u8,
    name_len: usize,
    out: *mut KplStatic,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    // SAFETY: the caller's contract.
    let Ok(name) = core::str::from_utf8(unsafe { bytes(name, name_len) }) else {
        return -1;
    };
    let Some(v) = o.static_var(name) else {
        return -1;
    };
    // SAFETY: the caller's contract.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return -1;
    };
    out.offset = v.offset;
    out.size = v.size;
    out.elem = v.elem.map_or(0, |t| u32::from(scalar_code(t)));
    out.count = v.count;
    0
}

/// Writes `module::name` of import `index` into `buf` (NUL-terminated).
/// 0, or -1 if there is none.
///
/// # Safety
/// `obj` is valid for `len` bytes; `buf` for `buf_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_import(
    obj: *const u8,
    len: usize,
    index: u32,
    buf: *mut u8,
    buf_len: usize,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    let Some(i) = o.import(index as usize) else {
        return -1;
    };
    if buf.is_null() || buf_len == 0 {
        return -1;
    }
    // SAFETY: the caller's contract.
    let b = unsafe { core::slice::from_raw_parts_mut(buf, buf_len) };
    text(b, format_args!("{}::{}", i.module, i.name));
    0
}

/// Looks up trap site `site`: its kind code, code offset and source line
/// and column (0 when unknown). 0, or -1 if there is no such site.
///
/// # Safety
/// `obj` is valid for `len` bytes; the out pointers are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_trap(
    obj: *const u8,
    len: usize,
    site: u64,
    kind: *mut u32,
    code_offset: *mut u32,
    line: *mut u32,
    col: *mut u32,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    let Some(t) = o.trap_site(site) else {
        return -1;
    };
    let (l, c) = o.location_of(t.code_offset).unwrap_or((0, 0));
    // SAFETY: the caller's contract.
    unsafe {
        kind.write(u32::from(t.kind as u8));
        code_offset.write(t.code_offset);
        line.write(l);
        col.write(c);
    }
    0
}

/// The source line and column of code offset `code_offset` (both 0 when
/// unknown): where the watchdog stopped an invocation. 0, or -1 if the
/// offset is outside CODE.
///
/// # Safety
/// `obj` is valid for `len` bytes; the out pointers are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_location(
    obj: *const u8,
    len: usize,
    code_offset: u32,
    line: *mut u32,
    col: *mut u32,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    if code_offset >= o.layout().code_len {
        return -1;
    }
    let (l, c) = o.location_of(code_offset).unwrap_or((0, 0));
    // SAFETY: the caller's contract.
    unsafe {
        line.write(l);
        col.write(c);
    }
    0
}

/// Writes the object's source file name into `buf` (NUL-terminated).
///
/// # Safety
/// `obj` is valid for `len` bytes; `buf` for `buf_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kpl_core_source_file(
    obj: *const u8,
    len: usize,
    buf: *mut u8,
    buf_len: usize,
) -> i32 {
    // SAFETY: the caller's contract.
    let Ok(o) = Object::parse(unsafe { bytes(obj, len) }) else {
        return -1;
    };
    if buf.is_null() || buf_len == 0 {
        return -1;
    }
    // SAFETY: the caller's contract.
    let b = unsafe { core::slice::from_raw_parts_mut(buf, buf_len) };
    text(b, format_args!("{}", o.source_file()));
    0
}
