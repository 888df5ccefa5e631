//! Habits a newcomer brings from Rust, C++, Python, JavaScript and Ruby
//! that the other rules (see the parent module for how habits are found,
//! reported and rewritten) do not read: a method written inside a struct,
//! a `self` parameter, Rust's never type `-> !`, a tuple return type
//! `-> (u32, u32)`, Python's `if x in 0..4`, JavaScript's arrow function
//! `(v) => v + 1`, C++'s `std::cout << x;`, Ruby's or Lua's `end`
//! closing a block, Python's `a if c else b`, Go's `for i := 0; i < n; i++`
//! and `try { … } catch (e) { … }`; and a slip, the last statement's `;`
//! swapped with its function's `}`. Also the nested items of [`Rewriter::nested_item`].
//! Each is one E0001, and the tokens are rewritten so that nothing else is
//! reported: what a statement declares stays declared, a moved function
//! stays callable, a value that cannot be read is an error expression.

use super::tokens::starts_statement;
use super::{Rewriter, e, edit};
use crate::diag::Applicability;
use crate::lexer::Tok;
use crate::span::Span;

/// Tokens a rule here walks before it gives up (the pass stays linear).
const WALK: usize = 64;

impl<'a> Rewriter<'a> {
    /// The habit starting at token `i` among those of this module, if any
    /// (as [`Rewriter::habit`]).
    pub(super) fn newcomer_habit(&mut self, i: usize) -> Option<usize> {
        let old: &'a [(Tok, Span)] = self.old;
        let (t, s) = (&old[i].0, old[i].1);
        let at_sig_end = self.sig.is_some_and(|(_, close)| close + 1 == i);
        match (t, self.tok(i + 1)) {
            // Rust's `fn die() -> ! {`
            (Tok::Sym("->"), Some(Tok::Sym("!"))) if at_sig_end && self.is(i + 2, "{") => {
                let from = self.prev().map_or(s, |(_, p)| p.end_point());
                let whole = from.to(self.span(i + 1));
                self.diags.push(
                    e("KPL has no never type `!`", s.to(self.span(i + 1)), "Rust's never type")
                        .with_note("a function that never returns (it aborts, or loops forever) has no `-> type` part")
                        .with_fix("remove `-> !`", whole, ""),
                );
                Some(i + 2)
            }
            // `fn pair() -> (u32, u32) {`
            (Tok::Sym("->"), Some(Tok::Sym("("))) if at_sig_end => self.tuple_return(i),
            // Python's `if x in 0..4 {`
            (Tok::Kw("in"), _)
                if self
                    .header
                    .as_ref()
                    .is_some_and(|h| matches!(h.kw, "if" | "while") && h.depth == 0) =>
            {
                self.membership(i)
            }
            // JavaScript's `(v) => v + 1`, `v => v + 1`
            (Tok::Sym("="), Some(Tok::Sym(">"))) if self.touching(i) => self.arrow_function(i),
            // C++'s `std::cout << x;`
            (Tok::Ident(w), Some(Tok::Sym("::")))
                if &**w == "std"
                    && self.braces > 0
                    && starts_statement(self.prev())
                    && matches!(self.tok(i + 2), Some(Tok::Ident(n)) if matches!(&**n, "cout" | "cerr" | "clog" | "cin")) =>
            {
                self.cpp_stream(i)
            }
            // Rust's and Python's `fn get(&self)`, `fn get(self, x: u32)`
            (Tok::Sym("&") | Tok::Ident(_) | Tok::Kw("mut"), _)
                if self.sig.is_some_and(|(open, _)| open + 1 == i) =>
            {
                self.self_param(i)
            }
            // A method among a struct's fields
            (Tok::Kw("fn"), _)
                if self.braces == 1
                    && matches!(self.prev(), Some((Tok::Sym("," | "{" | "}"), _)))
                    && self
                        .top_open
                        .is_some_and(|o| o >= 2 && self.tok(o - 2) == Some(&Tok::Kw("struct"))) =>
            {
                self.nested_item(i, "fn", true)
            }
            // Python's conditional expression `a if c else b`
            (Tok::Kw("if"), _) if super::ends_operand(self.prev()) && self.braces > 0 => {
                self.conditional_expression(i)
            }
            // Go's `for i := 0; i < n; i++ {`
            (Tok::Kw("for"), Some(Tok::Ident(_)))
                if self.is(i + 2, ":") && self.is(i + 3, "=") && self.touching(i + 2) =>
            {
                self.go_three_clause_for(i)
            }
            // `try { … } catch (e) { … }` (JavaScript, Java, C++)
            (Tok::Ident(w), Some(Tok::Sym("{")))
                if &**w == "try" && starts_statement(self.prev()) =>
            {
                self.diags.push(
                    e("KPL has no exceptions: no `try`", self.span(i), "an exception handler")
                        .with_note("nothing in KPL throws: a function that can fail returns a value that says so (a `bool`, or a value that cannot occur otherwise)")
                        .with_help("remove `try` and the `catch` part, and test the values that say whether something failed"),
                );
                Some(i + 1)
            }
            // Its `catch (e) { … }`, the same mistake: dropped.
            (Tok::Ident(w), Some(Tok::Sym("(" | "{")))
                if &**w == "catch" && matches!(self.prev(), Some((Tok::Sym("}"), _))) =>
            {
                let mut k = i + 1;
                if self.is(k, "(") {
                    k = self.next_at_level(k);
                }
                if !self.is(k, "{") || self.pair.get(k).is_none_or(|&c| c == usize::MAX) {
                    return None;
                }
                Some(self.pair[k] + 1)
            }
            // `return x }` then `;`: the last statement's `;` and the
            // function's `}` swapped
            (Tok::Sym(";"), _)
                if self.braces == 0
                    && matches!(self.prev(), Some((Tok::Sym("}"), _)))
                    && self.closes_function_body() =>
            {
                self.swapped_semicolon(i)
            }
            // Ruby's and Lua's `end` closing a block
            (Tok::Ident(w), _) if &**w == "end" && self.braces > 0 => self.ruby_end(i),
            // `return x;` `export` `}` `fn g(…)`: a function's `}` swapped
            // with the next item's first keyword
            (
                Tok::Kw(k @ ("export" | "fn" | "struct" | "const" | "static" | "use")),
                Some(Tok::Sym("}")),
            ) if self.braces == 1
                && starts_statement(self.prev())
                && self
                    .top_open
                    .is_some_and(|o| self.pair.get(i + 1) == Some(&o))
                && matches!(self.tok(i + 2), Some(Tok::Kw(_) | Tok::Ident(_))) =>
            {
                self.swapped_closer(i, k)
            }
            _ => None,
        }
    }

