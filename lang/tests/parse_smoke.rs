//! Parser behaviour on whole files: the shape of the tree and error recovery.

use kpl_lang::ast::ItemKind;

fn codes(src: &str) -> Vec<String> {
    kpl_lang::parse_source(src)
        .1
        .iter()
        .map(|d| format!("{}@{}:{}", d.code, d.primary.span.start, d.message))
        .collect()
}

#[test]
fn parses_the_design_example() {
    let src = include_str!("../../examples/grayscale/grayscale.kpl");
    let (file, diags) = kpl_lang::parse_source(src);
    assert!(diags.is_empty(), "{diags:#?}");
    assert!(
        file.items
            .iter()
            .any(|i| matches!(&i.kind, ItemKind::Fn(f) if f.export.is_some()))
    );
}

#[test]
fn recovers_from_independent_syntax_errors() {
    let src = "fn a() -> u32 { let x = (1 + ) * 2; return x; }\n\
               fn b() { let y: u32 = 3 \n let z = y; }\n\
               fn c() { if x == { } }\n\
               export fn d() -> u32 { return 1; }\n";
    let got = codes(src);
    assert_eq!(got.len(), 3, "{got:#?}");
}
