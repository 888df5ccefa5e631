//! The import table kplc compiles against: the `std-imports/` declaration
//! files embedded at build time, or a directory given with `--imports`.

use std::io::Read;
use std::path::Path;

use kpl_lang::imports::{ImportFileDiagnostic, ImportTable};

/// The declaration files shipped with this kplc, as `(path, text)`.
pub const EMBEDDED: &[(&str, &str)] = &[(
    "std-imports/kernel.kpli",
    include_str!("../../../std-imports/kernel.kpli"),
)];

/// Source files of an import table, kept for rendering diagnostics in them.
pub struct ImportSources {
    pub files: Vec<(String, String)>,
}

impl ImportSources {
    pub fn embedded() -> ImportSources {
        ImportSources {
            files: EMBEDDED
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        }
    }

    /// Every `*.kpli` file in `dir`, sorted by name so the table is stable.
    pub fn from_dir(dir: &Path) -> Result<ImportSources, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read import directory `{}`: {e}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "kpli"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(format!("no `.kpli` files in `{}`", dir.display()));
        }
        let mut files = Vec::new();
        for p in paths {
            let limit = kpl_lang::MAX_SOURCE_BYTES as u64;
            let mut text = String::new();
            std::fs::File::open(&p)
                .and_then(|f| f.take(limit + 1).read_to_string(&mut text))
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            if text.len() as u64 > limit {
                return Err(format!(
                    "`{}` is larger than {} MiB, the limit for a source file",
                    p.display(),
                    limit >> 20
                ));
            }
            files.push((p.display().to_string(), text));
        }
        Ok(ImportSources { files })
    }

    pub fn load(&self) -> (ImportTable, Vec<ImportFileDiagnostic>) {
        ImportTable::load(&self.files)
    }
}
