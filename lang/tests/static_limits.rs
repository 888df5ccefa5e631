//! The limit on the number of statics (E0506 at the 1025th): the object's
//! STATICS table lists every static and the loader compares every pair.

use kpl_lang::imports::ImportTable;

fn errors(n: usize) -> Vec<(String, String)> {
    let mut src = String::new();
    for i in 0..n {
        src.push_str(&format!("static s{i}: u8 = 0;\n"));
    }
    src.push_str("export fn f() {}\n");
    kpl_lang::analyze(&src, &ImportTable::default())
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str().starts_with('E'))
        .map(|d| (d.code.to_string(), d.message.to_string()))
        .collect()
}

#[test]
fn at_most_1024_statics() {
    assert_eq!(errors(1024), []);
    assert_eq!(
        errors(1025),
        [("E0506".to_string(), "too many statics".to_string())]
    );
    assert_eq!(errors(1100).len(), 1, "reported once");
}
