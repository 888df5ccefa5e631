//! Writes the growth table of the hostile corpus into
//! `book/src/reference/limits.md` (between its `hostile-table` markers) from
//! the medians that `cargo bench -p kplc --bench hostile` left in
//! `target/criterion`; run by `scripts/bench-report.sh`. For each shape: the
//! time to check and render 256 KiB, 512 KiB and 1 MiB of it, and how much
//! each doubling cost (the promise is at most about 2.2×, and 1 MiB well
//! under a second; a miss is shown in bold and listed on standard error).
//! Usage: `hostile_report [CRITERION_DIR] [LIMITS.md]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kpl_testgen::hostile;

const START: &str = "<!-- hostile-table:start (written by `hostile_report`) -->\n";
const END: &str = "<!-- hostile-table:end -->\n";
/// The sizes the benchmark measures, in KiB (each twice the one before).
const SIZES_KIB: [u32; 3] = [256, 512, 1024];
/// The most a doubling may cost, and the most 1 MiB may take (seconds).
const MAX_RATIO: f64 = 2.2;
const MAX_SECONDS: f64 = 1.0;

fn median_ns(root: &Path, shape: &str, kib: u32) -> Option<f64> {
    let path = root.join(format!("hostile/{shape}/{kib}/new/estimates.json"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(args.get(1).map_or("target/criterion", String::as_str));
    let out = PathBuf::from(
        args.get(2)
            .map_or("book/src/reference/limits.md", String::as_str),
    );
    let mut table = String::from(
        "| shape | 256 KiB | 512 KiB | 1 MiB | growth per doubling |\n|---|---|---|---|---|\n",
    );
    let (mut worst_ratio, mut worst_time, mut broken) = (0.0f64, 0.0f64, Vec::new());
    for shape in hostile::shapes() {
        let Some(t) = SIZES_KIB
            .iter()
            .map(|&k| median_ns(&root, shape.name, k))
            .collect::<Option<Vec<f64>>>()
        else {
            // A run cut short (or filtered) leaves shapes unmeasured: say so
            // in the table rather than keep an old number.
            eprintln!("hostile_report: no measurement of `{}`", shape.name);
            let _ = writeln!(
                table,
                "| `{}`: {} | not measured | | | |",
                shape.name, shape.what
            );
            broken.push(shape.name);
            continue;
        };
        let ratios: Vec<f64> = t.windows(2).map(|w| w[1] / w[0]).collect();
        let worst = ratios.iter().copied().fold(0.0, f64::max);
        worst_ratio = worst_ratio.max(worst);
        worst_time = worst_time.max(t[2]);
        if worst > MAX_RATIO || t[2] > MAX_SECONDS * 1e9 {
            broken.push(shape.name);
        }
        let bold = |text: String, miss: bool| if miss { format!("**{text}**") } else { text };
        let _ = writeln!(
            table,
            "| `{}`: {} | {} | {} | {} | {} |",
            shape.name,
            shape.what,
            time(t[0]),
            time(t[1]),
            bold(time(t[2]), t[2] > MAX_SECONDS * 1e9),
            ratios
                .iter()
                .map(|&r| bold(format!("{r:.2}×"), r > MAX_RATIO))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        table,
        "\nWorst growth per doubling: {worst_ratio:.2}×; slowest 1 MiB: {}.",
        time(worst_time)
    );
    let page = match std::fs::read_to_string(&out) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hostile_report: cannot read {}: {e}", out.display());
            return ExitCode::from(2);
        }
    };
    let (Some(a), Some(b)) = (page.find(START), page.find(END)) else {
        eprintln!(
            "hostile_report: {} has no hostile-table markers",
            out.display()
        );
        return ExitCode::from(2);
    };
    let page = format!("{}{START}{table}{}", &page[..a], &page[b..]);
    if let Err(e) = std::fs::write(&out, page) {
        eprintln!("hostile_report: cannot write {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("wrote the hostile-input table into {}", out.display());
    if !broken.is_empty() {
        eprintln!(
            "hostile_report: over {MAX_RATIO}× per doubling or {MAX_SECONDS} s at 1 MiB: {}",
            broken.join(", ")
        );
    }
    ExitCode::SUCCESS
}
