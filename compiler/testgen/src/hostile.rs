//! A corpus of hostile inputs for the front end: deep nesting of every
//! construct, long chains and cycles of items, many items, long lines,
//! unbalanced delimiters, error floods and token soup. Each shape is a
//! function of a size `n` (nesting depth, chain length, item count, …), so
//! that tests can check a shape at `n` and `2n` and the benchmark can grow it
//! to a megabyte. `kpl-lang`'s `tests/hostile.rs` checks what each shape
//! must give; `kplc`'s `benches/hostile.rs` times them.

use crate::Rng;

/// One shape of hostile input.
pub struct Shape {
    pub name: &'static str,
    /// What the shape stresses, for the book's table.
    pub what: &'static str,
    pub build: fn(usize) -> String,
}

fn repeat(s: &str, n: usize) -> String {
    s.repeat(n)
}

fn body(stmts: &str) -> String {
    format!("export fn f(x: u32) -> u32 {{\n{stmts}\n    return x;\n}}\n")
}

/// Every shape, in the order of the book's table.
pub fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "unclosed_if",
            what: "`if true {` opened n times, never closed",
            build: |n| format!("export fn f() {{\n{}", repeat("if true {\n", n)),
        },
        Shape {
            name: "unclosed_paren",
            what: "n unclosed `(`",
            build: |n| format!("export fn f() -> u32 {{ return {}\n}}\n", repeat("(", n)),
        },
        Shape {
            name: "unclosed_mixed",
            what: "n unclosed `(`, `[` and `{` in turn, then more items",
            build: |n| {
                let mut s = String::from("export fn f() -> u32 { return ");
                for i in 0..n {
                    s.push(['(', '[', '{'][i % 3]);
                }
                s.push_str("\nfn g() {}\nstatic s: u8 = 1;\n");
                s
            },
        },
        Shape {
            name: "stray_closers",
            what: "n stray `)`, `]` and `}` inside and between functions",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(["export fn f() { ) }\n", "}\n", "fn g() { ] }\n"][i % 3]);
                }
                s
            },
        },
        Shape {
            name: "mismatched_closers",
            what: "n unclosed `(`, then n `]` that close none of them",
            build: |n| {
                format!(
                    "export fn f() -> u32 {{\n    return {}1{}\n}}\n",
                    repeat("(", n),
                    repeat("]", n)
                )
            },
        },
        Shape {
            name: "deep_parens",
            what: "an expression in n pairs of parentheses",
            build: |n| {
                body(&format!(
                    "    let y = {}x{};",
                    repeat("(", n),
                    repeat(")", n)
                ))
            },
        },
        Shape {
            name: "deep_blocks",
            what: "n nested blocks",
            build: |n| body(&format!("{}x += 1;{}", repeat("{ ", n), repeat(" }", n))),
        },
        Shape {
            name: "deep_ifs",
            what: "n nested `if`",
            build: |n| {
                body(&format!(
                    "{}x += 1;{}",
                    repeat("if x > 1 { ", n),
                    repeat(" }", n)
                ))
            },
        },
        Shape {
            name: "else_if_chain",
            what: "`if … else if …` n times",
            build: |n| {
                body(&format!(
                    "    if x == 0 {{ x += 1; }}{} else {{ x += 2; }}",
                    repeat(" else if x == 1 { x += 1; }", n)
                ))
            },
        },
        Shape {
            name: "unary_chain",
            what: "n prefix operators",
            build: |n| body(&format!("    let y = {}x;", repeat("- ", n))),
        },
        Shape {
            name: "deref_run",
            what: "n `*` in a row on one line, then `;` (once 0.86 s and 520 MB a MiB: the run \
                   was read by trying every prefix operator in turn, and each `*`, a C \
                   dereference, was an error kept until the statement failed)",
            build: |n| body(&format!("    let y = {};", repeat("*", n))),
        },
        Shape {
            name: "deref_operand",
            what: "n `*` in a row on one line before an operand (each a C dereference: the \
                   errors past the function's budget are neither reported nor kept, E0007)",
            build: |n| body(&format!("    let y = {}x;", repeat("*", n))),
        },
        Shape {
            name: "habit_operator_chain",
            what: "`x and x or p->x …` with n habits of other languages in one expression (past \
                   the function's budget they are neither reported nor kept, E0007; once 215 MB \
                   a MiB for `and` alone, 382 MB for `->`)",
            build: |n| {
                let ops = [" and x", " or x", "->x"];
                let chain: String = (0..n).map(|i| ops[i % 3]).collect();
                body(&format!("    let y = x{chain};"))
            },
        },
        Shape {
            name: "operator_soup",
            what: "n random operators and punctuation on one line in one statement",
            build: |n| {
                const TOKENS: [&str; 24] = [
                    "-", "!", "~", "&", "*", "(", "[", ".", ",", "=", "+", "&&", "||", "<", ">",
                    "->", "..", "..=", "as", "x", "1", ":", "?", "%",
                ];
                let mut rng = Rng::new(n as u64);
                let mut s = String::from("    let y = ");
                for _ in 0..n {
                    s.push_str(TOKENS[rng.below(TOKENS.len() as u64) as usize]);
                }
                s.push(';');
                body(&s)
            },
        },
        Shape {
            name: "inclusive_range_chain",
            what: "a `for` header `0..=0..=…` with n `..=` (once quadratic: each was read as \
                   Rust's inclusive range, its fix holding the rest of the chain)",
            build: |n| body(&format!("    for i in 0{} {{\n    }}", repeat("..=0", n))),
        },
        Shape {
            name: "inclusive_range_lines",
            what: "n lines `for i in 0..=1;`, headers without a body (once quadratic: each \
                   looked for the next `{` in the file, and its fix held everything up to it)",
            build: |n| body(&repeat("    for i in 0..=1;\n", n)),
        },
        Shape {
            name: "range_nested",
            what: "n lines of `for i in range(0, 1) {` nested 40 deep, then one broken line (once \
                   quadratic in the depth: a statement holding a token a habit made is parsed \
                   in detail, and was parsed fast first at every level around it)",
            build: |n| {
                let line = format!(
                    "    {}x += i;{}\n",
                    repeat("for i in range(0, 1) { ", 40),
                    repeat(" }", 40)
                );
                body(&format!("{}    let = ;", line.repeat(n)))
            },
        },
        Shape {
            name: "binary_chain",
            what: "`x + x + …` with n operators",
            build: |n| body(&format!("    let y = x{};", repeat(" + x", n))),
        },
        Shape {
            name: "cast_chain",
            what: "n casts in a row",
            build: |n| body(&format!("    let y = x{};", repeat(" as u32", n))),
        },
        Shape {
            name: "index_chain",
            what: "n indexes in a row",
            build: |n| {
                body(&format!(
                    "    let a: [u32; 1] = [0; 1];\n    let y = a{};",
                    repeat("[0]", n)
                ))
            },
        },
        Shape {
            name: "call_chain",
            what: "n calls of a call's result",
            build: |n| body(&format!("    let y = f{};", repeat("(x)", n))),
        },
        Shape {
            name: "field_chain",
            what: "n field accesses in a row",
            build: |n| {
                format!(
                    "struct S {{ a: u32 }}\n{}",
                    body(&format!(
                        "    let s = S {{ .a = x }};\n    let y = s{};",
                        repeat(".a", n)
                    ))
                )
            },
        },
        Shape {
            name: "slice_prefixes",
            what: "a type with n `[]` prefixes",
            build: |n| format!("export fn f(x: {}u8) {{}}\n", repeat("[]", n)),
        },
        Shape {
            name: "array_types",
            what: "an array type nested n deep",
            build: |n| {
                format!(
                    "static s: {}u8{} = 0;\nexport fn f() {{}}\n",
                    repeat("[", n),
                    repeat("; 1]", n)
                )
            },
        },
        Shape {
            name: "struct_literals",
            what: "struct literals nested n deep",
            build: |n| {
                format!(
                    "struct S {{ a: u32 }}\n{}",
                    body(&format!(
                        "    let s = {}x{};",
                        repeat("S { .a = ", n),
                        repeat(" }", n)
                    ))
                )
            },
        },
        Shape {
            name: "const_chain",
            what: "n constants, each defined by the next",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("const C{i}: u32 = C{} + 1;\n", i + 1));
                }
                s.push_str(&format!(
                    "const C{n}: u32 = 0;\nexport fn f() -> u32 {{ return C0; }}\n"
                ));
                s
            },
        },
        Shape {
            name: "const_cycle",
            what: "a cycle of n constants",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("const C{i}: u32 = C{} + 1;\n", (i + 1) % n));
                }
                s.push_str("export fn f() -> u32 { return C0; }\n");
                s
            },
        },
        Shape {
            name: "const_array_lengths",
            what: "n constants, each needing the next through an array type",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("const L{i}: u32 = A{}[0] as u32 + 1;\n", i + 1));
                    s.push_str(&format!("const A{i}: [u8; L{i}] = [1; L{i}];\n"));
                }
                s.push_str(&format!(
                    "const L{n}: u32 = 1;\nconst A{n}: [u8; L{n}] = [1; L{n}];\n"
                ));
                s.push_str("export fn f() -> u32 { return L0; }\n");
                s
            },
        },
        Shape {
            name: "struct_chain",
            what: "n structs, each containing the next",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("struct S{i} {{ a: S{} }}\n", i + 1));
                }
                s.push_str(&format!("struct S{n} {{ a: u8 }}\nexport fn f() {{}}\n"));
                s
            },
        },
        Shape {
            name: "struct_cycle",
            what: "a cycle of n structs",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("struct S{i} {{ a: S{} }}\n", (i + 1) % n));
                }
                s.push_str("export fn f() {}\n");
                s
            },
        },
        Shape {
            name: "call_graph_chain",
            what: "n functions, each calling the next",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!(
                        "fn g{i}(x: u32) -> u32 {{ return g{}(x); }}\n",
                        i + 1
                    ));
                }
                s.push_str(&format!(
                    "fn g{n}(x: u32) -> u32 {{ return x; }}\nexport fn f(x: u32) -> u32 {{ return g0(x); }}\n"
                ));
                s
            },
        },
        Shape {
            name: "call_graph_cycle",
            what: "a cycle of n functions",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!(
                        "fn g{i}(x: u32) -> u32 {{ return g{}(x); }}\n",
                        (i + 1) % n
                    ));
                }
                s.push_str("export fn f(x: u32) -> u32 { return g0(x); }\n");
                s
            },
        },
        Shape {
            name: "call_cycle_back_edges",
            what: "a cycle of n functions, each also calling the first (once quadratic: each of the n calls back closed a cycle of its own, listed whole)",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!(
                        "fn g{i}(x: u32) -> u32 {{ return g{}(x) + g0(x); }}\n",
                        (i + 1) % n
                    ));
                }
                s.push_str("export fn f(x: u32) -> u32 { return g0(x); }\n");
                s
            },
        },
        Shape {
            name: "many_functions",
            what: "n small functions, none used",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("fn g{i}(x: u32) -> u32 {{ return x + {i}; }}\n"));
                }
                s.push_str("export fn f() -> u32 { return 0; }\n");
                s
            },
        },
        Shape {
            name: "many_fields",
            what: "a struct with n fields",
            build: |n| {
                let mut s = String::from("struct S {\n");
                for i in 0..n {
                    s.push_str(&format!("    f{i}: u8,\n"));
                }
                s.push_str("}\nexport fn f() {}\n");
                s
            },
        },
        Shape {
            name: "long_line",
            what: "n `let a = 1;` on one line",
            build: |n| format!("export fn f() {{ {}}}\n", repeat("let a = 1; ", n)),
        },
        Shape {
            name: "unknown_names",
            what: "n uses of unknown names among n functions",
            build: |n| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("fn g{i}() -> u32 {{ return h{i}; }}\n"));
                }
                s.push_str("export fn f() {}\n");
                s
            },
        },
        Shape {
            name: "misspelt_names",
            what: "n / 2 functions with names of one length, and n / 2 misspelt calls of them \
                   among as many locals (every \"did you mean\" has hundreds of candidates)",
            build: |n| {
                items_then_uses(
                    n.div_ceil(2),
                    |i| format!("fn handler_{i:07}() -> u32 {{ return 1; }}\n"),
                    |i| format!("    let value_{i:07} = hnadler_{i:07}();\n"),
                )
            },
        },
        Shape {
            name: "long_name",
            what: "a function with a name of n chars, and a call of it with the last one changed \
                   (once quadratic: the \"did you mean\" filled a table of n² cells)",
            build: |n| {
                let name = "a".repeat(n);
                format!(
                    "fn {name}() {{}}\nexport fn f() {{ {}b(); }}\n",
                    &name[..n.saturating_sub(1)]
                )
            },
        },
        Shape {
            name: "long_misspelt_names",
            what: "n / 2 functions with names of 100 chars, and n / 2 misspelt calls of them \
                   (each \"did you mean\" compares long names)",
            build: |n| {
                let long = "x".repeat(85);
                items_then_uses(
                    n.div_ceil(2),
                    |i| format!("fn handler_{long}{i:07}() {{}}\n"),
                    |i| format!("    hnadler_{long}{i:07}();\n"),
                )
            },
        },
        Shape {
            name: "syntax_errors",
            what: "n lines with a syntax error each",
            build: |n| body(&repeat("    let = ;\n    x = ) 1;\n", n.div_ceil(2))),
        },
        Shape {
            name: "dense_missing_semis",
            what: "n lines holding only `1` in one function, each a `;` missing (cut short after 1,000: E0007)",
            build: |n| body(&repeat("1\n", n)),
        },
        Shape {
            name: "dense_broken_statements",
            what: "n lines holding only `if` in one function, each a broken statement (cut short after 1,000)",
            build: |n| body(&repeat("if\n", n)),
        },
        Shape {
            name: "parser_habit_lines",
            what: "n lines of C's `if (x = 1) {}` and `retrun x;` in one function, habits the parser reads (cut short after 1,000)",
            build: |n| {
                let mut s = String::new();
                for k in 0..n {
                    s.push_str(if k % 2 == 0 {
                        "    if (x = 1) {}\n"
                    } else {
                        "    retrun x;\n"
                    });
                }
                body(&s)
            },
        },
        Shape {
            name: "broken_items",
            what: "n lines holding only `fn`, each a broken item (the file is cut short after 2,000: E0008)",
            build: |n| repeat("fn\n", n),
        },
        Shape {
            name: "broken_item_lines",
            what: "n lines holding `export fn f() {`, each an item whose `{` is never closed",
            build: |n| repeat("export fn f() {\n", n),
        },
        Shape {
            name: "open_quote_lines",
            what: "n lines holding only `\"` in one function, each an unterminated string (E0002)",
            build: |n| body(&repeat("\"\n", n)),
        },
        Shape {
            name: "lone_cr_lines",
            what: "n lines ended by a lone `\\r`, each with a warning",
            build: |n| format!("export fn f() {{\r{}}}\r", repeat("    let a = 1;\r", n)),
        },
        Shape {
            name: "habit_lines",
            what: "n lines with a habit from C, Rust, Python or Go each (read by the lexer)",
            build: |n| {
                const HABITS: [&str; 8] = [
                    "    y := x ** 2 <> 3;\n",
                    "    --x;\n",
                    "    assert!(x > 0);\n",
                    "    println!(\"{}\", x);\n",
                    "    if not x === u32::MAX; { goto out; };\n",
                    "    for i in range(x, 9) step 2 { return x, i; }\n",
                    "    while let v = 1.5 { x >>>= 1; }\n",
                    "    fn g(u32 a, mut b: u32) u32 { return a; }\n",
                ];
                let mut s = String::new();
                for k in 0..n {
                    s.push_str(HABITS[k % HABITS.len()]);
                }
                body(&s)
            },
        },
        Shape {
            name: "hash_line",
            what: "n `#` on one line (once quadratic: each looked back to the start of its line for a C directive)",
            build: |n| body(&format!("    {}", repeat("# ", n))),
        },
        Shape {
            name: "open_quotes_line",
            what: "n typographic opening quotes `„` on one line, none closed (once quadratic: each looked for the end of its line)",
            build: |n| body(&format!("    {}", repeat("\u{201E} ", n))),
        },
        Shape {
            name: "docstring_line",
            what: "n Python docstrings `\"\"\"a\"\"\"` on one line, each after a `;` (once quadratic: each looked back to the start of its line for its indentation)",
            build: |n| body(&format!("    {}", repeat(";\"\"\"a\"\"\"", n))),
        },
        Shape {
            name: "lifetime_line",
            what: "n Rust lifetimes `'a` on one line, one diagnostic labelling each (once 10 minutes for 4,000 on a line: each label searched the line back to the first for a line break, and the terminal drew k labels on a line as k rows of k columns)",
            build: |n| body(&format!("    {}", repeat("'a ", n))),
        },
        Shape {
            name: "python_block_line",
            what: "n of Python's one-line blocks `if x > 1: return 1` on one line, no `;` (once over 6 s for 512 KiB: each `if` after an operand, maybe Python's `a if c else b`, walked to the end of the statement)",
            build: |n| body(&format!("    {}", repeat("if x > 1: return 1 ", n))),
        },
        Shape {
            name: "tuple_let_line",
            what: "n of Rust's `let (a, b) = (x, y);` on one line (once quadratic: each fix's layout searched back to the start of the line, 2.4 s a MiB)",
            build: |n| body(&format!("    {}", repeat("let (a, b) = (x, y); ", n))),
        },
        Shape {
            name: "nested_item_line",
            what: "n `const` items written on one line inside a function body (once over 6 s a MiB: each asked whether it had lines of its own by searching for the line's start and end)",
            build: |n| body(&format!("    {}", repeat("const N: u32 = 1; ", n))),
        },
        Shape {
            name: "unclosed_block_line",
            what: "a function whose `{` is never closed, then n blocks `{ x = 1; }` on its one line (once quadratic: for each `}`, whether it starts its line was searched back to the line's start, 1.9 s a MiB)",
            build: |n| format!("export fn f(x: u32) {{ {}\n", repeat("{ x = 1; } ", n)),
        },
        Shape {
            name: "nested_fn_line",
            what: "`fn g() {` written inside a function body, n deep on one line (once 1.9 s for 256 KiB, over 8 s a MiB: the items, moved after the function, left gaps between tokens that were searched for line breaks, most of the file each)",
            build: |n| {
                body(&format!(
                    "    {}x{}",
                    repeat("fn g() { ", n),
                    repeat(" }", n)
                ))
            },
        },
        Shape {
            name: "annotated_declarations",
            what: "n lines of Python's `i: u32 = 0;`, each asking whether `i` is assigned later in its block (once a scan of 4,096 tokens each: 0.80 s a MiB)",
            build: |n| body(&repeat("    i: u32 = 0;\n", n)),
        },
        Shape {
            name: "duplicate_imports",
            what: "one `use` list naming `log` n times, each an E0101 with two labels on one line",
            build: |n| {
                format!(
                    "use kernel::{{{}}};\nexport fn f() {{}}\n",
                    repeat("log, ", n)
                )
            },
        },
        Shape {
            name: "duplicate_fields",
            what: "a struct declaring field `a` n times and a literal giving it n times, on one line each",
            build: |n| {
                format!(
                    "struct S {{ {}}}\nexport fn f() -> u8 {{ let s = S {{ {}}}; return s.a; }}\n",
                    repeat("a: u8, ", n),
                    repeat(".a = 1, ", n)
                )
            },
        },
        Shape {
            name: "nested_items",
            what: "`fn` written inside a function body, n deep",
            build: |n| {
                format!(
                    "export fn f() {{\n{}{}}}\n",
                    repeat("fn g() { let a = 1;\n", n),
                    repeat("}\n", n)
                )
            },
        },
        Shape {
            name: "big_repeat_constants",
            what: "n constants of a 1 MiB array repeat, each over the read-only data limit (once 210 MB per line: each repeat was built element by element before its size was refused)",
            build: |n| {
                let mut s: String = (0..n)
                    .map(|i| format!("const C{i}: [u8; 1048576] = [0; 1048576];\n"))
                    .collect();
                s.push_str("export fn f() -> u8 { return C0[3]; }\n");
                s
            },
        },
        Shape {
            name: "constant_table_reads",
            what: "a constant table of n bytes and n constants each reading one of its elements (once quadratic: each read copied the whole table)",
            build: |n| {
                let elems: Vec<String> = (0..n).map(|i| (i % 256).to_string()).collect();
                let mut s = format!("const A: [u8; {n}] = [{}];\n", elems.join(", "));
                for i in 0..n {
                    s.push_str(&format!("const B{i}: u8 = A[{i}];\n"));
                }
                s.push_str("export fn f() -> u8 { return B0; }\n");
                s
            },
        },
        Shape {
            name: "long_param_list",
            what: "one function with n parameters (once quadratic: each was compared with every earlier one)",
            build: |n| {
                let params: Vec<String> = (0..n).map(|i| format!("a{i}: u32")).collect();
                format!(
                    "export fn f({}) -> u32 {{ return 0; }}\n",
                    params.join(", ")
                )
            },
        },
        Shape {
            name: "long_struct_literal",
            what: "a struct literal with n initialisers, one field known (once quadratic: each was looked up in every earlier one)",
            build: |n| {
                let inits: Vec<String> = (0..n).map(|i| format!(".f{i} = 1")).collect();
                format!(
                    "struct S {{ f0: u32 }}\nexport fn f() -> u32 {{ let s = S {{ {} }}; return s.f0; }}\n",
                    inits.join(", ")
                )
            },
        },
        Shape {
            name: "wide_struct",
            what: "a struct with n fields, each read once and given once in a literal that lacks the others (once quadratic: each use scanned or copied the fields)",
            build: |n| {
                let fields: Vec<String> = (0..n).map(|i| format!("f{i}: u8")).collect();
                let inits: Vec<String> = (0..n).map(|i| format!(".f{i} = 0")).collect();
                let mut s = format!(
                    "struct S {{ {} }}\nstatic s: S = S {{ {} }};\nexport fn f() -> u8 {{\n    var a: u8 = 0;\n",
                    fields.join(", "),
                    inits.join(", ")
                );
                for i in 0..n {
                    s.push_str(&format!("    a = a ^ s.f{i} ^ S {{ .f{i} = 1 }}.f{i};\n"));
                }
                s.push_str("    return a;\n}\n");
                s
            },
        },
        Shape {
            name: "deep_array_literals",
            what: "n array literals nested 100 deep, one per line (once quadratic in the depth: the \
                   type of every level was copied whole, 885 MB for 1 MiB)",
            build: |n| {
                let line = format!("    let a = {}x{};\n", "[".repeat(100), "]".repeat(100));
                body(&line.repeat(n))
            },
        },
        Shape {
            name: "error_after_long_function",
            what: "a function of n lines of calls, then one broken line (once a detailed parse of \
                   the whole function: 1.4 s for 1 MiB of lines of calls nested 60 deep)",
            build: |n| {
                let line = "    x = g(g(x) + 1) * 2;\n";
                let mut s = String::from("fn g(a: u32) -> u32 { return a; }\n");
                s.push_str(&body(&format!("{}    let = ;", line.repeat(n))));
                s
            },
        },
        Shape {
            name: "error_before_long_function",
            what: "one broken line, then n lines of array literals nested 30 deep in the same function",
            build: |n| {
                let line = format!("    let a = {}x{};\n", "[".repeat(30), "]".repeat(30));
                body(&format!("    let = ;\n{}", line.repeat(n)))
            },
        },
        Shape {
            name: "error_deep_in_blocks",
            what: "n lines of nested calls inside 40 nested blocks, with one broken line inside the \
                   innermost (each block a statement with an error)",
            build: |n| {
                let line = format!("    x = g({}x{});\n", "g(".repeat(9), ")".repeat(9));
                let mut s = String::from("fn g(a: u32) -> u32 { return a; }\n");
                s.push_str(&body(&format!(
                    "{}{}    let = ;\n{}{}",
                    "{\n".repeat(40),
                    line.repeat(n),
                    line.repeat(n),
                    "}\n".repeat(40)
                )));
                s
            },
        },
        Shape {
            name: "token_soup",
            what: "n random tokens",
            build: |n| {
                const TOKENS: [&str; 24] = [
                    "fn", "(", ")", "{", "}", "[", "]", ";", "let", "x", "=", "1", "+", "if",
                    "else", ",", ":", "u32", "struct", "return", "\"s\"", "//c\n", "\n", "as",
                ];
                let mut rng = Rng::new(n as u64);
                let mut s = String::new();
                for _ in 0..n {
                    s.push_str(TOKENS[rng.below(TOKENS.len() as u64) as usize]);
                    s.push(' ');
                }
                s
            },
        },
    ]
}

/// The shape called `name`.
pub fn shape(name: &str) -> Option<Shape> {
    shapes().into_iter().find(|s| s.name == name)
}

/// `count` items made by `item`, then one exported function of `count`
/// statements made by `statement` (each given its index).
fn items_then_uses(
    count: usize,
    item: impl Fn(usize) -> String,
    statement: impl Fn(usize) -> String,
) -> String {
    let mut s: String = (0..count).map(&item).collect();
    s.push_str("export fn f() {\n");
    s.extend((0..count).map(&statement));
    s.push_str("}\n");
    s
}

/// The size at which `shape` is about `bytes` long.
pub fn size_for(shape: &Shape, bytes: usize) -> usize {
    let per = ((shape.build)(1000).len() as f64 / 1000.0).max(1.0);
    ((bytes as f64 / per) as usize).max(1)
}
