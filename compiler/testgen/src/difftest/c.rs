//! The C printer: the program tree as C99 that computes the same function
//! under KPL's semantics, with every arithmetic operation done in `uint64_t`
//! and converted back explicitly, and its traps checked.

use std::fmt::Write as _;

use super::kpl::Out;
use super::tree::{
    CompOp, Expr, INTS, Init,
    IntTy::{self, *},
    PathElem, Place, Prim, Program, Seq, Stmt, Ty, Usage, VarKind,
};

/// Helpers shared by all cases, behind an include guard. All arithmetic is
/// done on `uint64_t` and converted back with `kd_w_T`, which truncates and
/// sign-extends explicitly.
fn c_prelude() -> String {
    let mut s = String::from(
        "#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef KD_PRELUDE
#define KD_PRELUDE 1
static inline void kd_trap(int code) {
    printf(\"trap %d\\n\", code);
    fflush(stdout);
    exit(3);
}
static inline uint64_t kd_ix(uint64_t i, uint64_t n) {
    if (i >= n) kd_trap(3);
    return i;
}
static inline int kd_eq_b(int a, int b) { return a == b; }
static inline int kd_ne_b(int a, int b) { return a != b; }
",
    );
    for t in INTS {
        let n = t.name();
        let c = t.c();
        let w = t.bits();
        let mask = if w == 64 {
            "UINT64_MAX".to_string()
        } else {
            format!("UINT64_C({:#x})", (1u64 << w) - 1)
        };
        if t.signed() {
            let sign = format!("UINT64_C({:#x})", 1u64 << (w - 1));
            let _ = writeln!(
                s,
                "static inline {c} kd_w_{n}(uint64_t v) {{ v &= {mask}; return v < {sign} ? ({c})v : ({c})(-(int64_t)({mask} ^ v) - 1); }}"
            );
        } else {
            let _ = writeln!(
                s,
                "static inline {c} kd_w_{n}(uint64_t v) {{ return ({c})v; }}"
            );
        }
        for (op, sym) in [
            ("add", "+"),
            ("sub", "-"),
            ("mul", "*"),
            ("and", "&"),
            ("or", "|"),
            ("xor", "^"),
        ] {
            let _ = writeln!(
                s,
                "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ return kd_w_{n}((uint64_t)a {sym} (uint64_t)b); }}"
            );
        }
        let _ = writeln!(
            s,
            "static inline {c} kd_neg_{n}({c} a) {{ return kd_w_{n}((uint64_t)0 - (uint64_t)a); }}"
        );
        let _ = writeln!(
            s,
            "static inline {c} kd_not_{n}({c} a) {{ return kd_w_{n}(~(uint64_t)a); }}"
        );
        let _ = writeln!(
            s,
            "static inline {c} kd_shl_{n}({c} a, uint64_t s) {{ return kd_w_{n}((uint64_t)a << (s & {})); }}",
            w - 1
        );
        if t.signed() {
            // (uint64_t)a is the 64-bit sign extension of a; shift it
            // logically and fill the top with copies of the sign bit.
            let _ = writeln!(
                s,
                "static inline {c} kd_shr_{n}({c} a, uint64_t s) {{ unsigned k = (unsigned)(s & {}); uint64_t u = (uint64_t)a; uint64_t r = u >> k; if (u >> 63) r |= ~(UINT64_MAX >> k); return kd_w_{n}(r); }}",
                w - 1
            );
            let min = if w == 64 {
                "INT64_MIN".to_string()
            } else {
                format!("INT{w}_MIN")
            };
            for (op, sym) in [("div", "/"), ("rem", "%")] {
                let _ = writeln!(
                    s,
                    "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ if (b == 0) kd_trap(1); if (a == {min} && b == -1) kd_trap(2); return kd_w_{n}((uint64_t)((int64_t)a {sym} (int64_t)b)); }}"
                );
            }
        } else {
            let _ = writeln!(
                s,
                "static inline {c} kd_shr_{n}({c} a, uint64_t s) {{ return kd_w_{n}((uint64_t)a >> (s & {})); }}",
                w - 1
            );
            for (op, sym) in [("div", "/"), ("rem", "%")] {
                let _ = writeln!(
                    s,
                    "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ if (b == 0) kd_trap(1); return kd_w_{n}((uint64_t)a {sym} (uint64_t)b); }}"
                );
            }
        }
        for (op, sym) in [
            ("eq", "=="),
            ("ne", "!="),
            ("lt", "<"),
            ("le", "<="),
            ("gt", ">"),
            ("ge", ">="),
        ] {
            let _ = writeln!(
                s,
                "static inline int kd_{op}_{n}({c} a, {c} b) {{ return a {sym} b; }}"
            );
        }
    }
    s.push_str("#endif\n");
    s
}

fn c_lit(t: IntTy, v: i128) -> String {
    match t {
        U64 => format!("UINT64_C({v})"),
        I64 if v == t.min() => "INT64_MIN".to_string(),
        I64 => format!("INT64_C({v})"),
        I32 if v == t.min() => "INT32_MIN".to_string(),
        U32 => format!("UINT32_C({v})"),
        _ if v < 0 => format!("({v})"),
        _ => v.to_string(),
    }
}

struct C<'a> {
    p: &'a Program,
    u: Usage,
    tmp: std::cell::Cell<usize>,
}

