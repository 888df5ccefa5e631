//! The salsa database (`kplc::db`): it gives exactly the diagnostics of
//! `kpl_lang::analyze`, and after an edit it re-executes only the queries the
//! edit can affect. Executions are recorded through salsa's event hook
//! (`EventKind::WillExecute`).

use std::path::Path;
use std::sync::Arc;

use kplc::db::{self, Db, ExecLog, SourceFile};
use kplc::std_imports::ImportSources;

fn imports() -> Arc<kpl_lang::imports::ImportTable> {
    let (table, problems) = ImportSources::embedded().load();
    assert!(problems.is_empty());
    Arc::new(table)
}

const PLUGIN: &str = "\
// A plugin for the incremental tests.
use kernel::{clock_ns};

struct Pair {
    a: u32,
    b: u32,
}

/// Adds two numbers.
fn add(x: u32, y: u32) -> u32 {
    return x + y;
}

fn twice(x: u32) -> u32 {
    return add(x, x);
}

fn other(x: u32) -> u32 {
    let p = Pair { .a = x, .b = 3 };
    return p.a * p.b;
}

export fn main(n: u32) -> u32 {
    // the entry point
    let t = clock_ns() as u32;
    return twice(n) + other(n) + t;
}
";

fn executed(db: &Db, file: SourceFile, log: &ExecLog) -> Vec<String> {
    let keys = std::mem::take(&mut *log.lock().unwrap());
    let mut names = db.describe(file, &keys);
    names.sort();
    names
}

/// Checks `text`, then `edited`, and returns the diagnostics codes after the
/// edit and the queries the edit re-executed.
fn edit(text: &str, edited: &str) -> (Vec<String>, Vec<String>) {
    let (mut db, log) = Db::with_log();
    let file = db.file(text.to_string(), imports());
    assert_eq!(
        db::diagnostics(&db, file),
        &Vec::new(),
        "the base plugin is clean"
    );
    log.lock().unwrap().clear();
    db.set_text(file, edited.to_string());
    let codes = db::diagnostics(&db, file)
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    let ran = executed(&db, file, &log);
    // The incremental result is the from-scratch result.
    let scratch = kpl_lang::analyze(edited, &imports());
    assert_eq!(db::diagnostics(&db, file), &scratch.diagnostics);
    (codes, ran)
}

