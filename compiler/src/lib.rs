//! kplc as a library: the driver pieces shared by the `kplc` binary, its tests
//! and benchmarks.

pub mod render;
pub mod std_imports;
pub mod synth;
pub mod difftest;
pub mod kpo;