impl Program {
    pub(super) fn render_c(&self) -> String {
        let c = C {
            p: self,
            u: Usage::of(self),
            tmp: std::cell::Cell::new(0),
        };
        let mut o = Out {
            s: c_prelude(),
            indent: 0,
        };
        let px = &self.prefix;
        o.line(&format!("/* Generated by kplc::difftest: case {px} */"));
        for (i, fields) in self.structs.iter().enumerate() {
            o.line(&format!("struct {px}S{i} {{"));
            for (j, f) in fields.iter().enumerate() {
                o.line(&format!("    {};", c.decl(f, &format!("f{j}"))));
            }
            o.line("};");
        }
        for (id, init) in &self.globals {
            let v = &self.vars[*id];
            if v.kind == VarKind::Table && !c.u.read[*id] {
                continue;
            }
            let q = if v.kind == VarKind::Table {
                "static const"
            } else {
                "static"
            };
            o.line(&format!(
                "{q} {} = {};",
                c.decl(&v.ty, &c.name(*id)),
                c.const_init(init)
            ));
        }
        for (fi, f) in self.funcs.iter().enumerate() {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|&p| c.decl(&self.vars[p].ty, &self.vars[p].name))
                .collect();
            o.line(&format!(
                "static {} {}{}({}) {{",
                c_scalar(&f.ret),
                px,
                self.fname(fi),
                params.join(", ")
            ));
            o.indent += 1;
            c.stmts(&mut o, &f.body);
            o.indent -= 1;
            o.line("}");
        }
        o.line("#ifndef KD_NO_MAIN");
        o.line("int main(int argc, char **argv) {");
        o.line("    uint64_t a, b, c;");
        o.line("    if (argc != 4) {");
        o.line("        fprintf(stderr, \"usage: %s A B C\\n\", argv[0]);");
        o.line("        return 2;");
        o.line("    }");
        o.line("    a = (uint64_t)strtoull(argv[1], 0, 10);");
        o.line("    b = (uint64_t)strtoull(argv[2], 0, 10);");
        o.line("    c = (uint64_t)strtoull(argv[3], 0, 10);");
        o.line(&format!(
            "    printf(\"%llu\\n\", (unsigned long long){px}run(a, b, c));"
        ));
        o.line("    return 0;");
        o.line("}");
        o.line("#endif");
        o.s
    }
}

fn c_scalar(t: &Ty) -> &'static str {
    match t {
        Ty::Bool => "int",
        Ty::Int(i) => i.c(),
        _ => unreachable!("scalar expected"),
    }
}

