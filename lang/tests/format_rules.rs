//! One test per layout rule of the book's formatting chapter
//! (`book/src/guide/formatting.md`, rules numbered as there), and the
//! chapter's examples: each ```` ```text,fmt-before ```` block formats to the
//! ```` ```kpl ```` block that follows it.

use kpl_lang::format::{FormatError, MAX_WIDTH, format_source};

/// `input` formats to `want`, and `want` is formatted.
#[track_caller]
fn check(input: &str, want: &str) {
    let got = format_source(input).unwrap_or_else(|e| panic!("{e}\n{input}"));
    assert_eq!(got, want, "formatting\n{input}");
    let again = format_source(want).unwrap_or_else(|e| panic!("{e}\n{want}"));
    assert_eq!(again, want, "the expected text is not formatted itself");
}

#[test]
fn rule_1_files_with_syntax_errors_are_refused() {
    for broken in [
        "fn f() { let x = ; }",
        "fn f() { x += 1 }",
        "const A: u32 = \"unterminated;",
        "fn f() { return 1 < 2 < 3; }",
        "fn f() { let a = 12ab; }",
        "fn f() { # }",
    ] {
        match format_source(broken) {
            Err(FormatError::Syntax(d)) => assert!(d.iter().all(|d| d.is_error())),
            other => panic!("{broken}: {other:?}"),
        }
    }
    // No syntax error, but read as something else than written (the
    // checker reports these): `m::f(x)` is read as `(m).f(x)`.
    for rewritten in [
        "fn f() {\n    kernel::log(\"x\");\n}\n",
        "fn g() {}\n\nfn f() {\n    util::g();\n}\n",
    ] {
        match format_source(rewritten) {
            Err(FormatError::NotAsWritten(at)) => {
                assert_eq!(
                    &rewritten[at.range()],
                    rewritten
                        .split_once("::")
                        .unwrap()
                        .0
                        .rsplit(' ')
                        .next()
                        .unwrap()
                )
            }
            other => panic!("{rewritten}: {other:?}"),
        }
    }
}

#[test]
fn rule_2_only_layout_changes() {
    // Literal spellings, parentheses, names, `use` order, braces kept.
    check(
        "use kernel::{log_u64,clock_ns};\nconst A:u32=((0xFF_ff));\nconst S:u32=0b1_0+0o7;\nfn f(){log_u64(\"a\\t\\x41\",(A));}\n",
        "use kernel::{log_u64, clock_ns};\nconst A: u32 = ((0xFF_ff));\nconst S: u32 = 0b1_0 + 0o7;\n\nfn f() {\n    log_u64(\"a\\t\\x41\", (A));\n}\n",
    );
    check("use kernel::{log};\n", "use kernel::{log};\n");
}

#[test]
fn rule_3_indentation_and_width() {
    check(
        "fn f(){\n\t{\n\t\tlet x=1;\n\t}\n}",
        "fn f() {\n    {\n        let x = 1;\n    }\n}\n",
    );
    assert_eq!(MAX_WIDTH, 100);
    // 100 columns fit; 101 do not.
    let call = |n: usize| {
        let arg = "a".repeat(n);
        format!("fn f() {{\n    g({arg}, b);\n}}\n")
    };
    let fits = call(100 - "    g(, b);".len());
    check(&fits, &fits);
    let too_long = call(101 - "    g(, b);".len());
    let out = format_source(&too_long).unwrap();
    assert!(out.contains("    g(\n        a"), "{out}");
}

/// Rule 3's cap: past 12 levels nothing is indented further and lists
/// stay on one line, so deep nesting costs a constant factor of output.
#[test]
fn rule_3_indentation_stops_at_twelve_levels() {
    let depth = 100;
    let literal = format!("{}x{}", "[".repeat(depth), "]".repeat(depth));
    let src = format!("fn f(x: u32) {{\n    let a = {literal};\n}}\n");
    let out = format_source(&src).unwrap();
    check(&out, &out);
    let widest = out.lines().map(|l| l.len() - l.trim_start().len()).max();
    assert_eq!(widest, Some(48), "{out}");
    // Levels 2 to 12 break (one `[` and one `],` per line); the rest of
    // the nest is one line at the cap.
    let at_cap: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with(&" ".repeat(48)))
        .collect();
    assert_eq!(at_cap.len(), 1, "{out}");
    assert!(
        at_cap[0].trim_start().starts_with(&"[".repeat(depth - 11)),
        "{out}"
    );
    assert!(
        out.len() < 6 * src.len(),
        "{} bytes from {}",
        out.len(),
        src.len()
    );
    // Blocks nested past the cap (hard breaks) keep their lines, at the cap.
    let blocks = format!(
        "fn f() {{{}{}}}",
        "if true {let x = 1;".repeat(20),
        "}".repeat(20)
    );
    let out = format_source(&blocks).unwrap();
    check(&out, &out);
    assert!(
        out.contains(&format!("\n{}let x = 1;\n", " ".repeat(48))),
        "{out}"
    );
    assert!(!out.contains(&" ".repeat(49)), "{out}");
}

