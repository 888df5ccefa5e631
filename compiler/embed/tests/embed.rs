//! The embedding API end to end: typed calls, signature checks, the
//! embedder's own host functions, link errors, traps with locations, fuel,
//! bound buffers, and the book's example program.

use std::cell::RefCell;
use std::rc::Rc;

use kpl::{Config, Engine, Error, Linker, Module, Slice, SliceMut, TrapKind};

#[allow(dead_code)]
#[path = "../examples/embedding.rs"]
mod example;

const HOST: &str = "
/// Mixes two values the host's way.
extern fn mix(a: u32, b: u64) -> u32;
/// Logs a tagged value into the host's list.
extern fn note(tag: str, value: i32);
/// Sums a slice of bytes.
extern fn sum(xs: []u8) -> u64;
";

const PLUGIN: &str = "
use host::{mix, note, sum};

static calls: u64 = 0;

export fn add(a: u32, b: u32) -> u32 {
    return a + b;
}

export fn mixed(a: u32, b: u64) -> u32 {
    note(\"mixing\", -7);
    return mix(a, b) + 1;
}

export fn total(xs: []u8) -> u64 {
    return sum(xs);
}

export fn at(xs: []u8, i: u32) -> u8 {
    return xs[i];
}

export fn spin(n: u64) -> u64 {
    var k: u64 = 0;
    while k < n {
        k += 1;
    }
    return k;
}

export fn invert(src: []u8, dst: []mut u8) -> u64 {
    calls += 1;
    for i in 0..dst.len {
        dst[i] = 255 - src[i];
    }
    return calls;
}
";

fn engine() -> Engine {
    Engine::new(Config::new().fuel(10_000_000).imports("host.kpli", HOST)).expect("engine")
}

fn linker(engine: &Engine, notes: Rc<RefCell<Vec<String>>>) -> Linker {
    let mut l = Linker::new(engine);
    l.func_wrap("host", "mix", |a: u32, b: u64| {
        a.wrapping_mul(10) + b as u32
    })
    .unwrap()
    .func("host", "note", move |caller, regs| {
        let tag = String::from_utf8_lossy(caller.str_bytes(regs[0], regs[1]).unwrap());
        notes.borrow_mut().push(format!("{tag}={}", regs[2] as i64));
        0
    })
    .unwrap()
    .func("host", "sum", |caller, regs| {
        caller
            .slice(regs[0])
            .map_or(u64::MAX, |b| b.iter().map(|&x| u64::from(x)).sum())
    })
    .unwrap();
    l
}

fn instance() -> (kpl::Instance, Rc<RefCell<Vec<String>>>) {
    let engine = engine();
    let module = Module::new(&engine, "plugin.kpl", PLUGIN).expect("compiles");
    let notes = Rc::new(RefCell::new(Vec::new()));
    let i = linker(&engine, notes.clone())
        .instantiate(&module)
        .expect("links");
    (i, notes)
}

#[test]
fn typed_call_returns_the_result() {
    let (mut i, _) = instance();
    let add = i.get_typed_func::<(u32, u32), u32>("add").unwrap();
    assert_eq!(add.call(&mut i, (2, 40)).unwrap(), 42);
    assert_eq!(add.call(&mut i, (u32::MAX, 1)).unwrap(), 0, "u32 + wraps");
}

#[test]
fn signature_mismatch_fails_cleanly() {
    let (i, _) = instance();
    let e = i
        .get_typed_func::<(u32, u64), u32>("add")
        .err()
        .expect("mismatch");
    assert!(matches!(e, Error::Signature(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "signature mismatch: export `add` is `fn(u32, u32) -> u32`, asked for as `fn(u32, u64) -> u32`"
    );
    assert!(matches!(
        i.get_typed_func::<(u32, u32), ()>("add"),
        Err(Error::Signature(_))
    ));
    assert!(matches!(
        i.get_typed_func::<(SliceMut<u8>,), u64>("total"),
        Err(Error::Signature(_))
    ));
    assert!(matches!(
        i.get_typed_func::<(), ()>("nope"),
        Err(Error::NoExport(_))
    ));
    // A typed host function must match its declaration too.
    let engine = engine();
    let mut l = Linker::new(&engine);
    let e = l
        .func_wrap("host", "mix", |a: u32| a)
        .err()
        .expect("mismatch");
    assert!(
        e.to_string()
            .contains("declared `fn mix(a: u32, b: u64) -> u32`"),
        "{e}"
    );
    let e = l
        .func_wrap("host", "nothing", || 0u32)
        .err()
        .expect("undeclared");
    assert!(matches!(e, Error::Link(_)), "{e:?}");
}

#[test]
fn plugin_calls_the_embedders_host_functions_with_arguments() {
    let (mut i, notes) = instance();
    let mixed = i.get_typed_func::<(u32, u64), u32>("mixed").unwrap();
    // mix(4, 2) = 4 * 10 + 2 = 42; the plugin adds 1.
    assert_eq!(mixed.call(&mut i, (4, 2)).unwrap(), 43);
    assert_eq!(*notes.borrow(), ["mixing=-7"]);
    let total = i.get_typed_func::<(Slice<u8>,), u64>("total").unwrap();
    let xs = i.bind_slice(&[1u8, 2, 3, 250]).unwrap();
    assert_eq!(total.call(&mut i, (xs,)).unwrap(), 256);
}

#[test]
fn missing_import_is_a_link_error_naming_it() {
    let engine = engine();
    let module = Module::new(&engine, "plugin.kpl", PLUGIN).unwrap();
    let mut l = Linker::new(&engine);
    l.func_wrap("host", "mix", |a: u32, b: u64| a + b as u32)
        .unwrap();
    let e = l.instantiate(&module).err().expect("missing imports");
    assert!(matches!(e, Error::Link(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("`host::note` is not provided by the host"),
        "{e}"
    );
}

#[test]
fn compile_errors_carry_file_line_col() {
    let engine = engine();
    let e = Module::new(
        &engine,
        "bad.kpl",
        "export fn f() -> u32 {\n    return true;\n}\n",
    )
    .err()
    .expect("error");
    let Error::Compile(c) = &e else {
        panic!("{e:?}")
    };
    let d = &c.diagnostics[0];
    assert_eq!(d.location.to_string(), "bad.kpl:2:12");
    assert!(d.is_error);
    assert!(e.to_string().contains("--> bad.kpl:2:12"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn trap_has_kind_and_source_location() {
    let (mut i, _) = instance();
    let at = i.get_typed_func::<(Slice<u8>, u32), u8>("at").unwrap();
    let xs = i.bind_slice(&[7u8, 8, 9]).unwrap();
    assert_eq!(at.call(&mut i, (xs, 2)).unwrap(), 9);
    let e = at.call(&mut i, (xs, 3)).unwrap_err();
    let Error::Trap(t) = &e else { panic!("{e:?}") };
    assert_eq!(t.kind, TrapKind::Bounds);
    assert_eq!(t.location.as_ref().unwrap().to_string(), "plugin.kpl:20:12");
    assert_eq!(
        e.to_string(),
        format!(
            "trap Bounds: {} at plugin.kpl:20:12",
            TrapKind::Bounds.describe()
        )
    );
    // The instance stays usable.
    assert_eq!(at.call(&mut i, (xs, 0)).unwrap(), 7);
}

#[test]
fn fuel_is_used_up_read_back_and_refilled() {
    let (mut i, _) = instance();
    let spin = i.get_typed_func::<(u64,), u64>("spin").unwrap();
    i.set_fuel(1_000);
    assert_eq!(spin.call(&mut i, (10,)).unwrap(), 10);
    let left = i.fuel();
    assert!((1_000 - 20..1_000).contains(&left), "fuel left {left}");
    let e = spin.call(&mut i, (1_000_000,)).unwrap_err();
    assert!(
        matches!(&e, Error::Trap(t) if t.kind == TrapKind::Budget),
        "{e:?}"
    );
    assert_eq!(i.fuel(), 0);
    // Out of fuel: refused without running.
    assert!(matches!(spin.call(&mut i, (1,)), Err(Error::Trap(t)) if t.kind == TrapKind::Budget));
    i.set_fuel(5_000_000);
    assert_eq!(spin.call(&mut i, (1_000_000,)).unwrap(), 1_000_000);
    assert!(i.fuel() < 4_000_001);
}

#[test]
fn bound_buffers_are_reused_across_calls() {
    let (mut i, _) = instance();
    let invert = i
        .get_typed_func::<(Slice<u8>, SliceMut<u8>), u64>("invert")
        .unwrap();
    let src = i.bind_slice(&[0u8, 1, 2, 3]).unwrap();
    let dst = i.bind_slice_mut::<u8>(4).unwrap();
    for round in 1..=3u8 {
        i.bytes_mut(&src).unwrap()[0] = round;
        assert_eq!(invert.call(&mut i, (src, dst)).unwrap(), u64::from(round));
        assert_eq!(i.bytes(&dst).unwrap(), [255 - round, 254, 253, 252]);
    }
    // A writable buffer may be handed to a `[]T` parameter (read-only there).
    let total = i.get_typed_func::<(Slice<u8>,), u64>("total");
    assert!(total.is_ok());
    // Unbound: later calls refuse the handle instead of reaching freed memory.
    i.unbind(dst).unwrap();
    let e = invert.call(&mut i, (src, dst)).unwrap_err();
    assert!(matches!(e, Error::Argument(_)), "{e:?}");
    assert!(i.bytes(&dst).is_err());
    // A handle from another instance is refused too.
    let (mut other, _) = instance();
    let e = invert.call(&mut other, (src, dst)).unwrap_err();
    assert!(matches!(e, Error::Argument(_)), "{e:?}");
}

#[test]
fn a_slice_of_four_gib_is_refused_before_anything_is_allocated() {
    let (mut i, _) = instance();
    for len in [1usize << 32, usize::MAX / 2] {
        match i.bind_slice_mut::<u8>(len) {
            Err(Error::Argument(why)) => assert!(why.contains("4 GiB"), "{why}"),
            Err(other) => panic!("{len}: {other}"),
            Ok(_) => panic!("{len}: bound"),
        }
    }
    // One element less than 4 GiB of `u16` is refused too (its bytes are
    // what counts); a small buffer still binds in the slot left free.
    assert!(matches!(
        i.bind_slice_mut::<u16>(1 << 31),
        Err(Error::Argument(_))
    ));
    assert!(i.bind_slice_mut::<u8>(4).is_ok());
}

#[test]
fn objects_are_verified_and_round_trip() {
    let engine = engine();
    let module = Module::new(&engine, "plugin.kpl", PLUGIN).unwrap();
    let again = Module::from_object(&engine, module.object()).unwrap();
    assert_eq!(again.exports().len(), module.exports().len());
    let mut tampered = module.object().to_vec();
    let n = tampered.len();
    tampered[n / 2] ^= 0xff;
    assert!(Module::from_object(&engine, &tampered).is_err());
    assert!(matches!(
        Module::from_object(&engine, b"garbage"),
        Err(Error::Object(_))
    ));
}

#[test]
fn the_books_example_runs() {
    let lines = example::run().expect("the example runs");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("frame 1: [40, 140, 240, 255], fuel left "),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("frame 2: [41, 140, 240, 255], fuel left "),
        "{lines:?}"
    );
    assert_eq!(lines[2], "host saw 2 frames");
}

#[test]
fn the_book_includes_the_example_verbatim() {
    let book = include_str!("../../../book/src/embedding.md");
    assert!(
        book.contains("{{#include ../../compiler/embed/examples/embedding.rs}}"),
        "the chapter must include the example file"
    );
}

/// Statics read by name with their type: scalars, array elements, signed
/// values; the wrong type, an unknown name, a struct and an index past the
/// end are errors.
#[test]
fn statics_read_by_name() {
    let engine = engine();
    let src = "
struct Pair { a: u32, b: u32 }
static hits: u64 = 0;
static level: i16 = -5;
static per_port: [u32; 4] = [0; 4];
static pair: Pair = Pair { .a = 1, .b = 2 };
static flag: bool = false;

export fn bump(port: u32) -> u64 {
    atomic_add(per_port[port % 4], 2);
    flag = true;
    pair.a += 1;
    return atomic_add(hits, 1) + 1;
}
";
    let module = Module::new(&engine, "statics.kpl", src).expect("compiles");
    let mut i = Linker::new(&engine).instantiate(&module).expect("links");
    assert_eq!(i.get_static::<u64>("hits", 0).unwrap(), 0);
    assert_eq!(i.get_static::<i16>("level", 0).unwrap(), -5);
    let bump = i.get_typed_func::<(u32,), u64>("bump").unwrap();
    for port in [1, 2, 6] {
        bump.call(&mut i, (port,)).unwrap();
    }
    assert_eq!(i.get_static::<u64>("hits", 0).unwrap(), 3);
    assert_eq!(i.get_static::<u32>("per_port", 2).unwrap(), 4);
    assert_eq!(i.get_static::<u32>("per_port", 1).unwrap(), 2);
    assert!(i.get_static::<bool>("flag", 0).unwrap());
    let e = i.get_static::<u32>("hits", 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "signature mismatch: static `hits` holds `u64`, asked for as `u32`"
    );
    assert!(matches!(
        i.get_static::<u32>("nope", 0),
        Err(Error::NoStatic(_))
    ));
    assert!(matches!(
        i.get_static::<u32>("pair", 0),
        Err(Error::NoStatic(_))
    ));
    assert!(matches!(
        i.get_static::<u32>("per_port", 4),
        Err(Error::NoStatic(_))
    ));
}

/// A host function that panics: the plugin runs on with 0, the panic
/// resumes in the embedder when the call returns (the call's one outcome
/// check sees it through `trap_site`), and the next call runs normally.
#[test]
fn host_function_panic_resumes_in_the_embedder() {
    let engine = engine();
    let module = Module::new(&engine, "plugin.kpl", PLUGIN).expect("compiles");
    let mut l = Linker::new(&engine);
    let fail = Rc::new(RefCell::new(true));
    let fail_in = fail.clone();
    l.func_wrap("host", "mix", move |a: u32, b: u64| {
        if *fail_in.borrow() {
            panic!("mix failed");
        }
        a.wrapping_mul(10) + b as u32
    })
    .unwrap()
    .func("host", "note", |_, _| 0)
    .unwrap()
    .func("host", "sum", |_, _| 0)
    .unwrap();
    let mut i = l.instantiate(&module).expect("links");
    let mixed = i.get_typed_func::<(u32, u64), u32>("mixed").unwrap();
    let add = i.get_typed_func::<(u32, u32), u32>("add").unwrap();
    let payload =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mixed.call(&mut i, (1, 2))))
            .expect_err("the panic comes back");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"mix failed"));
    assert_eq!(add.call(&mut i, (2, 40)).unwrap(), 42);
    *fail.borrow_mut() = false;
    assert_eq!(mixed.call(&mut i, (1, 2)).unwrap(), 13);
}
