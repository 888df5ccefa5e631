//! Collecting the items: every `struct`, `const`, `static`, `fn` and `use`
//! goes into one namespace (a name defined twice is E0101), and each `use` is
//! looked up in the import table (E0103, E0104).

use crate::ast::*;
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::imports::ImportFn;
use crate::suggest;
use crate::types::Layout;

use super::resolve::BUILTIN_TYPES;
use super::{Checker, FnDef, Global, GlobalDef, GlobalKind, State, StructDef};

impl<'a> Checker<'a> {
    fn define(&mut self, name: &Ident, kind: GlobalKind) -> bool {
        if BUILTIN_TYPES.contains(&name.name.as_str()) {
            self.report(Diagnostic::new(
                Code::E0101,
                format!("`{}` is a built-in type name", name.name),
                name.span,
                format!("cannot name a {}", kind.describe()),
            ));
            return false;
        }
        if super::AtomicOp::from_name(&name.name).is_some() {
            self.report(Diagnostic::new(
                Code::E0101,
                format!("`{}` is a built-in function name", name.name),
                name.span,
                format!("cannot name a {}", kind.describe()),
            ));
            return false;
        }
        if let Some(prev) = self.d.globals.get(&name.name) {
            let d = Diagnostic::new(
                Code::E0101,
                format!("`{}` is defined more than once", name.name),
                name.span,
                format!("`{}` redefined here", name.name),
            )
            .with_secondary(
                prev.span,
                format!("first defined here as a {}", prev.kind.describe()),
            )
            .with_help("every item, import and type shares one namespace; rename one of them");
            self.report(d);
            return false;
        }
        self.d.to_mut().globals.insert(
            name.name.clone(),
            Global {
                kind,
                span: name.span,
            },
        );
        true
    }

    pub(super) fn collect_items(&mut self) {
        let file = self.file;
        for (index, item) in file.items.iter().enumerate() {
            let d = self.d.to_mut();
            match &item.kind {
                ItemKind::Use(u) => self.collect_use(u),
                ItemKind::Const(g) => {
                    let i = d.program.consts.len();
                    d.const_state.push(State::Todo);
                    d.program.consts.push(GlobalDef::unchecked(&g.name));
                    self.define(&g.name, GlobalKind::Const(i));
                }
                ItemKind::Static(g) => {
                    let i = d.program.statics.len();
                    d.program.statics.push(GlobalDef::unchecked(&g.name));
                    self.define(&g.name, GlobalKind::Static(i));
                }
                ItemKind::Struct(s) => {
                    let i = d.program.structs.len();
                    d.struct_state.push(State::Todo);
                    d.program.structs.push(StructDef::new(
                        s.name.name.clone(),
                        s.name.span,
                        Layout::scalar(1),
                    ));
                    self.define(&s.name, GlobalKind::Struct(i));
                }
                ItemKind::Fn(f) => {
                    let i = d.program.functions.len();
                    d.program.functions.push(FnDef {
                        name: f.sig.name.name.clone(),
                        span: f.sig.name.span,
                        exported: f.export.is_some(),
                        item: index,
                        params: Vec::new(),
                        ret: None,
                        locals: Vec::new(),
                        callees: Vec::new(),
                        frame_bytes: 0,
                        stack_bytes: 0,
                    });
                    self.define(&f.sig.name, GlobalKind::Fn(i));
                }
                ItemKind::ExternFn(sig) => self.report(
                    Diagnostic::new(
                        Code::E0001,
                        "`extern fn` declarations belong in std-imports files",
                        item.span,
                        "not allowed in a plugin",
                    )
                    .with_help(format!(
                        "to call a kernel function, `use` it, e.g. `use kernel::{};`",
                        sig.name.name
                    )),
                ),
                ItemKind::Error(_) => {}
            }
        }
        // Rust's `use kernel::*;` (E0110, reported by `check_unused` once
        // it knows which of them the file uses): every function of the
        // module no item or explicit `use` declares is an import, defined at
        // the `*`, so that calls to them are not errors of their own.
        for item in &file.items {
            if let ItemKind::Use(u) = &item.kind
                && let Some(star) = u.glob
                && let Some(module) = self.imports.module(&u.module.name)
            {
                for f in &module.functions {
                    if self.d.globals.contains_key(&f.name) {
                        continue;
                    }
                    let name = Ident {
                        name: f.name.clone(),
                        span: star,
                    };
                    self.define_import(&name, f);
                }
            }
        }
        // The names broken items declare, where no item declares them:
        // their uses are of unknown type, not unknown names.
        for item in &file.items {
            if let ItemKind::Error(Some(name)) = &item.kind
                && !self.d.globals.contains_key(&name.name)
                && !BUILTIN_TYPES.contains(&name.name.as_str())
                && super::AtomicOp::from_name(&name.name).is_none()
            {
                self.define(name, GlobalKind::Poisoned);
            }
        }
        self.define_meant_by_failed_uses();
    }

