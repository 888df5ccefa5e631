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
    runner.instance.host_mut().quiet = true;
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

/// Division and remainder by constants (`opt/divide.rs` turns most of them
/// into multiplications and shifts) against Rust's semantics: for every
/// integer type, every divisor of a set that covers each method and its
/// edges (±1, ±2, ±3, ±7, powers of two, 2^31 ± 1, 2^32 ± 1, the 64-bit
/// reciprocals' kinds, the type's extremes, ...) and every edge dividend, the compiled `x / D` and `x % D` return Rust's
/// truncated quotient and remainder, and trap with Overflow exactly for
/// `MIN / -1` and `MIN % -1`.
#[test]
fn division_by_constants_matches_rust() {
    use kpl_lang::types::IntTy;
    let types = [
        IntTy::I8,
        IntTy::I16,
        IntTy::I32,
        IntTy::I64,
        IntTy::U8,
        IntTy::U16,
        IntTy::U32,
        IntTy::U64,
    ];
    let mut candidates: Vec<i128> = vec![
        1,
        2,
        3,
        5,
        6,
        7,
        10,
        25,
        100,
        125,
        641,
        1000,
        65535,
        65537,
        1_000_000_007,
        (1 << 31) - 1,
        (1 << 31) + 1,
        (1 << 32) - 1,
        (1 << 32) + 1,
        (1 << 40) + 3,
        // 64-bit reciprocals: one below 2^64, one needing the 65th bit
        // (7, above), the largest divisors of each kind, and unsigned ones
        // above 2^63 (a comparison).
        0x5555_5555_5555_5555,
        1_000_000_000_000_000_009,
        (1 << 62) + 1,
        i128::from(i64::MAX),
        i128::from(i64::MAX) - 2,
        (1 << 63) + 1,
        (1 << 63) + (1 << 62) + 7,
        i128::from(u64::MAX) - 1,
        i128::from(u64::MAX),
    ];
    candidates.extend((1..64).map(|k| 1i128 << k));
    let negs: Vec<i128> = candidates.iter().map(|d| -d).collect();
    candidates.extend(negs);
    candidates.push(i128::from(i64::MIN));
    let mut src = String::new();
    let mut cases: Vec<(String, IntTy, i128, bool)> = Vec::new();
    for t in types {
        let mut ds: Vec<i128> = candidates
            .iter()
            .copied()
            .filter(|d| *d >= t.min() && *d <= t.max())
            .chain([t.min(), t.max()].into_iter().filter(|d| *d != 0))
            .collect();
        ds.sort_unstable();
        ds.dedup();
        for (k, d) in ds.into_iter().enumerate() {
            // `MIN` has no literal of its own type: `-MAX - 1` folds to it.
            let lit = if d == t.min() && d < 0 {
                format!("(-{} - 1)", t.max())
            } else {
                format!("({d})")
            };
            let ty = t.name();
            for (rem, op) in [(false, "/"), (true, "%")] {
                let name = format!("{}_{ty}_{k}", if rem { "r" } else { "q" });
                src.push_str(&format!(
                    "export fn {name}(x: {ty}) -> {ty} {{ let d: {ty} = {lit}; return x {op} d; }}\n"
                ));
                cases.push((name, t, d, rem));
            }
        }
    }
    let (imports, _) = ImportSources::embedded().load();
    let analysis = kpl_lang::analyze(&src, &imports);
    assert!(!analysis.has_errors(), "{:?}", analysis.diagnostics);
    let compiled = kplc::codegen::compile(&analysis.file, &analysis.program);
    let mut runner = Runner::new(&compiled, "div_consts.kpl", &src).expect("loads");
    runner.instance.host_mut().quiet = true;
    let mut failures = Vec::new();
    for (name, t, d, rem) in &cases {
        let (t, d, rem) = (*t, *d, *rem);
        let (lo, hi) = (t.min(), t.max());
        let mut xs: Vec<i128> = vec![lo, lo + 1, lo + 2, hi, hi - 1, hi - 2, 0, 1, 2, 3];
        xs.extend([
            -1,
            -2,
            -3,
            d,
            d - 1,
            d + 1,
            -d,
            1 - d,
            -1 - d,
            2 * d,
            2 * d - 1,
        ]);
        xs.extend([d * 7 + 3, d * 1000, hi / 3, lo / 3, hi / 7, lo / 7]);
        // The multiples of `d` nearest the ends, where a reciprocal's error
        // would first show.
        let (top, bottom) = ((hi / d) * d, (lo / d) * d);
        xs.extend([top, top - 1, top + 1, bottom, bottom + 1, bottom - 1]);
        let mut s = 0x9E37_79B9_7F4A_7C15u64 ^ (d as u64);
        for _ in 0..24 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            xs.push(t.wrap(i128::from(s as i64)));
        }
        for x in xs.into_iter().filter(|x| *x >= lo && *x <= hi) {
            let q = x / d; // i128: truncated, like the reference
            let want = if q > hi {
                "traps Overflow".to_string()
            } else if rem {
                format!("== {}", x % d)
            } else {
                format!("== {q}")
            };
            let got = match runner.call(name, &mut [Value::Int(x)], 1000) {
                Ok(Some(Value::Int(v))) => format!("== {v}"),
                Err(CallError::Trap(t)) => format!("traps {}", t.kind),
                other => format!("{other:?}"),
            };
            if got != want {
                failures.push(format!("{name}({x}) (divisor {d}): want {want}, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}
