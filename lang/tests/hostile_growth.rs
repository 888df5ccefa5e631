//! Work that must grow linearly with the input, counted rather than timed:
//! the bytes the front end allocates for shapes of the hostile corpus at a
//! size `n` and at `2n`. A cost per use times the size of what is used (a
//! struct's definition copied for every literal of it, a message listing
//! every field at every literal that lacks them) shows up as bytes that
//! quadruple when the input doubles. (A scan that allocates nothing is
//! caught by the `hostile` benchmark, not here.)

use kpl_lang::imports::ImportTable;
use kpl_testgen::counting::{self, Counting};
use kpl_testgen::hostile;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated while analysing `src`.
fn bytes_for(src: &str, imports: &ImportTable) -> usize {
    let before = counting::allocated();
    let analysis = kpl_lang::analyze(src, imports);
    let after = counting::allocated();
    drop(analysis);
    after - before
}

#[test]
fn allocation_grows_linearly_with_the_input() {
    let imports = ImportTable::load(&[(
        "std-imports/kernel.kpli".into(),
        include_str!("../../std-imports/kernel.kpli").into(),
    )])
    .0;
    // The one test of this binary: no other thread allocates meanwhile.
    let mut failures = Vec::new();
    for (name, n) in [
        ("wide_struct", 1_000),
        ("long_struct_literal", 2_000),
        ("long_param_list", 2_000),
        ("nested_items", 1_000),
        ("long_name", 20_000),
        ("constant_table_reads", 4_000),
        ("big_repeat_constants", 50),
        ("call_cycle_back_edges", 1_000),
        ("call_graph_cycle", 1_000),
        ("call_graph_chain", 1_000),
    ] {
        let shape = hostile::shape(name).expect("a shape of the corpus");
        let (small, large) = ((shape.build)(n), (shape.build)(2 * n));
        let (a, b) = (bytes_for(&small, &imports), bytes_for(&large, &imports));
        let ratio = b as f64 / a as f64;
        if ratio > 2.3 {
            failures.push(format!(
                "{name}: {a} bytes at n = {n}, {b} at 2n ({ratio:.2}×)"
            ));
        }
    }
    // Nesting is bounded (E0508), but a cost per level times the depth is
    // still quadratic up to the bound: each level's type was a deep copy of
    // the one inside it.
    let nested = |depth: usize| {
        let lit = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        bytes_for(&format!("export fn f() {{ let _a = {lit}; }}\n"), &imports)
    };
    let (a, b) = (nested(60), nested(120));
    if b as f64 / a as f64 > 2.3 {
        failures.push(format!(
            "an array literal nested 60 deep: {a} bytes, 120 deep: {b}"
        ));
    }
    // A repeat is one element, however long: one 1 MiB constant was 210 MB.
    let one = bytes_for("const C: [u8; 1048576] = [0; 1048576];\n", &imports);
    if one > 1 << 20 {
        failures.push(format!("a 1 MiB repeat constant: {one} bytes"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
