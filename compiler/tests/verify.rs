//! No false rejections: every object kplc produces — every program of the
//! execution suite, every example and a sample of differential-test
//! programs — passes the verifier.

use kpl_runtime_core::Object;
use kplc::std_imports::ImportSources;

fn verify_bytes(bytes: &[u8]) -> Result<u64, String> {
    let obj = Object::parse(bytes).map_err(|e| e.to_string())?;
    kpl_host::verify_object(&obj)
        .map(|v| v.max_stack)
        .map_err(|e| e.to_string())
}

fn compile(name: &str, src: &str, imports: &kpl_lang::imports::ImportTable) -> Vec<u8> {
    let a = kpl_lang::analyze(src, imports);
    assert!(!a.has_errors(), "{name}: {:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    kplc::object::write(&c, name, src)
}

#[test]
fn everything_kplc_emits_verifies() {
    let (imports, _) = ImportSources::embedded().load();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in [
        "tests/exec",
        "../examples/grayscale",
        "../examples/packet_filter",
        "../examples/checksum",
        "../examples/histogram",
        "../examples/rate_limiter",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "kpl") {
                sources.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    // Seeds past the first 500 that were once rejected: functions with
    // more live stack slots than the verifier tracks (12), where a full
    // table forgot a spilled loop counter's slot and with it the bound on
    // the counter, which then indexed a table.
    for seed in (0..500).chain([541, 1137, 1272, 2189, 3145, 3762]) {
        sources.push((
            format!("difftest seed {seed}"),
            kplc::difftest::generate(seed).kpl,
        ));
    }
    let mut failures = Vec::new();
    for (name, src) in &sources {
        if let Err(e) = verify_bytes(&compile(name, src, &imports)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} objects rejected:\n{}",
        failures.len(),
        sources.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Loops nested as deep as the language allows (each `for` is two of the
/// 128 nesting levels) still verify: the dataflow takes about one pass per
/// level, and the verifier only widens — losing the facts that justify the
/// innermost slice access — past the nesting kplc can produce.
#[test]
fn deeply_nested_loops_verify() {
    let (imports, _) = ImportSources::embedded().load();
    let depth = 60;
    let mut src = String::from("export fn f(s: []u8) -> u64 {\n    var t: u64 = 0;\n");
    for k in 0..depth {
        src += &format!("for i{k} in 0..2 {{\n");
    }
    src += "for j in 0..s.len { t = t + s[j] as u64; }\n";
    src += &"}\n".repeat(depth);
    src += "    return t;\n}\n";
    let bytes = compile("nested", &src, &imports);
    assert_eq!(verify_bytes(&bytes).map(|_| ()), Ok(()));
}

/// A function whose locals all live in stack slots across a loop that
/// indexes a constant table with its counter: with more live slots than the
/// verifier tracks, the counter's slot (and its bound) must be the one it
/// keeps.
#[test]
fn many_live_stack_slots_keep_a_loop_counter_bounded() {
    let (imports, _) = ImportSources::embedded().load();
    let locals = 26;
    let mut src = String::from("const T: [u32; 4] = [1, 2, 3, 4];\nexport fn f(x: u32) -> u32 {\n");
    for k in 0..locals {
        src += &format!("    var a{k}: u32 = x + {k};\n");
    }
    src += "    var t: u32 = 0;\n    for i in 0..4 {\n";
    for k in 0..locals {
        src += &format!("        a{k} = a{k} * 3 + T[i];\n");
    }
    src += "        t += T[i];\n    }\n    return t";
    for k in 0..locals {
        src += &format!(" + a{k}");
    }
    src += ";\n}\n";
    let bytes = compile("slots", &src, &imports);
    assert_eq!(verify_bytes(&bytes).map(|_| ()), Ok(()));
}

/// Accesses at constant offsets from one index share one check
/// (`opt::bounds`): with more live values than registers, the index, the
/// length and the base are spilled and reloaded around the check, and the
/// verifier must still see `t = e + k` and `t < len` (the index's upper
/// bits are known zero through its spill slot).
#[test]
fn one_check_for_constant_offsets_verifies_under_register_pressure() {
    let (imports, _) = ImportSources::embedded().load();
    let locals = 14;
    let mut src = String::from("export fn f(s: []u8, n: u32, x: u32) -> u32 {\n");
    for k in 0..locals {
        src += &format!("    var a{k}: u32 = x + {k};\n");
    }
    src += "    for i in 0..n {\n        let p = 4 * i;\n";
    for k in 0..locals {
        src += &format!("        a{k} = a{k} * 3 + s[p + {}] as u32;\n", k % 4);
    }
    src += "    }\n    return 0";
    for k in 0..locals {
        src += &format!(" + a{k}");
    }
    src += ";\n}\n";
    let bytes = compile("offsets", &src, &imports);
    assert_eq!(verify_bytes(&bytes).map(|_| ()), Ok(()));
}

/// Long functions of every shape the back end's growth checks use, and a
/// loop of many `continue`s, verify: each is a dominator tree as deep as
/// the function, with one block joining many edges from deep in it (a
/// loop's exit, or its header), where the verifier used to walk up one
/// dominator at a time and refused a loop of 200 `if … { break; }` as too
/// complex to analyse.
#[test]
fn long_control_flow_verifies() {
    let (imports, _) = ImportSources::embedded().load();
    let continues = |n: usize| {
        let tests: String = (0..n)
            .map(|i| format!("        if i == {i} {{\n            continue;\n        }}\n"))
            .collect();
        format!(
            "export fn f(x: u32) -> u32 {{\n    var i: u32 = 0;\n    while i < x {{\n        i += 1;\n{tests}    }}\n    return i;\n}}\n"
        )
    };
    let mut failures = Vec::new();
    for n in [200, 1000] {
        let shapes = kpl_testgen::long_functions::shapes()
            .into_iter()
            .map(|(name, build)| (name, build(n)))
            .chain([("loop_continues", continues(n))]);
        for (name, src) in shapes {
            if let Err(e) = verify_bytes(&compile(name, &src, &imports)) {
                failures.push(format!("{name} at {n}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Straight-line accesses of one slice at constant offsets from one
/// index, more than the verifier's table holds facts: the slice's base
/// and lengths, established first, must outlive the index facts that
/// come after them (when the oldest fact went first, forty reads or
/// twenty read-modify-writes were refused).
#[test]
fn many_accesses_in_a_row_keep_the_slice_known() {
    let (imports, _) = ImportSources::embedded().load();
    type Line = fn(usize) -> String;
    let shapes: [(&str, Line); 3] = [
        ("reads", |i| format!("    s += p[a + {i}] as u32;\n")),
        ("writes", |i| format!("    p[a + {i}] = 7;\n")),
        ("read-modify-writes", |i| {
            format!("    p[a + {i}] = p[a] + {};\n", i % 200)
        }),
    ];
    let mut failures = Vec::new();
    for (name, line) in shapes {
        for n in [20, 40, 200] {
            let body: String = (0..n).map(line).collect();
            let src = format!(
                "export fn f(p: []mut u8, a: u32) -> u32 {{\n    var s: u32 = 0;\n{body}    return s;\n}}\n"
            );
            if let Err(e) = verify_bytes(&compile(name, &src, &imports)) {
                failures.push(format!("{name} × {n}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
