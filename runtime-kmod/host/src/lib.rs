//! The user-space host runtime for KPL plugins: maps a plugin image as two
//! parts — its code read+execute, its read-only data and import slots read
//! only, never executable — links the import slots to host implementations
//! of `std-imports`, and invokes verified exports through an entry
//! trampoline that implements the runtime ABI (`book/src/runtime/abi.md`):
//! reserved registers, fuel budget, slices handed over in the context block,
//! and traps that unwind back here with the trap site instead of faulting.
//!
//! Safe code can only enter a plugin at a verified export, through an
//! [`Export`] handle of the same instance, with arguments that match the
//! export's signature; loading around the verifier is `unsafe`
//! ([`Instance::load_unverified`]).
//!
//! An embedder's own host functions ([`HostFunc`], declared in a `.kpli`
//! file like the kernel table) are linked through the same import slots
//! ([`Instance::load_with`]); buffers can be bound to an instance once and
//! passed to many calls ([`Instance::bind`], [`Instance::call_bound`]).
//!
//! This crate is the only place where plugin machine code is executed in
//! user space; every `unsafe` block says why it is sound.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod entry;
mod funcs;
mod imports;

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use entry::{ExportPlan, MAX_INSTANCE_ID, enter_plugin, scalar_key};
pub use entry::{MAX_SLICE_BYTES, Misfit};
pub use funcs::{Caller, HostFn, HostFunc, MAX_HOST_FUNC_SLOT};
pub use imports::{HostImport, host_imports};
use kpl_runtime_core::Object;
use kpl_runtime_core::format::MAX_PARAMS;
pub use kpl_runtime_core::format::{ScalarType, TrapKind, ValType};

/// The context block shared with plugin code (layout fixed by the ABI).
#[repr(C, align(64))]
#[derive(Debug)]
pub struct Ctx {
    pub saved_rsp: u64,
    pub trap_site: u64,
    pub data_base: u64,
    /// Points at the instance's [`HostState`]: set once, at load.
    pub host: u64,
    pub slice_ptr: [u64; 8],
    /// Length of each slice in bytes (for the host's imports).
    pub slice_bytes: [u64; 8],
    pub slice_writable: [u8; 8],
    pub fuel_left: u64,
    /// Reserved (0xB0..0x100; 0xB0 was the removed stop flag): keeps the
    /// length tables at their ABI offsets.
    _reserved: [u8; 0x50],
    /// `len_r[s][h]`: whole elements of 1, 2, 4, 8 bytes in slice `h`.
    pub len_r: [[u64; 8]; 4],
    /// The same for writes; 0 for slices handed in read-only.
    pub len_w: [[u64; 8]; 4],
}

const _: () = {
    assert!(std::mem::offset_of!(Ctx, trap_site) == 0x08);
    assert!(std::mem::offset_of!(Ctx, slice_ptr) == 0x20);
    assert!(std::mem::offset_of!(Ctx, slice_bytes) == 0x60);
    assert!(std::mem::offset_of!(Ctx, slice_writable) == 0xA0);
    assert!(std::mem::offset_of!(Ctx, fuel_left) == 0xA8);
    assert!(std::mem::offset_of!(Ctx, _reserved) == 0xB0);
    assert!(std::mem::offset_of!(Ctx, len_r) == 0x100);
    assert!(std::mem::offset_of!(Ctx, len_w) == 0x200);
};

/// What an argument that fits its parameter (`ExportPlan::fits`) hands
/// in: an integer for its register, or a slice for a context slot.
enum Passed {
    Int(u64),
    Slice { ptr: u64, len: u64, writable: bool },
}

impl Passed {
    /// `a` as parameter `k` of a plan: `writable_param` whether it is
    /// `[]mut`, `elem_mask` its element size minus one.
    #[inline(always)]
    fn of(a: &mut Arg<'_>, writable_param: bool, elem_mask: u8) -> Passed {
        let (ptr, bytes, writable) = match a {
            Arg::Int(v) => return Passed::Int(*v),
            Arg::Slice { bytes, .. } => (bytes.as_ptr(), bytes.len(), false),
            // A `[]T` parameter gets a writable slice read-only.
            Arg::SliceMut { bytes, .. } => {
                (bytes.as_mut_ptr().cast_const(), bytes.len(), writable_param)
            }
        };
        // Whole elements only: a partial trailing element is not part of
        // the slice. The element size is a power of two (the plan keeps it
        // as a mask), so this is an `and`, not a divide.
        let len = (bytes & !usize::from(elem_mask)) as u64;
        Passed::Slice {
            ptr: ptr as u64,
            len,
            writable,
        }
    }
}

impl Ctx {
    /// A context block with every slot empty (and so read-only, with 0 in
    /// its write tables: the invariant `set_slice` relies on).
    fn new(data_base: u64, host: u64) -> Ctx {
        Ctx {
            saved_rsp: 0,
            trap_site: u64::MAX,
            data_base,
            host,
            slice_ptr: [0; 8],
            slice_bytes: [0; 8],
            slice_writable: [0; 8],
            fuel_left: 0,
            _reserved: [0; 0x50],
            len_r: [[0; 8]; 4],
            len_w: [[0; 8]; 4],
        }
    }

    /// Fills slot `h`: its base, its length in bytes and in whole
    /// elements of each access size (a shift, never a divide), and the
    /// write tables if it is handed in writable or was last time.
    ///
    /// Invariant: a slot whose `slice_writable` is 0 has 0 in every write
    /// table (they start so, and only this function writes either), so a
    /// slot handed in read-only after being read-only — every call of a
    /// `[]T` export — needs no write-table stores.
    #[inline]
    fn set_slice(&mut self, h: usize, ptr: u64, bytes: u64, writable: bool) {
        self.slice_ptr[h] = ptr;
        self.slice_bytes[h] = bytes;
        for s in 0..4 {
            self.len_r[s][h] = bytes >> s;
        }
        if writable || self.slice_writable[h] != 0 {
            self.slice_writable[h] = u8::from(writable);
            let write_mask = if writable { u64::MAX } else { 0 };
            for s in 0..4 {
                self.len_w[s][h] = (bytes >> s) & write_mask;
            }
        }
    }
}

