//! More Rust and C habits in the token stream (see the parent module for
//! how habits are found, reported and rewritten): an inclusive range
//! `a..=b` in a `for` header, an `unsafe` block or function, a generic type
//! such as `Vec<u8>` or `Option<u32>`, a range index `data[a..b]` (a
//! sub-slice), a reference type `&u32`, C's `-> void` and array type
//! `u32[4]`, Rust's `-> ()`, C's slice type `u8[]`, Go's field without its
//! `:` (`struct P { x u32 }`), `z &&= y`, a `;` after an item's `}`, an `if`
//! used as a value, a tuple `let (a, b) = (x, y);`, two binary operators in
//! a row (`x +* 2`), and (in [`super::blocks`]) Python's `:` blocks.
//! Each rule looks at a bounded number of tokens, so the pass stays linear.

use super::tokens::{is_statement_keyword, is_type_name, names_a_type};
use super::{Rewriter, e, ends_operand, starts_statement};
use crate::diag::Applicability;
use crate::lexer::Tok;
use crate::span::Span;

/// Tokens a generic type's arguments may span before the rule gives up.
const MAX_GENERIC_TOKENS: usize = 32;

/// How far [`Rewriter::if_used_as_value`] walks back: tokens of a condition,
/// and links of an `else if` chain.
const IF_VALUE_SCAN: usize = 64;

/// The binary operators, after which a second operator is a slip (`x +* 2`).
const BINARY: [&str; 18] = [
    "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "&&",
    "||",
];

/// The operators that cannot start an operand, so never follow a binary
/// operator (not `-` and `!`, KPL's prefix operators, nor `&`, C's
/// address-of, nor `+`, whose `++` is C's increment: habits of their own).
const SECOND: [&str; 15] = [
    "*", "/", "%", "^", "|", "<<", ">>", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
];

