//! A fixed number of compiles of `grayscale.kpl`, source to object bytes,
//! exactly as the `compile/grayscale_source_to_object` benchmark of
//! `benches/runtime.rs` does, for counting instructions per compile with
//! callgrind (deterministic, unlike criterion on a shared machine):
//!
//! ```text
//! cargo build --release -p kplc --example compile_count
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*compile_count*compile_once*' \
//!     target/release/examples/compile_count N
//! callgrind_annotate --inclusive=yes callgrind.out.PID
//! ```
//!
//! The instructions per compile are the difference between two `N`s divided
//! by their difference (the first compile's one-time set-up cancels out).

use std::hint::black_box;

use kplc::std_imports::ImportSources;

#[inline(never)]
fn compile_once(src: &str, table: &kpl_lang::imports::ImportTable) -> usize {
    let a = kpl_lang::analyze(black_box(src), table);
    let c = kplc::codegen::compile(&a.file, &a.program);
    black_box(kplc::object::write(&c, "grayscale.kpl", src)).len()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let src = include_str!("../../examples/grayscale/grayscale.kpl");
    let (table, _) = ImportSources::embedded().load();
    let mut total = 0;
    for _ in 0..n {
        total += compile_once(src, &table);
    }
    println!("{n} compiles, {total} object bytes");
}