/// Why an object could not be loaded.
#[derive(Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The object is malformed (from the loader core, with the byte offset).
    Object(String),
    /// An import is missing from this host or has another signature.
    Link(String),
    /// The code breaks a sandbox rule (from the verifier).
    Verify(kpl_runtime_core::verify::VerifyError),
    Os(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Object(e) => write!(f, "invalid object: {e}"),
            LoadError::Link(e) => write!(f, "cannot link: {e}"),
            LoadError::Verify(e) => write!(f, "rejected by the verifier: {e}"),
            LoadError::Os(e) => write!(f, "cannot map the plugin: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// An export as the host sees it: its name and signature. Calls go through
/// an [`Export`] handle, never a code offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportInfo {
    pub name: String,
    pub params: Vec<ValType>,
    pub ret: Option<ScalarType>,
}

impl ExportInfo {
    /// `name([]u8, []mut u8) -> u32`, for messages.
    pub fn signature_text(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|p| type_text(*p)).collect();
        match self.ret {
            Some(r) => format!("{}({}) -> {}", self.name, params.join(", "), r.name()),
            None => format!("{}({})", self.name, params.join(", ")),
        }
    }
}

/// A parameter type as KPL writes it: `u32`, `[]u8`, `[]mut u16`.
pub fn type_text(t: ValType) -> String {
    match t {
        ValType::Scalar(s) => s.name().to_string(),
        ValType::Slice {
            elem,
            writable: false,
        } => format!("[]{}", elem.name()),
        ValType::Slice {
            elem,
            writable: true,
        } => format!("[]mut {}", elem.name()),
    }
}

/// A handle to one export of one [`Instance`], from [`Instance::export`]:
/// the only way to choose what a call runs. It cannot be made from a code
/// offset, and an instance refuses a handle of another instance (even one
/// loaded from the same object).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Export {
    /// The [`Instance::id`] this handle was made by.
    instance: u64,
    /// Index into that instance's exports.
    index: u32,
}

/// Why a call did not return a value. At most 12 bytes (no field wider
/// than 32 bits, the message a [`Misfit`]), so that a call's
/// `Result<u64, CallError>` is 16 bytes and comes back in registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The plugin trapped.
    Trap(Trap),
    /// The [`Export`] handle belongs to another instance.
    ForeignExport,
    /// The number of arguments differs from the export's parameters
    /// (`given` saturates at `u32::MAX`).
    Arity { expected: u32, given: u32 },
    /// Argument `index` (0-based) does not match its parameter's type.
    BadArgument { index: u32, why: Misfit },
}

// What keeps a call's result in two registers (see `CallError`).
const _: () = assert!(std::mem::size_of::<Result<u64, CallError>>() == 16);

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(t) => write!(f, "trap: {}", t.kind.describe()),
            CallError::ForeignExport => f.write_str("export handle of another instance"),
            CallError::Arity { expected, given } => {
                write!(f, "the export takes {expected} argument(s), {given} given")
            }
            CallError::BadArgument { index, why } => write!(f, "argument {}: {why}", index + 1),
        }
    }
}

impl std::error::Error for CallError {}

/// Runs the verifier: nothing is mapped executable before it has passed.
pub fn verify_object(obj: &Object<'_>) -> Result<kpl_runtime_core::verify::Verified, LoadError> {
    VerifyBuffers::for_object(obj).verify(obj)
}

/// The verifier's workspace, allocated for one object (or reused for
/// another of the same size, as a runtime that loads often would).
pub struct VerifyBuffers(kpl_runtime_core::verify::OwnedWorkspace);

impl VerifyBuffers {
    /// Buffers as large as `obj` needs.
    pub fn for_object(obj: &Object<'_>) -> VerifyBuffers {
        VerifyBuffers(kpl_runtime_core::verify::OwnedWorkspace::for_object(obj))
    }

    /// Runs the verifier on `obj` in these buffers.
    pub fn verify(
        &mut self,
        obj: &Object<'_>,
    ) -> Result<kpl_runtime_core::verify::Verified, LoadError> {
        self.0.verify(obj).map_err(LoadError::Verify)
    }
}

const PAGE: usize = 4096;

/// Pages of plugin memory with an inaccessible guard page on each side:
/// an access just past either end faults instead of reaching other memory
/// of the process. The verifier is what keeps plugins inside; the guards
/// make a verifier hole visible (a fault) rather than silent corruption,
/// which is what the mutation test relies on.
struct GuardedMap {
    /// Start of the leading guard page; `total` bytes are mapped.
    base: *mut u8,
    total: usize,
    /// The usable pages, between the guards.
    inner: *mut u8,
    inner_len: usize,
}

impl GuardedMap {
    /// At least `len` usable bytes, zero-filled and read+write.
    fn new(len: usize) -> Result<GuardedMap, LoadError> {
        let inner_len = len.max(1).div_ceil(PAGE) * PAGE;
        let total = inner_len + 2 * PAGE;
        let base = reserve(total)?;
        // SAFETY: `PAGE` is inside the `total`-byte mapping just created.
        let inner = unsafe { base.add(PAGE) };
        let map = GuardedMap {
            base,
            total,
            inner,
            inner_len,
        };
        map.protect(libc::PROT_READ | libc::PROT_WRITE)?;
        Ok(map)
    }

    /// Sets the protection of the usable pages (never of the guards).
    fn protect(&self, prot: libc::c_int) -> Result<(), LoadError> {
        protect(self.inner, self.inner_len, prot)
    }

    /// The usable bytes; only valid while they are writable.
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `inner_len` bytes from `inner` are mapped, owned by `self`
        // and borrowed mutably through it; callers only use this while the
        // pages are read+write.
        unsafe { std::slice::from_raw_parts_mut(self.inner, self.inner_len) }
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`; no references
        // into it outlive `self` (instances own their maps).
        unsafe {
            libc::munmap(self.base.cast(), self.total);
        }
    }
}

/// A byte buffer ending flush against a guard page (with another before
/// it), for slices handed to plugins by `kplc run` and the tests: an access
/// past the end of a slice faults at once instead of reading or corrupting
/// whatever the allocator put next.
pub struct GuardedBuf {
    map: GuardedMap,
    offset: usize,
    len: usize,
}

impl GuardedBuf {
    /// A guarded copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Result<GuardedBuf, LoadError> {
        let mut map = GuardedMap::new(bytes.len())?;
        let offset = map.inner_len - bytes.len();
        map.bytes_mut()[offset..].copy_from_slice(bytes);
        Ok(GuardedBuf {
            map,
            offset,
            len: bytes.len(),
        })
    }

    /// `len` zero bytes, guarded the same way (to read a file into
    /// without an intermediate copy).
    pub fn zeroed(len: usize) -> Result<GuardedBuf, LoadError> {
        let map = GuardedMap::new(len)?;
        let offset = map.inner_len - len;
        Ok(GuardedBuf { map, offset, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes from `inner + offset` are mapped read+write
        // for the life of `self`, and `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.map.inner.add(self.offset), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let offset = self.offset;
        &mut self.map.bytes_mut()[offset..]
    }
}

