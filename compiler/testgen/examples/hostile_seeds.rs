//! Writes the hostile corpus ([`kpl_testgen::hostile`]) at small sizes into a
//! directory, one file per shape and size, as seeds for the `parse_check`
//! fuzz target: CI fuzzes from them with a per-input time limit, so that a
//! mutation that makes the front end slow on some shape fails the run.
//!
//! `cargo run -p kpl-testgen --example hostile_seeds -- DIR [MAX_BYTES]`
//! (default 8192: small seeds keep each run of the target short).

use std::path::PathBuf;
use std::process::ExitCode;

use kpl_testgen::hostile;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: hostile_seeds DIR [MAX_BYTES]");
        return ExitCode::from(2);
    };
    let max_bytes = match args.next().map(|a| a.parse::<usize>()) {
        None => 8192,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("hostile_seeds: MAX_BYTES: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("hostile_seeds: cannot create `{}`: {e}", dir.display());
        return ExitCode::from(2);
    }
    let mut written = 0;
    for shape in hostile::shapes() {
        for n in [1, 4, 16, 64, 256, 1024] {
            let src = (shape.build)(n);
            if src.len() > max_bytes {
                break;
            }
            let path = dir.join(format!("{}-{n}.kpl", shape.name));
            if let Err(e) = std::fs::write(&path, src) {
                eprintln!("hostile_seeds: cannot write `{}`: {e}", path.display());
                return ExitCode::from(2);
            }
            written += 1;
        }
    }
    println!("{written} seeds in {}", dir.display());
    ExitCode::SUCCESS
}
