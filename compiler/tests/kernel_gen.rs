//! Files generated for the kernel module must match their sources: the uapi
//! header (from `compiler/src/kernel_uapi.rs`) and the import table (from
//! `std-imports/`). `KPL_BLESS=1` rewrites them.

use std::path::Path;

fn check(path: &str, want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    if std::env::var_os("KPL_BLESS").is_some() {
        std::fs::write(&path, want).expect("write generated file");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: regenerate with KPL_BLESS=1 cargo test -p kplc --test kernel_gen",
        path.display()
    );
}

#[test]
fn uapi_header_is_current() {
    check(
        "runtime-kmod/kmod/uapi/kpl.h",
        &kplc::kernel_uapi::uapi_header(),
    );
}

#[test]
fn kernel_import_table_is_current() {
    let (table, problems) = kplc::std_imports::ImportSources::embedded().load();
    assert!(problems.is_empty());
    let text = kplc::kernel_uapi::imports_table_c(&table);
    // Every declaration is in the table, with the compiler's hash.
    for f in table.modules.iter().flat_map(|m| &m.functions) {
        assert!(text.contains(&format!(
            "{:#018x}ULL, (const void *)kpl_imp_{} }}",
            f.hash, f.name
        )));
    }
    check("runtime-kmod/kmod/kpl_imports_gen.h", &text);
}