/// `mmap`s `total` bytes, all inaccessible; `MAP_FAILED` becomes an error.
fn reserve(total: usize) -> Result<*mut u8, LoadError> {
    // SAFETY: an anonymous private mapping with no address hint, all
    // inaccessible; the result is checked against MAP_FAILED before use.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(LoadError::Os(std::io::Error::last_os_error().to_string()));
    }
    Ok(base.cast::<u8>())
}

/// The image of one plugin, in one reservation of address space:
///
/// ```text
/// guard | code part (R+X) | guard | read-only part (R) | guard
/// ```
///
/// The code part holds CODE (then `int3` to the page end), the read-only
/// part RODATA and the import slots (`write_ro`). Both parts are writable
/// (and neither executable) only while they are filled; then the code part
/// becomes read+execute and the read-only part read-only. No page is ever
/// writable and executable, and the rodata and slots are never executable,
/// so a control-flow hole in the verifier cannot run data as code. The
/// distance between the parts is far below 2 GiB, so the RIP-relative
/// displacements that `write_code` moves always fit.
struct ImageMap {
    /// Start of the reservation; `total` bytes are mapped.
    base: *mut u8,
    total: usize,
    /// The code part: `code_len` bytes (whole pages) from `base + PAGE`.
    code: *mut u8,
    code_len: usize,
    /// The read-only part: `ro_len` bytes (whole pages), one guard page
    /// after the code part.
    ro: *mut u8,
    ro_len: usize,
}

impl ImageMap {
    fn new(obj: &Object<'_>, slots: &[u64]) -> Result<ImageMap, LoadError> {
        let layout = obj.layout();
        let code_len = (layout.code_len as usize).max(1).div_ceil(PAGE) * PAGE;
        let ro_len = (layout.ro_len() as usize).max(1).div_ceil(PAGE) * PAGE;
        let total = PAGE + code_len + PAGE + ro_len + PAGE;
        let base = reserve(total)?;
        // SAFETY: both offsets and the lengths after them lie inside the
        // `total`-byte reservation just made.
        let (code, ro) = unsafe { (base.add(PAGE), base.add(PAGE + code_len + PAGE)) };
        let map = ImageMap {
            base,
            total,
            code,
            code_len,
            ro,
            ro_len,
        };
        let link = |e: kpl_runtime_core::LinkError<'_>| LoadError::Link(e.to_string());
        let ro_delta = (ro as usize - code as usize) as i64;
        protect(code, code_len, libc::PROT_READ | libc::PROT_WRITE)?;
        protect(ro, ro_len, libc::PROT_READ | libc::PROT_WRITE)?;
        {
            // SAFETY: the two parts are disjoint, mapped read+write just
            // above, owned by `map` and not otherwise referenced; the
            // slices end before the pages are made non-writable.
            let (code_bytes, ro_bytes) = unsafe {
                (
                    std::slice::from_raw_parts_mut(code, code_len),
                    std::slice::from_raw_parts_mut(ro, ro_len),
                )
            };
            kpl_runtime_core::write_code(obj, code_bytes, ro_delta).map_err(link)?;
            kpl_runtime_core::write_ro(obj, slots, ro_bytes).map_err(link)?;
        }
        protect(ro, ro_len, libc::PROT_READ)?;
        protect(code, code_len, libc::PROT_READ | libc::PROT_EXEC)?;
        Ok(map)
    }
}

/// Sets the protection of `len` bytes (whole pages) from `at`, which must be
/// pages of a mapping the caller owns.
fn protect(at: *mut u8, len: usize, prot: libc::c_int) -> Result<(), LoadError> {
    // SAFETY: changes the protection of pages of a mapping the caller owns
    // (and no reference into them is live across a change that removes
    // access it relies on).
    let rc = unsafe { libc::mprotect(at.cast(), len, prot) };
    if rc != 0 {
        return Err(LoadError::Os(std::io::Error::last_os_error().to_string()));
    }
    Ok(())
}

impl Drop for ImageMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the reservation made in `new`; no
        // references into it outlive `self` (instances own their maps).
        unsafe {
            libc::munmap(self.base.cast(), self.total);
        }
    }
}

/// The plugin's statics, placed flush against the trailing guard page (the
/// verifier only allows non-negative offsets from the data base, so an
/// overrun is the way out).
struct DataMap {
    map: GuardedMap,
    /// Offset of the data within the usable pages; 8-byte aligned.
    offset: usize,
    words: usize,
}

impl DataMap {
    fn new(data_size: usize) -> Result<DataMap, LoadError> {
        let words = data_size.div_ceil(8).max(1);
        let map = GuardedMap::new(words * 8)?;
        let offset = map.inner_len - words * 8;
        Ok(DataMap { map, offset, words })
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let offset = self.offset;
        &mut self.map.bytes_mut()[offset..]
    }

    fn base(&mut self) -> *mut u8 {
        self.bytes_mut().as_mut_ptr()
    }

    fn words(&self) -> &[u64] {
        // SAFETY: `words * 8` bytes from `inner + offset` are mapped
        // read+write for the life of `self`; `offset` and the page-aligned
        // `inner` make the pointer 8-byte aligned; the borrow of `self`
        // keeps writers (only `call`, which takes `&mut`) away.
        unsafe {
            std::slice::from_raw_parts(self.map.inner.add(self.offset).cast::<u64>(), self.words)
        }
    }
}