impl<'a> Rewriter<'a> {
    /// The habit starting at token `i` among those of this module, if any
    /// (as [`Rewriter::habit`]).
    pub(super) fn more_habit(&mut self, i: usize) -> Option<usize> {
        let old: &'a [(Tok, Span)] = self.old;
        let (t, s) = (&old[i].0, old[i].1);
        match (t, self.tok(i + 1)) {
            // Rust's `for i in 0..=n {`
            // Only the header's first range: a chain `0..=0..=…` read each
            // `..=` as the habit, each fix holding the rest of the chain
            // (quadratic: 8,000 of them took 1 s and 445 MB).
            (Tok::Sym(".."), Some(Tok::Sym("=")))
                if self.touching(i)
                    && self
                        .header
                        .as_ref()
                        .is_some_and(|h| h.kw == "for" && h.depth == 0 && !h.range) =>
            {
                self.inclusive_range(i, s)
            }
            // Rust's `unsafe { … }`, `unsafe fn`
            (Tok::Ident(w), Some(next))
                if &**w == "unsafe"
                    && matches!(next, Tok::Sym("{") | Tok::Kw("fn" | "export"))
                    && starts_statement(self.prev()) =>
            {
                let to = self.span(i + 1).start as usize;
                let with_blank = Span::new(s.start as usize, to);
                self.diags.push(
                    e("KPL has no `unsafe`", s, "Rust's unsafe code")
                        .with_note(
                            "nothing in KPL is unchecked: every index, division and loop is checked as it runs, and the runtime's verifier checks the machine code",
                        )
                        .with_fix("remove `unsafe`", with_blank, ""),
                );
                Some(i + 1)
            }
            // Rust's `Vec<u8>`, `Option<u32>`, `Box<T>` as a type
            (Tok::Ident(name), Some(Tok::Sym("<")))
                if name.starts_with(|c: char| c.is_ascii_uppercase())
                    && matches!(self.prev(), Some((Tok::Sym(":" | "->"), _))) =>
            {
                let name = name.clone();
                self.generic_type(i, &name)
            }
            // Rust's sub-slice `data[a..b]`, `data[a..]`, `data[..b]`
            (Tok::Sym("["), _) if ends_operand(self.prev()) => self.range_index(i),
            // Rust's `x: &u32`, `x: &mut u32` (a slice `&[u8]` is the
            // parser's)
            (Tok::Sym("&"), Some(next))
                if matches!(self.prev(), Some((Tok::Sym(":" | "->"), _)))
                    && (matches!(next, Tok::Ident(_))
                        || (*next == Tok::Kw("mut")
                            && matches!(self.tok(i + 2), Some(Tok::Ident(_))))) =>
            {
                self.reference_type(i, s)
            }
            // C's `fn f() -> void {`
            (Tok::Sym("->"), Some(Tok::Ident(w))) if &**w == "void" && self.is(i + 2, "{") => {
                let from = self.prev().map_or(s, |(_, p)| p.end_point());
                let whole = from.to(self.span(i + 1));
                self.diags.push(
                    e(
                        "a function that returns nothing has no `->`",
                        s.to(self.span(i + 1)),
                        "C's `void`",
                    )
                    .with_note(
                        "a function that returns nothing has no `-> type` part: `fn f(x: u32) {`",
                    )
                    .with_fix("remove `-> void`", whole, ""),
                );
                Some(i + 2)
            }
            // Python's `if x > 1:` and an indented block
            (Tok::Sym(":"), _) => self.python_block(i),
            // Go's field without its `:`: `struct P { x u32, y u32 }`
            (Tok::Ident(_), Some(Tok::Ident(ty)))
                if names_a_type(ty)
                    && (self.is(i + 2, ",") || self.is(i + 2, "}"))
                    && self.in_struct_fields() =>
            {
                self.field_no_colon(i)
            }
            // C's field `u32 x;`, `uint8_t buf[16];`: the type first
            (Tok::Ident(ty), Some(Tok::Ident(name)))
                if (is_type_name(ty) || ty.starts_with(|c: char| c.is_ascii_uppercase()))
                    && !names_a_type(name)
                    && self.c_field_end(i + 2).is_some()
                    && self.in_struct_fields_c() =>
            {
                self.c_field(i)
            }
            // Rust's `fn f() -> () {`: the unit type written out
            (Tok::Sym("->"), Some(Tok::Sym("(")))
                if self.is(i + 2, ")")
                    && self.is(i + 3, "{")
                    && self.sig.is_some_and(|(_, close)| close + 1 == i) =>
            {
                let from = self.prev().map_or(s, |(_, p)| p.end_point());
                let whole = from.to(self.span(i + 2));
                self.diags.push(
                    e(
                        "a function that returns nothing has no return type",
                        s.to(self.span(i + 2)),
                        "Rust's unit type",
                    )
                    .with_note(
                        "a function that returns nothing has no `-> type` part: `fn f(x: u32) {`",
                    )
                    .with_fix("remove `-> ()`", whole, ""),
                );
                Some(i + 3)
            }
            // C's and Java's slice parameter `data: u8[]`
            (Tok::Ident(ty), Some(Tok::Sym("[")))
                if matches!(self.prev(), Some((Tok::Sym(":"), _)))
                    && is_type_name(ty)
                    && self.is(i + 2, "]") =>
            {
                self.c_slice_type(i)
            }
            // C's array type `data: u8[16]`
            (Tok::Ident(ty), Some(Tok::Sym("[")))
                if matches!(self.prev(), Some((Tok::Sym(":"), _)))
                    && is_type_name(ty)
                    && matches!(self.tok(i + 2), Some(Tok::Int(_) | Tok::Ident(_)))
                    && self.is(i + 3, "]") =>
            {
                self.c_array_type(i)
            }
            // `fn f() { … };`, `struct P { … };` at the top level
            (Tok::Sym(";"), _)
                if self.braces == 0
                    && matches!(self.prev(), Some((Tok::Sym("}"), _)))
                    && self.closed_item_body() =>
            {
                self.diags.push(
                    e("no `;` goes after an item's `}`", s, "not needed after `}`").with_fix(
                        "remove the `;`",
                        s,
                        "",
                    ),
                );
                Some(i + 1)
            }
            // `kernel::log(x)`: read as `(kernel).log(x)`, which the checker
            // reports knowing the imports (`check/paths.rs`), the
            // parentheses telling it from `kernel.log(x)`. Nothing else has
            // `::` inside a body.
            (Tok::Ident(m), Some(Tok::Sym("::")))
                if self.braces > 0
                    && m.starts_with(|c: char| c.is_ascii_lowercase())
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && self.is(i + 3, "(") =>
            {
                self.push(Tok::Sym("("), Span::new(s.start as usize, s.start as usize));
                self.push(t.clone(), s);
                self.push(Tok::Sym(")"), s.end_point());
                self.push(Tok::Sym("."), self.span(i + 1));
                Some(i + 2)
            }
            // Rust's enum value `Color::Red` (the `enum` is reported where
            // it is declared): read as `Red`, whose use is on this broken
            // line, so not reported again.
            (Tok::Ident(e_name), Some(Tok::Sym("::")))
                if self.braces > 0
                    && e_name.starts_with(|c: char| c.is_ascii_uppercase())
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && !self.is(i + 3, "(") =>
            {
                let whole = s.to(self.span(i + 2));
                let value = self.text(self.span(i + 2)).to_string();
                self.diags.push(
                    e(
                        format!("KPL has no enums: `{}` names no value", self.text(whole)),
                        whole,
                        "Rust's enum value",
                    )
                    .with_help(format!(
                        "declare each value as a constant at the top level (`const {value}: u32 = 0;`) and write its name, `{value}`"
                    )),
                );
                let (v, vs) = self.old[i + 2].clone();
                self.push(v, vs);
                Some(i + 3)
            }
            // An extra `}` inside a function, which closes it early: the
            // statements after it would be read at the top level.
            (Tok::Sym("}"), Some(next))
                if self.braces == 1
                    && (is_statement_keyword(next)
                        || (matches!(next, Tok::Ident(_))
                            && matches!(
                                self.tok(i + 2),
                                Some(Tok::Sym("=" | "+=" | "-=" | "(" | "[" | "."))
                            )))
                    && self.stray_closer(i) =>
            {
                let line = self.own_line_of(i).unwrap_or(s);
                self.diags.push(
                    e("unexpected `}`: the function goes on after it", s, "closes nothing")
                        .with_note("this `}` would close the function, and the statements after it would be outside any function")
                        .with_maybe_fix("remove it (the indentation says it is one too many)", line, ""),
                );
                Some(i + 1)
            }
            // `z &&= y;`, `z ||= y;`
            (Tok::Sym(op @ ("&&" | "||")), Some(Tok::Sym("=")))
                if self.touching(i) && ends_operand(self.prev()) =>
            {
                self.logical_assign(i, op)
            }
            // `x +* 2`, `a - / b`: two binary operators in a row
            (Tok::Sym(first), Some(Tok::Sym(second)))
                if BINARY.contains(first)
                    && SECOND.contains(second)
                    && ends_operand(self.prev())
                    // `a + *p` is C's dereference, a habit of its own.
                    && (*second != "*" || (self.touching(i) && !self.touching(i + 1))) =>
            {
                let (first, second) = (*first, *second);
                let other = self.span(i + 1);
                let both = s.to(other);
                self.diags.push(
                    e(
                        format!("two operators in a row: `{first}` then `{second}`"),
                        both,
                        "one operator too many",
                    )
                    // Which of the two is the stray one is a guess.
                    .with_maybe_fix(
                        format!("remove `{second}` (keep `{first}`)"),
                        Span::new(s.end as usize, other.end as usize),
                        "",
                    )
                    .with_maybe_fix(
                        format!("or remove `{first}` (keep `{second}`)"),
                        Span::new(s.start as usize, other.start as usize),
                        "",
                    ),
                );
                self.push(Tok::Sym(first), s);
                Some(i + 2)
            }
            _ => None,
        }
    }