#[test]
fn rule_4_spacing() {
    check(
        "fn f(a:[]mut u8,b:[ u32 ; 4 ])->u32{var x:u32=- a[ 0 ] as u32;x<<=b [1]>>2;let p=P{.x=1};let q=a . len;for i in 0 .. 4{x+=i;}return ! true as u32+x;}",
        "fn f(a: []mut u8, b: [u32; 4]) -> u32 {\n    var x: u32 = -a[0] as u32;\n    x <<= b[1] >> 2;\n    let p = P { .x = 1 };\n    let q = a.len;\n    for i in 0..4 {\n        x += i;\n    }\n    return !true as u32 + x;\n}\n",
    );
    check("use kernel :: log ;\n", "use kernel::log;\n");
}

#[test]
fn rule_4_two_negations_keep_a_space() {
    // `--i;` would be refused (C's decrement), and read as one elsewhere.
    check(
        "fn f(i: i32) -> i32 { - -i; let a = - - -i + !!true as i32 + ~~i - -i; return - - i; }",
        "fn f(i: i32) -> i32 {\n    - -i;\n    let a = - - -i + !!true as i32 + ~~i - -i;\n    return - -i;\n}\n",
    );
}

#[test]
fn rule_5_blocks() {
    check(
        "fn f(x:u32){if x>1{return;}else if x>0{abort;}else{} while x>0{break;} {continue;}}",
        "fn f(x: u32) {\n    if x > 1 {\n        return;\n    } else if x > 0 {\n        abort;\n    } else {}\n    while x > 0 {\n        break;\n    }\n    {\n        continue;\n    }\n}\n",
    );
    check("export fn f() {\n\n}\n", "export fn f() {}\n");
}

#[test]
fn rule_6_structs() {
    check(
        "struct P{x:u32,y:[u8;2]}\nstruct E{}",
        "struct P {\n    x: u32,\n    y: [u8; 2],\n}\n\nstruct E {}\n",
    );
}

#[test]
fn rule_7_lists() {
    // Fits: one line, no trailing comma.
    check("fn f() { g(1, 2,); }", "fn f() {\n    g(1, 2);\n}\n");
    // Does not fit: one element per line, trailing comma, closer on its own
    // line at the opener's indentation.
    let long = "x".repeat(40);
    check(
        &format!("fn f() {{ let p = Pair {{ .first = {long}, .second = {long} }}; }}"),
        &format!(
            "fn f() {{\n    let p = Pair {{\n        .first = {long},\n        .second = {long},\n    }};\n}}\n"
        ),
    );
    check(
        &format!("fn some_function({long}: u32, b{long}: u32) -> u32 {{ return 1; }}"),
        &format!(
            "fn some_function(\n    {long}: u32,\n    b{long}: u32,\n) -> u32 {{\n    return 1;\n}}\n"
        ),
    );
    // Arrays of short literals and names, and `use` lists, fill lines.
    let nums: Vec<String> = (0..30).map(|i| format!("{}", 1000 + i)).collect();
    let out = format_source(&format!("const T: [u32; 30] = [{}];", nums.join(", "))).unwrap();
    assert_eq!(
        out,
        format!(
            "const T: [u32; 30] = [\n    {},\n    {},\n];\n",
            nums[..16].join(", "),
            nums[16..].join(", ")
        )
    );
    // Arrays of anything else: one element per line.
    let out = format_source(&format!(
        "const T: [P; 2] = [P {{ .a = {long} }}, P {{ .a = {long} }}];"
    ))
    .unwrap();
    assert!(
        out.contains(&format!("[\n    P {{ .a = {long} }},\n    P")),
        "{out}"
    );
}

