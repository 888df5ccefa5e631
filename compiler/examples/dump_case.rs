//! Prints a generated differential-test case (debugging aid):
//! `cargo run -p kplc --example dump_case -- SEED [c]`.
fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let c = kplc::difftest::generate(seed);
    if std::env::args().nth(2).as_deref() == Some("c") {
        print!("{}", c.c);
    } else {
        print!("{}", c.kpl);
    }
}