fn strs(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn cold_check_runs_every_query_once() {
    let (db, log) = Db::with_log();
    let file = db.file(PLUGIN.to_string(), imports());
    assert!(db::diagnostics(&db, file).is_empty());
    let ran = executed(&db, file, &log);
    assert_eq!(
        ran,
        strs(&[
            "body_env(add)",
            "body_env(main)",
            "body_env(other)",
            "body_env(twice)",
            "body_skeleton(file)",
            "check_fn(add)",
            "check_fn(main)",
            "check_fn(other)",
            "check_fn(twice)",
            "decls(file)",
            "diagnostics(file)",
            "items(file)",
            "parse(file)",
            // Small items share a chunk (`db::chunk_starts`): here the `use`
            // (after the leading comment), `Pair`, `add` and `twice` are one,
            // `other` and `main` another. Each chunk is parsed, then its
            // items are placed in virtual coordinates (`place_chunk`).
            "parse_chunk(use kernel)",
            "place_chunk(use kernel)",
            "parse_chunk(fn other)",
            "place_chunk(fn other)",
            "shared_env(file)",
            "skeleton(file)",
            "whole_program(file)",
        ])
    );
}

#[test]
fn body_edit_rechecks_only_that_function() {
    let edited = PLUGIN.replace(".b = 3 }", ".b = 4 }");
    let (codes, ran) = edit(PLUGIN, &edited);
    assert!(codes.is_empty());
    assert_eq!(
        ran,
        strs(&[
            "parse(file)",
            // Only the edited function's text is parsed and placed again.
            "parse_chunk(fn other)",
            "place_chunk(fn other)",
            "items(file)",
            // The names the body mentions are recomputed; they did not
            // change, so no other query sees a change.
            "body_env(other)",
            "check_fn(other)",
            "diagnostics(file)",
        ])
    );
}

/// After an edit that moves the text after it (a longer line in `add`),
/// the chunk after it keeps its very trees (the same allocations, parsed and
/// placed, not equal copies), and so does each item of it: the database
/// shares trees between its queries and revisions instead of cloning them.
#[test]
fn body_edit_shares_the_other_chunks_trees() {
    let mut db = Db::default();
    let file = db.file(PLUGIN.to_string(), imports());
    assert!(db::diagnostics(&db, file).is_empty());
    let before = db::parse(&db, file).chunks.clone();
    let decls: Vec<_> = db::items(&db, file)
        .iter()
        .map(|i| i.decl(&db).clone())
        .collect();
    db.set_text(file, PLUGIN.replace("return x + y;", "return x + y + 0;"));
    assert!(db::diagnostics(&db, file).is_empty());
    let after = &db::parse(&db, file).chunks;
    assert_eq!(before.len(), 2);
    assert_eq!(after.len(), 2);
    // The edited chunk (`use` to `twice`): parsed and placed again.
    assert!(!Arc::ptr_eq(&before[0].parse, &after[0].parse));
    assert!(!Arc::ptr_eq(&before[0].placed, &after[0].placed));
    // The next one (`other`, `main`) moved by four bytes: same parse, same
    // placed items.
    assert_eq!(after[1].start, before[1].start + 4);
    assert!(Arc::ptr_eq(&before[1].parse, &after[1].parse));
    assert!(Arc::ptr_eq(&before[1].placed, &after[1].placed));
    // The items hold the placed trees themselves.
    let items = db::items(&db, file);
    let first = after[1].first_item as usize;
    for (j, p) in after[1].placed.iter().enumerate() {
        assert!(Arc::ptr_eq(&p.decl, items[first + j].decl(&db)));
        assert!(Arc::ptr_eq(&p.decl, &decls[first + j]));
    }
}

#[test]
fn body_edit_with_new_local_also_reruns_whole_program_rules() {
    // A new binding changes the function's frame size: the stack-depth rule
    // (whole program) runs again, no other body is checked.
    let edited = PLUGIN.replace(
        "    return p.a * p.b;",
        "    let q = p.a + 1;\n    return q * p.b;",
    );
    let (codes, ran) = edit(PLUGIN, &edited);
    assert!(codes.is_empty());
    assert_eq!(
        ran,
        strs(&[
            "parse(file)",
            // Only the edited function's text is parsed and placed again.
            "parse_chunk(fn other)",
            "place_chunk(fn other)",
            "items(file)",
            // The names the body mentions are recomputed; they did not
            // change, so no other query sees a change.
            "body_env(other)",
            "check_fn(other)",
            "whole_program(file)",
            "diagnostics(file)",
        ])
    );
}

/// Many one-line functions: they share chunks of a few items, and an edit
/// re-parses the one chunk it is in, not the items after it.
#[test]
fn small_items_share_chunks_and_an_edit_reparses_one() {
    let text: String = (0..300)
        .map(|i| format!("fn g{i}(x: u32) -> u32 {{ return x + {i}; }}\n"))
        .chain(std::iter::once(
            "export fn main(x: u32) -> u32 { return g0(x); }\n".to_string(),
        ))
        .collect();
    let chunks = |ran: &[String]| ran.iter().filter(|q| q.starts_with("parse_chunk(")).count();
    let (db, log) = Db::with_log();
    let file = db.file(text.clone(), imports());
    db::diagnostics(&db, file);
    let cold = chunks(&executed(&db, file, &log));
    assert!(
        (2..=300 / 4).contains(&cold),
        "{cold} chunks for 301 small items"
    );
    let mut db = db;
    let edited = text.replace("return x + 150;", "return x + 1500;");
    db.set_text(file, edited.clone());
    let after = db::diagnostics(&db, file).clone();
    let ran = executed(&db, file, &log);
    assert_eq!(after, kpl_lang::analyze(&edited, &imports()).diagnostics);
    assert_eq!(chunks(&ran), 1, "{ran:?}");
    assert!(ran.contains(&"check_fn(g150)".to_string()), "{ran:?}");
}

#[test]
fn comment_and_whitespace_edits_check_nothing() {
    let edited = PLUGIN
        .replace(
            "// the entry point",
            "// the entry point, called by the host é😀",
        )
        .replace("/// Adds two numbers.", "/// Adds two numbers (wrapping).")
        .replace("// A plugin", "\n\n// A plugin")
        .replace("return x + y;", "return   x +\n        y;");
    let (codes, ran) = edit(PLUGIN, &edited);
    assert!(codes.is_empty());
    // The edited chunks are parsed again; no type checking runs.
    assert_eq!(
        ran,
        strs(&[
            "parse(file)",
            "parse_chunk(use kernel)",
            "place_chunk(use kernel)",
            "parse_chunk(fn other)",
            "place_chunk(fn other)",
            "items(file)",
            "diagnostics(file)",
        ])
    );
}

#[test]
fn signature_edit_rechecks_the_function_and_its_callers_only() {
    // `add` now takes a u16: `twice` (its caller) gets an error; `other` and
    // `main` do not call `add` and are not re-checked.
    let edited = PLUGIN.replace("fn add(x: u32, y: u32)", "fn add(x: u32, y: u16)");
    let (codes, ran) = edit(PLUGIN, &edited);
    assert_eq!(codes, vec!["E0200".to_string(), "E0200".to_string()]);
    assert_eq!(
        ran,
        strs(&[
            "parse(file)",
            // The chunk `add` shares with `use`, `Pair` and `twice`.
            "parse_chunk(use kernel)",
            "place_chunk(use kernel)",
            "items(file)",
            "skeleton(file)",
            "decls(file)",
            "body_skeleton(file)",
            // Recomputed and equal: no signature in it.
            "shared_env(file)",
            // The per-body projections of the declarations are recomputed
            // (cheap); only those of `add` and `twice` changed.
            "body_env(add)",
            "body_env(main)",
            "body_env(other)",
            "body_env(twice)",
            "check_fn(add)",
            "check_fn(twice)",
            "whole_program(file)",
            "diagnostics(file)",
        ])
    );
}

/// Every diagnostic test case, execution test and example gives the same
/// diagnostics through the database as through `analyze`, from scratch and
/// after an edit from another file.
#[test]
fn database_matches_analyze_on_every_case() {
    let imports = imports();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in ["tests/ui", "tests/exec"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "kpl") {
                paths.push(p);
            }
        }
    }
    for e in std::fs::read_dir(root.join("../examples")).unwrap() {
        let dir = e.unwrap().path();
        if let Ok(files) = std::fs::read_dir(&dir) {
            for f in files {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "kpl") {
                    paths.push(p);
                }
            }
        }
    }
    paths.sort();
    assert!(paths.len() > 50, "found only {} cases", paths.len());
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    let mut failures = Vec::new();
    for p in &paths {
        let src = std::fs::read_to_string(p).unwrap();
        let want = kpl_lang::analyze(&src, &imports).diagnostics;
        // Fresh database.
        let fresh = Db::default();
        let f = fresh.file(src.clone(), imports.clone());
        if db::diagnostics(&fresh, f) != &want {
            failures.push(format!("{} (fresh)", p.display()));
        }
        // The shared database, edited from the previous case.
        db.set_text(file, src.clone());
        if db::diagnostics(&db, file) != &want {
            failures.push(format!("{} (edited)", p.display()));
        }
    }
    assert!(failures.is_empty(), "differs from analyze: {failures:#?}");
}