#[test]
fn rule_8_operator_chains() {
    let a = "alpha_value";
    check(
        &format!(
            "fn f() {{ let x = {a} + {a} * 2 + {a} - {a} * {a} + {a} + {a} + {a} + {a} - 1; }}"
        ),
        &format!(
            "fn f() {{\n    let x = {a}\n        + {a} * 2\n        + {a}\n        - {a} * {a}\n        + {a}\n        + {a}\n        + {a}\n        + {a}\n        - 1;\n}}\n"
        ),
    );
    // The lowest precedence breaks first; a broken condition puts `{` on a
    // line of its own.
    check(
        &format!(
            "fn f() {{ if {a} > 1 && {a} < 100 || {a} == 1000 && {a} != 2000 && {a} != 3000 {{ return; }} }}"
        ),
        &format!(
            "fn f() {{\n    if {a} > 1 && {a} < 100\n        || {a} == 1000 && {a} != 2000 && {a} != 3000\n    {{\n        return;\n    }}\n}}\n"
        ),
    );
    // A call in a condition breaks inside and keeps `{` on its line.
    let long = "y".repeat(50);
    check(
        &format!("fn f() {{ while g({long}, {long}) {{ break; }} }}"),
        &format!(
            "fn f() {{\n    while g(\n        {long},\n        {long},\n    ) {{\n        break;\n    }}\n}}\n"
        ),
    );
}

#[test]
fn rule_9_blank_lines() {
    check(
        "\n\nconst A: u32 = 1;\n\n\n\nconst B: u32 = 2;\nconst C: u32 = 3;\nfn f() {\n\n    let a = 1;\n\n\n    let b = 2;\n    let c = 3;\n\n}\nstruct S {\n    a: u32,\n\n    b: u32,\n}\n\n\n",
        "const A: u32 = 1;\n\nconst B: u32 = 2;\nconst C: u32 = 3;\n\nfn f() {\n    let a = 1;\n\n    let b = 2;\n    let c = 3;\n}\n\nstruct S {\n    a: u32,\n\n    b: u32,\n}\n",
    );
}

#[test]
fn rule_10_comments() {
    // Own-line comments stay on their lines, indented like what follows (or
    // like the statements, at the end of a block); a blank line before one
    // is kept.
    check(
        "fn f() {\n// a\n    let x = 1;\n\n        // b\nreturn;\n      // c\n}\n",
        "fn f() {\n    // a\n    let x = 1;\n\n    // b\n    return;\n    // c\n}\n",
    );
    // End-of-line comments stay at the end of their line, one space after the
    // code; those on consecutive lines are aligned.
    check(
        "fn f() {\n    let x = 1;   // one\n    let longer = 2; // two\n\n    let y = 3;      // three\n}\n",
        "fn f() {\n    let x = 1;      // one\n    let longer = 2; // two\n\n    let y = 3; // three\n}\n",
    );
    // A line that also holds a block comment does not take part.
    check(
        "fn f() {\n    let x = 1; // one\n    let /* b */ y = 2; // two\n}\n",
        "fn f() {\n    let x = 1; // one\n    let /* b */ y = 2; // two\n}\n",
    );
    // Before a `,` or `;` on the next line, a comment moves after it.
    check(
        "fn f() {\n    g(a // first\n    , b);\n    let x = 1 // one\n    ;\n}\n",
        "fn f() {\n    g(\n        a, // first\n        b,\n    );\n    let x = 1; // one\n}\n",
    );
    // A comment inside a list breaks the list.
    check(
        "fn f() { g(a, // first\n b); }",
        "fn f() {\n    g(\n        a, // first\n        b,\n    );\n}\n",
    );
    // Block comments inside a line stay there; trailing whitespace goes.
    check(
        "const A: u32 = /* one */ 1;   \n/* two   \n   lines */\nconst B: u32 = 2; /* end */\n",
        "const A: u32 = /* one */ 1;\n/* two\n   lines */\nconst B: u32 = 2; /* end */\n",
    );
    // Comments never change where code breaks: a long comment after a line
    // that fits leaves it alone.
    let c = "c".repeat(120);
    check(
        &format!("fn f() {{\n    g(1, 2); // {c}\n}}\n"),
        &format!("fn f() {{\n    g(1, 2); // {c}\n}}\n"),
    );
    // Doc comments are comments like any other.
    check(
        "/// Doc.\n///   Indented.\nfn f() {}\n",
        "/// Doc.\n///   Indented.\nfn f() {}\n",
    );
}

