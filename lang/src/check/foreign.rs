//! Names from other languages' libraries and values (`printf`, `memcpy`,
//! `True`, `NULL`, `sizeof`) that a newcomer writes as if KPL had them: why
//! it has not, and what a plugin writes instead. The checker consults these
//! only for names that no item, local or import defines.

/// What `min`, `max` and `abs` are told (each with its own example).
const NO_GENERIC_BUILTINS: &str =
    "KPL has no generic built-in functions: `min`, `max` and `abs` are one `if` each";

/// A function of C's or Rust's standard library, or of the Linux kernel's,
/// called as if KPL had it: why it has not, and what a plugin writes
/// instead. (Names a plugin defines or imports never get here.)
pub(super) fn foreign_function(
    name: &str,
) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    Some(match name {
        "printf" | "printk" | "puts" | "println" | "print" | "eprintln" | "fprintf" | "pr_info"
        | "pr_err" | "pr_debug" | "pr_warn" => (
            "KPL has no formatted printing: the host logs fixed text, and one number beside it",
            "add `use kernel::{log, log_u64};` and write `log(\"text\");` or `log_u64(\"text\", value as u64);`",
            Some("log_u64"),
        ),
        "malloc" | "calloc" | "realloc" | "free" | "kmalloc" | "kzalloc" | "kfree" | "vmalloc"
        | "vfree" => (
            "KPL has no heap: every local, array and static has a size fixed at compile time",
            "use a local array (`var buf: [u8; 64] = [0; 64];`) or a `static`, or work in the slices the host passes",
            None,
        ),
        "memset" | "memcpy" | "memmove" | "bzero" => (
            "KPL has no raw memory functions: memory is only reached through slices and arrays, element by element",
            "write a `for` loop over the indexes (`for i in 0..dst.len { dst[i] = 0; }`)",
            None,
        ),
        "memcmp" | "strcmp" | "strncmp" => (
            "KPL has no raw memory functions: slices are compared element by element",
            "write a `for` loop that returns at the first difference",
            None,
        ),
        "strlen" | "len" => (
            "a slice or array knows its length: KPL has no `strlen` or `len()`",
            "write `s.len`",
            None,
        ),
        "min" => (
            NO_GENERIC_BUILTINS,
            "write a function for the type you need, e.g. `fn min_u32(a: u32, b: u32) -> u32 { if a < b { return a; } return b; }`",
            None,
        ),
        "max" => (
            NO_GENERIC_BUILTINS,
            "write a function for the type you need, e.g. `fn max_u32(a: u32, b: u32) -> u32 { if a > b { return a; } return b; }`",
            None,
        ),
        "abs" => (
            NO_GENERIC_BUILTINS,
            "write a function for the type you need, e.g. `fn abs_i32(a: i32) -> i32 { if a < 0 { return -a; } return a; }` (`-a` wraps: the most negative value stays negative)",
            None,
        ),
        "assert" | "assert_eq" | "panic" | "abort" | "exit" | "BUG_ON" | "WARN_ON"
        | "unreachable" => (
            "KPL has no assertions, panics or exits: a plugin reports a problem through its result",
            "test the condition and return an error code (`if !(ok) { return ERR_INPUT; }`)",
            None,
        ),
        "Some" => (
            "KPL has no `Option`: a value is always there, so nothing wraps it",
            "return the value itself, with a `bool` (or a value that cannot occur, such as 0) for whether there is one",
            None,
        ),
        "Ok" | "Err" => (
            "KPL has no `Result`: a function returns one plain value",
            "return the value for success and a reserved value (an error code) for failure",
            None,
        ),
        "rand" | "random" | "get_random_u32" | "prandom_u32" => (
            "KPL's random numbers come from the host",
            "add `use kernel::random_u32;` and call `random_u32()`",
            Some("random_u32"),
        ),
        "get_random_bytes" => (
            "KPL's random bytes come from the host",
            "add `use kernel::fill_random;` and call `fill_random(buf)` with a `[]mut u8`",
            Some("fill_random"),
        ),
        "time" | "clock_gettime" | "ktime_get_ns" | "ktime_get" | "jiffies" | "gettimeofday" => (
            "KPL's clock comes from the host",
            "add `use kernel::clock_ns;` and call `clock_ns()` (monotonic nanoseconds, a `u64`)",
            Some("clock_ns"),
        ),
        "smp_processor_id" | "get_cpu" | "raw_smp_processor_id" | "sched_getcpu" => (
            "the current CPU's number comes from the host",
            "add `use kernel::cpu_id;` and call `cpu_id()`",
            Some("cpu_id"),
        ),
        _ => return None,
    })
}