    /// Whether tokens `a` and `b` (`a` before `b`) are on different lines.
    fn lines_apart(&self, a: usize, b: usize) -> bool {
        let (Some((_, x)), Some((_, y))) = (self.at(a), self.at(b)) else {
            return true;
        };
        self.src
            .get(x.end as usize..y.start as usize)
            .is_none_or(|t| t.contains('\n'))
    }

    /// `-> (u32, u32)` at `i`: one E0001, read as its first type.
    fn tuple_return(&mut self, i: usize) -> Option<usize> {
        let open = i + 1;
        let close = *self.pair.get(open)?;
        if close == usize::MAX || !self.is(close + 1, "{") || !self.is(open + 2, ",") {
            return None;
        }
        let (first, fs) = self.old.get(open + 1)?.clone();
        if !matches!(first, Tok::Ident(_)) {
            return None;
        }
        let group = self.span(open).to(self.span(close));
        self.diags.push(
            e("a function returns one value, not a tuple", group, "a tuple type")
                .with_note("KPL has no tuples")
                .with_help("return a struct with a field for each value (kept in a static, or filled through a `[]mut` parameter), or write one function per value"),
        );
        self.push(Tok::Sym("->"), self.span(i));
        self.push(first, fs);
        Some(close + 1)
    }

    /// `x in a..b` in an `if` or `while` header, `in` at `i`: written
    /// `x >= a && x < b` (`<=` for `a..=b`).
    fn membership(&mut self, i: usize) -> Option<usize> {
        let (x, xs) = self.prev().cloned()?;
        let before = self.out().len().checked_sub(2).map(|k| &self.out()[k].0);
        let simple = matches!(x, Tok::Ident(_))
            && matches!(
                before,
                Some(Tok::Kw("if" | "while") | Tok::Sym("(" | "&&" | "||"))
            );
        let mut d = e(
            "KPL has no `in` test",
            self.span(i),
            "Python's membership test",
        );
        // The range: `a..b` up to the header's `{` (or `&&`, `||`, `)`).
        let mut dots = None;
        let mut end = None;
        let mut k = i + 1;
        for _ in 0..WALK {
            match self.tok(k) {
                Some(Tok::Sym("..")) if dots.is_none() && k > i + 1 => dots = Some(k),
                Some(Tok::Sym("{" | "&&" | "||" | ")" | ";")) | None => {
                    end = Some(k);
                    break;
                }
                _ => {}
            }
            k = self.next_at_level(k);
        }
        let (Some(dots), Some(end)) = (dots, end) else {
            self.diags
                .push(d.with_note("`in` only follows a `for` loop's variable: `for i in 0..n {`"));
            return None;
        };
        let inclusive = self.is(dots + 1, "=") && self.touching(dots);
        let hi = if inclusive { dots + 2 } else { dots + 1 };
        if hi >= end || !simple {
            self.diags
                .push(d.with_help("compare with the range's bounds: `x >= a && x < b`"));
            return None;
        }
        let text = |r: &Self, a: usize, b: usize| r.text(r.span(a).to(r.span(b - 1))).to_string();
        let (lo_text, hi_text) = (text(self, i + 1, dots), text(self, hi, end));
        let name = self.text(xs).to_string();
        let lt = if inclusive { "<=" } else { "<" };
        let fixed = format!("{name} >= {lo_text} && {name} {lt} {hi_text}");
        d = d.with_fix(format!("write `{fixed}`"), xs.to(self.span(end - 1)), fixed);
        self.diags.push(d);
        let s = self.span(i);
        self.push(Tok::Sym(">="), s);
        for k in i + 1..dots {
            let (t, ts) = self.old[k].clone();
            self.push(t, ts);
        }
        self.push(Tok::Sym("&&"), self.span(dots));
        self.push(x, xs);
        self.push(Tok::Sym(lt), self.span(dots));
        Some(hi)
    }

