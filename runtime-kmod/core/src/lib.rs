//! KPL loader core: the `.kpo` object format v1, its validating parser, the
//! import linker and the image layout, shared by the user-space host runtime
//! and the Linux kernel module (issue #4 adds the verifier here).
//!
//! Built for ring 0 with `-Zbuild-std`, so: no `std`, no allocation (callers
//! pass buffers), no `unsafe`, no floats, and no panic path on any input —
//! every slice access is `get`, every size computation checked, enforced by
//! the lints below. Byte-level format: `book/src/reference/object-format.md`.
//!
//! Typical use by a runtime:
//!
//! ```text
//! let obj = Object::parse(bytes)?;                 // every offset checked
//! link(&obj, HOST_IMPORTS, &mut resolution)?;      // slot -> host function index
//! let l = obj.layout();                            // image_len, data_size, ...
//! write_code(&obj, code_part, ro_addr - code_addr)?; // R+X: code, RIP operands moved
//! write_ro(&obj, &slot_addresses, ro_part)?;        // R only: rodata | slots
//! write_data(&obj, data)?;                         // statics
//! // on a trap at site k: obj.trap_site(k), obj.location_of(site.code_offset)
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::cast_possible_truncation,
    clippy::float_arithmetic
)]

// Only for `verify::OwnedWorkspace`, which hosts use; the kernel module
// builds the core without it and sizes its own buffers.
#[cfg(feature = "alloc")]
extern crate alloc;

pub mod decode;
mod error;
pub mod format;
mod link;
mod object;
pub mod verify;

pub use error::{LinkError, LoadError, LoadErrorKind};
pub use format::{
    ImageLayout, ScalarType, SectionKind, TrapKind, ValType, image_layout, is_identifier, xxh64,
};
pub use link::{HostImport, link, write_code, write_data, write_image, write_ro};
pub use object::{Export, Function, Import, Object, Signature, SourceLoc, StaticVar, TrapSite};
