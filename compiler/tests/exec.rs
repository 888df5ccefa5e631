//! The execution suite: every `tests/exec/*.kpl` plugin is compiled and run
//! on the host runtime; its `// run:` header lines (grammar in
//! `tests/exec/README.md`) give calls and their expected results, executed in
//! order on one instance so statics persist.

use kplc::run::{CallError, Runner, Value};
use kplc::std_imports::ImportSources;

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn int(s: &str) -> i128 {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let body = body.replace('_', "");
    let v = if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16)
    } else {
        body.parse::<i128>()
    }
    .unwrap_or_else(|e| panic!("bad integer {s:?}: {e}"));
    if neg { -v } else { v }
}

fn list(s: &str) -> Vec<i128> {
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    split_top(inner).iter().map(|x| int(x)).collect()
}

fn value(s: &str) -> Value {
    let s = s.trim();
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if s.starts_with("mut[") => Value::SliceMut(list(&s[3..])),
        _ if s.starts_with('[') => Value::Slice(list(s)),
        _ => Value::Int(int(s)),
    }
}

struct Run {
    line: String,
    name: String,
    args: Vec<Value>,
    expect: Option<String>,
    outs: Vec<(usize, Vec<i128>)>,
}

fn parse_run(line: &str) -> Run {
    let mut parts = line.split(';');
    let call = parts.next().unwrap_or_default().trim();
    let open = call.find('(').expect("call has `(`");
    let close = call.rfind(')').expect("call has `)`");
    let name = call[..open].trim().to_string();
    let args = split_top(&call[open + 1..close])
        .iter()
        .map(|a| value(a))
        .collect();
    let rest = call[close + 1..].trim();
    let expect = (!rest.is_empty()).then(|| rest.to_string());
    let outs = parts
        .map(|p| {
            let p = p.trim();
            let p = p.strip_prefix("out").expect("`; out N == [..]`").trim();
            let (n, l) = p.split_once("==").expect("out check has ==");
            (n.trim().parse().expect("out index"), list(l))
        })
        .collect();
    Run {
        line: line.to_string(),
        name,
        args,
        expect,
        outs,
    }
}

fn run_file(path: &std::path::Path, imports: &kpl_lang::imports::ImportTable) -> Vec<String> {
    let src = std::fs::read_to_string(path).expect("readable");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let analysis = kpl_lang::analyze(&src, imports);
    if analysis.has_errors() {
        return vec![format!(
            "{name}: does not compile: {:?}",
            analysis.diagnostics
        )];
    }
    let compiled = kplc::codegen::compile(&analysis.file, &analysis.program);
    let (stack, chain) = compiled.max_stack();
    if stack > kpl_lang::check::limits::STACK_BYTES {
        return vec![format!(
            "{name}: real stack {stack} bytes exceeds the limit: {chain:?}"
        )];
    }
    let mut runner = match Runner::new(&compiled, &name, &src) {
        Ok(r) => r,
        Err(e) => return vec![format!("{name}: load failed: {e}")],
    };
    runner.instance.host.quiet = true;
    let mut failures = Vec::new();
    for line in src.lines().filter_map(|l| l.strip_prefix("// run:")) {
        let mut run = parse_run(line.trim());
        let fuel = 50_000_000;
        let result = runner.call(&run.name, &mut run.args, fuel);
        let got = match &result {
            Ok(Some(Value::Int(v))) => format!("== {v}"),
            Ok(Some(Value::Bool(b))) => format!("== {b}"),
            Ok(_) => String::new(),
            Err(CallError::Trap(t)) => format!("traps {}", t.kind),
            Err(e) => format!("error: {e}"),
        };
        let want = match &run.expect {
            Some(e) if e.starts_with("==") => {
                let v = e[2..].trim();
                match v {
                    "true" | "false" => format!("== {v}"),
                    _ => format!("== {}", int(v)),
                }
            }
            Some(e) => e.split_whitespace().collect::<Vec<_>>().join(" "),
            None => got.clone().split(" == ").next().map_or(String::new(), |_| {
                if got.starts_with("==") {
                    got.clone()
                } else {
                    String::new()
                }
            }),
        };
        if got != want {
            failures.push(format!(
                "{name}: `{}`: expected `{want}`, got `{got}`",
                run.line
            ));
            continue;
        }
        for (i, want) in &run.outs {
            match run.args.get(*i) {
                Some(Value::SliceMut(v)) if v == want => {}
                other => failures.push(format!(
                    "{name}: `{}`: argument {i} is {other:?}, expected {want:?}",
                    run.line
                )),
            }
        }
    }
    failures
}

#[test]
fn execution_suite() {
    let (imports, _) = ImportSources::embedded().load();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exec");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("exec dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "kpl"))
        .collect();
    files.sort();
    assert!(files.len() >= 150, "only {} programs", files.len());
    let mut failures = Vec::new();
    for f in &files {
        failures.extend(run_file(f, &imports));
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