#[test]
fn synthetic_plugin_matches_analyze_after_edits() {
    let imports = imports();
    let src = kplc::synth::plugin(2000);
    let mut db = Db::default();
    let file = db.file(src.clone(), imports.clone());
    assert_eq!(
        db::diagnostics(&db, file),
        &kpl_lang::analyze(&src, &imports).diagnostics
    );
    // Break one body, then a signature, then fix both.
    let broken = src.replacen("acc = acc ^ (acc >> 13);", "acc = acc ^ (acc >> true);", 1);
    let broken2 = broken.replacen(
        "fn mix_3(data: []u8, seed: u32)",
        "fn mix_3(data: []u8, seed: u64)",
        1,
    );
    for text in [&broken, &broken2, &src] {
        db.set_text(file, text.clone());
        let want = kpl_lang::analyze(text, &imports).diagnostics;
        assert_eq!(db::diagnostics(&db, file), &want);
    }
    assert!(!kpl_lang::analyze(&broken2, &imports).diagnostics.is_empty());
}

/// A stray `)`, `]` or `}` on its own line between items, where a chunk
/// ends (`db::parse_chunked` says why its error does not depend on what
/// follows), or at the end of the file: the file is still parsed chunk by
/// chunk, and the chunks give exactly the whole-file parse's items and
/// diagnostics. (Before, such a chunk made the whole file be parsed again;
/// so did a last chunk that ends unfinished.)
#[test]
fn stray_closers_at_chunk_ends_keep_the_chunked_parse() {
    let imports = imports();
    // An item of at least 256 bytes: the next item start begins a chunk.
    let big = |name: &str| {
        format!(
            "fn {name}(x: u32) -> u32 {{\n{}    return x;\n}}\n",
            "    x += 1;\n".repeat(24)
        )
    };
    let stray = kpl_testgen::hostile::shapes()
        .into_iter()
        .find(|s| s.name == "stray_closers")
        .unwrap();
    let mut cases: Vec<String> = (0..6).map(|k| (stray.build)(3 * 200 + k)).collect();
    for closer in [")", "]", "}", "  }  // a comment"] {
        cases.push(format!("{}{closer}\n{}", big("a"), big("b")));
        cases.push(format!(
            "{}{closer}\n/// Docs.\nexport fn b() {{}}\n",
            big("a")
        ));
        cases.push(format!("{}{}\n{closer}", big("a"), big("b")));
        // Broken items around the stray closer.
        cases.push(format!(
            "{}fn g() {{ ] }}\n{closer}\nconst C: u32 = ;\n{}",
            big("a"),
            big("b")
        ));
    }
    // The last chunk may end anyhow: nothing follows it in the file either.
    cases.push(format!("{}fn b() {{\n    let x = (1 +\n", big("a")));
    cases.push(format!("{}const C: u32 = 1 +\n}}", big("a")));
    for src in &cases {
        let db = Db::default();
        let file = db.file(src.clone(), imports.clone());
        let chunks = db::parse(&db, file).chunks.len();
        assert!(chunks > 1, "parsed as one chunk:\n{src}");
        assert_eq!(
            db::diagnostics(&db, file),
            &kpl_lang::analyze(src, &imports).diagnostics,
            "{src}"
        );
        assert_eq!(
            **db::text_ast(&db, file),
            kpl_lang::parse_source(src).0,
            "{src}"
        );
    }
    // The exception is narrow: a closer that an item's own parse failed at
    // (here the `}` ends `1 +`) is not skipped alone, and the file is
    // parsed whole, with the same result as `analyze`.
    let broken = format!(
        "{}const C: u32 = 1 +\n// {}\n}}\n{}{}",
        big("a"),
        "padding ".repeat(40),
        big("b"),
        big("c")
    );
    let db = Db::default();
    let file = db.file(broken.clone(), imports.clone());
    assert_eq!(db::parse(&db, file).chunks.len(), 1);
    assert_eq!(
        db::diagnostics(&db, file),
        &kpl_lang::analyze(&broken, &imports).diagnostics
    );
}

