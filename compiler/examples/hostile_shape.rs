//! Writes one hostile shape of about a given size to a file, so that a
//! profiler (callgrind) can run `kplc check` on it:
//! `hostile_shape SHAPE KIB OUT.kpl`, e.g.
//! `cargo run --release -p kplc --example hostile_shape -- habit_lines 256 /tmp/h.kpl`.

use std::process::ExitCode;

use kpl_testgen::hostile;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, name, kib, out] = args.as_slice() else {
        eprintln!("usage: hostile_shape SHAPE KIB OUT");
        return ExitCode::from(2);
    };
    let Some(shape) = hostile::shape(name) else {
        let names: Vec<&str> = hostile::shapes().iter().map(|s| s.name).collect();
        eprintln!(
            "hostile_shape: no shape `{name}` (one of {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let Ok(kib) = kib.parse::<usize>() else {
        eprintln!("hostile_shape: `{kib}` is not a size in KiB");
        return ExitCode::from(2);
    };
    let text = (shape.build)(hostile::size_for(&shape, kib << 10));
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("hostile_shape: {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
