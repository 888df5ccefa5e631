//! A call through a module path, `kernel::log("hi")`: Rust's and C++'s way
//! of naming an import. KPL calls an import by its name alone, after
//! `use kernel::log;`. The lexer reads `kernel::log(` as `kernel.log(`
//! (nothing else in KPL has `::` inside a body), and the checker, which
//! knows the imports, tells what to write: drop the path when the import is
//! `use`d, add the `use` when it is not, or name the module's functions
//! when it has no such one. Either way it is one diagnostic: the arguments
//! are checked only for their own errors, and the import counts as used.

use crate::ast::*;
use crate::codes::Code;
use crate::diag::{Diagnostic, Suggestion};
use crate::span::Span;
use crate::suggest;
use crate::types::Ty;

use super::body::Body;
use super::{Checker, GlobalKind};

impl Checker<'_> {
    /// When `callee` is `module.name` (written `module::name`) for an
    /// import module that no local or item hides: reports it, checks the
    /// arguments and gives the call's type (the error type).
    pub(super) fn module_path_call(
        &mut self,
        body: &mut Body,
        callee: &Expr,
        args: &[Expr],
    ) -> Option<Ty> {
        let ExprKind::Field(outer, field) = &callee.unparen().kind else {
            return None;
        };
        // The lexer wraps the module of `m::f(` in parentheses, `(m).f(`:
        // what was written `m.f(` has none (see `lexer/habits/more.rs`).
        let (base, dot) = match &outer.kind {
            ExprKind::Paren(b) => (&**b, false),
            _ => (&**outer, true),
        };
        let ExprKind::Name(m) = &base.kind else {
            return None;
        };
        if body.lookup(m).is_some() {
            return None;
        }
        match self.d.globals.get(m.as_str()).map(|g| g.kind) {
            // The module of a failed `use` (E0104): the mistake is there.
            Some(GlobalKind::Poisoned) => {
                self.record(outer, Ty::Error);
                self.record(base, Ty::Error);
                self.record(callee.unparen(), Ty::Error);
                self.record(callee, Ty::Error);
                self.unknown_call_args(body, args);
                return Some(Ty::Error);
            }
            Some(_) => return None,
            None => {}
        }
        self.record(outer, Ty::Error);
        let imports = self.imports;
        let Some(module) = imports.modules.iter().find(|md| md.name == *m) else {
            return self.unknown_module(body, (base, dot), callee, args);
        };
        let f = field.name.as_str();
        // `kernel::` (or `kernel.`), up to the function's name.
        let path = Span::new(base.span.start as usize, field.span.start as usize);
        let whole = base.span.to(field.span);
        let declared = module.functions.iter().any(|x| x.name == f);
        let global = self.d.globals.get(f).map(|g| g.kind);
        let d = match (declared, global) {
            (true, Some(GlobalKind::Import(_))) => {
                self.mark_used(f);
                Diagnostic::new(
                    Code::E0001,
                    format!("an import is called by its name alone: `{f}(…)`"),
                    whole,
                    "a module path",
                )
                .with_note(format!(
                    "`use {m}::{f};` brings `{f}` into the file; KPL has no paths in expressions"
                ))
                .with_fix(
                    format!("remove `{m}{}`", if dot { "." } else { "::" }),
                    path,
                    "",
                )
            }
            (true, None) => Diagnostic::new(
                Code::E0100,
                format!("`{f}` is not imported: KPL calls an import by its name alone"),
                whole,
                "a module path",
            )
            .with_use_fix(
                format!(
                    "add `use {m}::{f};` at the top of the file and call `{f}(…)` by its name alone"
                ),
                format!("use {m}::{f};"),
                vec![Suggestion {
                    span: path,
                    replacement: "".into(),
                }],
            ),
            // A function of the plugin's own has that name.
            (true, Some(_)) => Diagnostic::new(
                Code::E0001,
                format!("an import is called by its name alone: `{f}(…)`"),
                whole,
                "a module path",
            )
            .with_help(format!(
                "the plugin already has an item named `{f}`: rename it, then add `use {m}::{f};` and call `{f}(…)`"
            )),
            (false, _) => {
                let mut d = Diagnostic::new(
                    Code::E0103,
                    format!("module `{m}` has no function `{f}`"),
                    field.span,
                    "not declared",
                );
                let names = module.functions.iter().map(|x| x.name.as_str());
                if let Some(s) = suggest::closest(f, names) {
                    d = d.with_help(format!(
                        "did you mean `{s}`? add `use {m}::{s};` and call `{s}(…)`"
                    ));
                } else {
                    d = d.with_help(format!(
                        "an import is called by its name alone, after `use {m}::NAME;` (see `std-imports/{m}.kpli`)"
                    ));
                }
                d
            }
        };
        self.reject_path_call(d, body, base, callee, args)
    }

    /// `mylib::g(x)` (read as `mylib.g(x)`, the `.` spanning the `::`)
    /// where `mylib` is no import module, local or item: a plugin is one
    /// file, and its only modules are the import modules. Reported once,
    /// with the closest module's name or the list of them.
    fn unknown_module(
        &mut self,
        body: &mut Body,
        (base, dot): (&Expr, bool),
        callee: &Expr,
        args: &[Expr],
    ) -> Option<Ty> {
        let ExprKind::Name(m) = &base.kind else {
            return None;
        };
        // A misspelt local or item is E0100's, with its did-you-mean.
        let mut names: Vec<&str> = body.candidates(m);
        names.extend(self.global_candidates(m, super::NameKind::Value));
        if suggest::closest(m, names.iter().copied()).is_some() {
            return None;
        }
        let imports = self.imports;
        let modules: Vec<&str> = imports.modules.iter().map(|md| md.name.as_str()).collect();
        let ExprKind::Field(_, field) = &callee.unparen().kind else {
            return None;
        };
        let f = field.name.as_str();
        let own = matches!(
            self.d.globals.get(f).map(|g| g.kind),
            Some(GlobalKind::Fn(_))
        );
        if own || (dot && suggest::closest(m, modules.iter().copied()).is_none()) {
            let d = self.not_a_module(body, (m, base.span), field, dot, own);
            return self.reject_path_call(d, body, base, callee, args);
        }
        let mut d = Diagnostic::new(
            Code::E0100,
            format!("there is no module `{m}`"),
            base.span,
            "not an import module",
        )
        .with_note(
            "a KPL plugin is one file: its only modules are the import modules the host provides, whose functions are brought in with `use`",
        );
        d = match suggest::closest(m, modules.iter().copied()) {
            Some(s) => d.with_maybe_fix(format!("did you mean `{s}`?"), base.span, s.to_string()),
            None if modules.is_empty() => d,
            None => {
                let list: Vec<String> = modules.iter().map(|n| format!("`{n}`")).collect();
                let which = match list.as_slice() {
                    [one] => format!("the only import module is {one}"),
                    _ => format!("the import modules are {}", list.join(", ")),
                };
                d.with_help(format!(
                    "{which}: `use {}::NAME;` brings in one of its functions, called by its name alone",
                    modules[0]
                ))
            }
        };
        self.reject_path_call(d, body, base, callee, args)
    }

    /// `base.f(…)` (`dot`) or `base::f(…)` where `base` is no module,
    /// local or item: a method call on a value never declared, or a path
    /// to `f`, which is this plugin's own function when `own` (then called
    /// by its name alone: the fix removes the path, and `f` is used).
    fn not_a_module(
        &mut self,
        body: &mut Body,
        (m, base): (&str, Span),
        field: &Ident,
        dot: bool,
        own: bool,
    ) -> Diagnostic {
        let f = field.name.as_str();
        let path = Span::new(base.start as usize, field.span.start as usize);
        let d = if dot {
            body.unknown_reported.insert(m.to_string());
            Diagnostic::new(
                Code::E0100,
                format!("cannot find `{m}` in this scope"),
                base,
                "not found",
            )
            .with_note(if matches!(m, "self" | "this") {
                format!("KPL has no methods, so no `{m}`: a function takes its values as parameters")
            } else {
                format!(
                    "KPL has no methods: `{m}.{f}(…)` would call `{f}` on a value named `{m}`, and no local, parameter or global has that name"
                )
            })
        } else {
            Diagnostic::new(
                Code::E0100,
                format!("there is no module `{m}`"),
                base,
                "not a module",
            )
            .with_note("a KPL plugin is one file: it has no modules of its own, and calls its own functions by their name alone")
        };
        // `console.log(x)`, `fmt.Println(x)`, `math.max(a, b)`: the
        // library function of another language, told as for `printf`.
        let library = super::foreign::foreign_function(&f.to_ascii_lowercase()).or_else(|| {
            matches!(m, "console" | "fmt" | "System" | "Console")
                .then(|| super::foreign::foreign_function("println"))
                .flatten()
        });
        if dot
            && !own
            && let Some((why, instead, import)) = library
        {
            let d = d.with_note(why);
            if import.is_none_or(|i| self.imports.find_anywhere(i).next().is_some()) {
                return d.with_help(instead);
            }
            return d;
        }
        if !own {
            return d.with_help(format!(
                "declare `{m}` before this line, and pass it to a function as an argument: `{f}({m}, …)`"
            ));
        }
        self.mark_used(f);
        let message = format!("`{f}` is this plugin's function: call it by its name alone");
        if dot && !matches!(m, "self" | "this") {
            // `foo.g(x)`: maybe `foo` was to be an argument of `g`.
            d.with_maybe_fix(message, path, "")
        } else {
            d.with_fix(message, path, "")
        }
    }

    /// Reports `d` about the call `base::f(args)`, which has no callee: the
    /// path and the callee take the error type (nothing more is said of
    /// them), and the arguments are still checked.
    fn reject_path_call(
        &mut self,
        d: Diagnostic,
        body: &mut Body,
        base: &Expr,
        callee: &Expr,
        args: &[Expr],
    ) -> Option<Ty> {
        self.report(d);
        self.record(base, Ty::Error);
        self.record(callee.unparen(), Ty::Error);
        self.record(callee, Ty::Error);
        self.unknown_call_args(body, args);
        Some(Ty::Error)
    }
}