/// A block comment on its own line that the `,` ending an element
/// follows on that line: no space before the `,`, as for a comment inside
/// a line, whether a comment follows the `,` or not (it used to gain a
/// space on the second pass).
#[test]
fn rule_10_block_comment_before_a_comma() {
    check(
        "export fn f(a: u32\n/* c */ // d\n, b: u32) {}",
        "export fn f(\n    a: u32\n    /* c */, // d\n    b: u32,\n) {}\n",
    );
    check(
        "export fn f(a: u32\n/* first */, /**/ b: u32) {}",
        "export fn f(\n    a: u32\n    /* first */, /**/\n    b: u32,\n) {}\n",
    );
    check(
        "export fn f(a: u32\n/* first */ , b: u32) {}",
        "export fn f(\n    a: u32\n    /* first */,\n    b: u32,\n) {}\n",
    );
}

/// Comments take no room at the edge of the width either: a `{` that only
/// fits without a comment before it, a space written before a comment, or
/// a comment that ends the condition's line and so pushes the `{` down,
/// change nothing about where the code breaks (each used to break on one
/// pass and join on the next).
#[test]
fn rule_10_comments_at_the_width_limit() {
    // `    if A > B {` is 102 columns, the condition alone 100.
    let (a, b) = ("a".repeat(45), "b".repeat(45));
    for comment in ["/* c */ ", "// c\n"] {
        check(
            &format!("fn f() {{ if {a} > {b} {comment}{{ return; }} }}"),
            &format!(
                "fn f() {{\n    if {a}\n        > {b} {}\n    {{\n        return;\n    }}\n}}\n",
                comment.trim_end()
            ),
        );
    }
    // Exactly 100 columns before a comment that ends the line.
    let n = "n".repeat(68);
    check(
        &format!("export fn {n}(a: u8, n: u8) -> u8 {{ /**/ return a; }}"),
        &format!("export fn {n}(a: u8, n: u8) -> u8 {{ /**/\n    return a;\n}}\n"),
    );
    check(
        &format!("export fn {n}x(a: u8, n: u8) -> u8 {{ /**/ return a; }}"),
        &format!("export fn {n}x(\n    a: u8,\n    n: u8,\n) -> u8 {{ /**/\n    return a;\n}}\n"),
    );
}

#[test]
fn rule_11_end_of_file_and_line_endings() {
    check("fn f() {}", "fn f() {}\n");
    check("fn f() {}\n\n\n", "fn f() {}\n");
    check(
        "fn f() {\r\n    return; // x\r\n}\r\n",
        "fn f() {\n    return; // x\n}\n",
    );
    check("", "");
    check("// only a comment", "// only a comment\n");
    // A lone `\r` is a line break, as for the lexer: a comment after one
    // stays on its own line, blank lines count, and `\r` inside a block
    // comment becomes `\n`.
    check(
        "export fn f() {}\r// own line\rexport fn g() {}\r",
        "export fn f() {}\n\n// own line\nexport fn g() {}\n",
    );
    check(
        "fn f() {\r\r    let x = 1; // a\r\r\r    return; /* b\r\r c */\r}\r",
        "fn f() {\n    let x = 1; // a\n\n    return; /* b\n\n c */\n}\n",
    );
    check("/* a\rb */\rfn f() {}", "/* a\nb */\nfn f() {}\n");
    check("/* a\r\nb */ fn f() {}\r\n", "/* a\nb */ fn f() {}\n");
    // A byte-order mark at the start is dropped.
    check("\u{FEFF}fn f() {}\n", "fn f() {}\n");
    check("\u{FEFF}", "");
    check("\u{FEFF}\n\n", "");
    check("\u{FEFF}// only a comment", "// only a comment\n");
    check("\u{FEFF}/* c */", "/* c */\n");
}

#[test]
fn rule_12_idempotent() {
    let src = "fn f(a:u32)->u32{ // x\nreturn g(a,/* y */ a) +1;}";
    let once = format_source(src).unwrap();
    assert_eq!(format_source(&once).unwrap(), once);
}

/// The chapter's examples: each `text,fmt-before` block formats to the
/// `kpl` block after it.
#[test]
fn the_chapters_examples_hold() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../book/src/guide/formatting.md"
    );
    let text = std::fs::read_to_string(path).expect("the formatting chapter");
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    let mut pairs = 0;
    for (i, (info, before)) in blocks.iter().enumerate() {
        if info != "text,fmt-before" {
            continue;
        }
        let (next_info, after) = blocks
            .get(i + 1)
            .unwrap_or_else(|| panic!("example {before}: no `kpl` block after it"));
        assert_eq!(next_info, "kpl", "the block after\n{before}");
        check(before, after);
        pairs += 1;
    }
    assert!(pairs >= 3, "only {pairs} examples in the chapter");
}
