//! The back end, final IR → x86-64 bytes. It never sees the syntax tree or
//! the checked program, and never optimises: its input is the IR the
//! pipeline hands it.
//!
//! ```text
//!  ir::Func ── regalloc::allocate ── Allocation (register or spill slot per value)
//!      │
//!      ▼
//!  emit::emit (with x86's encoders for what dynasm does not cover)
//!      │      frames, budget checks, bounds checks, trap stubs, unwinding
//!      ▼
//!  emit::Code: bytes, RIP-relative fixups, trap-site offsets, source map
//!      │
//!      ▼
//!  Code::patch(format::ImageLayout) ── final displacements
//! ```
//!
//! `disasm` turns code back into a listing with symbolic names.

pub mod disasm;
pub mod emit;
pub mod regalloc;
pub mod x86;
