//! The TextMate grammar for editors (`lang/editors/kpl.tmLanguage.json`):
//! valid JSON, the right scope, and every keyword of the lexer highlighted.

use std::collections::BTreeSet;

use serde_json::Value;

fn grammar() -> Value {
    let text = include_str!("../../lang/editors/kpl.tmLanguage.json");
    serde_json::from_str(text).expect("the grammar is valid JSON")
}

/// Every `match`/`begin`/`end` regex in the grammar.
fn regexes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("match" | "begin" | "end", Value::String(s)) => out.push(s.clone()),
                    _ => regexes(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| regexes(x, out)),
        _ => {}
    }
}

/// The words of `\b(a|b|c)\b` alternations.
fn words(re: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = re;
    while let Some(i) = rest.find("\\b(") {
        let after = &rest[i + 3..];
        let Some(j) = after.find(")\\b") else { break };
        let group = &after[..j];
        if group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|')
        {
            out.extend(group.split('|').map(str::to_string));
        }
        rest = &after[j..];
    }
    out
}

#[test]
fn grammar_is_valid_and_covers_every_keyword() {
    let g = grammar();
    assert_eq!(g["scopeName"], "source.kpl");
    assert_eq!(g["fileTypes"], serde_json::json!(["kpl", "kpli"]));
    let mut res = Vec::new();
    regexes(&g, &mut res);
    assert!(res.len() > 20);
    // Brackets balance in every regex (a cheap syntax check; escaped ones
    // and those inside character classes do not count).
    for re in &res {
        let (mut depth, mut class, mut esc) = (0i32, false, false);
        for c in re.chars() {
            match (esc, class, c) {
                (true, _, _) => esc = false,
                (false, _, '\\') => esc = true,
                (false, false, '[') => class = true,
                (false, true, ']') => class = false,
                (false, false, '(') => depth += 1,
                (false, false, ')') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "unbalanced: {re}");
        }
        assert!(depth == 0 && !class, "unbalanced: {re}");
    }
    let covered: BTreeSet<String> = res.iter().flat_map(|r| words(r)).collect();
    let missing: Vec<&&str> = kpl_lang::lexer::KEYWORDS
        .iter()
        .filter(|k| !covered.contains(**k))
        .collect();
    assert!(missing.is_empty(), "keywords not highlighted: {missing:?}");
    for t in [
        "bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "str",
    ] {
        assert!(covered.contains(t), "type {t} not highlighted");
    }
    // Every scope name ends in `.kpl`.
    fn names(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("name", Value::String(s)) => out.push(s.clone()),
                        _ => names(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| names(x, out)),
            _ => {}
        }
    }
    let mut n = Vec::new();
    names(&g["repository"], &mut n);
    assert!(n.iter().all(|s| s.ends_with(".kpl")), "{n:?}");
}

#[test]
fn vscode_extension_manifest_points_at_the_grammar() {
    let manifest: Value =
        serde_json::from_str(include_str!("../../lang/editors/vscode/package.json"))
            .expect("package.json is valid JSON");
    let config: Value = serde_json::from_str(include_str!(
        "../../lang/editors/vscode/language-configuration.json"
    ))
    .expect("language-configuration.json is valid JSON");
    assert_eq!(config["comments"]["lineComment"], "//");
    let lang = &manifest["contributes"]["languages"][0];
    assert_eq!(lang["id"], "kpl");
    assert_eq!(lang["extensions"], serde_json::json!([".kpl", ".kpli"]));
    let g = &manifest["contributes"]["grammars"][0];
    assert_eq!(g["language"], "kpl");
    assert_eq!(g["scopeName"], grammar()["scopeName"]);
    assert_eq!(g["path"], "./syntaxes/kpl.tmLanguage.json");
}
