//! Every example plugin runs its `cases.txt` (format in `examples/README.md`)
//! on the host runtime: all lines of a file, in order, on one instance.

use kplc::cases;
use kplc::run::{Runner, Value};
use kplc::std_imports::ImportSources;

fn hex(s: &str) -> Vec<u8> {
    cases::hex(s).unwrap_or_else(|| panic!("not hex bytes: {s}"))
}

#[test]
fn example_cases() {
    let (imports, _) = ImportSources::embedded().load();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut failures = Vec::new();
    let mut total = 0;
    for name in [
        "grayscale",
        "packet_filter",
        "checksum",
        "histogram",
        "rate_limiter",
    ] {
        let dir = root.join(name);
        let src = std::fs::read_to_string(dir.join(format!("{name}.kpl"))).expect("source");
        let cases = std::fs::read_to_string(dir.join("cases.txt")).expect("cases");
        let analysis = kpl_lang::analyze(&src, &imports);
        assert!(!analysis.has_errors(), "{name}: {:?}", analysis.diagnostics);
        let compiled = kplc::codegen::compile(&analysis.file, &analysis.program);
        let mut runner = Runner::new(&compiled, name, &src).expect("loads");
        runner.instance.host_mut().quiet = true;
        for line in cases::lines(&cases) {
            total += 1;
            let field = |k: &str| {
                cases::field(line, k).unwrap_or_else(|| panic!("{name}: `{line}` lacks {k}"))
            };
            let entry = field("entry");
            let export = runner
                .instance
                .exports()
                .iter()
                .find(|e| e.name == entry)
                .unwrap_or_else(|| panic!("{name}: no export {entry}"))
                .clone();
            let mut scalars = field("args").split(',').filter(|a| *a != "-");
            let input = hex(field("in"));
            let out_len: usize = field("out_len").parse().unwrap_or(0);
            let mut args = Vec::new();
            let mut out_at = None;
            for (i, p) in export.params.iter().enumerate() {
                args.push(match p {
                    kpl_host::ValType::Slice {
                        writable: false, ..
                    } => Value::Slice(input.iter().map(|b| i128::from(*b)).collect()),
                    kpl_host::ValType::Slice { writable: true, .. } => {
                        out_at = Some(i);
                        Value::SliceMut(vec![0; out_len])
                    }
                    kpl_host::ValType::Scalar(s) => {
                        let text = scalars.next().expect("enough args");
                        let v: i128 = match text.strip_prefix("0x") {
                            Some(h) => i128::from_str_radix(h, 16).expect("hex"),
                            None => text.parse().expect("number"),
                        };
                        if *s == kpl_host::ScalarType::Bool {
                            Value::Bool(v != 0)
                        } else {
                            Value::Int(v)
                        }
                    }
                });
            }
            let got = cases::outcome(&runner.call(entry, &mut args, kpl_host::DEFAULT_FUEL));
            let want = field("expect_ret");
            if got != want {
                failures.push(format!("{name}: `{line}`: returned {got}"));
                continue;
            }
            let want_out = hex(field("expect_out"));
            if let Some(i) = out_at
                && let Value::SliceMut(v) = &args[i]
            {
                let bytes: Vec<u8> = v.iter().map(|x| *x as u8).collect();
                if bytes != want_out {
                    failures.push(format!("{name}: `{line}`: output differs"));
                }
            }
        }
    }
    assert!(total >= 150, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
