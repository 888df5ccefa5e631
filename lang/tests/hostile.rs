//! Every shape of the hostile corpus (`kpl_testgen::hostile`) at a size `n`
//! and at `2n`: the front end finishes without overflowing its stack (the
//! test threads have the default 2 MiB) and gives exactly the diagnostics
//! the shape deserves. How long it takes is measured by the `hostile`
//! benchmark, not here.

use std::collections::BTreeMap;

use kpl_lang::imports::ImportTable;
use kpl_lang::parser::{FILE_ERROR_BUDGET, ITEM_ERROR_BUDGET};
use kpl_testgen::hostile;

fn imports() -> ImportTable {
    let src = include_str!("../../std-imports/kernel.kpli");
    ImportTable::load(&[("std-imports/kernel.kpli".into(), src.into())]).0
}

/// The size to test each shape at (and twice that). Tests run unoptimised,
/// where a recursive walk needs several times the stack it needs in a
/// release build, so these are far beyond what used to overflow.
fn size(name: &str) -> usize {
    match name {
        "slice_prefixes" => 20_000,
        "const_chain" | "const_cycle" | "struct_chain" | "struct_cycle" => 5_000,
        "call_graph_chain" | "call_graph_cycle" | "const_array_lengths" => 2_500,
        "call_cycle_back_edges" => 2_000,
        "long_name" => 100_000,
        "big_repeat_constants" => 50,
        "range_nested" => 200,
        "stray_closers" | "many_functions" | "unknown_names" | "many_fields" | "misspelt_names"
        | "broken_items" | "broken_item_lines" => 2_000,
        _ => 1_000,
    }
}

