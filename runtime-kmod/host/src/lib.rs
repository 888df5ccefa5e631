//! The user-space host runtime for KPL plugins: maps a plugin image W^X,
//! links its import slots to host implementations of `std-imports`, and
//! invokes exports through an entry trampoline that implements the runtime
//! ABI (`book/src/runtime/abi.md`): reserved registers, fuel budget, slices
//! handed over in the context block, and traps that unwind back here with the
//! trap site instead of faulting.
//!
//! This crate is the only place where plugin machine code is executed in
//! user space; every `unsafe` block says why it is sound.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod imports;

use std::fmt;

pub use imports::{HostImport, host_imports};

/// The context block shared with plugin code (layout fixed by the ABI).
#[repr(C, align(64))]
#[derive(Debug)]
pub struct Ctx {
    pub saved_rsp: u64,
    pub trap_site: u64,
    pub data_base: u64,
    /// Points at the invocation's [`HostState`].
    pub host: u64,
    pub slice_ptr: [u64; 8],
    pub slice_len: [u64; 8],
    pub slice_writable: [u8; 8],
    pub fuel_left: u64,
}

const _: () = {
    assert!(std::mem::offset_of!(Ctx, trap_site) == 0x08);
    assert!(std::mem::offset_of!(Ctx, slice_ptr) == 0x20);
    assert!(std::mem::offset_of!(Ctx, slice_len) == 0x60);
    assert!(std::mem::offset_of!(Ctx, slice_writable) == 0xA0);
    assert!(std::mem::offset_of!(Ctx, fuel_left) == 0xA8);
};

std::arch::global_asm!(
    ".globl kpl_host_enter",
    ".type kpl_host_enter,@function",
    "kpl_host_enter:",
    // rdi = ctx, rsi = data base, rdx = fuel, rcx = entry, r8 = &[u64; 6] args
    "push rbx",
    "push rbp",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov r15, rdi",
    "mov r14, rsi",
    "mov r13, rdx",
    "mov rax, rcx",
    "mov r11, r8",
    "mov rdi, [r11]",
    "mov rsi, [r11 + 8]",
    "mov rdx, [r11 + 16]",
    "mov rcx, [r11 + 24]",
    "mov r8, [r11 + 32]",
    "mov r9, [r11 + 40]",
    // A trap restores rsp to this slot and `ret`s to just after the call.
    "lea r10, [rsp - 8]",
    "mov [r15], r10",
    "call rax",
    "mov [r15 + 0xA8], r13",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
    ".size kpl_host_enter, . - kpl_host_enter",
);

unsafe extern "sysv64" {
    fn kpl_host_enter(
        ctx: *mut Ctx,
        data: *mut u8,
        fuel: u64,
        entry: *const u8,
        args: *const u64,
    ) -> u64;
}

/// Trap kinds, numbered as in the language reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    DivByZero = 1,
    Overflow = 2,
    Bounds = 3,
    Budget = 4,
    Abort = 5,
}

impl TrapKind {
    pub fn from_code(code: u8) -> Option<TrapKind> {
        Some(match code {
            1 => TrapKind::DivByZero,
            2 => TrapKind::Overflow,
            3 => TrapKind::Bounds,
            4 => TrapKind::Budget,
            5 => TrapKind::Abort,
            _ => return None,
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            TrapKind::DivByZero => "division by zero",
            TrapKind::Overflow => "signed division overflow (MIN / -1)",
            TrapKind::Bounds => "index out of bounds",
            TrapKind::Budget => "time budget exhausted",
            TrapKind::Abort => "abort",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::DivByZero => "DivByZero",
            TrapKind::Overflow => "Overflow",
            TrapKind::Bounds => "Bounds",
            TrapKind::Budget => "Budget",
            TrapKind::Abort => "Abort",
        })
    }
}