/// A value spelled as in another language (`True`, `NULL`, `sizeof`): what
/// KPL writes instead, if anything, and why.
pub(super) fn foreign_value(name: &str) -> Option<(Option<&'static str>, &'static str)> {
    Some(match name {
        "True" | "TRUE" => (
            Some("true"),
            "KPL's booleans are `true` and `false`, in lower case",
        ),
        "False" | "FALSE" => (
            Some("false"),
            "KPL's booleans are `true` and `false`, in lower case",
        ),
        "None" => (
            None,
            "KPL has no `Option` and no null: a value is always there; return a value that cannot occur (such as 0), or a `bool` beside the value",
        ),
        "NULL" | "null" | "nullptr" | "nil" | "undefined" => (
            None,
            "KPL has no null: a slice always refers to an array (an empty one has `.len == 0`), and a scalar always has a value",
        ),
        "sizeof" | "size_of" => (
            None,
            "KPL has no `sizeof`: a type's size is fixed (`u8` is 1 byte, `u32` 4, `u64` 8); write the number",
        ),
        _ => return None,
    })
}

/// Rust's conversion methods on an integer (`x.into()`, `x.try_into()`,
/// `u64::from(x)` is a path and not here), which KPL writes with `as`, and
/// the methods that mean nothing on one (`x.clone()`, `x.unwrap()`): the
/// E0108 `d` about the call ending at `call_end` on a value ending at
/// `base_end`, with the fix ` as T` when the type wanted is the integer `T`.
pub(super) fn conversion_method(
    d: &crate::diag::Diagnostic,
    name: &str,
    (base_end, call_end, no_args): (u32, u32, bool),
    expected: Option<&crate::types::Ty>,
) -> Option<crate::diag::Diagnostic> {
    // `x.min(y)`, `x.abs()`, `x.pow(2)`: another language's library
    // function, told as when it is called by name.
    if let Some((why, instead, _)) = foreign_function(&name.to_ascii_lowercase()) {
        return Some(d.clone().with_note(why).with_help(instead));
    }
    if !no_args {
        return None;
    }
    let span = crate::span::Span::new(base_end as usize, call_end as usize);
    let nothing = match name {
        "clone" | "to_owned" | "copy" => Some(
            "KPL copies an integer wherever it is assigned or passed: there is nothing to clone",
        ),
        "unwrap" => Some("KPL has no `Option` or `Result`: an integer is always there"),
        _ => None,
    };
    if let Some(why) = nothing {
        return Some(
            d.clone()
                .with_note(why)
                .with_fix(format!("remove `.{name}()`"), span, ""),
        );
    }
    if !matches!(
        name,
        "into" | "try_into" | "as_u8" | "as_u16" | "as_u32" | "as_u64" | "to_u32" | "to_u64"
    ) {
        return None;
    }
    let d = d
        .clone()
        .with_note("KPL converts between integer types with `as`");
    let span = crate::span::Span::new(base_end as usize, call_end as usize);
    Some(match expected.filter(|t| t.as_int().is_some()) {
        Some(t) => d.with_fix(format!("write `as {t}`"), span, format!(" as {t}")),
        None => d.with_help("write `value as TYPE`, e.g. `x as u64`"),
    })
}
