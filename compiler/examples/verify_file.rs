//! Compiles a plugin and runs the verifier on it (debugging aid):
//! `cargo run -p kplc --example verify_file -- FILE.kpl`.
use kpl_runtime_core::Object;
use kpl_runtime_core::verify::{State, Workspace, verify};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    let (imports, _) = kplc::std_imports::ImportSources::embedded().load();
    let a = kpl_lang::analyze(&src, &imports);
    if a.has_errors() {
        eprintln!("{:?}", a.diagnostics);
        return;
    }
    let c = kplc::codegen::compile(&a.file, &a.program);
    let bytes = kplc::object::write(&c, &path, &src);
    let Ok(obj) = Object::parse(&bytes) else {
        return;
    };
    let (code, states, funcs) = Workspace::needs(&obj);
    let (mut f, mut s, mut st, mut d) = (
        vec![0u8; code],
        vec![0u32; code],
        vec![State::UNREACHED; states],
        vec![0u64; funcs],
    );
    let mut ws = Workspace {
        flags: &mut f,
        slot: &mut s,
        states: &mut st,
        depth: &mut d,
    };
    println!("{:?}", verify(&obj, &mut ws));
}
