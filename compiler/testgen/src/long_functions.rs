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
/// seed 22196, reduced: the counter `i` of its outer loop is spilled, the
/// inner loops and the call push its stack slot out of the verifier's
/// bounded table, and `TAB[i]` (no check: `i < 5 <= 8`) then reads an
/// index the verifier knows nothing about. The odd shape is what makes the
/// slot go; tidier code keeps it. The pipeline compiles such a function in
/// its local form (`kpl_codegen::pipeline`). Each returns
/// `a + 3 * (TAB[0] + … + TAB[4])` (`odd_bit` is false for every input).
pub fn loop_proof_lost(copies: usize) -> String {
    const HEAD: &str = "\
struct Rec { tag: i16, vals: [i32; 1], flag: i8, wide: i64 }
const ROUNDS: i16 = 5;
const TAB: [u32; 8] = [1073741824, 915639321, 128, 4294967294, 64, 13, 1, 1];
fn odd_bit(k: i16, seed: u64, small: u8, flip: bool) -> bool {
    var picked: u32 = TAB[k % 8] ^ TAB[(TAB[seed % 8] & TAB[seed & 7]) % 8];
    var square: i64 = [(small as i64) * (small as i64); 2][1];
    var divisor: i16 = k | 1;
    if k == -32768 && divisor == -1 {
    }
    var quotient: u64 = (k / divisor) as u64;
    if quotient == 0 {
    }
    let scaled: i16 = k * [k; 3][TAB.len % 3];
    for _unused in -1..-1 {
    }
    var wide: u64 = [(seed & 68719476736) | 3][0];
    if wide == 0 {
    }
    return (((flip as u64) * ((18446744073709551612 / wide) - (picked as u64))) & 536870912) != 0;
}
";
    const LOST: &str = "\
fn lost@(a: u64, b: u64, c: u64) -> u64 {
    var never: bool = false;
    var hits: u64 = a;
    for i in 0..5 {
        let flag: i8 = (~(125 / ((0 & 127) | 1))) ^ -128;
        let shift: i32 = i;
        for j in 0..3 {
            var narrow: u32 = 4294967294;
            narrow = 1;
            if never {
            } else if TAB[i] != 0 {
                hits += TAB[i] as u64;
            }
            for k in 0..ROUNDS {
                let r = [Rec { .vals = [shift << j], .tag = k, .flag = ~flag, .wide = k as i64 }; 2][1];
                if odd_bit(k, b, r.tag as u8, ((narrow as i64) as i16) != k) {
                    hits += 1;
                }
            }
        }
    }
    return hits;
}
";
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
