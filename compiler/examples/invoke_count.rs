//! A fixed number of export invocations, shaped like the `invoke` group of
//! `benches/runtime.rs`, for counting instructions per call with callgrind
//! (deterministic, unlike criterion on a shared machine):
//!
//! ```text
//! cargo build --release -p kplc --example invoke_count
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*invoke_count*calls*' \
//!     target/release/examples/invoke_count WHICH N
//! ```
//!
//! `WHICH` is `empty`, `inc`, `slice`, `native_empty` or `native_inc`; the
//! instructions per call are the difference between two `N`s divided by
//! their difference (the loop's set-up cancels out).

use std::hint::black_box;

use kplc::std_imports::ImportSources;

const SRC: &str = r#"
export fn empty() {
}

export fn empty_slice(s: []u8) {
}

export fn inc(x: u32) -> u32 {
    return x + 1;
}
"#;

#[inline(never)]
fn native_empty() -> u64 {
    0
}

#[inline(never)]
fn native_inc(x: u32) -> u32 {
    x.wrapping_add(1)
}

/// The measured loops, one per benchmark, each kept out of line so that
/// callgrind's `--toggle-collect` sees only them.
#[inline(never)]
fn calls_empty(i: &mut kpl_host::Instance, e: kpl_host::Export, n: u64) {
    for _ in 0..n {
        let _ = black_box(i.call_scalars(e, &[], 1000));
    }
}

#[inline(never)]
fn calls_inc(i: &mut kpl_host::Instance, e: kpl_host::Export, n: u64) {
    for _ in 0..n {
        let _ = black_box(i.call_scalars(e, &[black_box(41)], 1000));
    }
}

#[inline(never)]
fn calls_slice(i: &mut kpl_host::Instance, e: kpl_host::Export, n: u64) {
    let packet = [0x45u8; 64];
    for _ in 0..n {
        let mut args = [kpl_host::Arg::Slice {
            bytes: black_box(&packet),
            elem_size: 1,
        }];
        let _ = black_box(i.call(e, &mut args, 1000));
    }
}

#[inline(never)]
fn calls_native(n: u64, inc: bool) {
    let f: fn() -> u64 = native_empty;
    let g: fn(u32) -> u32 = native_inc;
    for _ in 0..n {
        if inc {
            black_box(black_box(g)(black_box(41)));
        } else {
            black_box(black_box(f)());
        }
    }
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let which = argv.next().unwrap_or_default();
    let n: u64 = argv
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(SRC, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile_with(&a.file, &a.program, Default::default());
    let object = kplc::object::write(&c, "invoke_count", SRC);
    let mut inst = kpl_host::Instance::load(&object).expect("loads");
    let export = |name: &str| inst.export(name).expect("export");
    let (empty, inc, slice) = (export("empty"), export("inc"), export("empty_slice"));
    match which.as_str() {
        "empty" => calls_empty(&mut inst, empty, n),
        "inc" => calls_inc(&mut inst, inc, n),
        "slice" => calls_slice(&mut inst, slice, n),
        "native_empty" => calls_native(n, false),
        "native_inc" => calls_native(n, true),
        _ => {
            eprintln!("usage: invoke_count empty|inc|slice|native_empty|native_inc N");
            std::process::exit(2);
        }
    }
}