    /// The names a failed `use` meant, where no item declares them: the
    /// module of `use kernl::{log};` (E0104), so that `kernl::log(…)` is
    /// not a second unknown module, and the import a misspelt name stands
    /// for (`use kernel::{lgo};`, E0103 with "did you mean `log`?"), so
    /// that the calls of `log` are not also E0100. Their uses are of
    /// unknown type: the one mistake is the `use`.
    fn define_meant_by_failed_uses(&mut self) {
        for item in &self.file.items {
            let ItemKind::Use(u) = &item.kind else {
                continue;
            };
            let meant: Vec<Ident> = match self.imports.module(&u.module.name) {
                None => vec![u.module.clone()],
                Some(module) => u
                    .names
                    .iter()
                    .filter(|n| module.function(&n.name).is_none())
                    .filter_map(|n| {
                        let s = suggest::closest(
                            &n.name,
                            module.functions.iter().map(|f| f.name.as_str()),
                        )?;
                        Some(Ident {
                            name: s.to_string(),
                            span: n.span,
                        })
                    })
                    .collect(),
            };
            for name in meant {
                if !self.d.globals.contains_key(&name.name)
                    && !BUILTIN_TYPES.contains(&name.name.as_str())
                    && super::AtomicOp::from_name(&name.name).is_none()
                {
                    self.define(&name, GlobalKind::Poisoned);
                }
            }
        }
    }

    /// Defines `name` as the import `f` (unless the name is taken, which
    /// `define` reports).
    fn define_import(&mut self, name: &Ident, f: &ImportFn) {
        let i = self.d.program.imports.len();
        if self.define(name, GlobalKind::Import(i)) {
            let d = self.d.to_mut();
            d.program.imports.push(f.clone());
            d.import_uses.push(name.span);
        }
    }

    fn collect_use(&mut self, u: &UseItem) {
        let Some(module) = self.imports.module(&u.module.name) else {
            let names: Vec<&str> = self
                .imports
                .modules
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            let mut d = Diagnostic::new(
                Code::E0104,
                format!("there is no import module `{}`", u.module.name),
                u.module.span,
                "unknown module",
            );
            d = match suggest::closest(&u.module.name, names.iter().copied()) {
                Some(s) => {
                    d.with_maybe_fix(format!("did you mean `{s}`?"), u.module.span, s.to_string())
                }
                None => d.with_note(format!("available modules: {}", names.join(", "))),
            };
            self.report(d);
            for name in &u.names {
                self.define(name, GlobalKind::Poisoned);
            }
            return;
        };
        for name in &u.names {
            match module.function(&name.name) {
                Some(f) => self.define_import(name, f),
                None => {
                    let mut d = Diagnostic::new(
                        Code::E0103,
                        format!("module `{}` has no import `{}`", module.name, name.name),
                        name.span,
                        "not in the import table",
                    );
                    if let Some(s) = suggest::closest(
                        &name.name,
                        module.functions.iter().map(|f| f.name.as_str()),
                    ) {
                        d = d.with_maybe_fix(
                            format!("did you mean `{s}`?"),
                            name.span,
                            s.to_string(),
                        );
                    } else {
                        d = d.with_note(format!(
                            "the plugin may only call the functions declared in std-imports/{}.kpli",
                            module.name
                        ));
                    }
                    self.report(d);
                    self.define(name, GlobalKind::Poisoned);
                }
            }
        }
    }
}
