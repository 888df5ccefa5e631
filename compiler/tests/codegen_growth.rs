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

/// Held by each test while it counts: the count is of the whole process.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (imports, _) = ImportSources::embedded().load();
    let failures = faster_than_linear(long_functions::shapes(), 1_000, |src| {
        bytes_to_compile(src, &imports)
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A function of `n` calls of a small leaf, all inlined at both sizes (the
/// `calls` shape is measured where the caller is too long for that): the
/// inliner split the block at each call in turn, moving its tail and
/// leaving the head with the tail's capacity, so a function of 800 calls
/// held 34 MB.
#[test]
fn inlining_allocates_linearly_with_the_calls() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (imports, _) = ImportSources::embedded().load();
    let calls: long_functions::Shape = ("calls, all inlined", |n| {
        long_functions::shapes()
            .into_iter()
            .find(|(name, _)| *name == "calls")
            .map(|(_, build)| build(n))
            .expect("the calls shape")
    });
    let failures = faster_than_linear([calls], 250, |src| bytes_to_compile(src, &imports));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shapes whose `bytes` at size 2n are more than 2.3 times those at
/// n, each described.
fn faster_than_linear(
    shapes: impl IntoIterator<Item = long_functions::Shape>,
    n: usize,
    bytes: impl Fn(&str) -> usize,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, build) in shapes {
        let (a, b) = (bytes(&build(n)), bytes(&build(2 * n)));
        let ratio = b as f64 / a as f64;
        if ratio > 2.3 {
            failures.push(format!(
                "{name}: {a} bytes at n = {n}, {b} at 2n ({ratio:.2}×)"
            ));
        }
    }
    failures
}

/// Bytes allocated by the database's build of `src` (what `kplc build`
/// does: the front end, then each function lowered on its own and the
/// parts assembled), the database dropped.
fn bytes_to_build(src: &str, imports: &std::sync::Arc<kpl_lang::imports::ImportTable>) -> usize {
    let before = counting::allocated();
    let db = kplc::db::Db::default();
    let file = db.file(src.to_string(), imports.clone());
    assert!(kplc::db::compiled(&db, file).is_some(), "{src}");
    let after = counting::allocated();
    drop(db);
    after - before
}

/// Many small functions, alone and beside as many constants or structs:
/// each function's lowering copied the declarations (every function's
/// definition, every constant, static and struct), quadratic in their
/// number (1 MiB of one-line exports took 17.7 s to build; of constants
/// and functions reading them, 6.8 s; of structs and functions building
/// them, 15.0 s).
#[test]
fn build_allocation_grows_linearly_with_the_number_of_items() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (imports, _) = ImportSources::embedded().load();
    let imports = std::sync::Arc::new(imports);
    let plugins: [long_functions::Shape; 3] = [
        ("functions", |n| {
            (0..n)
                .map(|i| format!("export fn f{i}(x: u32) -> u32 {{ return x + {i}; }}\n"))
                .collect()
        }),
        ("constants and functions", |n| {
            (0..n)
                .map(|i| {
                    format!("const C{i}: u32 = {i};\nexport fn f{i}() -> u32 {{ return C{i}; }}\n")
                })
                .collect()
        }),
        ("structs and functions", |n| {
            (0..n)
                .map(|i| {
                    format!(
                        "struct S{i} {{ a: u32 }}\nexport fn f{i}(x: u32) -> u32 {{ let s = S{i} {{ .a = x }}; return s.a; }}\n"
                    )
                })
                .collect()
        }),
    ];
    let failures = faster_than_linear(plugins, 2_000, |src| bytes_to_build(src, &imports));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Many functions the verifier refuses as first compiled, each compiled
/// again in its local form: mended one at a time, every one cost a layout
/// and a verification of the whole image, quadratic in their number (a
/// plugin of 320 such functions took 2.6 s to build). Past a few, the
/// pipeline moves all the rest at once. Both paths: the whole program's
/// and the database's.
#[test]
fn refused_functions_cost_linearly_in_their_number() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (imports, _) = ImportSources::embedded().load();
    let shape: long_functions::Shape = ("loop_proof_lost", long_functions::loop_proof_lost);
    let mut failures = faster_than_linear([shape], 40, |src| bytes_to_compile(src, &imports));
    let imports = std::sync::Arc::new(imports);
    failures.extend(faster_than_linear([shape], 40, |src| {
        bytes_to_build(src, &imports)
    }));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