    /// Whether the `}` at `close`, which closes the top-level item, is one
    /// too many: it stands first on its line, indented deeper than the line
    /// of the item's `{`, and a `}` that closes nothing follows at the top
    /// level, before the next item (within a bounded walk, so the pass
    /// stays linear).
    fn stray_closer(&self, close: usize) -> bool {
        const WALK: usize = 256;
        let Some(open) = self.top_open else {
            return false;
        };
        match (self.indent_of(close), self.line_indent_of(open)) {
            (Some(c), Some(o)) if c > o => {}
            _ => return false,
        }
        let mut k = close + 1;
        for _ in 0..WALK {
            match self.tok(k) {
                None => return false,
                Some(Tok::Kw(
                    "fn" | "export" | "struct" | "const" | "static" | "use" | "extern",
                )) => {
                    return false;
                }
                Some(Tok::Sym("}")) if self.pair.get(k) == Some(&usize::MAX) => return true,
                _ => k = self.next_at_level(k),
            }
        }
        false
    }

    /// The indentation of token `k` when it is the first on its line.
    fn indent_of(&self, k: usize) -> Option<usize> {
        let (indent, first) = self.line_start(k)?;
        first.then_some(indent)
    }

    /// The indentation of the line of token `k`.
    pub(super) fn line_indent_of(&self, k: usize) -> Option<usize> {
        self.line_start(k).map(|(indent, _)| indent)
    }

