//! The differential-testing generator (`kplc::difftest`), checked without a
//! back end: every generated KPL program passes the checker with no
//! diagnostics at all; the reference interpreter runs it without a trap and
//! in few steps; and, when `gcc` is installed, every C twin compiles with
//! `-std=c99 -Wall -Werror` at `-O0` and `-O2`, and both builds print exactly
//! what the interpreter computed, for every input. Agreement between the two
//! optimisation levels is what shows the C has no undefined behaviour the
//! optimiser could exploit; agreement with the interpreter checks the C
//! translation of KPL's semantics.
//!
//! 500 seeds by default. `KPL_DIFF_SEEDS=N` runs seeds `0..N`, and
//! `KPL_DIFF_SEEDS=A..B` runs seeds `A..B`, e.g.
//! `KPL_DIFF_SEEDS=10000 cargo test -p kplc --release --test difftest_gen`.
//! `KPL_DIFF_UBSAN=1` also builds every C file with
//! `-fsanitize=undefined -fno-sanitize-recover=all`, which stops at the first
//! undefined operation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kplc::difftest::{self, Case};

/// Cases per C file: one gcc process compiles this many programs.
const CHUNK: usize = 50;

const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Werror", "-fno-strict-aliasing"];

fn seeds() -> Vec<u64> {
    let Ok(spec) = std::env::var("KPL_DIFF_SEEDS") else {
        return (0..500).collect();
    };
    let spec = spec.trim();
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("KPL_DIFF_SEEDS: `{spec}` is not N or A..B"))
    };
    match spec.split_once("..") {
        Some((a, b)) => (parse(a)..parse(b)).collect(),
        None => (0..parse(spec)).collect(),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(8))
}

/// `f` on every item, on a few threads; the results in item order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads())
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items.len() {
                            break done;
                        }
                        done.push((i, f(&items[i])));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn generated_kpl_checks_without_diagnostics() {
    let (imports, import_diags) = kplc::std_imports::ImportSources::embedded().load();
    assert!(import_diags.is_empty());
    let seeds = seeds();
    let failures: Vec<(u64, String, String)> = par_map(&seeds, |&seed| {
        let case = difftest::generate(seed);
        let a = kpl_lang::analyze(&case.kpl, &imports);
        if a.diagnostics.is_empty() {
            return None;
        }
        let lines: Vec<&str> = case.kpl.lines().collect();
        let mut diags: Vec<_> = a.diagnostics.iter().collect();
        diags.sort_by_key(|d| !d.is_error());
        let mut msgs = String::new();
        for d in diags.into_iter().take(5) {
            let at = (d.primary.span.start as usize).min(case.kpl.len());
            let line = case.kpl[..at].matches('\n').count();
            msgs.push_str(&format!(
                "  {:?} {}: line {}: {}\n",
                d.code,
                d.message,
                line + 1,
                lines.get(line).map_or("", |l| l.trim())
            ));
        }
        Some((seed, msgs, case.kpl))
    })
    .into_iter()
    .flatten()
    .collect();
    if let Some((_, _, first)) = failures.first() {
        let mut report = String::new();
        for (seed, msgs, _) in failures.iter().take(10) {
            report.push_str(&format!("seed {seed}:\n{msgs}"));
        }
        panic!(
            "{} of {} generated programs have diagnostics:\n{report}\nfirst program:\n{first}",
            failures.len(),
            seeds.len()
        );
    }
}

#[test]
fn generation_is_deterministic_and_varied() {
    let a = difftest::generate(7);
    let b = difftest::generate(7);
    assert_eq!((&a.kpl, &a.c, &a.inputs), (&b.kpl, &b.c, &b.inputs));
    assert_eq!(a.inputs.len(), 3);
    assert!(
        a.kpl
            .contains("export fn run(a: u64, b: u64, c: u64) -> u64")
    );
    assert!(a.c.contains(&format!(
        "{}(uint64_t a, uint64_t b, uint64_t c)",
        difftest::c_entry(7)
    )));
    // Over a few hundred programs, every construct shows up.
    let all: String = (0..300).map(|s| difftest::generate(s).kpl).collect();
    for needle in [
        " / ",
        " % ",
        " << ",
        " >> ",
        " & ",
        " | ",
        " ^ ",
        "(-",
        "(~",
        "(!",
        " && ",
        " || ",
        " as u8",
        " as i64",
        " as u64",
        "while ",
        "for ",
        " in 0..",
        "if ",
        "} else {",
        "} else if ",
        "break;",
        "continue;",
        "return ",
        "var ",
        "let ",
        "+= ",
        "/= ",
        "%= ",
        "<<= ",
        ">>= ",
        "[[",
        "struct S0",
        "static g",
        "const TAB",
        ".len",
        "fn f0(",
        "fn f3(",
        " == ",
        " != ",
        " < ",
        " <= ",
        " > ",
        " >= ",
        ": bool",
        ": i8",
        ": u16",
        ": i32",
        ": [S0; ",
        " = S0 { .f",
    ] {
        assert!(
            all.contains(needle),
            "no generated program contains `{needle}`"
        );
    }
    // The inputs include the boundary values.
    let inputs: Vec<u64> = (0..50)
        .flat_map(|s| difftest::generate(s).inputs.into_iter().flatten())
        .collect();
    for v in [0, u64::MAX, 0x8000_0000_0000_0000] {
        assert!(inputs.contains(&v), "input {v:#x} never used");
    }
}

