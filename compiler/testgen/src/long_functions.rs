//! Long functions for the back end's growth checks: the
//! `codegen_growth` test (bytes allocated) and the `compile_growth`
//! benchmark (time). Each shape is one function whose size is `n`; the back
//! end's work on it must grow in proportion to `n`.

/// A shape: its name, and the function of a size.
pub type Shape = (&'static str, fn(usize) -> String);

/// Long functions, by name: `n` tests and returns, `n` loops one after the
/// other, `n` guarded slice reads, `n` loops over a small table (each of
/// which the optimiser may version: a copy without checks), one loop with
/// `n` exits (every exit deep in a chain of tests, all joining after the
/// loop: the shape on which the dominator iteration used before was
/// quadratic), `n` calls (each interval was compared with every call), `n`
/// divisions by constants (each rewritten by a splice that moved the rest
/// of the block), and `n` early returns each followed by a table read
/// (the redundant-load pass copied its table of reads into every block of
/// the chain).
pub fn shapes() -> [Shape; 8] {
    [
        ("if_chain", |n| {
            let ifs: String = (0..n)
                .map(|i| format!("    if x == {i} {{\n        return {i};\n    }}\n"))
                .collect();
            format!("export fn f(x: u32) -> u32 {{\n{ifs}    return 1;\n}}\n")
        }),
        ("loop_chain", |n| {
            let loops = "    i = 0;\n    while i < x {\n        s += i;\n        i += 1;\n    }\n"
                .repeat(n);
            format!(
                "export fn f(x: u32) -> u32 {{\n    var s: u32 = 0;\n    var i: u32 = 0;\n{loops}    return s;\n}}\n"
            )
        }),
        ("table_loops", |n| {
            let loops =
                "    i = 0;\n    while i < x {\n        s += t[i] as u32;\n        i += 1;\n    }\n"
                    .repeat(n);
            format!(
                "static t: [u8; 16] = [0; 16];\nexport fn f(x: u32) -> u32 {{\n    var s: u32 = 0;\n    var i: u32 = 0;\n{loops}    return s;\n}}\n"
            )
        }),
        ("guarded_reads", |n| {
            let reads: String = (0..n)
                .map(|i| format!("    if x == {i} {{\n        s += p[x] as u32;\n    }}\n"))
                .collect();
            format!(
                "export fn f(p: []u8, x: u32) -> u32 {{\n    var s: u32 = 0;\n{reads}    return s;\n}}\n"
            )
        }),
        ("loop_exits", |n| {
            let exits: String = (0..n)
                .map(|i| {
                    format!(
                        "        if i == {i} {{\n            break;\n        }}\n        i += x;\n"
                    )
                })
                .collect();
            format!(
                "export fn f(x: u32) -> u32 {{\n    var i: u32 = 0;\n    while true {{\n{exits}    }}\n    return i;\n}}\n"
            )
        }),
        ("divisions", |n| {
            let divisions: String = (0..n)
                .map(|i| format!("    s = s / {} + s % {};\n", i + 3, i + 7))
                .collect();
            format!(
                "export fn f(x: u32) -> u32 {{\n    var s: u32 = x;\n{divisions}    return s;\n}}\n"
            )
        }),
        ("returns_and_reads", |n| {
            let steps: String = (0..n)
                .map(|i| {
                    format!(
                        "    if x == {i} {{\n        return s;\n    }}\n    s += t[(x + {i}) & 255];\n"
                    )
                })
                .collect();
            format!(
                "static t: [u32; 256] = [7; 256];\nexport fn f(x: u32) -> u32 {{\n    var s: u32 = 0;\n{steps}    return s;\n}}\n"
            )
        }),
        ("calls", |n| {
            let calls = "    t = g(t);\n".repeat(n);
            format!(
                "fn g(x: u32) -> u32 {{\n    return x * 3 + 1;\n}}\nexport fn f(x: u32) -> u32 {{\n    var t: u32 = x;\n{calls}    return t;\n}}\n"
            )
        }),
    ]
}
