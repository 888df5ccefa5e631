//! Test-only generators for kplc's tests and benchmarks: random well-typed
//! programs with C twins and a reference interpreter ([`difftest`]), and
//! large realistic plugins ([`synth`]), and hostile inputs for the front end
//! ([`hostile`]) and the back end ([`long_functions`]). Not part of the shipped compiler:
//! `kpl-testgen` is a dev-dependency of kplc (and `publish = false`), and it
//! depends on nothing of the compiler, so it can never drift into the
//! library an embedder links.

pub mod counting;
pub mod difftest;
pub mod hostile;
pub mod long_functions;
pub mod synth;

pub use difftest::Rng;