#[test]
fn reference_interpreter_never_traps_and_runs_briefly() {
    let seeds = seeds();
    let results = par_map(&seeds, |&seed| (seed, difftest::expected_with_steps(seed)));
    let mut distinct = 0;
    for (seed, rs) in &results {
        for (r, steps) in rs {
            assert!(r.is_ok(), "seed {seed}: the interpreter trapped: {r:?}");
            assert!(
                *steps < 200_000,
                "seed {seed}: {steps} steps is too many for a quick test"
            );
        }
        if rs[0].0 != rs[1].0 || rs[1].0 != rs[2].0 {
            distinct += 1;
        }
    }
    // Almost every program's result depends on its inputs.
    assert!(
        distinct * 10 > results.len() * 8,
        "only {distinct} of {} programs give different results for different inputs",
        results.len()
    );
}

fn gcc_available() -> bool {
    Command::new("gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles `src` with `CFLAGS` and `extra` into an executable in `dir`.
fn compile(dir: &Path, name: &str, src: &str, extra: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(format!("{name}{}", extra.concat()));
    std::fs::write(&c, src).expect("write C file");
    let out = Command::new("gcc")
        .args(CFLAGS)
        .args(extra)
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("gcc runs");
    assert!(
        out.status.success(),
        "gcc {extra:?} failed on {}:\n{}",
        c.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs `exe` with `args`; its standard output.
fn run(exe: &Path, args: &[String]) -> String {
    let out = Command::new(exe).args(args).output().expect("program runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} exited with {:?}; last output lines:\n{}\n{}",
        exe.display(),
        out.status,
        stdout.lines().rev().take(3).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("kpl-difftest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Keep the files when the test failed, for a look at the C.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn c_twins_agree_at_o0_and_o2_with_the_interpreter() {
    if !gcc_available() {
        eprintln!("gcc not found: skipping the C side of the differential generator");
        return;
    }
    let tmp = TempDir::new();
    let seeds = seeds();
    let chunks: Vec<&[u64]> = seeds.chunks(CHUNK).collect();
    let mut builds: Vec<&[&str]> = vec![&["-O0"], &["-O2"]];
    if std::env::var_os("KPL_DIFF_UBSAN").is_some() {
        builds.push(&["-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"]);
    }
    // Each chunk is one C file, built once per entry of `builds`.
    let jobs: Vec<(usize, usize)> = (0..chunks.len())
        .flat_map(|c| (0..builds.len()).map(move |b| (c, b)))
        .collect();
    let outputs = par_map(&jobs, |&(c, b)| {
        let cases: Vec<(u64, Case)> = chunks[c]
            .iter()
            .map(|&s| (s, difftest::generate(s)))
            .collect();
        let refs: Vec<(u64, &Case)> = cases.iter().map(|(s, c)| (*s, c)).collect();
        let src = difftest::c_batch(&refs);
        // One C file per job: the builds of one chunk run in parallel, and a
        // shared file could be rewritten while gcc reads it.
        run(
            &compile(&tmp.0, &format!("chunk{c}_{b}"), &src, builds[b]),
            &[],
        )
    });
    let mut results: HashMap<(usize, u64, usize), u64> = HashMap::new();
    for (&(_, b), out) in jobs.iter().zip(&outputs) {
        for line in out.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 3, "unexpected output line `{line}`");
            let key = (b, f[0].parse().unwrap(), f[1].parse().unwrap());
            results.insert(key, f[2].parse().unwrap());
        }
    }
    let expected = par_map(&seeds, |&s| difftest::expected(s));
    let mut mismatches = Vec::new();
    for (&seed, want) in seeds.iter().zip(expected) {
        for (i, want) in want.into_iter().enumerate() {
            let want = want.expect("the interpreter does not trap");
            let got: Vec<Option<u64>> = (0..builds.len())
                .map(|b| results.get(&(b, seed, i)).copied())
                .collect();
            if got.iter().any(|g| *g != Some(want)) {
                mismatches.push(format!(
                    "seed {seed} input {i}: interpreter {want}, C {got:?} for {builds:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches (C files in {}):\n{}",
        mismatches.len(),
        tmp.0.display(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );

    // The stand-alone program of a case (its own `main`, inputs from argv)
    // prints the same.
    for &seed in seeds.iter().take(2) {
        let case = difftest::generate(seed);
        let want = difftest::expected(seed);
        let exe = compile(&tmp.0, &format!("single{seed}"), &case.c, &["-O2"]);
        for (i, input) in case.inputs.iter().enumerate() {
            let args: Vec<String> = input.iter().map(|v| v.to_string()).collect();
            let out = run(&exe, &args);
            assert_eq!(
                out,
                format!("{}\n", want[i].unwrap()),
                "seed {seed} input {i}"
            );
        }
    }
}