/// The diagnostics, as code → count, that shape `name` at size `n` gives.
fn expected(name: &str, n: usize) -> Option<Vec<(&'static str, usize)>> {
    Some(match name {
        // An unclosed group is one error; nested deep, E0508 too.
        "unclosed_if" => vec![("E0001", 1), ("E0508", 1)],
        // The closing event and E0508 are on one line: one is kept. (The
        // `]` that close nothing are inside groups too deep to report.)
        "unclosed_paren" | "mismatched_closers" => vec![("E0508", 1)],
        // No W0003 in a file with a syntax error: the use may be in the
        // broken part.
        "unclosed_mixed" => vec![("E0001", 1)],
        // Each closer is one of the balancing's errors; past the file's
        // budget no further item is read, and its closers are not reported.
        "stray_closers" if n > FILE_ERROR_BUDGET => {
            vec![("E0001", FILE_ERROR_BUDGET), ("E0008", 1)]
        }
        "stray_closers" => vec![("E0001", n)],
        // Each `fn` fails at the next: one recovery, counted by the file's
        // budget, which reads no item past the 2,000th error.
        "broken_items" if n > FILE_ERROR_BUDGET => {
            vec![("E0001", FILE_ERROR_BUDGET), ("E0008", 1)]
        }
        "broken_items" => vec![("E0001", n)],
        // Each `{` is closed by the balancing at the next item (one error
        // each): counted before the item, as for `stray_closers`.
        "broken_item_lines" if n > FILE_ERROR_BUDGET => {
            vec![("E0001", FILE_ERROR_BUDGET), ("E0008", 1)]
        }
        "broken_item_lines" => vec![("E0001", n)],
        "deep_parens" | "deep_blocks" | "deep_ifs" | "else_if_chain" | "unary_chain"
        | "binary_chain" | "cast_chain" | "index_chain" | "call_chain" | "slice_prefixes"
        | "array_types" => vec![("E0508", 1)],
        "field_chain" | "struct_literals" => vec![("E0508", 1)],
        // One statement, broken at its `;`: the `*` read before it were
        // errors given back when it failed.
        "deref_run" => vec![("E0001", 1)],
        // One error shown on the line; past the function's budget the `*`
        // are not reported, and the function is cut short after the line.
        "deref_operand" if n >= ITEM_ERROR_BUDGET => vec![("E0001", 1), ("E0007", 1)],
        "deref_operand" => vec![("E0001", 1)],
        "habit_operator_chain" if n >= ITEM_ERROR_BUDGET => vec![("E0001", 1), ("E0007", 1)],
        // The first `..=` is the habit; the rest of the chain is a syntax
        // error on the same line.
        "inclusive_range_chain" => vec![("E0001", 1)],
        // Each line's `..=` is the lexer's (not counted by the budget), and
        // its missing body the parser's, on the same line: past the
        // function's budget the parser stops, the lexer's go on.
        "inclusive_range_lines" if n >= ITEM_ERROR_BUDGET => vec![("E0001", n), ("E0007", 1)],
        // Each line's `range(…)` (the lexer's, one error a line) and the
        // broken line; 40 loop variables a line are over the stack limit.
        "range_nested" => vec![("E0001", n + 1), ("E0505", 1)],
        "const_chain" => vec![],
        "const_cycle" | "struct_cycle" => vec![("E0504", 1)],
        "const_array_lengths" | "struct_chain" | "many_fields" => vec![("W0003", 1)],
        "call_graph_chain" => vec![("E0505", 1)],
        "call_graph_cycle" => vec![("E0500", 1)],
        // Four cycles spelt out, the last one counting the others.
        "call_cycle_back_edges" => vec![("E0500", 4)],
        "many_functions" => vec![("W0003", n)],
        // Past 1,016 locals of 8 bytes the frame is over the stack limit.
        "long_line" | "lone_cr_lines" if n > 1016 => vec![("E0505", 1), ("W0001", n)],
        "long_line" | "lone_cr_lines" => vec![("W0001", n)],
        "unknown_names" => vec![("E0100", n), ("W0003", n)],
        // Each misspelt call is one E0100 (with a "did you mean"), and the
        // function it suggests counts as used (no W0003 that only the
        // misspelling caused); the locals are never read.
        "misspelt_names" => vec![("E0100", n / 2), ("W0001", n / 2)],
        "long_name" => vec![("E0100", 1)],
        "long_misspelt_names" => vec![("E0100", n.div_ceil(2))],
        // One error a line, up to the function's budget; then the rest of
        // the function, its `return` included, is not read (E0007).
        "dense_missing_semis" | "dense_broken_statements" if n >= ITEM_ERROR_BUDGET => {
            vec![("E0001", ITEM_ERROR_BUDGET), ("E0007", 1)]
        }
        // Each `"` is an unterminated string, a lexical error, which the
        // budget does not count, and reported on every line; the parser
        // reads a string missing its `;` on each, and those it counts.
        // Each line is one habit error, which the budget counts: the
        // detailed pass gives back those of the alternatives it drops.
        "parser_habit_lines" if n >= ITEM_ERROR_BUDGET => {
            vec![("E0001", ITEM_ERROR_BUDGET), ("E0007", 1)]
        }
        "parser_habit_lines" => vec![("E0001", n)],
        "open_quote_lines" if n >= ITEM_ERROR_BUDGET => vec![("E0002", n), ("E0007", 1)],
        "syntax_errors" if n.div_ceil(2) < ITEM_ERROR_BUDGET => vec![("E0001", n)],
        // Each `let = ;` is a recovery, spent from the function's budget;
        // each `)` is the balancing's. The function is cut short after its
        // last affordable `let` line: that line and every line before it
        // are reported, and the rest is not read (E0007).
        "syntax_errors" => vec![("E0001", 2 * ITEM_ERROR_BUDGET - 1), ("E0007", 1)],
        // Each `#` and each `„` is an invalid character: none starts a C
        // directive or a typographic string.
        "hash_line" | "open_quotes_line" => vec![("E0003", n)],
        // One error for the line, a label on each lifetime.
        "lifetime_line" => vec![("E0001", 1)],
        // Each `if` is a broken statement, one error shown for the line;
        // past the function's budget the rest is not read.
        "python_block_line" if n >= ITEM_ERROR_BUDGET => vec![("E0001", 1), ("E0007", 1)],
        // One error for the line (the tuples, the items written in the
        // body).
        "tuple_let_line" | "nested_item_line" => vec![("E0001", 1)],
        // The one `{` left open.
        "unclosed_block_line" => vec![("E0001", 1)],
        // The outer `fn g` inside `f`, one mistake.
        "nested_fn_line" => vec![("E0001", 1)],
        // Every `log` after the first clashes with it; the first is unused.
        "duplicate_imports" => vec![("E0101", n - 1), ("W0004", 1)],
        // n - 1 fields declared again and n - 1 given again.
        "duplicate_fields" => vec![("E0106", 2 * (n - 1))],
        // One mistake: the outer `fn g` inside `f`, whose note counts the
        // n - 1 nested in it; read as top-level functions, they all clash
        // by name (a real error once they are moved out).
        "nested_items" => vec![("E0001", 1), ("E0101", n - 1)],
        // Each literal lacks all fields but one.
        "wide_struct" => vec![("E0107", n)],
        // The first constant already needs more read-only data than there
        // is; only `C0` is used.
        "big_repeat_constants" => vec![("E0506", 1), ("W0003", n - 1)],
        "constant_table_reads" if n > 65536 => vec![("E0506", 1), ("W0003", n - 1)],
        "constant_table_reads" => vec![("W0003", n - 1)],
        _ => return None,
    })
}

