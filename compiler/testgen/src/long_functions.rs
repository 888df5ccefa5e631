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

/// `copies` functions `lost0`, `lost1`, … that the verifier refuses as kplc
/// first compiles them, and an export `run(a, b, c)` that returns the sum
/// of their results. Each is the function of the differential generator's
/// seed 22196, reduced (line by line, keeping only what keeps the verifier
/// refusing it): the counter `i73` of its outer loop is spilled, the inner
/// loops, the aggregate copies and the call push its stack slot out of the
/// verifier's bounded table, and `TAB0[i73]` (no check: `i73 < 5 <= 8`)
/// then reads an index the verifier knows nothing about. The odd shape is
/// what makes the slot go; tidier code keeps it, and a change to the
/// compiler can too (the tests that use this say so when it happens). The
/// pipeline compiles such a function in its local form
/// (`kpl_codegen::pipeline`). Each returns `a` when bit 36 of `b` is set,
/// and traps with DivByZero when it is not.
pub fn loop_proof_lost(copies: usize) -> String {
    const HEAD: &str = r#"struct S0 {
    f0: i16,
    f1: [i32; 1],
    f2: i8,
    f3: i64,
}
const K0: i64 = (-75);
const K4: u16 = 65535;
const K5: i64 = (-6276639843417204249);
const K8: i64 = 9223372036854775807;
const K11: i16 = 5;
const K12: i16 = 1;
const TAB0: [u32; 8] = [1073741824, 915639321, 128, 4294967294, 64, 13, 1, 1];
const TAB1: [i32; 4] = [295075595, 0, 2147483647, (-1)];
static g2: i32 = (-2147483648);
fn f0(p3: i16, p4: u64, p5: u8, p6: bool) -> bool {
    var d34: u32 = (TAB0[(K4 % 8)] ^ TAB0[((TAB0[((K5 as u32) % 8)] & TAB0[(p4 & 7)]) % 8)]);
    if ((p4 << (p3 << p5)) != ((p3 as u16) as u64)) {
        if ((((p4 as i64) | 9223372036854775805) ^ ([S0 { .f1 = [((g2 >> 1) / (g2 | 1))], .f3 = (p6 as i64), .f2 = ((p3 as i8) | 15), .f0 = p3 }; 1][((p6 as i16) & 0)].f3 + (-2410219622041317873))) <= K0) {
        }
    }
    var d56: u64 = [(p4 & 68719476736)][(((K8 as i16) as u32) % 1)];
    return ((((p6 as u64) * ((18446744073709551612 / d56) - (TAB1[((d34 & 0) % 4)] as u64))) & 536870912) != 0);
}
"#;
    const LOST: &str = r#"fn lost@(a: u64, b: u64, c: u64) -> u64 {
    var c61: u64 = 1;
    while true {
        if (!(c61 < 3)) {
            break;
        }
        c61 += 1;
    }
    for i73 in 0..5 {
        let v74: i8 = ((~(125 / ((0 & 127) | 1))) ^ (-128));
        let v75: i32 = i73;
        for i76 in 0..((v75 as u16) & 3) {
            var d81: u32 = 4294967294;
            if (d81 == 0) {
                d81 = 1;
            } else if ((TAB0[i76] != 0) && ((TAB0[i73] / TAB0[i76]) != (4294967294 % d81))) {
            }
            for i82 in 0..K11 {
                f0(i82, b, ([S0 { .f1 = [(v75 << i76)], .f0 = i82, .f2 = (~v74), .f3 = (i82 as i64) }; 2][((K12 as u32) % 2)].f0 as u8), (((d81 as i64) as i16) != i82));
            }
        }
    }
    var h84: u64 = a;
    return h84;
}"#;
    let mut src = HEAD.to_string();
    for i in 0..copies {
        src += &LOST.replace('@', &i.to_string());
    }
    let calls: Vec<String> = (0..copies).map(|i| format!("lost{i}(a, b, c)")).collect();
    src += &format!(
        "export fn run(a: u64, b: u64, c: u64) -> u64 {{\n    return {};\n}}\n",
        calls.join(" + ")
    );
    src
}