impl C<'_> {
    pub(super) fn name(&self, v: usize) -> String {
        let info = &self.p.vars[v];
        match info.kind {
            VarKind::Static | VarKind::Table => format!("{}{}", self.p.prefix, info.name),
            _ => info.name.clone(),
        }
    }

    fn fresh(&self) -> String {
        let n = self.tmp.get();
        self.tmp.set(n + 1);
        format!("t_{n}")
    }

    /// A declaration of `name` with type `ty`.
    fn decl(&self, ty: &Ty, name: &str) -> String {
        match ty {
            Ty::Bool | Ty::Int(_) => format!("{} {name}", c_scalar(ty)),
            Ty::Array(el, n) => self.decl(el, &format!("{name}[{n}]")),
            Ty::Struct(s) => format!("struct {}S{s} {name}", self.p.prefix),
        }
    }

    /// A brace initializer for statics and tables (literals only).
    fn const_init(&self, i: &Init) -> String {
        match i {
            Init::Scalar(e) => self.expr(e),
            Init::List(xs) => {
                let items: Vec<String> = xs.iter().map(|x| self.const_init(x)).collect();
                format!("{{ {} }}", items.join(", "))
            }
            Init::Repeat(x, n) => {
                let item = self.const_init(x);
                let items = vec![item; *n as usize];
                format!("{{ {} }}", items.join(", "))
            }
            _ => unreachable!("constant initializers are literals"),
        }
    }

    fn stmts(&self, o: &mut Out, ss: &[Stmt]) {
        for s in ss {
            self.stmt(o, s);
        }
    }

    fn unread(&self, o: &mut Out, v: usize) {
        if !self.u.read[v] {
            o.line(&format!("(void){};", self.name(v)));
        }
    }

    fn stmt(&self, o: &mut Out, s: &Stmt) {
        match s {
            Stmt::Let { var, init, .. } => {
                let ty = &self.p.vars[*var].ty;
                let name = self.name(*var);
                if ty.is_scalar() {
                    let Init::Scalar(e) = init else {
                        unreachable!()
                    };
                    o.line(&format!("{} = {};", self.decl(ty, &name), self.expr(e)));
                } else {
                    o.line(&format!("{};", self.decl(ty, &name)));
                    o.line(&format!("memset(&{name}, 0, sizeof {name});"));
                    self.init_into(o, &name, ty, init);
                }
                self.unread(o, *var);
            }
            Stmt::Assign { place, op, value } => {
                let ty = self.p.place_ty(place);
                let lv = self.place(place);
                match (op, value) {
                    (None, Init::Scalar(e)) => o.line(&format!("{lv} = {};", self.expr(e))),
                    (None, init) => {
                        // Build the new value first: the right side may read
                        // the target.
                        let t = self.fresh();
                        o.line("{");
                        o.indent += 1;
                        o.line(&format!("{};", self.decl(&ty, &t)));
                        o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                        self.init_into(o, &t, &ty, init);
                        o.line(&format!("memcpy(&{lv}, &{t}, sizeof {t});"));
                        o.indent -= 1;
                        o.line("}");
                    }
                    (Some(op), Init::Scalar(e)) => {
                        let v = self.expr(e);
                        let rhs = match (op, &ty) {
                            (CompOp::Ar(a), Ty::Int(t)) => {
                                format!("kd_{}_{}({lv}, {v})", a.c(), t.name())
                            }
                            (CompOp::Sh(left), Ty::Int(t)) => format!(
                                "kd_{}_{}({lv}, (uint64_t)({v}))",
                                if *left { "shl" } else { "shr" },
                                t.name()
                            ),
                            (CompOp::Bool(b), Ty::Bool) => format!("({lv} {} {v})", b.sym()),
                            _ => unreachable!(),
                        };
                        o.line(&format!("{lv} = {rhs};"));
                    }
                    _ => unreachable!(),
                }
            }
            Stmt::If { cond, then, els } => {
                o.line(&format!("if ({}) {{", self.expr(cond)));
                o.indent += 1;
                self.stmts(o, then);
                o.indent -= 1;
                if let Some(e) = els {
                    o.line("} else {");
                    o.indent += 1;
                    self.stmts(o, e);
                    o.indent -= 1;
                }
                o.line("}");
            }
            Stmt::While { cond, body } => {
                o.line(&format!("while ({}) {{", self.expr(cond)));
                o.indent += 1;
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
            }
            Stmt::ForRange {
                var,
                ty,
                lo,
                hi,
                body,
            } => {
                let i = self.name(*var);
                let c = ty.c();
                let n = ty.name();
                o.line("{");
                o.indent += 1;
                o.line(&format!("{c} lo_{i} = {};", self.expr(lo)));
                o.line(&format!("{c} hi_{i} = {};", self.expr(hi)));
                o.line(&format!(
                    "for ({c} {i} = lo_{i}; kd_lt_{n}({i}, hi_{i}); {i} = kd_add_{n}({i}, 1)) {{"
                ));
                o.indent += 1;
                self.unread(o, *var);
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
                o.indent -= 1;
                o.line("}");
            }
            Stmt::ForEach { var, seq, body } => {
                // The sequence is evaluated once, before the loop: a
                // place's indexes go to temporaries (each trip then reads
                // the place's element, seeing writes to later elements); a
                // literal is built into a temporary.
                let x = self.name(*var);
                o.line("{");
                o.indent += 1;
                let (src, ty) = match seq {
                    Seq::Place(p) => {
                        let mut s = self.name(p.root);
                        self.path_once(o, &x, &mut s, &p.path);
                        (s, self.p.place_ty(p))
                    }
                    Seq::Post(prim, path) => {
                        let mut prim = prim;
                        while let Prim::Paren(inner) = prim {
                            prim = inner;
                        }
                        let Prim::Lit(ty, init) = prim else {
                            unreachable!("a for loop's literal sequence")
                        };
                        let mut s = format!("sq_{x}");
                        o.line(&format!("{};", self.decl(ty, &s)));
                        o.line(&format!("memset(&{s}, 0, sizeof {s});"));
                        self.init_into(o, &s, ty, init);
                        self.path_once(o, &x, &mut s, path);
                        (s, self.p.path_ty(ty.clone(), path))
                    }
                };
                let Ty::Array(el, n) = ty else { unreachable!() };
                let k = format!("k_{x}");
                o.line(&format!("for (uint32_t {k} = 0; {k} < {n}u; {k}++) {{"));
                o.indent += 1;
                let src = format!("{src}[{k}]");
                if el.is_scalar() {
                    o.line(&format!("{} = {src};", self.decl(&el, &x)));
                } else {
                    o.line(&format!("{};", self.decl(&el, &x)));
                    o.line(&format!("memcpy(&{x}, &{src}, sizeof {x});"));
                }
                self.unread(o, *var);
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
                o.indent -= 1;
                o.line("}");
            }
            Stmt::Break => o.line("break;"),
            Stmt::Continue => o.line("continue;"),
            Stmt::Return(e) => o.line(&format!("return {};", self.expr(e))),
            Stmt::Call(f, args) => o.line(&format!("(void){};", self.call(*f, args))),
            Stmt::Block(b) => {
                o.line("{");
                o.indent += 1;
                self.stmts(o, b);
                o.indent -= 1;
                o.line("}");
            }
        }
    }

    /// Statements that store `init` (of type `ty`) into the lvalue `lv`.
    fn init_into(&self, o: &mut Out, lv: &str, ty: &Ty, init: &Init) {
        match (init, ty) {
            (Init::Scalar(e), _) => o.line(&format!("{lv} = {};", self.expr(e))),
            (Init::List(xs), Ty::Array(el, _)) => {
                for (i, x) in xs.iter().enumerate() {
                    self.init_into(o, &format!("{lv}[{i}]"), el, x);
                }
            }
            (Init::Repeat(x, n), Ty::Array(el, _)) => {
                // The element is evaluated once.
                let t = self.fresh();
                o.line("{");
                o.indent += 1;
                o.line(&format!("{};", self.decl(el, &t)));
                o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                self.init_into(o, &t, el, x);
                o.line(&format!(
                    "for (uint32_t k_{t} = 0; k_{t} < {n}u; k_{t}++) memcpy(&{lv}[k_{t}], &{t}, sizeof {t});"
                ));
                o.indent -= 1;
                o.line("}");
            }
            (Init::Copy(p), _) => {
                o.line(&format!("memmove(&{lv}, &{}, sizeof {lv});", self.place(p)));
            }
            (Init::Struct(_, fs), Ty::Struct(s)) => {
                for (k, x) in fs {
                    self.init_into(o, &format!("{lv}.f{k}"), &self.p.structs[*s][*k], x);
                }
            }
            _ => unreachable!("initializer does not match its type"),
        }
    }

    fn place(&self, p: &Place) -> String {
        let mut s = self.name(p.root);
        self.path(&mut s, &p.path);
        s
    }

    /// Appends `path` to the lvalue `s` with every index evaluated (and
    /// bounds-checked) now, in order, into a temporary named after `x`.
    fn path_once(&self, o: &mut Out, x: &str, s: &mut String, path: &[PathElem]) {
        for (j, e) in path.iter().enumerate() {
            match e {
                PathElem::Index(i, n) => {
                    let t = format!("ix_{x}_{j}");
                    o.line(&format!(
                        "uint64_t {t} = kd_ix((uint64_t)({}), {n});",
                        self.expr(i)
                    ));
                    let _ = write!(s, "[{t}]");
                }
                PathElem::Field(k) => {
                    let _ = write!(s, ".f{k}");
                }
            }
        }
    }

    fn path(&self, s: &mut String, path: &[PathElem]) {
        for e in path {
            match e {
                PathElem::Index(i, n) => {
                    let _ = write!(s, "[kd_ix((uint64_t)({}), {n})]", self.expr(i));
                }
                PathElem::Field(k) => {
                    let _ = write!(s, ".f{k}");
                }
            }
        }
    }

    /// A postfix chain on a primary. A literal becomes a GNU statement
    /// expression that builds it in a temporary (elements in order, as
    /// `init_into` does for a `let`); `.len` evaluates the chain (its
    /// bounds checks) and then gives the constant length.
    fn post(&self, prim: &Prim, path: &[PathElem], len: bool) -> String {
        let mut p = prim;
        while let Prim::Paren(x) = p {
            p = x;
        }
        let (setup, mut s, ty) = match p {
            Prim::Lit(ty, init) => {
                let t = self.fresh();
                let mut o = Out {
                    s: String::new(),
                    indent: 0,
                };
                o.line(&format!("{};", self.decl(ty, &t)));
                o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                self.init_into(&mut o, &t, ty, init);
                (Some(o.s.replace('\n', " ")), t, ty.clone())
            }
            Prim::Place(pl) => (None, format!("({})", self.place(pl)), self.p.place_ty(pl)),
            Prim::Paren(_) => unreachable!(),
        };
        self.path(&mut s, path);
        let mut ty = ty;
        for e in path {
            ty = match (e, ty) {
                (PathElem::Index(..), Ty::Array(el, _)) => *el,
                (PathElem::Field(k), Ty::Struct(st)) => self.p.structs[st][*k].clone(),
                _ => unreachable!("ill-typed path"),
            };
        }
        let value = if len {
            let Ty::Array(_, n) = ty else {
                unreachable!(".len of a non-array")
            };
            format!("((void)({s}), (uint32_t){n}u)")
        } else {
            s
        };
        match setup {
            Some(setup) => format!("__extension__ ({{ {setup}{value}; }})"),
            None => format!("({value})"),
        }
    }

    fn call(&self, f: usize, args: &[Expr]) -> String {
        let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
        format!("{}{}({})", self.p.prefix, self.p.fname(f), a.join(", "))
    }

    pub(super) fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Lit(t, v) => c_lit(*t, *v),
            Expr::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            Expr::Const(k) => {
                let (t, v) = self.p.consts[*k];
                c_lit(t, v)
            }
            Expr::Read(p) => self.place(p),
            Expr::Len(p) => {
                // Not evaluated; names the array, as `.len` does in KPL.
                let a = self.place(p);
                format!("((uint32_t)(sizeof {a} / sizeof {a}[0]))")
            }
            Expr::Neg(t, x) => format!("kd_neg_{}({})", t.name(), self.expr(x)),
            Expr::BitNot(t, x) => format!("kd_not_{}({})", t.name(), self.expr(x)),
            Expr::Not(x) => format!("(!{})", self.expr(x)),
            Expr::Arith(op, t, l, r) => format!(
                "kd_{}_{}({}, {})",
                op.c(),
                t.name(),
                self.expr(l),
                self.expr(r)
            ),
            Expr::BoolBin(op, l, r) => {
                format!("({} {} {})", self.expr(l), op.sym(), self.expr(r))
            }
            Expr::Shift(left, t, l, r) => format!(
                "kd_{}_{}({}, (uint64_t)({}))",
                if *left { "shl" } else { "shr" },
                t.name(),
                self.expr(l),
                self.expr(r)
            ),
            Expr::Cmp(op, t, l, r) => {
                let n = match t {
                    Ty::Bool => "b",
                    Ty::Int(i) => i.name(),
                    _ => unreachable!(),
                };
                format!("kd_{}_{n}({}, {})", op.c(), self.expr(l), self.expr(r))
            }
            Expr::Logic(and, l, r) => format!(
                "({} {} {})",
                self.expr(l),
                if *and { "&&" } else { "||" },
                self.expr(r)
            ),
            Expr::Cast(to, x) => {
                format!("kd_w_{}((uint64_t)({}))", to.name(), self.expr(x))
            }
            Expr::Call(f, args) | Expr::ParenCall(_, f, args) => self.call(*f, args),
            Expr::Post(prim, path, len) => self.post(prim, path, *len),
        }
    }
}
