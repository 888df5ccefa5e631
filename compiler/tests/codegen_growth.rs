//! Work of the back end that must grow linearly with the function it
//! compiles, counted rather than timed: the bytes allocated while compiling
//! long functions of a few shapes at a size `n` and at `2n`. A table per
//! block and per register (liveness as one bit set per block over every
//! register) shows up as bytes that quadruple when the input doubles; it
//! made a function of 8,000 `if`s take 430 MB. (A scan that allocates
//! nothing is caught by the `compile_growth` benchmark, not here.)

use kpl_testgen::counting::{self, Counting};
use kpl_testgen::long_functions;
use kplc::std_imports::ImportSources;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated while compiling `src` (checked first, outside the count).
fn bytes_to_compile(src: &str, imports: &kpl_lang::imports::ImportTable) -> usize {
    let a = kpl_lang::analyze(src, imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let before = counting::allocated();
    let compiled = kplc::codegen::compile(&a.file, &a.program);
    let after = counting::allocated();
    drop(compiled);
    after - before
}

#[test]
fn compile_allocation_grows_linearly_with_the_function() {
    let (imports, _) = ImportSources::embedded().load();
    // The one test of this binary: no other thread allocates meanwhile.
    let mut failures = Vec::new();
    for (name, build) in long_functions::shapes() {
        let n = 1_000;
        let (a, b) = (
            bytes_to_compile(&build(n), &imports),
            bytes_to_compile(&build(2 * n), &imports),
        );
        let ratio = b as f64 / a as f64;
        if ratio > 2.3 {
            failures.push(format!(
                "{name}: {a} bytes at n = {n}, {b} at 2n ({ratio:.2}×)"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