/// Everything the host needs to load one plugin image.
#[derive(Clone, Debug, Default)]
pub struct ImageSpec {
    /// Code, then read-only data, then the import slots (zeroed).
    pub image: Vec<u8>,
    pub rodata_offset: u32,
    pub rodata_len: u32,
    pub slots_offset: u32,
    /// `(module, name, signature hash)` per import slot.
    pub imports: Vec<(String, String, u64)>,
    pub data_init: Vec<u8>,
    pub data_size: u32,
    /// Per trap site: kind code and code offset.
    pub sites: Vec<(u8, u32)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoadError {
    UnknownImport { module: String, name: String },
    SignatureMismatch { module: String, name: String },
    Os(String),
    BadLayout(&'static str),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::UnknownImport { module, name } => {
                write!(f, "the host does not provide import `{module}::{name}`")
            }
            LoadError::SignatureMismatch { module, name } => write!(
                f,
                "import `{module}::{name}` has a different signature in this host (signature hash mismatch)"
            ),
            LoadError::Os(e) => write!(f, "cannot map the plugin: {e}"),
            LoadError::BadLayout(what) => write!(f, "malformed image: {what}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Executable memory holding one image: writable while it is filled, then
/// read+execute only. Never writable and executable at once.
struct CodeMap {
    ptr: *mut u8,
    len: usize,
}

impl CodeMap {
    fn new(bytes: &[u8], patch: impl FnOnce(&mut [u8])) -> Result<CodeMap, LoadError> {
        let page = 4096;
        let len = bytes.len().max(1).div_ceil(page) * page;
        // SAFETY: an anonymous private mapping with no address hint; the result
        // is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(LoadError::Os(std::io::Error::last_os_error().to_string()));
        }
        let ptr = ptr.cast::<u8>();
        // SAFETY: the mapping is `len >= bytes.len()` bytes, readable and
        // writable, and exclusively ours until `CodeMap` is dropped.
        let slice = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        slice[..bytes.len()].copy_from_slice(bytes);
        slice[bytes.len()..].fill(0xcc);
        patch(slice);
        // SAFETY: changes the protection of the mapping we own to R+X.
        let rc = unsafe { libc::mprotect(ptr.cast(), len, libc::PROT_READ | libc::PROT_EXEC) };
        let map = CodeMap { ptr, len };
        if rc != 0 {
            return Err(LoadError::Os(std::io::Error::last_os_error().to_string()));
        }
        Ok(map)
    }
}

impl Drop for CodeMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`; no references
        // into it outlive `self` (instances own their CodeMap).
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
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

/// A loaded plugin: its code mapped R+X, its own data region, its imports
/// linked. Statics persist across invocations.
pub struct Instance {
    code: CodeMap,
    data: Vec<u64>,
    sites: Vec<(u8, u32)>,
    ctx: Box<Ctx>,
    pub host: Box<HostState>,
    image_len: usize,
}

/// Fuel given to one invocation when none is specified: about a second of
/// tight loop iterations on current hardware.
pub const DEFAULT_FUEL: u64 = 1 << 30;

impl Instance {
    pub fn load(spec: &ImageSpec) -> Result<Instance, LoadError> {
        let table = host_imports();
        let mut slot_values = Vec::with_capacity(spec.imports.len());
        for (module, name, hash) in &spec.imports {
            let Some(h) = table.iter().find(|h| h.module == module && h.name == name) else {
                return Err(LoadError::UnknownImport {
                    module: module.clone(),
                    name: name.clone(),
                });
            };
            if h.hash != *hash {
                return Err(LoadError::SignatureMismatch {
                    module: module.clone(),
                    name: name.clone(),
                });
            }
            slot_values.push(h.func as usize as u64);
        }
        let slots_end = spec.slots_offset as usize + 8 * slot_values.len();
        let rodata_end = spec.rodata_offset as usize + spec.rodata_len as usize;
        if slots_end > spec.image.len() || rodata_end > spec.image.len() {
            return Err(LoadError::BadLayout("sections outside the image"));
        }
        let slots_at = spec.slots_offset as usize;
        let code = CodeMap::new(&spec.image, |img| {
            for (i, v) in slot_values.iter().enumerate() {
                img[slots_at + 8 * i..slots_at + 8 * i + 8].copy_from_slice(&v.to_le_bytes());
            }
        })?;
        let mut data = vec![0u64; (spec.data_size as usize).div_ceil(8).max(1)];
        // SAFETY: viewing the u64 buffer as bytes; it is at least data_size bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(data.as_mut_ptr().cast::<u8>(), data.len() * 8)
        };
        let n = spec.data_init.len().min(bytes.len());
        bytes[..n].copy_from_slice(&spec.data_init[..n]);
        // SAFETY: rodata lies inside the mapping (checked above).
        let rodata = unsafe { code.ptr.add(spec.rodata_offset as usize) };
        let host = Box::new(HostState {
            rodata,
            rodata_len: spec.rodata_len as usize,
            rng: 0x9E37_79B9_7F4A_7C15,
            log_budget: 1000,
            log: Vec::new(),
            quiet: false,
        });
        Ok(Instance {
            image_len: spec.image.len(),
            code,
            data,
            sites: spec.sites.clone(),
            ctx: Box::new(Ctx {
                saved_rsp: 0,
                trap_site: u64::MAX,
                data_base: 0,
                host: 0,
                slice_ptr: [0; 8],
                slice_len: [0; 8],
                slice_writable: [0; 8],
                fuel_left: 0,
            }),
            host,
        })
    }

    /// Invokes the function at `entry` (a code offset of an export).
    pub fn call(&mut self, entry: u32, args: &mut [Arg<'_>], fuel: u64) -> Result<u64, Trap> {
        assert!((entry as usize) < self.image_len, "entry outside the image");
        let mut regs = [0u64; 6];
        let mut handle = 0usize;
        self.ctx.slice_ptr = [0; 8];
        self.ctx.slice_len = [0; 8];
        self.ctx.slice_writable = [0; 8];
        for (k, a) in args.iter_mut().enumerate().take(6) {
            regs[k] = match a {
                Arg::Int(v) => *v,
                Arg::Slice { bytes, elem_size } => {
                    self.ctx.slice_ptr[handle] = bytes.as_ptr() as u64;
                    self.ctx.slice_len[handle] = (bytes.len() / *elem_size) as u64;
                    handle += 1;
                    (handle - 1) as u64
                }
                Arg::SliceMut { bytes, elem_size } => {
                    self.ctx.slice_ptr[handle] = bytes.as_mut_ptr() as u64;
                    self.ctx.slice_len[handle] = (bytes.len() / *elem_size) as u64;
                    self.ctx.slice_writable[handle] = 1;
                    handle += 1;
                    (handle - 1) as u64
                }
            };
        }
        self.ctx.trap_site = u64::MAX;
        self.ctx.data_base = self.data.as_mut_ptr() as u64;
        self.ctx.host = (&mut *self.host as *mut HostState) as u64;
        // SAFETY: the image was produced for this ABI and is mapped R+X;
        // `entry` is inside it (asserted). The context block, data region and
        // slices stay alive and unaliased for the duration of the call; the
        // trampoline saves and restores every callee-saved register, and a
        // trap returns through it.
        let result = unsafe {
            kpl_host_enter(
                &mut *self.ctx,
                self.data.as_mut_ptr().cast(),
                fuel.max(1),
                self.code.ptr.add(entry as usize),
                regs.as_ptr(),
            )
        };
        if self.ctx.trap_site == u64::MAX {
            return Ok(result);
        }
        let site = self.ctx.trap_site as u32;
        let (kind, code_offset) = self.sites.get(site as usize).copied().unwrap_or((0, 0));
        Err(Trap {
            kind: TrapKind::from_code(kind).unwrap_or(TrapKind::Abort),
            site,
            code_offset,
        })
    }

    /// The plugin's writable data (statics), for tests and inspection.
    pub fn data(&self) -> &[u64] {
        &self.data
    }
}
