//! kplc as a library: the driver pieces shared by the `kplc` binary, its tests
//! and benchmarks.

pub mod cases;
pub mod codegen;
pub mod db;
pub mod difftest;
pub mod emit;
pub mod hoist;
pub mod ide;
pub mod inline;
pub mod ir;
pub mod kernel;
pub mod kernel_uapi;
pub mod kpo;
pub mod lower;
pub mod lsp;
pub mod object;
pub mod opt;
pub mod regalloc;
pub mod render;
pub mod run;
pub mod std_imports;
pub mod synth;
pub mod x86;