/// Per-instance host state reachable from imports through `Ctx::host`.
pub struct HostState {
    pub(crate) rodata: *const u8,
    pub(crate) rodata_len: usize,
    pub(crate) rng: u64,
    pub(crate) log_budget: u32,
    /// Log lines the plugin printed (also written to stderr unless quiet).
    pub log: Vec<String>,
    pub quiet: bool,
    /// The embedder's functions, by import slot.
    pub(crate) funcs: funcs::SlotFuncs,
}

/// An argument to an export.
pub enum Arg<'a> {
    Int(u64),
    Slice {
        bytes: &'a [u8],
        elem_size: usize,
    },
    SliceMut {
        bytes: &'a mut [u8],
        elem_size: usize,
    },
}

/// How an invocation ended without a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    pub kind: TrapKind,
    pub site: u32,
    /// Code offset of the checked operation (for the source map).
    pub code_offset: u32,
}

/// A loaded plugin: its code mapped R+X, its read-only data and import
/// slots R, its own data region, its imports linked. Statics persist across
/// invocations.
pub struct Instance {
    /// Unique in the process: binds [`Export`] handles to this instance.
    /// At least 1 and below `MAX_INSTANCE_ID`, as the plans' keys
    /// (`ExportPlan::scalar_key`) need.
    id: u64,
    image: ImageMap,
    data: DataMap,
    sites: Vec<(TrapKind, u32)>,
    exports: Vec<ExportInfo>,
    /// What a call of each export needs, indexed like `exports`.
    plans: Vec<ExportPlan>,
    locations: Vec<(u32, u32, u32)>,
    source_file: String,
    /// Slice slots filled for the last call only (bit `h` for slot `h`),
    /// to clear before the next.
    transient: u8,
    /// Buffers bound to slots for many calls ([`Instance::bind`]).
    bound: [Option<BoundBuf>; 8],
    /// Bit `h`: `bound[h]` holds a buffer (to find free slots by bit).
    bound_slots: u8,
    /// Source of [`Bound`] generations.
    generation: u32,
    ctx: Box<Ctx>,
    /// The statics' address (`r14`), fixed for the life of `data`.
    data_base: *mut u8,
    /// Reached by imports through `ctx.host`; [`host`](Instance::host) and
    /// [`host_mut`](Instance::host_mut) for the embedder.
    host: HostBox,
}

/// The instance's [`HostState`], allocated once and never moved or
/// replaced while the instance lives, so that its address can be written
/// into the context block once, at load, instead of before every call.
/// Owned through a raw pointer rather than a `Box`: a `Box` asserts unique
/// access whenever it is used, which the address kept in the context block
/// (and used by imports during a call) would contradict.
struct HostBox(std::ptr::NonNull<HostState>);

impl HostBox {
    fn new(state: HostState) -> HostBox {
        HostBox(std::ptr::NonNull::from(Box::leak(Box::new(state))))
    }

    fn as_ptr(&self) -> *mut HostState {
        self.0.as_ptr()
    }

    fn get(&self) -> &HostState {
        // SAFETY: the allocation is live and owned by `self` until `drop`;
        // the only other access is by imports through `ctx.host`, during a
        // call, which holds `&mut Instance` and so excludes this borrow.
        unsafe { self.0.as_ref() }
    }