#[test]
fn every_shape_at_n_and_2n() {
    let table = imports();
    let mut failures = Vec::new();
    for shape in hostile::shapes() {
        let n = size(shape.name);
        for n in [n, 2 * n] {
            let src = (shape.build)(n);
            let analysis = kpl_lang::analyze(&src, &table);
            for d in &analysis.diagnostics {
                let span = d.primary.span;
                assert!(
                    span.start <= span.end && span.end as usize <= src.len(),
                    "{} at {n}: span {span:?} outside the source",
                    shape.name
                );
            }
            let mut got: BTreeMap<String, usize> = BTreeMap::new();
            for d in &analysis.diagnostics {
                *got.entry(d.code.to_string()).or_default() += 1;
            }
            if let Some(want) = expected(shape.name, n) {
                let want: BTreeMap<String, usize> =
                    want.iter().map(|(c, k)| (c.to_string(), *k)).collect();
                if got != want {
                    failures.push(format!("{} at {n}: got {got:?}, want {want:?}", shape.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `kplc fmt` on every shape that parses: a fixed point after one pass, and
/// the output within a constant factor of the input (indentation is capped;
/// without the cap, array literals nested 100 deep grew 190 times).
#[test]
fn every_shape_formats_within_a_constant_factor() {
    let mut failures = Vec::new();
    for shape in hostile::shapes() {
        let n = size(shape.name);
        for n in [n, 2 * n] {
            let src = (shape.build)(n);
            let Ok(out) = kpl_lang::format::format_source(&src) else {
                continue;
            };
            if out.len() > 8 * src.len() + 4096 {
                failures.push(format!(
                    "{} at {n}: {} bytes formatted to {}",
                    shape.name,
                    src.len(),
                    out.len()
                ));
            }
            match kpl_lang::format::format_source(&out) {
                Ok(again) if again == out => {}
                _ => failures.push(format!("{} at {n}: not a fixed point", shape.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The unclosed delimiter is reported where the closer is missing, with the
/// opener it leaves open; the functions after it are parsed as usual.
#[test]
fn an_unclosed_brace_points_at_its_opener() {
    let src = "export fn a() -> u32 {\n    if true {\n        return 1;\n    \nexport fn b(x: u32) -> u32 {\n    return y;\n}\n";
    let analysis = kpl_lang::analyze(src, &imports());
    let codes: Vec<String> = analysis
        .diagnostics
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    assert_eq!(codes, ["E0001", "E0100"], "{:#?}", analysis.diagnostics);
    let d = &analysis.diagnostics[0];
    assert_eq!(d.message, "unclosed `{`");
    assert_eq!(&src[d.secondary[0].span.range()], "{");
    assert_eq!(
        d.secondary[0].span.start as usize,
        src.find("true {").unwrap() + 5
    );
    assert_eq!(d.primary.span.start as usize, src.find("1;").unwrap() + 2);
}

/// Lone `\r` ends lines for the one-syntax-error-per-line rule too.
#[test]
fn lone_carriage_returns_separate_lines() {
    let src = "export fn f() {\r    let = 1;\r    let = 2;\r}\r";
    let analysis = kpl_lang::analyze(src, &imports());
    assert_eq!(analysis.diagnostics.len(), 2, "{:#?}", analysis.diagnostics);
}

/// Floods of lexical errors inside one function, which the parser's
/// budgets meet only at the next item: the lexer's errors past the file's
/// budget are not read. Exactly `FILE_ERROR_BUDGET` of them are reported,
/// then one E0008 inside the line of the next, and nothing after it (no
/// delimiter the cut leaves open, no statement it leaves half read, no
/// type error). One fewer is no cut at all; exactly the budget is the
/// parser's cut, at the next item.
#[test]
fn lexical_floods_are_cut_at_the_file_budget() {
    use kpl_lang::Code;
    let table = imports();
    let lines: [(&str, Code, &str); 5] = [
        ("x++", Code::E0001, "    x++;\n"),
        (
            "character literal in a call",
            Code::E0003,
            "    g('a', 1);\n",
        ),
        ("stray control character", Code::E0003, "    \u{1}\n"),
        (
            "typographic string",
            Code::E0003,
            "    let s = \u{201C}a\u{201D};\n",
        ),
        (
            "bad escape in a string",
            Code::E0005,
            "    let y = \"\\q\" + 1;\n",
        ),
    ];
    let mut failures = Vec::new();
    for (what, code, line) in lines {
        for n in [
            FILE_ERROR_BUDGET - 1,
            FILE_ERROR_BUDGET,
            FILE_ERROR_BUDGET + 1,
            3 * FILE_ERROR_BUDGET,
        ] {
            let src = format!(
                "fn g(a: u8, b: u32) {{}}\nexport fn f(x: u32) -> u32 {{\n{}    return x;\n}}\nfn h() -> u32 {{ return true; }}\n",
                line.repeat(n)
            );
            let analysis = kpl_lang::analyze(&src, &table);
            let count = |c: Code| analysis.diagnostics.iter().filter(|d| d.code == c).count();
            let cuts: Vec<u32> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.code == Code::E0008)
                .map(|d| d.primary.span.start)
                .collect();
            let last = analysis
                .diagnostics
                .iter()
                .map(|d| d.primary.span.start)
                .max();
            // The first flood line not read, if any.
            let unread = src
                .match_indices(line)
                .nth(FILE_ERROR_BUDGET)
                .map(|(at, _)| at as u32);
            let ok = match n.cmp(&FILE_ERROR_BUDGET) {
                std::cmp::Ordering::Less => cuts.is_empty() && count(code) == n,
                // The parser's cut, before `h`: its type error is not reported.
                std::cmp::Ordering::Equal => {
                    cuts.len() == 1 && count(code) == n && count(Code::E0200) == 0
                }
                std::cmp::Ordering::Greater => match (cuts.as_slice(), unread) {
                    (&[at], Some(line_at)) => {
                        count(code) == FILE_ERROR_BUDGET
                            && (line_at..line_at + line.len() as u32).contains(&at)
                            && last == Some(at)
                    }
                    _ => false,
                },
            };
            if !ok {
                failures.push(format!(
                    "{what} × {n}: {} of {code}, cuts at {cuts:?}, first unread line at {unread:?}, last diagnostic at {last:?}",
                    count(code)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The shapes of one long line whose constructs each once searched the
/// line (for its start, its end or its statement's end), at a megabyte:
/// quadratic, each took from seconds to many minutes, where now each takes
/// a fraction of a second (in a release build).
#[test]
fn one_long_line_is_not_searched_per_construct() {
    let table = imports();
    for name in [
        "lifetime_line",
        "python_block_line",
        "tuple_let_line",
        "nested_item_line",
        "unclosed_block_line",
        "nested_fn_line",
    ] {
        let shape = hostile::shape(name).expect("a shape of the corpus");
        let src = (shape.build)(hostile::size_for(&shape, 1 << 20));
        let started = std::time::Instant::now();
        let analysis = kpl_lang::analyze(&src, &table);
        assert!(!analysis.diagnostics.is_empty(), "{name}");
        // Generous (a loaded machine); the quadratic versions of the
        // lifetimes took minutes.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{name}: {:?}",
            started.elapsed()
        );
    }
}