/// Random edits of the examples (inserted brackets, quotes, comment
/// openers, item keywords, deleted ranges): the chunked parse and the
/// per-item checks agree with `analyze` on every broken intermediate text.
#[test]
fn random_edits_match_analyze() {
    let imports = imports();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut sources = Vec::new();
    for e in std::fs::read_dir(root).unwrap() {
        let dir = e.unwrap().path();
        if let Ok(files) = std::fs::read_dir(&dir) {
            for f in files {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "kpl") {
                    sources.push(std::fs::read_to_string(p).unwrap());
                }
            }
        }
    }
    sources.sort();
    const SNIPPETS: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "/*",
        "*/",
        "//",
        "///",
        "\n",
        "\nfn ",
        "fn ",
        "\nstruct S { a: u32 }\n",
        "\nconst X: u32 = 1;\n",
        "let",
        ";",
        "export ",
        "é😀",
        "\n}\n",
        "\n)\n",
        "\n]\n",
        "use kernel::{clock_ns};\n",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n.max(1)
    };
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    let mut checked = 0;
    for src in &sources {
        let mut text = src.clone();
        for _ in 0..80 {
            // Half the time start again from the clean source, so single
            // edits (the chunked path) are exercised as well as piles of them.
            if rand(2) == 0 {
                text = src.clone();
            }
            let mut at = rand(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if rand(3) == 0 {
                let mut end = (at + 1 + rand(12)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, "");
            } else {
                text.insert_str(at, SNIPPETS[rand(SNIPPETS.len())]);
            }
            db.set_text(file, text.clone());
            let want = kpl_lang::analyze(&text, &imports).diagnostics;
            let got = db::diagnostics(&db, file);
            if got != &want {
                let _ = std::fs::write(std::env::temp_dir().join("kpl-random-edit.kpl"), &text);
                let show = |d: &[kpl_lang::Diagnostic]| -> Vec<String> {
                    d.iter()
                        .map(|d| format!("{} {:?} {}", d.code, d.primary.span, d.message))
                        .collect()
                };
                panic!(
                    "after edits (text in kpl-random-edit.kpl):\n{:#?}\nwant\n{:#?}",
                    show(got),
                    show(&want)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 200);
}

/// `kplc build` through the database (one `codegen_fn` per function, then
/// assembly) gives byte for byte the object of whole-program code
/// generation, for every execution test and example.
#[test]
fn per_function_codegen_matches_whole_program_codegen() {
    let imports = imports();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for e in std::fs::read_dir(root.join("tests/exec")).unwrap() {
        paths.push(e.unwrap().path());
    }
    for e in std::fs::read_dir(root.join("../examples")).unwrap() {
        if let Ok(files) = std::fs::read_dir(e.unwrap().path()) {
            paths.extend(files.map(|f| f.unwrap().path()));
        }
    }
    paths.retain(|p| p.extension().is_some_and(|x| x == "kpl"));
    paths.sort();
    let mut sources: Vec<(String, String)> = paths
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    // Programs with a function in the local form (the fallback for one the
    // verifier refuses): the database assembles those forms too.
    for seed in kplc::difftest::LOCAL_FORM_SEEDS {
        sources.push((format!("seed {seed}"), kplc::difftest::generate(seed).kpl));
    }
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    let mut compared = 0;
    let mut local = 0;
    for (name, src) in &sources {
        let a = kpl_lang::analyze(src, &imports);
        if a.has_errors() {
            continue;
        }
        let whole = kplc::codegen::compile(&a.file, &a.program);
        let want = kplc::object::write(&whole, "p.kpl", src);
        db.set_text(file, src.clone());
        let got = db::compiled(&db, file).clone().expect("compiles");
        assert_eq!(got.code.source_map, whole.code.source_map, "{name}");
        assert_eq!(got.sites, whole.sites, "{name}");
        assert_eq!(got.local_functions, whole.local_functions, "{name}");
        assert_eq!(kplc::object::write(&got, "p.kpl", src), want, "{name}");
        compared += 1;
        local += usize::from(!whole.local_functions.is_empty());
    }
    assert_eq!(
        local,
        kplc::difftest::LOCAL_FORM_SEEDS.len(),
        "programs with a function in the local form"
    );
    assert!(compared >= 10, "only {compared} programs compared");
    // A file with errors has no object.
    db.set_text(file, "export fn f() -> u32 { return true; }".to_string());
    assert!(db::compiled(&db, file).is_none());
}

#[test]
fn body_edit_regenerates_only_that_function() {
    let (mut db, log) = Db::with_log();
    let file = db.file(PLUGIN.to_string(), imports());
    assert!(db::compiled(&db, file).is_some());
    log.lock().unwrap().clear();
    db.set_text(file, PLUGIN.replace(".b = 3 }", ".b = 4 }"));
    let got = db::compiled(&db, file).clone().expect("compiles");
    let ran = executed(&db, file, &log);
    assert_eq!(
        ran,
        strs(&[
            "parse(file)",
            "parse_chunk(fn other)",
            "place_chunk(fn other)",
            "items(file)",
            "body_env(other)",
            "check_fn(other)",
            "diagnostics(file)",
            "codegen_fn(other)",
            "compiled(file)",
        ])
    );
    // And the result is the whole-program build of the edited text.
    let text = PLUGIN.replace(".b = 3 }", ".b = 4 }");
    let a = kpl_lang::analyze(&text, &imports());
    let whole = kplc::codegen::compile(&a.file, &a.program);
    assert_eq!(
        kplc::object::write(&got, "p.kpl", &text),
        kplc::object::write(&whole, "p.kpl", &text)
    );
}

/// Hover, definition, completion and symbols answer (or decline) at every
/// position of broken and non-ASCII texts without panicking.
#[test]
fn editor_features_never_panic() {
    let imports = imports();
    let mut texts: Vec<String> = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for e in std::fs::read_dir(root).unwrap() {
        if let Ok(files) = std::fs::read_dir(e.unwrap().path()) {
            for f in files {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "kpl") {
                    texts.push(std::fs::read_to_string(p).unwrap());
                }
            }
        }
    }
    texts.sort();
    let base = texts.clone();
    for t in &base {
        // Cut in the middle, unbalanced, with non-ASCII text inserted.
        texts.push(t[..t.len() / 2].to_string());
        texts.push(t.replace('}', "").replacen("fn ", "fn é😀 ", 3));
        texts.push(t.replace(";", ".").replacen("(", "kernel::", 5));
    }
    texts.push("fn ((( é😀 }}} struct { let = ;; \u{0} \"unterminated".to_string());
    texts.push(String::new());
    let mut db = Db::default();
    let file = db.file(String::new(), imports);
    for t in &texts {
        db.set_text(file, t.clone());
        let _ = kplc::ide::symbols(&db, file);
        let mut at = 0;
        while at <= t.len() + 3 {
            let o = at as u32;
            let _ = kplc::ide::hover(&db, file, o);
            let _ = kplc::ide::definition(&db, file, o);
            let _ = kplc::ide::complete(&db, file, o);
            at += 11;
        }
    }
}

/// `count` small functions `g0`, `g1`, … (`g3` returns `a + 3`, the text
/// [`compare_with_analyze`] edits), to put items around a broken one.
fn small_functions(count: usize) -> String {
    (0..count)
        .map(|k| format!("fn g{k}(a: u32) -> u32 {{\n    return a + {k};\n}}\n"))
        .collect()
}

/// Whether the database gives `want`, `analyze`'s diagnostics of `src`,
/// in a fresh database and in `db` after an edit of `g3` (which the
/// sources of both budget tests below hold): a failure named `what` each
/// time it does not.
fn compare_with_analyze(
    db: &mut Db,
    file: SourceFile,
    src: &str,
    want: &[kpl_lang::Diagnostic],
    imports: &Arc<kpl_lang::imports::ImportTable>,
    what: &str,
    failures: &mut Vec<String>,
) {
    let fresh = Db::default();
    let f = fresh.file(src.to_string(), imports.clone());
    if db::diagnostics(&fresh, f) != want {
        failures.push(format!("{what} (fresh)"));
    }
    db.set_text(file, src.to_string());
    db::diagnostics(db, file);
    let edited = src.replacen("return a + 3;", "return a + 33;", 1);
    let want = kpl_lang::analyze(&edited, imports).diagnostics;
    db.set_text(file, edited);
    if db::diagnostics(db, file) != &want {
        failures.push(format!("{what} (edited)"));
    }
}

/// An item cut short by its error budget (E0007) is cut at the same place
/// through the database, which parses chunks of items apart, as through
/// `analyze`, which parses the whole file: with the broken function among
/// small items (so that chunks and segments start at other places than in
/// the whole file), at counts on both sides of the budget, for each kind
/// of counted error, fresh and after an edit before it.
#[test]
fn an_item_cut_short_is_cut_alike_in_the_database() {
    let budget = kpl_lang::parser::ITEM_ERROR_BUDGET;
    let imports = imports();
    let small = small_functions(40);
    let mut failures = Vec::new();
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    for line in ["1", "x", "if", "let", "=;", "\"", "a = 1"] {
        for n in [budget - 1, budget, budget + 1, 2 * budget + 7] {
            let body = format!("{line}\n").repeat(n);
            let src = format!(
                "{small}export fn f(x: u32) -> u32 {{\n{body}    return x;\n}}\n{small}\
                 fn h() -> u32 {{\n    return true;\n}}\n"
            );
            let want = kpl_lang::analyze(&src, &imports).diagnostics;
            let cut = want.iter().any(|d| d.code == kpl_lang::Code::E0007);
            if n > budget && !cut {
                failures.push(format!("`{line}` × {n}: not cut short"));
            }
            // The function after the cut is still checked (unless the
            // file's budget is spent too: each `"` is a lexical error and a
            // missing `;`, so 1,000 of them spend it, see the next test).
            let file_cut = want.iter().any(|d| d.code == kpl_lang::Code::E0008);
            if !file_cut && !want.iter().any(|d| d.code == kpl_lang::Code::E0200) {
                failures.push(format!("`{line}` × {n}: `h` not checked"));
            }
            let what = format!("`{line}` × {n}");
            compare_with_analyze(&mut db, file, &src, &want, &imports, &what, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A file cut short by its error budget (E0008) gives through the database
/// (chunks parsed apart, their counts added up) what it gives through
/// `analyze`, which parses the whole file: errors of every kind the budget
/// counts, spread over many functions among small items, at totals on both
/// sides of the budget, fresh and after an edit. The file is cut exactly
/// when the total reaches the budget before an item, and then nothing is
/// reported by the type checker (the `return true` of `h` is reported only
/// when not cut).
#[test]
fn a_file_cut_short_is_cut_alike_in_the_database() {
    let budget = kpl_lang::FILE_ERROR_BUDGET;
    let imports = imports();
    let small = small_functions(6);
    let mut failures = Vec::new();
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    // Per line: what it holds, how many errors it counts, and whether it
    // is an item of its own rather than a line of a function.
    for (line, top_level) in [("=;", false), ("''", false), (")", false), ("fn", true)] {
        let per_line = if line == "''" { 2 } else { 1 };
        for total in [budget - 1, budget, budget + 1, 2 * budget + 7] {
            let lines = total / per_line;
            let mut src = String::new();
            let mut left = lines;
            let mut k = 0;
            while left > 0 {
                // 300 a function: under the item's own budget.
                let here = left.min(300);
                if top_level {
                    src.push_str(&format!("{line}\n").repeat(here));
                } else {
                    let body = format!("    {line}\n").repeat(here);
                    src.push_str(&format!(
                        "export fn f{k}(x: u32) -> u32 {{\n{body}    return x;\n}}\n"
                    ));
                }
                src.push_str(&small.replace("fn g", &format!("fn g{k}_")));
                left -= here;
                k += 1;
            }
            src.push_str("fn h() -> u32 {\n    return true;\n}\n");
            let want = kpl_lang::analyze(&src, &imports).diagnostics;
            let counted = lines * per_line;
            let cut = want.iter().any(|d| d.code == kpl_lang::Code::E0008);
            if cut != (counted >= budget) {
                failures.push(format!("`{line}` × {lines}: cut {cut}"));
            }
            let checked = want.iter().any(|d| d.code == kpl_lang::Code::E0200);
            if checked == cut {
                failures.push(format!(
                    "`{line}` × {lines}: cut {cut} but type-checked {checked}"
                ));
            }
            let what = format!("`{line}` × {lines}");
            compare_with_analyze(&mut db, file, &src, &want, &imports, &what, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A file the lexer's errors cut short (past the file's budget, inside a
/// function: `kpl_lang::parser::cut_lexed`) is cut at the same place
/// through the database as through `analyze`: lexical errors 300 a
/// function among small items, and all in one function, at totals on both
/// sides of the budget, fresh and after an edit before them. The chunks'
/// counts include their lexical errors, so where the lexer cuts the whole
/// file the database does not keep its chunks (the last function's errors
/// are counted by no item's start, only by its chunk's count; when the
/// database keeps its chunks whatever they count, 8 cases fail).
#[test]
fn a_file_the_lexer_cuts_short_is_cut_alike_in_the_database() {
    let budget = kpl_lang::FILE_ERROR_BUDGET;
    let imports = imports();
    let small = small_functions(6);
    let mut failures = Vec::new();
    let mut db = Db::default();
    let file = db.file(String::new(), imports.clone());
    for line in ["x++;", "let c = 'a';"] {
        for per_function in [300, 5000] {
            for total in [budget - 1, budget, budget + 1, 2 * budget + 7] {
                let mut src = small.replace("fn g", "fn first_g");
                let (mut left, mut k) = (total, 0);
                while left > 0 {
                    let here = left.min(per_function);
                    let body = format!("    {line}\n").repeat(here);
                    src.push_str(&format!(
                        "export fn f{k}(x: u32) -> u32 {{\n{body}    return x;\n}}\n"
                    ));
                    left -= here;
                    // The last function ends the file: no item's start
                    // counts its errors, only its chunk's lexical count.
                    if left > 0 {
                        src.push_str(&small.replace("fn g", &format!("fn g{k}_")));
                    }
                    k += 1;
                }
                let want = kpl_lang::analyze(&src, &imports).diagnostics;
                let cut = want.iter().any(|d| d.code == kpl_lang::Code::E0008);
                if cut != (total > budget) {
                    failures.push(format!("`{line}` × {total}: cut {cut}"));
                }
                let what = format!("`{line}` × {total}, {per_function} a function");
                compare_with_analyze(&mut db, file, &src, &want, &imports, &what, &mut failures);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