    /// The blanks that start the line of token `k` and whether only blanks
    /// come before `k` on it; `None` for a line longer than a bound (looked
    /// at once per top-level item at most, but kept cheap).
    fn line_start(&self, k: usize) -> Option<(usize, bool)> {
        const LOOK_BACK: usize = 512;
        let at = self.span(k).start as usize;
        let from = at.saturating_sub(LOOK_BACK);
        let before = self.src.as_bytes().get(from..at)?;
        let line = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => &before[nl + 1..],
            None if from == 0 => before,
            None => return None,
        };
        let indent = line
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        Some((indent, indent == line.len()))
    }

    /// The whole line of token `k` with its line feed, when `k` is alone on
    /// it.
    fn own_line_of(&self, k: usize) -> Option<Span> {
        let s = self.span(k);
        let (indent, first) = self.line_start(k)?;
        let rest = self.src.get(s.end as usize..)?;
        let end = rest.find('\n').map_or(rest.len(), |n| n + 1);
        (first && rest[..end].trim().is_empty())
            .then(|| Span::new(s.start as usize - indent, s.end as usize + end))
    }

    /// `a..=b` in a `for` header: read as `a..b` (so the loop and its
    /// variable stay declared), reported with the fix `a..b + 1`.
    /// When the block closed at `close` ends an `if`/`else` chain written
    /// where a value goes (after `=`, `return`, `(` or `,`): the index of
    /// the chain's `if`. The walk back is bounded (a condition of at most
    /// [`IF_VALUE_SCAN`] tokens, as many links), so it stays linear.
    pub(super) fn if_used_as_value(&self, close: usize) -> Option<usize> {
        let mut open = *self.pair.get(close)?;
        for _ in 0..IF_VALUE_SCAN {
            if open == usize::MAX || open >= close {
                return None;
            }
            let before = open.checked_sub(1)?;
            if self.tok(before) == Some(&Tok::Kw("else")) {
                // `… } else { … }`: on to the block before the `else`.
                let prev_close = before.checked_sub(1)?;
                if self.tok(prev_close) != Some(&Tok::Sym("}")) {
                    return None;
                }
                open = *self.pair.get(prev_close)?;
                continue;
            }
            // `if cond {`: the condition holds no brace, `;` or `}`.
            let mut k = before;
            let mut found_else_if = false;
            for _ in 0..IF_VALUE_SCAN {
                match self.tok(k)? {
                    Tok::Kw("if") => {
                        let head = k.checked_sub(1)?;
                        match self.tok(head)? {
                            Tok::Sym("=" | "(" | ",") | Tok::Kw("return") => return Some(k),
                            // `… } else if c {`: on to the block before.
                            Tok::Kw("else") => {
                                found_else_if = true;
                                break;
                            }
                            _ => return None,
                        }
                    }
                    Tok::Sym("{" | "}" | ";") => return None,
                    _ => k = k.checked_sub(1)?,
                }
            }
            if !found_else_if {
                return None;
            }
            // `k` is the `if` of `else if`: the block before the `else`.
            let prev_close = k.checked_sub(2)?;
            if self.tok(prev_close) != Some(&Tok::Sym("}")) {
                return None;
            }
            open = *self.pair.get(prev_close)?;
        }
        None
    }

    /// Reports the `if` at token `at` used as a value, whose last block
    /// closes at `close` (token `t` at `s`); the statement's `;` stays.
    pub(super) fn report_if_as_value(
        &mut self,
        t: &Tok,
        s: Span,
        close: usize,
        at: usize,
    ) -> Option<usize> {
        self.diags.push(
            e(
                "`if` is a statement in KPL: it has no value",
                self.span(at),
                "used as a value",
            )
            .with_note("`if`, `while`, `for` and blocks are statements, not expressions")
            .with_help(
                "declare the variable first and assign it in each branch: `var y: T = …; if c { y = …; } else { y = …; }`, or `return` from each branch",
            ),
        );
        self.track(t, close);
        self.push(t.clone(), s);
        Some(close + 1)
    }

    fn inclusive_range(&mut self, i: usize, dots: Span) -> Option<usize> {
        // The end: up to the body's `{`, or the `;` or `}` that ends a
        // header without a body (`for i in 0..=1;`), which once looked for
        // the next `{` in the file: each such line's fix held the rest of
        // the file up to it (4,000 lines took 0.94 s and 840 MB).
        let mut k = i + 2;
        while k < self.old.len() && !self.is(k, "{") && !self.is(k, ";") && !self.is(k, "}") {
            k = self.next_at_level(k);
        }
        if k == i + 2 {
            return None;
        }
        let end = self.span(i + 2).to(self.span(k - 1));
        let end_text = self.text(end).to_string();
        let one_token = k == i + 3;
        let bound = if one_token {
            format!("{end_text} + 1")
        } else {
            format!("({end_text}) + 1")
        };
        let whole = dots.to(end);
        self.diags.push(
            e(
                "KPL's ranges leave out their end: there is no `..=`",
                dots.to(self.span(i + 1)),
                "Rust's inclusive range",
            )
            .with_note("`a..b` counts from `a` up to `b - 1`")
            .with_fix_edits(
                format!("count up to one past the end: `..{bound}` (it wraps when the end is its type's largest value)"),
                Applicability::MaybeIncorrect,
                vec![super::edit(whole, format!("..{bound}"))],
            ),
        );
        self.track(&Tok::Sym(".."), i);
        self.push(Tok::Sym(".."), dots);
        Some(i + 2)
    }

    /// `Name<T, …>` after `:` or `->`: reported; `Vec<T>` is read as the
    /// slice `[]T` (what a plugin gets its data in), any other as its first
    /// argument `T`, so the declaration stays and its uses are checked.
    fn generic_type(&mut self, i: usize, name: &str) -> Option<usize> {
        // The closing `>` (a `>>` closes two), within a few tokens.
        let mut depth = 0usize;
        let mut first_end = None;
        let mut k = i + 1;
        let close = loop {
            if k > i + MAX_GENERIC_TOKENS {
                return None;
            }
            match self.tok(k)? {
                Tok::Sym("<") => depth += 1,
                Tok::Sym(">") => depth -= 1,
                Tok::Sym(">>") if depth >= 2 => depth -= 2,
                Tok::Sym(",") if depth == 1 && first_end.is_none() => first_end = Some(k),
                Tok::Sym("{" | "}" | ";" | "=" | ">>" | ")") => return None,
                _ => {}
            }
            if depth == 0 {
                break k;
            }
            k += 1;
        };
        let (from, to) = (i + 2, first_end.unwrap_or(close));
        if to <= from {
            return None;
        }
        let whole = self.span(i).to(self.span(close));
        let arg = self.span(from).to(self.span(to - 1));
        let arg_text = self.text(arg).to_string();
        let d = match name {
            "Vec" => e(
                "KPL has no `Vec`: a plugin's data comes in slices",
                whole,
                "Rust's growable vector",
            )
            .with_note("KPL has no heap: the host passes buffers as slices, `[]T` to read, `[]mut T` to write")
            .with_maybe_fix(format!("take a slice: `[]{arg_text}`"), whole, format!("[]{arg_text}")),
            "Option" => e("KPL has no `Option`", whole, "Rust's optional value")
                .with_note("every KPL value is present; say \"none\" with a value the data cannot take (`0xFFFF_FFFF`), or return a status and write the result to a `[]mut` slice")
                .with_maybe_fix(format!("use the value's type: `{arg_text}`"), whole, arg_text.clone()),
            "Result" => e("KPL has no `Result`", whole, "Rust's result type")
                .with_note("return a status code (`0` for success), and write the result to a `[]mut` slice when there is one"),
            _ => {
                let d = e("KPL has no generic types", whole, "Rust's generic type")
                    .with_note("KPL's types are the integers, `bool`, arrays `[T; N]`, slices `[]T` and structs");
                // A wrapper of one value (`Box<T>`, `Rc<T>`, `Cell<T>`) is
                // the value itself in KPL.
                if first_end.is_none() {
                    d.with_maybe_fix(format!("use the value's type: `{arg_text}`"), whole, arg_text.clone())
                } else {
                    d
                }
            }
        };
        self.diags.push(d);
        if name == "Vec" {
            self.push(Tok::Sym("["), self.span(i));
            self.push(Tok::Sym("]"), self.span(i + 1));
        }
        for k in from..to {
            let (t, sp) = self.old[k].clone();
            self.push(t, sp);
        }
        Some(close + 1)
    }

    /// `&T` or `&mut T` after `:` or `->`: read as `T` (KPL passes values;
    /// a plugin's memory is its own statics and the slices the host gives).
    fn reference_type(&mut self, i: usize, amp: Span) -> Option<usize> {
        let mutable = self.tok(i + 1) == Some(&Tok::Kw("mut"));
        let ty = if mutable { i + 2 } else { i + 1 };
        let prefix = amp.to(self.span(ty - 1));
        let cut = Span::new(amp.start as usize, self.span(ty).start as usize);
        let d = e("KPL has no references", prefix, "Rust's reference");
        let d = if mutable {
            d.with_note("a parameter is a copy of the caller's value: to give a result back, return it, or write it to a `[]mut` slice or a static")
                .with_maybe_fix("take the value", cut, "")
        } else {
            d.with_note(
                "a parameter is a copy of the caller's value, which is what `&T` is for reading",
            )
            .with_fix("take the value", cut, "")
        };
        self.diags.push(d);
        Some(ty)
    }

    /// `T[N]` after `:`: reported and read as `[T; N]`.
    fn c_array_type(&mut self, i: usize) -> Option<usize> {
        let (ty, len) = (self.span(i), self.span(i + 2));
        let whole = ty.to(self.span(i + 3));
        let text = format!("[{}; {}]", self.text(ty), self.text(len));
        self.diags.push(
            e(
                "KPL writes an array type `[T; N]`",
                whole,
                "C's array declarator",
            )
            .with_fix(format!("write `{text}`"), whole, text),
        );
        let (t, n) = (self.old[i].0.clone(), self.old[i + 2].0.clone());
        self.push(Tok::Sym("["), self.span(i + 1));
        self.push(t, ty);
        self.push(Tok::Sym(";"), len);
        self.push(n, len);
        self.push(Tok::Sym("]"), self.span(i + 3));
        Some(i + 4)
    }

    /// Whether the token being read starts a field of a struct's body:
    /// right inside `struct Name {`, after its `{` or a `,`.
    fn in_struct_fields(&self) -> bool {
        let Some(open) = self.top_open else {
            return false;
        };
        self.braces == 1
            && open >= 2
            && self.tok(open - 2) == Some(&Tok::Kw("struct"))
            && matches!(self.prev(), Some((Tok::Sym("{" | ","), _)))
    }

    /// `name Type` at `i` in a struct's fields: the `:` is missing. One
    /// diagnostic per struct, whose fix adds every missing `:`; read as
    /// `name: Type`.
    fn field_no_colon(&mut self, i: usize) -> Option<usize> {
        let (name, ns) = self.old[i].clone();
        let whole = ns.to(self.span(i + 1));
        let at = ns.end_point();
        let fix = format!("{}: {}", self.text(ns), self.text(self.span(i + 1)));
        match (self.top_open, self.field_diag) {
            (Some(open), Some((o, d))) if o == open => {
                if let Some(h) = self.diags[d].help.first_mut() {
                    h.edits.push(super::edit(at, ":"));
                    h.message = "write each field as `name: type`".into();
                }
            }
            (open, _) => {
                self.field_diag = open.map(|o| (o, self.diags.len()));
                self.diags.push(
                    e(
                        "a field's type follows a `:`",
                        whole,
                        "Go's field declaration",
                    )
                    .with_fix(format!("write `{fix}`"), at, ":"),
                );
            }
        }
        self.push(name, ns);
        self.push(Tok::Sym(":"), at);
        Some(i + 1)
    }

    /// Like [`Self::in_struct_fields`], also after C's `;`.
    fn in_struct_fields_c(&self) -> bool {
        let Some(open) = self.top_open else {
            return false;
        };
        self.braces == 1
            && open >= 2
            && self.tok(open - 2) == Some(&Tok::Kw("struct"))
            && matches!(self.prev(), Some((Tok::Sym("{" | "," | ";"), _)))
    }

    /// After a C field's name at `k`: the index of its array length when
    /// `[N]` follows, and the `;`, `,` or `}` that ends the field.
    fn c_field_end(&self, k: usize) -> Option<(Option<usize>, usize)> {
        let (len, end) = if self.is(k, "[")
            && matches!(self.tok(k + 1), Some(Tok::Int(_) | Tok::Ident(_)))
            && self.is(k + 2, "]")
        {
            (Some(k + 1), k + 3)
        } else {
            (None, k)
        };
        (self.is(end, ";") || self.is(end, ",") || self.is(end, "}")).then_some((len, end))
    }

    /// C's field `T name;` (or `T name[N];`) at `i`: one diagnostic per
    /// struct, as Go's order is ([`Self::field_no_colon`], whose fix it
    /// shares), read as `name: T,` with C's type names in KPL's spelling.
    fn c_field(&mut self, i: usize) -> Option<usize> {
        let (len, end) = self.c_field_end(i + 2)?;
        let (Some(Tok::Ident(ty)), (name, ns)) = (self.tok(i), self.old[i + 1].clone()) else {
            return None;
        };
        let kpl_ty = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
        let kpl_ty: std::rc::Rc<str> = kpl_ty.into();
        let ty_text = match len {
            Some(l) => format!("[{kpl_ty}; {}]", self.text(self.span(l))),
            None => kpl_ty.to_string(),
        };
        let semi = self.is(end, ";");
        let last = if semi { end } else { end - 1 };
        let whole = self.span(i).to(self.span(last));
        let fix = format!(
            "{}: {ty_text}{}",
            self.text(ns),
            if semi { "," } else { "" }
        );
        match (self.top_open, self.field_diag) {
            (Some(open), Some((o, d))) if o == open => {
                if let Some(h) = self.diags[d].help.first_mut() {
                    h.edits.push(super::edit(whole, fix));
                    h.message = "write each field as `name: type`".into();
                }
            }
            (open, _) => {
                self.field_diag = open.map(|o| (o, self.diags.len()));
                self.diags.push(
                    e(
                        "a field is written `name: type`, its type after the name",
                        self.span(i).to(self.span(end - 1)),
                        "C's field declaration",
                    )
                    .with_fix(format!("write `{fix}`"), whole, fix),
                );
            }
        }
        let ts = self.span(i);
        self.push(name, ns);
        self.push(Tok::Sym(":"), ns.end_point());
        match len {
            Some(l) => {
                self.push(Tok::Sym("["), ts);
                self.push(Tok::Ident(kpl_ty), ts);
                self.push(Tok::Sym(";"), self.span(l));
                let (n, ls) = self.old[l].clone();
                self.push(n, ls);
                self.push(Tok::Sym("]"), self.span(l + 1));
            }
            None => self.push(Tok::Ident(kpl_ty), ts),
        }
        if semi {
            self.push(Tok::Sym(","), self.span(end));
            return Some(end + 1);
        }
        Some(end)
    }

    /// `T[]` after `:` (C's and Java's array of unknown length): reported
    /// and read as the slice `[]T`.
    fn c_slice_type(&mut self, i: usize) -> Option<usize> {
        let Some(Tok::Ident(ty)) = self.tok(i) else {
            return None;
        };
        let elem = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
        let elem: std::rc::Rc<str> = elem.into();
        let whole = self.span(i).to(self.span(i + 2));
        let text = format!("[]{elem}");
        // A parameter may be a slice; elsewhere the slice may not be what
        // the declaration needs.
        let in_params = self.sig.is_some_and(|(open, close)| i > open && i < close);
        let applicability = if in_params {
            Applicability::MachineApplicable
        } else {
            Applicability::MaybeIncorrect
        };
        self.diags.push(
            e(
                format!("a slice type is written `{text}`"),
                whole,
                "C's array of unknown length",
            )
            .with_note(
                "`[]T` reads the elements, `[]mut T` may also write them; `s.len` is their number",
            )
            .with_fix_edits(
                format!("write `{text}`"),
                applicability,
                vec![super::edit(whole, text.clone())],
            ),
        );
        self.push(Tok::Sym("["), self.span(i + 1));
        self.push(Tok::Sym("]"), self.span(i + 2));
        self.push(Tok::Ident(elem), self.span(i));
        Some(i + 3)
    }

    /// `z &&= y` (or `||=`) at `i`, the operator: KPL has no such
    /// assignment. Read as `z = z && y` when the left side is a name, else
    /// as `… = y` (the same types: nothing cascades).
    fn logical_assign(&mut self, i: usize, op: &'static str) -> Option<usize> {
        const SHOWN: usize = 8;
        let both = self.span(i).to(self.span(i + 1));
        // A name alone on the left, at the start of its statement.
        let out = self.out();
        let name = match out {
            [.., before, (Tok::Ident(z), _)] if starts_statement(Some(before)) => Some(z.clone()),
            [(Tok::Ident(z), _)] => Some(z.clone()),
            _ => None,
        };
        let mut d = e(
            format!("KPL has no `{op}=`"),
            both,
            "not an assignment operator",
        );
        match &name {
            Some(z) => {
                // The right side when it is short (a bounded look ahead).
                let end = (i + 2..self.old.len().min(i + 2 + SHOWN)).find(|&k| self.is(k, ";"));
                let y = match end {
                    Some(k) if k > i + 2 => self.text(self.span(i + 2).to(self.span(k - 1))),
                    _ => "…",
                };
                d = d.with_fix(
                    format!("write `{z} = {z} {op} {y}`"),
                    both,
                    format!("= {z} {op}"),
                );
            }
            None => {
                d = d.with_help(format!("write the left side twice: `x = x {op} y`"));
            }
        }
        self.diags.push(d);
        self.push(Tok::Sym("="), self.span(i + 1));
        if let Some(z) = name {
            let at = self.span(i + 1).end_point();
            self.push(Tok::Ident(z), at);
            self.push(Tok::Sym(op), at);
        }
        Some(i + 2)
    }

    /// Whether the `}` just read closed a function's body (its `{` after
    /// the `)` of the parameters or the return type after `->`) or a
    /// struct's (after `struct Name`): not a `use` list nor a struct
    /// literal in a `const` or `static`, after which a `;` may belong.
    fn closed_item_body(&self) -> bool {
        let Some(open) = self.top_open else {
            return false;
        };
        let before = |k: usize| open.checked_sub(k).and_then(|j| self.tok(j));
        matches!(before(1), Some(Tok::Sym(")")))
            || matches!(before(2), Some(Tok::Sym("->") | Tok::Kw("struct")))
    }

    /// `x[a..b]`: KPL indexes one element at a time. Reported once; the
    /// index is dropped, so the expression is read as the whole slice.
    fn range_index(&mut self, open: usize) -> Option<usize> {
        let close = *self.pair.get(open)?;
        if close == usize::MAX || close <= open {
            return None;
        }
        let mut k = open + 1;
        let mut dots = None;
        while k < close {
            if self.is(k, "..") {
                dots = Some(k);
                break;
            }
            k = self.next_at_level(k);
        }
        dots?;
        let whole = self.span(open).to(self.span(close));
        self.diags.push(
            e("KPL has no sub-slices", whole, "Rust's range index")
                .with_note("a slice is always the whole buffer the host passed; an index reads one element")
                .with_help("read the elements with an offset (`data[start + i]`), or pass the slice and the start to the function that needs part of it"),
        );
        Some(close + 1)
    }

    /// Rust's `let (a, b) = (x, y);` at token `i` (`kw` is `let` or
    /// `var`): one diagnostic, and each name declared with the error type
    /// (a broken declaration: its uses are not checked against a guess).
    pub(super) fn tuple_let(&mut self, i: usize, kw: &'static str) -> Option<usize> {
        let s = self.span(i);
        let open = i + 1;
        let close = self.pair[open];
        if close == usize::MAX || close - open > 64 || !self.is(close + 1, "=") {
            return None;
        }
        // The names: identifiers separated by `,`.
        let names: Vec<usize> = (open + 1..close).step_by(2).collect();
        let well_formed = names
            .iter()
            .all(|&k| matches!(self.tok(k), Some(Tok::Ident(_))))
            && (open + 2..close).step_by(2).all(|k| self.is(k, ","));
        if !well_formed || names.is_empty() {
            return None;
        }
        // The values, when the right side is a tuple of as many.
        let vopen = close + 2;
        let vclose = if self.is(vopen, "(") {
            self.pair[vopen]
        } else {
            usize::MAX
        };
        let semi = if vclose != usize::MAX && self.is(vclose + 1, ";") {
            vclose + 1
        } else {
            usize::MAX
        };
        let mut values: Vec<(usize, usize)> = Vec::new();
        if semi != usize::MAX && vclose - vopen <= 4096 {
            let mut from = vopen + 1;
            let mut k = vopen + 1;
            while k < vclose {
                if self.is(k, ",") {
                    values.push((from, k));
                    from = k + 1;
                }
                k = self.next_at_level(k);
            }
            if from < vclose {
                values.push((from, vclose));
            }
        }
        let pattern = self.span(open).to(self.span(close));
        let mut d = e("KPL has no tuples", pattern, "Rust's tuple pattern");
        if values.len() == names.len() {
            let whole = s.to(self.span(semi));
            // One statement a line when the tuple's starts its line;
            // after other code on the line, one after the other. Asked of
            // `line_start`, which looks back a bounded way: searching back
            // to the line's start for each made a line of tuples quadratic
            // (2.4 s a MiB).
            let separator = match self.line_start(i) {
                Some((indent, true)) => {
                    format!(
                        "\n{}",
                        &self.src[s.start as usize - indent..s.start as usize]
                    )
                }
                _ => " ".to_string(),
            };
            let lets: Vec<String> = names
                .iter()
                .zip(&values)
                .map(|(&n, &(a, b))| {
                    let name = self.text(self.span(n));
                    let value = self.text(self.span(a).to(self.span(b - 1)));
                    format!("{kw} {name} = {value};")
                })
                .collect();
            let fix = lets.join(&separator);
            // Each name's type would come from its value: the names are
            // read with the error type, so their uses are not checked
            // against a guess, and the fix cannot promise they agree.
            d = d.with_maybe_fix("declare one name per statement", whole, fix);
            self.diags.push(d);
            for (&n, &(a, b)) in names.iter().zip(&values) {
                self.push(Tok::Kw(kw), s);
                self.push(self.old[n].0.clone(), self.span(n));
                self.push(Tok::Sym("="), self.span(close + 1));
                self.push(Tok::BadInt, self.span(a).to(self.span(b - 1)));
                self.push(Tok::Sym(";"), self.span(semi));
            }
            return Some(semi + 1);
        }
        // Otherwise each name is declared with the error type (the
        // value is skipped with the statement).
        self.diags
            .push(d.with_help("declare one name per statement: `let a = …; let b = …;`"));
        for &n in &names {
            self.push(Tok::Kw(kw), s);
            self.push(self.old[n].0.clone(), self.span(n));
            self.push(Tok::Sym("="), self.span(close + 1));
            self.push(Tok::BadInt, self.span(close + 1));
            self.push(Tok::Sym(";"), self.span(close + 1));
        }
        let k = self.statement_end(close + 2);
        Some(if self.is(k, ";") { k + 1 } else { k })
    }
}