    /// JavaScript's arrow function, its `=>` at `i`: the function (from its
    /// parameters to the end of its body) is read as an error expression.
    fn arrow_function(&mut self, i: usize) -> Option<usize> {
        let (last, ls) = self.prev().cloned()?;
        let params_start = match last {
            Tok::Ident(_) => ls.start,
            Tok::Sym(")") => {
                let close = self.out().len() - 1;
                // The `(` paired with the `)` just written.
                let mut depth = 0usize;
                let mut k = close;
                loop {
                    match self.out()[k].0 {
                        Tok::Sym(")") => depth += 1,
                        Tok::Sym("(") => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    if k == 0 || close - k > WALK {
                        return None;
                    }
                    k -= 1;
                }
                self.out()[k].1.start
            }
            _ => return None,
        };
        // Only where a value starts (`let f = v => …`, `g((v) => …)`,
        // `return v => …`): Rust's `match` arm `_ => 2` is no function.
        let before = self
            .out()
            .iter()
            .rev()
            .find(|(_, s)| s.start < params_start)
            .map(|(t, _)| t);
        if !matches!(before, Some(Tok::Sym("=" | "(") | Tok::Kw("return"))) {
            return None;
        }
        let mut end = i + 2;
        while end < self.old.len()
            && !matches!(self.tok(end), Some(Tok::Sym(";" | "," | ")" | "]")))
            && !(self.is(end, "}") && self.pair.get(end) == Some(&usize::MAX))
        {
            end = self.next_at_level(end);
        }
        self.diags.push(
            e(
                "KPL has no closures: `=>` makes no function",
                self.span(i).to(self.span(i + 1)),
                "JavaScript's arrow function",
            )
            .with_note("a KPL function is an item at the top level, called by its name")
            .with_help("write a function, `fn name(v: u32) -> u32 { return …; }`, after this one, and call it by its name"),
        );
        self.own();
        while self
            .toks
            .last()
            .is_some_and(|(_, s)| s.start >= params_start)
        {
            self.toks.pop();
        }
        let whole = Span::new(params_start as usize, self.span(end - 1).end as usize);
        self.push(Tok::BadInt, whole);
        Some(end)
    }

    /// C++'s `std::cout << x << "\n";` at `i`: the statement is dropped.
    fn cpp_stream(&mut self, i: usize) -> Option<usize> {
        let end = self.statement_end(i);
        let stream = self.text(self.span(i + 2)).to_string();
        let whole = self.span(i).to(self.span(i + 2));
        let d = e(
            format!("KPL has no streams: `std::{stream}` names nothing"),
            whole,
            "C++'s stream",
        )
        .with_note("a plugin writes to the kernel's log through an import");
        let d = if stream == "cin" {
            d.with_note("a plugin reads nothing from a terminal: its input comes as parameters")
        } else {
            d.with_help(
                "add `use kernel::log;` (or `log_u64`) at the top of the file, and write `log(\"text\");` or `log_u64(\"x\", x);`",
            )
        };
        self.diags.push(d);
        Some(if self.is(end, ";") { end + 1 } else { end })
    }

    /// Python's `a if c else b`, its `if` at `i` after an operand: the
    /// `if … else …` part is dropped (the statement keeps `a`).
    fn conditional_expression(&mut self, i: usize) -> Option<usize> {
        let end = self.statement_end(i);
        let mut k = i + 1;
        let mut has_else = false;
        while k < end {
            if self.tok(k) == Some(&Tok::Kw("else")) {
                has_else = true;
            }
            // A block, not an expression: `x if c { … }` is something else.
            if self.is(k, "{") || k - i > WALK {
                return None;
            }
            k = self.next_at_level(k);
        }
        if !has_else {
            return None;
        }
        self.diags.push(
            e(
                "KPL has no conditional expression `a if c else b`",
                self.span(i).to(self.span(end - 1)),
                "Python's conditional expression",
            )
            .with_help("write an `if` statement: `if c { y = a; } else { y = b; }`"),
        );
        Some(end)
    }

    /// Go's `for i := a; i < b; i++ {` (or `i <= b`, `i += 1`), `for` at
    /// `i`: read as `for i in a..b {`, with that fix for this shape.
    fn go_three_clause_for(&mut self, i: usize) -> Option<usize> {
        let var = i + 1;
        let name = self.text(self.span(var)).to_string();
        let first_end = self.statement_end(var + 3);
        if !self.is(first_end, ";") || first_end == var + 3 {
            return None;
        }
        let cond_end = self.statement_end(first_end + 1);
        if !self.is(cond_end, ";") {
            return None;
        }
        let mut open = cond_end + 1;
        while open < self.old.len()
            && !self.is(open, "{")
            && !self.is(open, ";")
            && open - cond_end < WALK
        {
            open = self.next_at_level(open);
        }
        if !self.is(open, "{") {
            return None;
        }
        let is_var = |r: &Self, k: usize| matches!(r.tok(k), Some(Tok::Ident(n)) if **n == *name);
        let cmp = first_end + 2;
        let bound = (is_var(self, first_end + 1)
            && (self.is(cmp, "<") || self.is(cmp, "<="))
            && cmp + 1 < cond_end)
            .then(|| (self.is(cmp, "<="), cmp + 1));
        let step_ok = is_var(self, cond_end + 1)
            && ((self.is(cond_end + 2, "+") && self.is(cond_end + 3, "+") && open == cond_end + 4)
                || (self.is(cond_end + 2, "+=")
                    && matches!(self.tok(cond_end + 3), Some(Tok::Int(1)))
                    && open == cond_end + 4));
        let header = self.span(var).to(self.span(open - 1));
        let mut d = e(
            "KPL's `for` loops over a range: `for i in a..b`",
            header,
            "Go's loop header",
        );
        let text = |r: &Self, a: usize, b: usize| r.text(r.span(a).to(r.span(b - 1))).to_string();
        let start = text(self, var + 3, first_end);
        d = match bound {
            Some((inclusive, b)) if step_ok => {
                let end = text(self, b, cond_end);
                let end = if inclusive { format!("{end} + 1") } else { end };
                let fixed = format!("{name} in {start}..{end}");
                d.with_fix(format!("write `{fixed}`"), header, fixed)
            }
            _ => d.with_help("write `for i in a..b { … }`, or a `while` loop"),
        };
        self.diags.push(d);
        let (f, fs) = self.old[i].clone();
        self.track(&f, i);
        self.push(f, fs);
        let (v, vs) = self.old[var].clone();
        self.push(v, vs);
        self.push(Tok::Kw("in"), self.span(var + 2));
        for k in var + 3..first_end {
            let (t, ts) = self.old[k].clone();
            self.push(t, ts);
        }
        self.push(Tok::Sym(".."), self.span(first_end));
        match bound {
            Some((inclusive, b)) => {
                for k in b..cond_end {
                    let (t, ts) = self.old[k].clone();
                    self.push(t, ts);
                }
                if inclusive {
                    self.push(Tok::Sym("+"), self.span(cond_end));
                    self.push(Tok::Int(1), self.span(cond_end));
                }
            }
            None => self.push(Tok::BadInt, self.span(first_end + 1)),
        }
        Some(open)
    }

    /// `&self`, `&mut self`, `self` or `mut self` first in a parameter list
    /// at `i`: dropped (with a `,` after it).
    fn self_param(&mut self, i: usize) -> Option<usize> {
        let mut k = i;
        if self.is(k, "&") {
            k += 1;
        }
        if self.tok(k) == Some(&Tok::Kw("mut")) {
            k += 1;
        }
        if !matches!(self.tok(k), Some(Tok::Ident(n)) if &**n == "self") {
            return None;
        }
        if !(self.is(k + 1, ",") || self.is(k + 1, ")")) {
            return None;
        }
        let whole = self.span(i).to(self.span(k));
        self.diags.push(
            e("KPL has no methods, so no `self` parameter", whole, "a method's receiver")
                .with_note("a function is an item at the top level; what it works on is passed to it as parameters")
                .with_help("take the fields it needs as parameters (`fn get(x: u32) -> u32`), and call it as `get(p.x)`"),
        );
        Some(if self.is(k + 1, ",") { k + 2 } else { k + 1 })
    }

    /// Whether the `}` just written closes a function's body: its `{`
    /// follows the function's parameter list (and its return type).
    fn closes_function_body(&self) -> bool {
        match (self.top_open, self.sig) {
            (Some(open), Some((_, close))) => close < open && open - close <= 3,
            _ => false,
        }
    }

    /// The `;` at `i` after a function's `}`, where the statement before
    /// that `}` lacks its `;` (`return x }`, then `;`): the two swapped,
    /// one mistake. Read as `return x; }`, with the fix that swaps them.
    fn swapped_semicolon(&mut self, i: usize) -> Option<usize> {
        let out = self.out();
        let n = out.len();
        if n < 2 || !super::ends_operand(out.get(n - 2)) {
            return None;
        }
        let last = out[n - 2].1;
        let s = self.span(i);
        self.diags.push(
            e(
                "the last statement's `;` is after the function's `}`",
                s,
                "`;` and `}` swapped",
            )
            .with_fix_edits(
                "put the `;` before the `}`",
                Applicability::MachineApplicable,
                vec![edit(last.end_point(), ";"), edit(s, "")],
            ),
        );
        self.own();
        let at = self.toks.len() - 1;
        self.toks.insert(at, (Tok::Sym(";"), s));
        Some(i + 1)
    }

    /// Item keyword `k` at `i`, then the `}` that closes the item holding
    /// it: the two swapped (one mistake), read in their order.
    fn swapped_closer(&mut self, i: usize, k: &'static str) -> Option<usize> {
        let (s, close) = (self.span(i), self.span(i + 1));
        self.diags.push(
            e(
                format!("`{k}` is before the `}}` that closes the item above it"),
                s,
                "`}` and the next item swapped",
            )
            .with_fix_edits(
                format!("swap `{k}` and `}}`"),
                Applicability::MachineApplicable,
                vec![edit(s, "}"), edit(close, k)],
            ),
        );
        self.track(&Tok::Sym("}"), i + 1);
        self.push(Tok::Sym("}"), close);
        self.push(Tok::Kw(k), s);
        Some(i + 2)
    }

    /// Ruby's and Lua's `end` at `i`, alone on its line where a `{` is left
    /// open: read as the `}` it means.
    fn ruby_end(&mut self, i: usize) -> Option<usize> {
        let open = self.top_open?;
        if self.pair.get(open) != Some(&usize::MAX)
            || i == 0
            || !self.lines_apart(i - 1, i)
            || !(i + 1 >= self.old.len() || self.lines_apart(i, i + 1))
        {
            return None;
        }
        let s = self.span(i);
        self.diags.push(
            e(
                "KPL closes a block with `}`, not `end`",
                s,
                "Ruby's and Lua's block end",
            )
            .with_fix("write `}`", s, "}"),
        );
        self.track(&Tok::Sym("}"), i);
        self.push(Tok::Sym("}"), s);
        Some(i + 1)
    }
    /// An item keyword inside a body at `i`: a `fn` (or `use`, `const`,
    /// `static`, `struct`) written inside a function. Reported, with a fix
    /// that moves it after the function, and moved there in the tokens, so
    /// its name is still declared and its body still checked. Items nested
    /// inside it are its mistake too: moved out with it (by the same fix)
    /// and counted in a note, not reported each, so that they are declared
    /// and checked and nothing is closed at each of them. `in_struct`: the
    /// item is written among a struct's fields (a method, as in C++, Go's
    /// and Rust's habit of keeping them together), and moved after it.
    pub(super) fn nested_item(&mut self, i: usize, k: &str, in_struct: bool) -> Option<usize> {
        let outer_close = self.pair[self.top_open?];
        if outer_close == usize::MAX || outer_close <= i {
            return None;
        }
        let (body, last) = self.item_extent(i, k, outer_close)?;
        let what = match k {
            "fn" => "function",
            "use" => "`use`",
            "struct" => "struct",
            _ => "global",
        };
        let mut d = if in_struct {
            e(
                format!("a struct holds only fields: a {what} belongs at the top level"),
                self.span(i),
                "inside a struct",
            )
            .with_note("KPL has no methods: a function takes the struct (or the fields it needs) as parameters")
        } else {
            e(
                format!("KPL has no nested items: a {what} belongs at the top level"),
                self.span(i),
                "inside a function body",
            )
        };
        let container = if in_struct { "struct" } else { "function" };
        let flat = self.flatten(i, body, last);
        let inside = flat.items.len() - 1;
        if inside > 0 {
            let (n, verb) = if inside == 1 {
                ("item is", "belongs")
            } else {
                ("items are", "belong")
            };
            d = d.with_note(format!(
                "{inside} more {n} nested inside it and {verb} at the top level too"
            ));
        }
        // The fix cuts the item's lines and pastes them, dedented and with
        // the items nested in it taken out and put after it, after the
        // function.
        let cut = self.own_lines(i, last);
        match (cut, self.flattened_text(&flat)) {
            (Some((cut, _)), Some(text)) => {
                let at = self.span(outer_close).end_point();
                d = d.with_fix_edits(
                    format!("move it after the {container}"),
                    Applicability::MachineApplicable,
                    vec![edit(cut, ""), edit(at, format!("\n\n{text}"))],
                );
            }
            _ => d = d.with_help(format!("move it after the {container}")),
        }
        self.diags.push(d);
        let mut after = vec![self.old[outer_close].clone()];
        after.extend(flat.tokens);
        // Several items moved after the same function keep their order.
        if let Some(prev) = self.later.remove(&outer_close) {
            let mut merged = prev;
            merged.extend(after.into_iter().skip(1));
            self.later.insert(outer_close, merged);
        } else {
            self.later.insert(outer_close, after);
        }
        Some(last + 1)
    }
}