    fn get_mut(&mut self) -> &mut HostState {
        // SAFETY: as in `get`; `&mut self` makes this the only reference.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for HostBox {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed
        // only here, once; no call (and so no import) is running.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Argument `index` out of range of its parameter's type: out of line, so
/// that the error's construction stays out of the loop it is inlined into.
#[cold]
#[inline(never)]
fn out_of_range(index: usize) -> CallError {
    CallError::BadArgument {
        index: index as u32,
        why: Misfit::OutOfRange,
    }
}

/// Source of [`Instance::id`].
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// Fuel given to one invocation when none is specified: about a second of
/// tight loop iterations on current hardware.
pub const DEFAULT_FUEL: u64 = 1 << 30;

impl Instance {
    /// Parses, links and maps an object: the loader core checks every length
    /// and offset and resolves imports by name and signature hash; the code
    /// is written while the mapping is writable, then made read+execute.
    pub fn load(bytes: &[u8]) -> Result<Instance, LoadError> {
        Instance::load_checked(bytes, true, &[])
    }

    /// Like [`load`](Instance::load), linking the object's imports against
    /// `funcs` (the embedder's functions, which take precedence) and then
    /// the kernel table. Each embedder function must fill an import slot
    /// below [`MAX_HOST_FUNC_SLOT`].
    pub fn load_with(bytes: &[u8], funcs: &[HostFunc]) -> Result<Instance, LoadError> {
        Instance::load_checked(bytes, true, funcs)
    }

    /// Loads an object **without running the verifier**. Only for measuring
    /// what the sandbox's own checks cost — a benchmark's baseline built
    /// without budget checks, which the verifier rightly refuses.
    ///
    /// # Safety
    ///
    /// Calling an export of the instance runs the object's machine code
    /// unchecked, with the process's privileges. The caller must know that
    /// this code keeps to the sandbox rules (`book/src/runtime/sandbox.md`)
    /// for every call it will make, apart from the rules it knowingly
    /// breaks without memory-safety consequences (the unbudgeted baseline
    /// omits the fuel checks, so it must only be called with inputs for
    /// which it terminates): in practice, only for an object that kplc
    /// just produced in the same process from known source.
    pub unsafe fn load_unverified(bytes: &[u8]) -> Result<Instance, LoadError> {
        Instance::load_checked(bytes, false, &[])
    }

    fn load_checked(bytes: &[u8], verify: bool, funcs: &[HostFunc]) -> Result<Instance, LoadError> {
        let obj = Object::parse(bytes).map_err(|e| LoadError::Object(e.to_string()))?;
        if verify {
            verify_object(&obj)?;
        }
        let table = host_imports();
        // The embedder's functions first: the linker takes the first match.
        let identities: Vec<kpl_runtime_core::HostImport<'_>> = funcs
            .iter()
            .map(|f| kpl_runtime_core::HostImport {
                module: &f.module,
                name: &f.name,
                hash: f.hash,
            })
            .chain(table.iter().map(|h| kpl_runtime_core::HostImport {
                module: h.module,
                name: h.name,
                hash: h.hash,
            }))
            .collect();
        let mut resolution = vec![0u32; obj.import_count()];
        kpl_runtime_core::link(&obj, &identities, &mut resolution)
            .map_err(|e| LoadError::Link(e.to_string()))?;
        let mut by_slot: Vec<Option<HostFunc>> = vec![None; resolution.len()];
        let mut slots = Vec::with_capacity(resolution.len());
        for (slot, &i) in resolution.iter().enumerate() {
            let i = i as usize;
            let func = match funcs.get(i) {
                Some(f) => {
                    let Some(thunk) = funcs::thunk_for(slot) else {
                        return Err(LoadError::Link(format!(
                            "import `{}::{}` is in slot {slot}; host functions can fill only the first {MAX_HOST_FUNC_SLOT}",
                            f.module, f.name
                        )));
                    };
                    by_slot[slot] = Some(f.clone());
                    thunk
                }
                None => table[i - funcs.len()].func,
            };
            slots.push(func as usize as u64);
        }
        let layout = obj.layout();
        let image = ImageMap::new(&obj, &slots)?;
        let mut data = DataMap::new(layout.data_size as usize)?;
        kpl_runtime_core::write_data(&obj, data.bytes_mut())
            .map_err(|e| LoadError::Link(e.to_string()))?;
        let data_base = data.base();
        let host = HostBox::new(HostState {
            // RODATA is at the start of the read-only part.
            rodata: image.ro.cast_const(),
            rodata_len: layout.rodata_len as usize,
            rng: 0x9E37_79B9_7F4A_7C15,
            log_budget: 1000,
            log: Vec::new(),
            quiet: false,
            funcs: funcs::SlotFuncs {
                by_slot,
                panic: None,
            },
        });
        let exports: Vec<ExportInfo> = obj
            .exports()
            .map(|e| ExportInfo {
                name: e.name.to_string(),
                params: e.signature.params().to_vec(),
                ret: e.signature.ret,
            })
            .collect();
        let id = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        // Never in practice (2^60 loads), but the plans' keys need it.
        if id >= MAX_INSTANCE_ID {
            return Err(LoadError::Os("instance ids exhausted".to_string()));
        }
        // The loader core has checked that every export starts a function
        // inside the code; checked again here, once, because a call then
        // enters at the address without looking.
        let mut plans = Vec::with_capacity(exports.len());
        for (e, info) in obj.exports().zip(&exports) {
            if e.code_offset >= layout.code_len {
                return Err(LoadError::Object(format!(
                    "export `{}` starts outside the code",
                    info.name
                )));
            }
            // Also refused by the loader core; a plan's arity must be the
            // real count, which every call checks its arguments against.
            if info.params.len() > kpl_runtime_core::format::MAX_PARAMS {
                return Err(LoadError::Object(format!(
                    "export `{}` takes more than {} parameters",
                    info.name,
                    kpl_runtime_core::format::MAX_PARAMS
                )));
            }
            // SAFETY: `code_offset < code_len`, so the address is inside
            // the code part mapped by `image`.
            let entry = unsafe { image.code.add(e.code_offset as usize) };
            plans.push(ExportPlan::new(id, entry, &info.params));
        }
        let sites = obj.trap_sites().map(|t| (t.kind, t.code_offset)).collect();
        let locations = obj
            .source_map()
            .map(|l| (l.code_offset, l.line, l.col))
            .collect();
        Ok(Instance {
            id,
            image,
            data,
            sites,
            exports,
            plans,
            locations,
            source_file: obj.source_file().to_string(),
            transient: 0,
            bound: Default::default(),
            bound_slots: 0,
            generation: 0,
            // `data_base` and `host` are set here once: the statics and the
            // host state never move, and plugin code cannot write the
            // context block.
            ctx: Box::new(Ctx::new(data_base as u64, host.as_ptr() as u64)),
            data_base,
            host,
        })
    }

    /// Names and signatures of the exports, sorted by name.
    pub fn exports(&self) -> &[ExportInfo] {
        &self.exports
    }

    /// The handle to call export `name` with, if the plugin has one.
    pub fn export(&self, name: &str) -> Option<Export> {
        let index = self.exports.iter().position(|e| e.name == name)?;
        Some(Export {
            instance: self.id,
            index: u32::try_from(index).ok()?,
        })
    }

    /// Name and signature of `export`, if it is a handle of this instance.
    pub fn export_info(&self, export: Export) -> Option<&ExportInfo> {
        if export.instance != self.id {
            return None;
        }
        self.exports.get(export.index as usize)
    }

    /// The host state imports see: the log, quiet mode.
    pub fn host(&self) -> &HostState {
        self.host.get()
    }

    /// The host state, to change (e.g. make the log quiet).
    pub fn host_mut(&mut self) -> &mut HostState {
        self.host.get_mut()
    }

    /// Addresses of the code part (mapped read+execute) and of the
    /// read-only part (RODATA and import slots, mapped read-only), each in
    /// whole pages between guard pages: for tests and inspection.
    pub fn image_parts(&self) -> (Range<usize>, Range<usize>) {
        let (code, ro) = (self.image.code as usize, self.image.ro as usize);
        (code..code + self.image.code_len, ro..ro + self.image.ro_len)
    }

    pub fn source_file(&self) -> &str {
        &self.source_file
    }

    /// 1-based (line, column) of the code at `code_offset`, from the object's
    /// source map.
    pub fn location(&self, code_offset: u32) -> Option<(u32, u32)> {
        let i = self
            .locations
            .partition_point(|(o, _, _)| *o <= code_offset);
        let (_, line, col) = *self.locations.get(i.checked_sub(1)?)?;
        (line != 0).then_some((line, col))
    }

    /// The plan of `export`, checking that it is a handle of this instance.
    #[inline]
    fn plan_of(&self, export: Export) -> Result<&ExportPlan, CallError> {
        if export.instance != self.id {
            return Err(CallError::ForeignExport);
        }
        self.plans
            .get(export.index as usize)
            .ok_or(CallError::ForeignExport)
    }

    /// The plan of `export`, checking that it is a handle of this instance
    /// and that `given` arguments are what it takes.
    #[inline]
    fn plan(&self, export: Export, given: usize) -> Result<ExportPlan, CallError> {
        let plan = self.plan_of(export)?;
        if usize::from(plan.arity) != given {
            return Err(CallError::Arity {
                expected: u32::from(plan.arity),
                given: u32::try_from(given).unwrap_or(u32::MAX),
            });
        }
        Ok(*plan)
    }

    /// Calls an export that takes scalar arguments only (at most six):
    /// the invocation path without slice bookkeeping, as a hook calls a
    /// plugin many times. Each argument must be the canonical 64-bit form
    /// of a value of its parameter's type (zero-extended for unsigned
    /// types and `bool` 0/1, sign-extended for signed ones).
    ///
    /// Always inlined into the caller: the entry is an `asm!` block, so a
    /// loop of calls saves the host's callee-saved registers once, not per
    /// call, the argument count is a constant that picks the entry block
    /// loading just those registers, and the result need not go through
    /// memory. Left to the compiler (`#[inline]`), a caller with many call
    /// sites got an out-of-line copy: six pushes and pops and the result
    /// returned through the stack on every call.
    #[inline(always)]
    pub fn call_scalars(
        &mut self,
        export: Export,
        args: &[u64],
        fuel: u64,
    ) -> Result<u64, CallError> {
        let n = args.len();
        // One comparison for the handle's instance, the count and "no
        // slice parameter" (see `ExportPlan::scalar_key`); the count is
        // a constant where the call is inlined, so `n <= 6` folds away.
        let plan = match self.plans.get(export.index as usize) {
            Some(p) if n <= MAX_PARAMS && p.scalar_key == scalar_key(export.instance, n) => p,
            _ => return Err(self.scalar_call_error(export, n)),
        };
        let (entry, checks) = (plan.entry, plan.checks);
        let mut regs = [0u64; 6];
        // `args.len()` is the arity, at most six.
        for (index, (r, &a)) in regs.iter_mut().zip(args).enumerate() {
            if !checks[index].accepts(a) {
                return Err(out_of_range(index));
            }
            *r = a;
        }
        self.keep_slices(0);
        self.enter(entry, args.len(), regs, fuel)
            .map_err(CallError::Trap)
    }

    /// Why `call_scalars` refused `given` arguments for `export`: a handle
    /// of another instance, the arity, or the first slice parameter.
    #[cold]
    #[inline(never)]
    fn scalar_call_error(&self, export: Export, given: usize) -> CallError {
        let plan = match self.plan(export, given) {
            Ok(plan) => plan,
            Err(e) => return e,
        };
        CallError::BadArgument {
            index: plan.slices.trailing_zeros(),
            why: Misfit::SliceParameter,
        }
    }

    /// Empties the slots the previous call filled for itself that this call
    /// has not filled again (`used`, a bit per slot); bound slots stay.
    #[inline]
    fn keep_slices(&mut self, used: u8) {
        // Written only when it changes: the usual scalar call finds 0.
        if self.transient != used {
            self.clear_slices(used);
        }
    }

    #[cold]
    fn clear_slices(&mut self, used: u8) {
        let stale = self.transient & !used;
        for h in 0..8 {
            if stale & (1 << h) != 0 {
                self.ctx.set_slice(h, 0, 0, false);
            }
        }
        self.transient = used;
    }

    /// Runs plugin code with the context block prepared: everything per
    /// call that is not the arguments' own setup. `entry` is the `entry`
    /// of one of this instance's plans (from [`plan_of`](Instance::plan_of),
    /// or a `plans` entry whose key matched the handle's: `call_scalars`,
    /// `set_up_call`), never any other address, and `arity` that plan's number of
    /// parameters: every caller has checked its arguments' count against
    /// it and passes that count, a constant where the call is inlined.
    #[inline(always)]
    fn enter(
        &mut self,
        entry: *const u8,
        arity: usize,
        regs: [u64; 6],
        fuel: u64,
    ) -> Result<u64, Trap> {
        // `trap_site` is `u64::MAX` here: it starts so, only a trap stub or
        // a panicking host function changes it, and `after_trap` puts it
        // back. `host` and `data_base` were set at load and never change.
        debug_assert_eq!(self.ctx.trap_site, u64::MAX);
        debug_assert_eq!(self.ctx.host, self.host.as_ptr() as u64);
        let ctx: *mut Ctx = &mut *self.ctx;
        // SAFETY: the code was verified against the sandbox rules when the
        // instance was loaded (or the caller of the unsafe
        // `load_unverified` vouched for it) and is mapped R+X for the life
        // of `self`; `entry` is the start of one of its exports,
        // checked at load to lie inside the code part. The context block,
        // statics and slices stay alive and unaliased for the duration of
        // the call (`&mut self`; bound buffers are owned by the instance,
        // other slices are borrowed by the caller's arguments), `data_base`
        // is this instance's statics, and the fuel is at least 1.
        // `enter_plugin` restores every host register and comes back here
        // on a trap as on a return.
        let (result, fuel_left) =
            unsafe { enter_plugin(ctx, self.data_base, fuel.max(1), entry, arity, regs) };
        self.ctx.fuel_left = fuel_left;
        // One check for both ways a call can fail: a host function that
        // panicked also leaves `trap_site` changed (`funcs::thunk`).
        if self.ctx.trap_site != u64::MAX {
            return Err(self.after_trap());
        }
        Ok(result)
    }

    /// After a call that trapped or during which a host function panicked:
    /// resets `trap_site` for the next call, then continues the panic here
    /// or returns the trap.
    #[cold]
    #[inline(never)]
    fn after_trap(&mut self) -> Trap {
        let site = std::mem::replace(&mut self.ctx.trap_site, u64::MAX);
        if let Some(payload) = self.host.get_mut().funcs.panic.take() {
            std::panic::resume_unwind(payload);
        }
        self.trap(site)
    }

    /// The trap at site `site`.
    fn trap(&self, site: u64) -> Trap {
        let site = site as u32;
        // The verifier checked every stub against the site table, so the
        // fallback is unreachable in practice.
        let (kind, code_offset) = self
            .sites
            .get(site as usize)
            .copied()
            .unwrap_or((TrapKind::Abort, 0));
        Trap {
            kind,
            site,
            code_offset,
        }
    }

    /// Calls `export` with `args`, which must match its parameters in
    /// number and kind: [`Arg::Int`] (in canonical form, see
    /// [`call_scalars`](Instance::call_scalars)) for a scalar,
    /// [`Arg::Slice`] or [`Arg::SliceMut`] for `[]T` (handed in read-only
    /// either way), [`Arg::SliceMut`] for `[]mut T`, with `elem_size` the
    /// size of `T`. Nothing runs if they do not.
    ///
    /// Inlined into the caller, and small for that: the usual call (the
    /// arguments fit and no buffer is bound) checks each argument with
    /// [`ExportPlan::fits`] and puts its slices into the slots the plan
    /// assigned at load; everything else — errors, bound buffers taking
    /// slots — goes through [`call_general`](Instance::call_general),
    /// which checks the same way. Always inlined: a hook's loop of calls
    /// then saves the host's callee-saved registers once, not per call, and
    /// the checks of arguments whose kind the caller fixed fold away.
    #[inline(always)]
    pub fn call(
        &mut self,
        export: Export,
        args: &mut [Arg<'_>],
        fuel: u64,
    ) -> Result<u64, CallError> {
        match self.set_up_call(export, args) {
            Some((entry, regs)) => self
                .enter(entry, args.len(), regs, fuel)
                .map_err(CallError::Trap),
            None => self.call_general(export, args, fuel),
        }
    }

    /// The usual case of [`call`](Instance::call): if `args` fit `export`
    /// and no buffer is bound, fills the slots the plan assigned to its
    /// slices and returns what to enter with, the entry and the argument
    /// registers (so that they are not read again from the plan after the
    /// context block's stores); else touches nothing and returns `None`.
    #[inline(always)]
    fn set_up_call(
        &mut self,
        export: Export,
        args: &mut [Arg<'_>],
    ) -> Option<(*const u8, [u64; 6])> {
        let n = args.len();
        let plan = self.plans.get(export.index as usize)?;
        // Every argument is checked before any slot is touched. One
        // comparison for the handle's instance and the count (see
        // `ExportPlan::call_key`); `n <= 6` folds away where the count is
        // a constant.
        if n > MAX_PARAMS
            || plan.call_key != scalar_key(export.instance, n)
            || self.bound_slots != 0
            || !args.iter().enumerate().all(|(k, a)| plan.fits(k, a))
        {
            return None;
        }
        let (entry, handle, handle_slots) = (plan.entry, plan.handle, plan.handle_slots);
        let (writable, elem_mask) = (plan.writable, plan.elem_mask);
        let mut regs = [0u64; 6];
        // `args.len()` is the arity, at most six.
        for (k, (r, a)) in regs.iter_mut().zip(args.iter_mut()).enumerate() {
            match Passed::of(a, writable & (1 << k) != 0, elem_mask[k]) {
                Passed::Int(v) => *r = v,
                Passed::Slice { ptr, len, writable } => {
                    // Below 6 by construction (`ExportPlan::new`); the mask
                    // only spares the bounds check.
                    let h = usize::from(handle[k]) & 7;
                    self.ctx.set_slice(h, ptr, len, writable);
                    *r = h as u64;
                }
            }
        }
        self.keep_slices(handle_slots);
        Some((entry, regs))
    }

    /// [`call`](Instance::call) for every case but the usual one: a
    /// foreign handle, a wrong argument (reported, nothing runs), or
    /// buffers bound to slots, so that each slice takes the lowest free
    /// slot instead of the plan's.
    #[inline(never)]
    fn call_general(
        &mut self,
        export: Export,
        args: &mut [Arg<'_>],
        fuel: u64,
    ) -> Result<u64, CallError> {
        let plan = self.plan(export, args.len())?;
        // Checked before any context slot is touched.
        for (index, a) in args.iter().enumerate() {
            if !plan.fits(index, a) {
                let why = plan.misfit(index, a);
                let index = index as u32;
                return Err(CallError::BadArgument { index, why });
            }
        }
        // Enough free slots for every slice, or no slot is touched (a slot
        // filled and then abandoned would keep a pointer into memory the
        // caller gets back).
        let free_slots = (!self.bound_slots).count_ones();
        if plan.slices.count_ones() > free_slots {
            let mut unserved = plan.slices;
            for _ in 0..free_slots {
                unserved &= unserved - 1;
            }
            return Err(CallError::BadArgument {
                index: unserved.trailing_zeros(),
                why: Misfit::NoFreeSlot,
            });
        }
        let mut regs = [0u64; 6];
        let mut used = 0u8;
        // `args.len()` is the arity, at most six.
        for (k, (r, a)) in regs.iter_mut().zip(args.iter_mut()).enumerate() {
            match Passed::of(a, plan.writable & (1 << k) != 0, plan.elem_mask[k]) {
                Passed::Int(v) => *r = v,
                Passed::Slice { ptr, len, writable } => {
                    // Never 0: counted above.
                    let handle = (!(self.bound_slots | used)).trailing_zeros() as usize;
                    self.ctx.set_slice(handle, ptr, len, writable);
                    *r = handle as u64;
                    used |= 1 << handle;
                }
            }
        }
        self.keep_slices(used);
        self.enter(plan.entry, args.len(), regs, fuel)
            .map_err(CallError::Trap)
    }

    /// The plugin's writable data (statics), for tests and inspection.
    pub fn data(&self) -> &[u64] {
        self.data.words()
    }

    /// Fuel the last invocation had left when it returned or trapped (0
    /// after a budget trap).
    pub fn fuel_left(&self) -> u64 {
        self.ctx.fuel_left
    }

    /// Binds `buf` to a free slice slot of this instance until
    /// [`unbind`](Instance::unbind): its context-block entry is set once,
    /// and [`call_bound`](Instance::call_bound) passes it by handle. The
    /// instance owns the memory, so plugin code can never see it freed.
    /// `writable`: whether it may be passed to a `[]mut T` parameter.
    /// `buf` comes back when every slot is bound, or when it holds
    /// [`MAX_SLICE_BYTES`] bytes or more.
    pub fn bind(&mut self, mut buf: GuardedBuf, writable: bool) -> Result<Bound, GuardedBuf> {
        if self.bound_slots == u8::MAX || buf.len() >= MAX_SLICE_BYTES {
            return Err(buf);
        }
        let slot = (!self.bound_slots).trailing_zeros() as usize;
        self.bound_slots |= 1 << slot;
        // No longer the last call's: the next call must not clear it.
        self.transient &= !(1 << slot);
        self.generation = self.generation.wrapping_add(1);
        // From the mutable view: the plugin may write through it.
        let ptr = buf.as_mut_slice().as_mut_ptr() as u64;
        self.ctx.set_slice(slot, ptr, buf.len() as u64, writable);
        self.bound[slot] = Some(BoundBuf {
            buf,
            writable,
            passed_writable: writable,
            generation: self.generation,
        });
        Ok(Bound {
            instance: self.id,
            slot: slot as u8,
            generation: self.generation,
        })
    }

    fn bound_buf(&self, b: Bound) -> Option<&BoundBuf> {
        let e = self.bound.get(b.slot as usize)?.as_ref()?;
        (b.instance == self.id && e.generation == b.generation).then_some(e)
    }

    /// The bytes of a bound buffer.
    pub fn bound_bytes(&self, b: Bound) -> Option<&[u8]> {
        Some(self.bound_buf(b)?.buf.as_slice())
    }

    /// The bytes of a bound buffer, for the host to fill or read.
    pub fn bound_bytes_mut(&mut self, b: Bound) -> Option<&mut [u8]> {
        self.bound_buf(b)?;
        let e = self.bound[b.slot as usize].as_mut()?;
        Some(e.buf.as_mut_slice())
    }

    /// Unbinds a buffer: its slot is emptied before the memory is handed
    /// back, so no later call can reach it.
    pub fn unbind(&mut self, b: Bound) -> Option<GuardedBuf> {
        self.bound_buf(b)?;
        self.ctx.set_slice(b.slot as usize, 0, 0, false);
        self.bound_slots &= !(1 << b.slot);
        self.bound[b.slot as usize].take().map(|e| e.buf)
    }

    /// Calls `export` with scalars and bound buffers: nothing is set up per
    /// call except a slot whose read-only/writable view changes (a writable
    /// buffer passed to a `[]T` parameter is handed in read-only). Arguments
    /// are checked as in [`call`](Instance::call); nothing runs if they do
    /// not match.
    #[inline]
    pub fn call_bound(
        &mut self,
        export: Export,
        args: &[BoundArg],
        fuel: u64,
    ) -> Result<u64, CallError> {
        let plan = self.plan(export, args.len())?;
        let mut regs = [0u64; 6];
        let mut views = [(0usize, false); 6];
        let mut n_views = 0;
        // `args.len()` is the arity, at most six.
        for (index, (r, a)) in regs.iter_mut().zip(args).enumerate() {
            let bad = |why| {
                let index = index as u32;
                Err(CallError::BadArgument { index, why })
            };
            let slice = plan.slices & (1 << index) != 0;
            match *a {
                BoundArg::Int(_) if slice => return bad(Misfit::IntForSlice),
                BoundArg::Int(v) => {
                    if !plan.checks[index].accepts(v) {
                        return bad(Misfit::OutOfRange);
                    }
                    *r = v;
                }
                BoundArg::Slice(_) if !slice => return bad(Misfit::SliceForScalar),
                BoundArg::Slice(b) => {
                    let writable = plan.writable & (1 << index) != 0;
                    let Some(e) = self.bound_buf(b) else {
                        return bad(Misfit::NotBound);
                    };
                    if writable && !e.writable {
                        return bad(Misfit::BoundReadOnly);
                    }
                    *r = u64::from(b.slot);
                    views[n_views] = (b.slot as usize, writable);
                    n_views += 1;
                }
            }
        }
        for &(slot, writable) in &views[..n_views] {
            if let Some(e) = self.bound[slot].as_mut()
                && e.passed_writable != writable
            {
                e.passed_writable = writable;
                let len = e.buf.len() as u64;
                let ptr = e.buf.as_mut_slice().as_mut_ptr() as u64;
                self.ctx.set_slice(slot, ptr, len, writable);
            }
        }
        self.keep_slices(0);
        self.enter(plan.entry, args.len(), regs, fuel)
            .map_err(CallError::Trap)
    }
}

/// A buffer bound to one [`Instance`] by [`Instance::bind`]: a handle,
/// checked on every use (instance, slot and generation), never a pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bound {
    instance: u64,
    slot: u8,
    generation: u32,
}

/// An argument to [`Instance::call_bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundArg {
    /// A scalar in canonical form.
    Int(u64),
    Slice(Bound),
}

/// A bound buffer and how its slot currently presents it.
struct BoundBuf {
    buf: GuardedBuf,
    /// May be passed to `[]mut T`.
    writable: bool,
    /// The slot's current view (a writable buffer is passed to `[]T`
    /// read-only).
    passed_writable: bool,
    generation: u32,
}

#[cfg(test)]
mod tests {
    use super::Ctx;

    /// The slot's tables as the plugin reads them: (read lengths, write
    /// lengths) for access sizes 1, 2, 4, 8.
    fn tables(c: &Ctx, h: usize) -> ([u64; 4], [u64; 4]) {
        let mut t = ([0; 4], [0; 4]);
        for s in 0..4 {
            (t.0[s], t.1[s]) = (c.len_r[s][h], c.len_w[s][h]);
        }
        t
    }

    #[test]
    fn a_slot_handed_in_read_only_after_writable_loses_its_write_tables() {
        let mut c = Ctx::new(0, 0);
        c.set_slice(3, 0x1000, 17, true);
        assert_eq!(tables(&c, 3), ([17, 8, 4, 2], [17, 8, 4, 2]));
        assert_eq!(c.slice_writable[3], 1);
        // Read-only after writable: the skipped stores must not be skipped.
        c.set_slice(3, 0x2000, 9, false);
        assert_eq!(tables(&c, 3), ([9, 4, 2, 1], [0; 4]));
        assert_eq!(c.slice_writable[3], 0);
        // Read-only after read-only: nothing to clear, still nothing to write.
        c.set_slice(3, 0x3000, 64, false);
        assert_eq!(tables(&c, 3), ([64, 32, 16, 8], [0; 4]));
        assert_eq!((c.slice_ptr[3], c.slice_bytes[3]), (0x3000, 64));
        // The other slots are untouched throughout.
        for h in (0..8).filter(|&h| h != 3) {
            assert_eq!(tables(&c, h), ([0; 4], [0; 4]));
        }
    }
}
