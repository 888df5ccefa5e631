//! The user-space API of the kernel module (`/dev/kpl` ioctls), defined once
//! here. `uapi_header()` generates `runtime-kmod/kmod/uapi/kpl.h`, the header
//! the C layer compiles against; `compiler/tests/kernel_gen.rs` fails if the
//! committed header differs (bless with `KPL_BLESS=1`). The header asserts
//! each struct's size and each ioctl number, so a C compiler that lays a
//! struct out differently from `repr(C)` here fails to build the module.

use std::fmt::Write as _;

/// A field type the header can spell in C.
pub trait CType {
    fn c_decl(field: &str) -> String;
}

impl CType for u8 {
    fn c_decl(field: &str) -> String {
        format!("__u8 {field}")
    }
}

impl CType for u32 {
    fn c_decl(field: &str) -> String {
        format!("__u32 {field}")
    }
}

impl CType for i32 {
    fn c_decl(field: &str) -> String {
        format!("__s32 {field}")
    }
}

impl CType for u64 {
    fn c_decl(field: &str) -> String {
        format!("__u64 {field}")
    }
}

impl<T: CType, const N: usize> CType for [T; N] {
    fn c_decl(field: &str) -> String {
        T::c_decl(&format!("{field}[{N}]"))
    }
}

macro_rules! uapi_struct {
    ($(#[doc = $doc:literal])* $name:ident => $c:literal {
        $($(#[doc = $fdoc:literal])* $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty),*
        }

        impl CType for $name {
            fn c_decl(field: &str) -> String {
                format!("struct {} {field}", $c)
            }
        }

        impl $name {
            /// All zeros (every field is an integer or an array of them).
            pub fn zeroed() -> $name {
                // SAFETY: every field is an integer or an integer array, for
                // which all-zero bytes are a valid value.
                unsafe { std::mem::zeroed() }
            }

            fn c_definition() -> String {
                let mut s = String::new();
                $(let _ = writeln!(s, "/*{} */", $doc);)*
                let _ = writeln!(s, "struct {} {{", $c);
                $(
                    $(let _ = writeln!(s, "\t/*{} */", $fdoc);)*
                    let _ = writeln!(s, "\t{};", <$ty as CType>::c_decl(stringify!($field)));
                )*
                let _ = writeln!(s, "}};");
                let _ = writeln!(
                    s,
                    "_Static_assert(sizeof(struct {}) == {}, \"struct {} layout\");\n",
                    $c,
                    std::mem::size_of::<$name>(),
                    $c
                );
                s
            }
        }
    };
}

/// Longest plugin name, with its NUL.
pub const NAME_LEN: usize = 32;
/// Longest export name, with its NUL.
pub const ENTRY_LEN: usize = 64;
/// Slices one test run can hand over.
pub const MAX_BUFS: usize = 8;
/// Largest object LOAD accepts (the format's own limit).
pub const MAX_OBJECT: u64 = 16 << 20;
/// Largest total of slice bytes one test run can hand over.
pub const MAX_RUN_BYTES: u64 = 16 << 20;
/// Time budget of a test run when none is given, and of hook invocations.
pub const DEFAULT_BUDGET_NS: u64 = 1_000_000;
/// Largest time budget a test run may ask for (keeps far from the soft
/// lockup detector's 20 s).
pub const MAX_BUDGET_NS: u64 = 5_000_000_000;
/// The hook of the first attach ioctls (`KPL_IOC_ATTACH`, `KPL_IOC_DETACH`,
/// `KPL_IOC_HOOK_STATS`): NF_INET_LOCAL_IN of IPv4, priority 0 (filter), in
/// the caller's network namespace. The only value those ioctls take.
pub const HOOK_IPV4_LOCAL_IN: u32 = 1;
/// Address families of `kpl_hook_attach.family` (the IP version; the value
/// a filter's `family` parameter gets).
pub const FAMILY_IPV4: u32 = 4;
pub const FAMILY_IPV6: u32 = 6;
/// Netfilter hook points of `kpl_hook_attach.point` (NF_INET_* + 1; the
/// value a filter's `point` parameter gets).
pub const POINT_PRE_ROUTING: u32 = 1;
pub const POINT_LOCAL_IN: u32 = 2;
pub const POINT_FORWARD: u32 = 3;
pub const POINT_LOCAL_OUT: u32 = 4;
pub const POINT_POST_ROUTING: u32 = 5;
/// `kpl_hook_attach.flags`: fail with EEXIST instead of replacing the
/// plugin at an occupied attachment point.
pub const ATTACH_EXCLUSIVE: u32 = 1;
/// `kpl_hook_list.flags`: every network namespace's attachments (needs
/// CAP_SYS_ADMIN), not only the caller's.
pub const HOOKS_ALL_NETNS: u32 = 1;
/// `kpl_static.flags`: replace the element with `new_value` (atomically,
/// returning the old value in `value`).
pub const STATIC_WRITE: u32 = 1;
/// Attachments the module holds at most, over all namespaces.
pub const MAX_ATTACHMENTS: u32 = 256;
/// Bytes of the first version of `kpl_hook_attach` and `kpl_hook_entry`:
/// the smallest size the kernel accepts. Later versions only append fields;
/// the kernel reads a shorter struct as if the missing fields were zero and
/// refuses a longer one whose unknown bytes are not zero (E2BIG).
pub const HOOK_ATTACH_SIZE_VER0: u32 = 104;
pub const HOOK_ENTRY_SIZE_VER0: u32 = 144;

uapi_struct! {
    /// KPL_IOC_LOAD: verify, link and load an object.
    KplLoad => "kpl_load" {
        /// in: user address of the object bytes
        obj_ptr: u64,
        /// in: their length
        obj_len: u32,
        /// out: the new plugin's id
        id: u32,
        /// in: a name for LIST and the log (NUL-terminated)
        name: [u8; NAME_LEN],
        /// out on EINVAL/ENOEXEC: 1 parse, 2 verify, 3 link, 4 memory, 5 other
        err_stage: u32,
        /// out: code offset (verify) or byte offset (parse)
        err_offset: u32,
        /// out: the verifier rule broken (verify)
        err_rule: [u8; 16],
        /// out: what is wrong, in words (NUL-terminated)
        err_msg: [u8; 192],
    }
}

uapi_struct! {
    /// KPL_IOC_UNLOAD: unload a plugin (its code goes once no CPU runs it).
    KplId => "kpl_id" {
        id: u32,
        _pad: u32,
    }
}

uapi_struct! {
    /// One slice handed to a test run.
    KplBuf => "kpl_buf" {
        /// user address
        ptr: u64,
        /// bytes
        len: u64,
    }
}

uapi_struct! {
    /// KPL_IOC_RUN: test-run an export (like BPF_PROG_TEST_RUN). Scalar
    /// parameters take `args` by position; slice parameters take `bufs` in
    /// order, and writable ones are copied back.
    KplRun => "kpl_run" {
        id: u32,
        nbufs: u32,
        /// export name (NUL-terminated)
        entry: [u8; ENTRY_LEN],
        /// scalar arguments by parameter position
        args: [u64; 6],
        /// time budget in ns (0: the default)
        budget_ns: u64,
        bufs: [KplBuf; MAX_BUFS],
        /// out: the return value (0 for none)
        result: u64,
        /// out: wall time of the invocation
        duration_ns: u64,
        /// out: fuel given and fuel left
        fuel: u64,
        fuel_left: u64,
        /// out: 1 if the invocation trapped
        trapped: u32,
        /// out: trap kind (1 DivByZero, 2 Overflow, 3 Bounds, 4 Budget, 5 Abort)
        trap_kind: u32,
        /// out: source line and column of the trapping operation (0: unknown)
        trap_line: u32,
        trap_col: u32,
        trap_offset: u32,
        trap_site: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_LIST: the ids of loaded plugins.
    KplList => "kpl_list" {
        /// in: user address of a __u32 array
        ids_ptr: u64,
        /// in: its capacity
        cap: u32,
        /// out: plugins loaded (may exceed cap)
        count: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_INFO: one plugin's description and counters.
    KplInfo => "kpl_info" {
        id: u32,
        /// in: capacity of text
        text_cap: u32,
        /// in: user address for a text description (exports, imports)
        text_ptr: u64,
        name: [u8; NAME_LEN],
        code_size: u32,
        image_size: u32,
        data_size: u32,
        exports: u32,
        imports: u32,
        /// attachments running this plugin (0: none; 1 at most before
        /// KPL_IOC_HOOK_ATTACH)
        attached: u32,
        invocations: u64,
        traps: u64,
        total_ns: u64,
        /// out: bytes of text written (without NUL)
        text_len: u32,
        _pad: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_ATTACH: attach (or atomically replace) the plugin at
    /// KPL_HOOK_IPV4_LOCAL_IN. Kept as it was; KPL_IOC_HOOK_ATTACH does more.
    KplAttach => "kpl_attach" {
        /// which hook (KPL_HOOK_*)
        hook: u32,
        id: u32,
        /// export called per packet: fn(pkt: []u8) -> u32, 0 drop, else accept
        entry: [u8; ENTRY_LEN],
        /// per-invocation budget (0: the default 1 ms)
        budget_ns: u64,
        /// out: the plugin replaced, 0 if none
        old_id: u32,
        _pad: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_DETACH / KPL_IOC_HOOK_STATS: the KPL_HOOK_IPV4_LOCAL_IN
    /// attachment of the caller's namespace and its counters.
    KplHook => "kpl_hook" {
        hook: u32,
        /// out: attached plugin id, 0 if none
        id: u32,
        invocations: u64,
        accepted: u64,
        dropped: u64,
        traps: u64,
    }
}

uapi_struct! {
    /// KPL_IOC_HOOK_ATTACH: attach a plugin's filter at (family, point,
    /// priority) of the caller's network namespace; if a plugin is
    /// attached there, replace it atomically (or fail, with
    /// KPL_ATTACH_EXCLUSIVE). Sized: the ioctl number carries the struct's
    /// size, at least KPL_HOOK_ATTACH_SIZE_VER0.
    KplHookAttach => "kpl_hook_attach" {
        /// KPL_FAMILY_IPV4 or KPL_FAMILY_IPV6
        family: u32,
        /// KPL_POINT_*
        point: u32,
        /// netfilter priority (0: filter; INT_MIN and INT_MAX are reserved)
        priority: i32,
        /// the plugin
        id: u32,
        /// export called per packet: fn(pkt: []u8[, family, point]) -> u32,
        /// 0 drops, else accepts (NUL-terminated)
        entry: [u8; ENTRY_LEN],
        /// per-invocation budget (0: the default 1 ms)
        budget_ns: u64,
        /// KPL_ATTACH_*
        flags: u32,
        /// out: the attachment's id (kept when a plugin is replaced)
        att_id: u32,
        /// out: the plugin replaced, 0 if none
        old_id: u32,
        _pad: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_HOOK_DETACH: remove an attachment (any namespace's).
    KplHookRef => "kpl_hook_ref" {
        att_id: u32,
        _pad: u32,
    }
}

uapi_struct! {
    /// KPL_IOC_HOOK_LIST: attachments and their counters.
    KplHookList => "kpl_hook_list" {
        /// in: user address of `cap` entries, `entry_size` bytes apart
        ptr: u64,
        cap: u32,
        /// out: attachments there are (may exceed cap)
        count: u32,
        /// in: sizeof(struct kpl_hook_entry) as the caller knows it (at
        /// least KPL_HOOK_ENTRY_SIZE_VER0)
        entry_size: u32,
        /// in: KPL_HOOKS_*
        flags: u32,
    }
}

uapi_struct! {
    /// One attachment, as KPL_IOC_HOOK_LIST reports it.
    KplHookEntry => "kpl_hook_entry" {
        att_id: u32,
        /// the plugin attached
        id: u32,
        family: u32,
        point: u32,
        priority: i32,
        /// inode number of its network namespace (as of /proc/PID/ns/net)
        netns: u32,
        entry: [u8; ENTRY_LEN],
        budget_ns: u64,
        /// packets the filter ran on, of them accepted, dropped, trapped
        /// (a trap accepts)
        invocations: u64,
        accepted: u64,
        dropped: u64,
        traps: u64,
        /// packets accepted without running the filter (disabled plugin,
        /// packet unreadable)
        unfiltered: u64,
        /// times the plugin was replaced
        replaced: u64,
    }
}

uapi_struct! {
    /// KPL_IOC_STATIC: read (and with KPL_STATIC_WRITE, replace) one
    /// element of a loaded plugin's integer static, by the static's name,
    /// with one atomic access of the element's size. Reading needs no
    /// privilege beyond opening the device (like INFO); writing needs
    /// CAP_SYS_ADMIN.
    KplStatic => "kpl_static" {
        id: u32,
        /// in: KPL_STATIC_*
        flags: u32,
        /// in: the static's name, NUL-terminated
        name: [u8; ENTRY_LEN],
        /// in: element index (0 for a scalar static)
        index: u32,
        /// out: scalar type code of the element (0x01 u8 .. 0x08 i64, 0x09
        /// bool), as in the object's STATICS
        elem: u32,
        /// out: elements in the static (1 for a scalar)
        count: u32,
        /// out: bytes of one element
        size: u32,
        /// out: the element's value (before the write, with
        /// KPL_STATIC_WRITE), zero-extended
        value: u64,
        /// in, with KPL_STATIC_WRITE: the new value; bits above the
        /// element's size must be zero (EINVAL)
        new_value: u64,
    }
}

const IOC_MAGIC: u8 = b'k';

const fn ioc(dir: u32, nr: u8, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((IOC_MAGIC as u32) << 8) | nr as u32
}
const fn iow<T>(nr: u8) -> u32 {
    ioc(1, nr, std::mem::size_of::<T>())
}
const fn iowr<T>(nr: u8) -> u32 {
    ioc(3, nr, std::mem::size_of::<T>())
}

pub const IOC_LOAD: u32 = iowr::<KplLoad>(1);
pub const IOC_UNLOAD: u32 = iow::<KplId>(2);
pub const IOC_RUN: u32 = iowr::<KplRun>(3);
pub const IOC_LIST: u32 = iowr::<KplList>(4);
pub const IOC_INFO: u32 = iowr::<KplInfo>(5);
pub const IOC_ATTACH: u32 = iowr::<KplAttach>(6);
pub const IOC_DETACH: u32 = iow::<KplHook>(7);
pub const IOC_HOOK_STATS: u32 = iowr::<KplHook>(8);
pub const IOC_HOOK_ATTACH: u32 = iowr::<KplHookAttach>(9);
pub const IOC_HOOK_DETACH: u32 = iow::<KplHookRef>(10);
pub const IOC_HOOK_LIST: u32 = iowr::<KplHookList>(11);
pub const IOC_STATIC: u32 = iowr::<KplStatic>(12);

/// KPL_IOC_HOOK_ATTACH for a struct of `size` bytes (the kernel takes any
/// size from `HOOK_ATTACH_SIZE_VER0` on).
pub const fn hook_attach_ioc(size: usize) -> u32 {
    ioc(3, 9, size)
}

/// The text of `runtime-kmod/kmod/uapi/kpl.h`.
pub fn uapi_header() -> String {
    let mut s = String::from(
        "/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) WITH Linux-syscall-note */\n\
         /*\n \
         * KPL kernel module user API: /dev/kpl ioctls.\n \
         *\n \
         * GENERATED by kplc from compiler/src/kernel/uapi.rs -- do not edit.\n \
         * Regenerate: KPL_BLESS=1 cargo test -p kplc --test kernel_gen\n \
         */\n\
         #ifndef _UAPI_LINUX_KPL_H\n#define _UAPI_LINUX_KPL_H\n\n\
         #include <linux/ioctl.h>\n#include <linux/types.h>\n\n",
    );
    for (name, value) in [
        ("KPL_NAME_LEN", NAME_LEN as u64),
        ("KPL_ENTRY_LEN", ENTRY_LEN as u64),
        ("KPL_MAX_BUFS", MAX_BUFS as u64),
        ("KPL_MAX_OBJECT", MAX_OBJECT),
        ("KPL_MAX_RUN_BYTES", MAX_RUN_BYTES),
        ("KPL_DEFAULT_BUDGET_NS", DEFAULT_BUDGET_NS),
        ("KPL_MAX_BUDGET_NS", MAX_BUDGET_NS),
        ("KPL_HOOK_IPV4_LOCAL_IN", u64::from(HOOK_IPV4_LOCAL_IN)),
        ("KPL_FAMILY_IPV4", u64::from(FAMILY_IPV4)),
        ("KPL_FAMILY_IPV6", u64::from(FAMILY_IPV6)),
        ("KPL_POINT_PRE_ROUTING", u64::from(POINT_PRE_ROUTING)),
        ("KPL_POINT_LOCAL_IN", u64::from(POINT_LOCAL_IN)),
        ("KPL_POINT_FORWARD", u64::from(POINT_FORWARD)),
        ("KPL_POINT_LOCAL_OUT", u64::from(POINT_LOCAL_OUT)),
        ("KPL_POINT_POST_ROUTING", u64::from(POINT_POST_ROUTING)),
        ("KPL_ATTACH_EXCLUSIVE", u64::from(ATTACH_EXCLUSIVE)),
        ("KPL_HOOKS_ALL_NETNS", u64::from(HOOKS_ALL_NETNS)),
        ("KPL_MAX_ATTACHMENTS", u64::from(MAX_ATTACHMENTS)),
        (
            "KPL_HOOK_ATTACH_SIZE_VER0",
            u64::from(HOOK_ATTACH_SIZE_VER0),
        ),
        ("KPL_HOOK_ENTRY_SIZE_VER0", u64::from(HOOK_ENTRY_SIZE_VER0)),
        ("KPL_STATIC_WRITE", u64::from(STATIC_WRITE)),
    ] {
        let _ = writeln!(s, "#define {name} {value}ULL");
    }
    s.push('\n');
    for def in [
        KplLoad::c_definition(),
        KplId::c_definition(),
        KplBuf::c_definition(),
        KplRun::c_definition(),
        KplList::c_definition(),
        KplInfo::c_definition(),
        KplAttach::c_definition(),
        KplHook::c_definition(),
        KplHookAttach::c_definition(),
        KplHookRef::c_definition(),
        KplHookList::c_definition(),
        KplHookEntry::c_definition(),
        KplStatic::c_definition(),
    ] {
        s.push_str(&def);
    }
    let _ = writeln!(s, "#define KPL_IOC_MAGIC '{}'", IOC_MAGIC as char);
    for (name, dir, nr, st, value) in [
        ("KPL_IOC_LOAD", "_IOWR", 1, "kpl_load", IOC_LOAD),
        ("KPL_IOC_UNLOAD", "_IOW", 2, "kpl_id", IOC_UNLOAD),
        ("KPL_IOC_RUN", "_IOWR", 3, "kpl_run", IOC_RUN),
        ("KPL_IOC_LIST", "_IOWR", 4, "kpl_list", IOC_LIST),
        ("KPL_IOC_INFO", "_IOWR", 5, "kpl_info", IOC_INFO),
        ("KPL_IOC_ATTACH", "_IOWR", 6, "kpl_attach", IOC_ATTACH),
        ("KPL_IOC_DETACH", "_IOW", 7, "kpl_hook", IOC_DETACH),
        ("KPL_IOC_HOOK_STATS", "_IOWR", 8, "kpl_hook", IOC_HOOK_STATS),
        (
            "KPL_IOC_HOOK_ATTACH",
            "_IOWR",
            9,
            "kpl_hook_attach",
            IOC_HOOK_ATTACH,
        ),
        (
            "KPL_IOC_HOOK_DETACH",
            "_IOW",
            10,
            "kpl_hook_ref",
            IOC_HOOK_DETACH,
        ),
        (
            "KPL_IOC_HOOK_LIST",
            "_IOWR",
            11,
            "kpl_hook_list",
            IOC_HOOK_LIST,
        ),
        ("KPL_IOC_STATIC", "_IOWR", 12, "kpl_static", IOC_STATIC),
    ] {
        let _ = writeln!(
            s,
            "#define {name} {dir}(KPL_IOC_MAGIC, {nr}, struct {st})\n\
             _Static_assert({name} == {value:#x}U, \"{name}\");"
        );
    }
    s.push_str("\n#endif /* _UAPI_LINUX_KPL_H */\n");
    s
}

/// The text of `runtime-kmod/kmod/kpl_imports_gen.h`: the kernel's import
/// table, one entry per `std-imports` declaration, with the canonical
/// signature and its hash computed by the same code the compiler uses. The C
/// layer implements `kpl_imp_<name>` for each; a declaration without an
/// implementation fails to link the module.
pub fn imports_table_c(table: &kpl_lang::imports::ImportTable) -> String {
    let mut protos = String::new();
    let mut rows = String::new();
    for m in &table.modules {
        for f in &m.functions {
            let regs: usize = f
                .params
                .iter()
                .map(|(_, t)| if t.to_string() == "str" { 2 } else { 1 })
                .sum();
            let args: String = (1..=regs).map(|i| format!(", u64 a{i}")).collect();
            let sig = f.canonical_signature();
            let _ = writeln!(
                protos,
                "/* {sig} */\nu64 kpl_imp_{}(struct kpl_ctx *ctx{args});",
                f.name
            );
            let _ = writeln!(
                rows,
                "\t{{ \"{m}\", {ml}, \"{n}\", {nl}, {h:#018x}ULL, (const void *)kpl_imp_{n} }}, /* {sig} */",
                m = f.module,
                ml = f.module.len(),
                n = f.name,
                nl = f.name.len(),
                h = f.hash,
            );
        }
    }
    format!(
        "/* SPDX-License-Identifier: GPL-2.0 */\n\
         /*\n * The kernel's import table.\n *\n \
         * GENERATED by kplc from the std-imports/ declarations -- do not edit.\n \
         * Regenerate: KPL_BLESS=1 cargo test -p kplc --test kernel_gen\n */\n\
         {protos}\n\
         static const struct kpl_host_import kpl_host_imports[] = {{\n{rows}}};\n"
    )
}
