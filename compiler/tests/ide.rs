//! Editor features over the database (`kplc::ide`), by byte offset: scopes
//! for completion, hover texts, definitions, symbols.

use std::sync::Arc;

use kplc::db::Db;
use kplc::ide::{self, CompletionKind, Target};

const SRC: &str = "\
const BASE: u32 = 10;
/// Twice the base.
const TWICE: u32 = BASE * 2;

export fn f(n: u32) -> u32 {
    let a: u32 = n + TWICE;
    if a > 3 {
        let inner: u16 = 1;
        return a + inner as u32; // in the block
    }
    let a: u64 = 7; // shadows
    return n + a as u32; // after the block
}
";

fn db() -> (Db, kplc::db::SourceFile) {
    let (table, _) = kplc::std_imports::ImportSources::embedded().load();
    let db = Db::default();
    let file = db.file(SRC.to_string(), Arc::new(table));
    (db, file)
}

fn at(needle: &str) -> u32 {
    SRC.find(needle).expect("needle") as u32
}

fn locals(db: &Db, file: kplc::db::SourceFile, offset: u32) -> Vec<(String, String)> {
    ide::complete(db, file, offset)
        .into_iter()
        .filter(|c| c.kind == CompletionKind::Local)
        .map(|c| (c.label, c.detail))
        .collect()
}

#[test]
fn completion_follows_block_scopes_and_shadowing() {
    let (db, file) = db();
    let inside = locals(&db, file, at("// in the block"));
    assert_eq!(
        inside,
        [
            ("n".to_string(), "param n: u32".to_string()),
            ("a".to_string(), "let a: u32".to_string()),
            ("inner".to_string(), "let inner: u16".to_string()),
        ]
    );
    let after = locals(&db, file, at("// after the block"));
    assert_eq!(
        after,
        [
            ("n".to_string(), "param n: u32".to_string()),
            ("a".to_string(), "let a: u64".to_string()),
        ]
    );
    // Before the first `let`, only the parameter.
    let start = locals(&db, file, at("let a: u32"));
    assert_eq!(start, [("n".to_string(), "param n: u32".to_string())]);
    // Globals and keywords come too.
    let all = ide::complete(&db, file, at("// after the block"));
    assert!(
        all.iter()
            .any(|c| c.label == "TWICE" && c.kind == CompletionKind::Constant)
    );
    assert!(
        all.iter()
            .any(|c| c.label == "while" && c.kind == CompletionKind::Keyword)
    );
}

#[test]
fn hover_and_definition_of_constants_and_shadowed_locals() {
    let (db, file) = db();
    // A constant used in a body: its type and doc.
    let h = ide::hover(&db, file, at("TWICE;") + 1).unwrap();
    assert_eq!(
        h.markdown,
        "```kpl\nconst TWICE: u32\n```\n\n---\n\nTwice the base."
    );
    assert_eq!(&SRC[h.span.start as usize..h.span.end as usize], "TWICE");
    // A constant used in another constant's initialiser.
    let h = ide::hover(&db, file, at("BASE * 2")).unwrap();
    assert_eq!(h.markdown, "```kpl\nconst BASE: u32\n```");
    // The shadowing `a` resolves to the second binding.
    let use_site = at("a as u32; // after");
    let h = ide::hover(&db, file, use_site).unwrap();
    assert_eq!(h.markdown, "```kpl\nlet a: u64\n```");
    let Some(Target::Here(def)) = ide::definition(&db, file, use_site) else {
        panic!("a local's definition is in the file");
    };
    assert_eq!(def.start, at("a: u64 = 7"));
    // A parameter.
    let Some(Target::Here(def)) = ide::definition(&db, file, at("n + TWICE")) else {
        panic!()
    };
    assert_eq!(def.start, at("n: u32) -> u32"));
    // The type of an arbitrary expression.
    let h = ide::hover(&db, file, at("+ inner")).unwrap();
    assert_eq!(h.markdown, "```kpl\nu32\n```");
}

#[test]
fn symbols_list_items_with_ranges() {
    let (db, file) = db();
    let syms = ide::symbols(&db, file);
    let names: Vec<&str> = syms.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["BASE", "TWICE", "f"]);
    assert_eq!(syms[2].detail, "export fn f(n: u32) -> u32");
    assert_eq!(syms[2].name_span.start, at("f(n"));
    assert_eq!(syms[2].span.end as usize, SRC.rfind('}').unwrap() + 1);
}
