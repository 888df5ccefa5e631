//! From the syntax tree and the source's comments to a layout [`Doc`].
//!
//! The builder walks the tree in source order and emits every token of the
//! source through one cursor over the token stream, so each comment is
//! placed exactly between the two tokens it sat between: comments on the
//! line of the previous token stay at the end of that line, comments on
//! their own line stay on their own line. The only tokens it adds or drops
//! are trailing commas of lists; anything else that does not match the
//! source marks the result as failed (the caller refuses to format then).

use super::doc::{Doc, GroupId, concat, group, if_break, indent};
use crate::ast::*;
use crate::span::Span;

/// A comment in the source: `//`, `///` or `/* */`.
#[derive(Clone, Copy, Debug)]
pub struct Comment {
    pub span: Span,
    pub block: bool,
}

pub struct Builder<'s> {
    src: &'s str,
    toks: &'s [Span],
    /// The next source token to emit.
    next: usize,
    comments: &'s [Comment],
    next_comment: usize,
    /// End of the last token or comment emitted.
    last_end: usize,
    /// The last thing emitted was `{`, `(` or `[` (no blank line after it).
    after_opener: bool,
    /// The last thing emitted was `(` or `[`.
    tight: bool,
    /// A trailing comment waits for the end of the line, past the token
    /// with this index.
    suffix_pending: Option<usize>,
    /// Comments that end the line of the last token, waiting for the next
    /// separator.
    carry: Vec<Doc<'s>>,
    /// Something has been emitted (no blank line at the start of the file).
    started: bool,
    /// The next token starts a statement, item or field: keep a blank line
    /// before it.
    vertical_start: bool,
    /// Index of the closing delimiter matching each opening one.
    matching: Vec<Option<usize>>,
    /// Closing delimiters that follow a line break when their list breaks.
    list_closer: Vec<bool>,
    /// `;` tokens directly inside `[ ]` (array types and repeats).
    in_brackets: Vec<bool>,
    pub groups: u32,
    pub failed: Option<String>,
}

const OPENERS: [&str; 3] = ["{", "(", "["];

fn bin_level(op: BinOp) -> u8 {
    use BinOp::*;
    match op {
        Or => 1,
        And => 2,
        Eq | Ne | Lt | Le | Gt | Ge => 3,
        BitOr => 4,
        BitXor => 5,
        BitAnd => 6,
        Shl | Shr => 7,
        Add | Sub => 8,
        Mul | Div | Rem => 9,
    }
}

fn assign_symbol(op: Option<BinOp>) -> &'static str {
    use BinOp::*;
    match op {
        None => "=",
        Some(Add) => "+=",
        Some(Sub) => "-=",
        Some(Mul) => "*=",
        Some(Div) => "/=",
        Some(Rem) => "%=",
        Some(BitAnd) => "&=",
        Some(BitOr) => "|=",
        Some(BitXor) => "^=",
        Some(Shl) => "<<=",
        Some(Shr) => ">>=",
        // Not assignment operators; the parser never produces them.
        Some(Eq | Ne | Lt | Le | Gt | Ge | And | Or) => "?=",
    }
}

/// A short operand that array literals pack several to a line.
fn is_atom(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Name(_) => true,
        ExprKind::Unary(_, inner) => {
            matches!(
                inner.kind,
                ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Name(_)
            )
        }
        _ => false,
    }
}

impl<'s> Builder<'s> {
    pub fn new(src: &'s str, toks: &'s [Span], comments: &'s [Comment]) -> Self {
        let n = toks.len();
        let mut matching = vec![None; n];
        let mut in_brackets = vec![false; n];
        let mut open: Vec<usize> = Vec::new();
        let text = |i: usize| src.get(toks[i].range()).unwrap_or("");
        for (i, inside) in in_brackets.iter_mut().enumerate() {
            match text(i) {
                "{" | "(" | "[" => open.push(i),
                "}" | ")" | "]" => {
                    if let Some(o) = open.pop() {
                        matching[o] = Some(i);
                    }
                }
                ";" => *inside = open.last().is_some_and(|&o| text(o) == "["),
                _ => {}
            }
        }
        Builder {
            src,
            toks,
            next: 0,
            comments,
            next_comment: 0,
            last_end: 0,
            after_opener: false,
            tight: false,
            suffix_pending: None,
            carry: Vec::new(),
            started: false,
            vertical_start: false,
            matching,
            list_closer: vec![false; n],
            in_brackets,
            groups: 0,
            failed: None,
        }
    }

    fn fail(&mut self, why: impl Into<String>) {
        if self.failed.is_none() {
            self.failed = Some(why.into());
        }
    }

    fn new_group(&mut self) -> GroupId {
        self.groups += 1;
        GroupId(self.groups - 1)
    }

    fn text_of(&self, span: Span) -> &'s str {
        self.src.get(span.range()).unwrap_or("")
    }

    fn token_text(&self, i: usize) -> Option<&'s str> {
        self.toks.get(i).map(|s| self.text_of(*s))
    }

    fn next_is(&self, text: &str) -> bool {
        self.token_text(self.next) == Some(text)
    }

    fn next_token_start(&self) -> usize {
        self.toks
            .get(self.next)
            .map_or(self.src.len(), |s| s.start as usize)
    }

    /// Line breaks between `a` and `b`, a lone `\r` included: the lexer
    /// ends a line there too.
    fn newlines_between(&self, a: usize, b: usize) -> usize {
        self.src.get(a..b).map_or(0, super::doc::line_breaks)
    }

    /// Marks the closer of the opener about to be emitted as the end of a
    /// list (a trailing comment before it may move after the last element).
    fn mark_list(&mut self) {
        if let Some(Some(close)) = self.matching.get(self.next)
            && let Some(slot) = self.list_closer.get_mut(*close)
        {
            *slot = true;
        }
    }

    fn comment_doc(&self, c: Comment) -> Doc<'s> {
        Doc::Verbatim(self.text_of(c.span))
    }

    /// Own-line comments before `pos` (each on its own line, a blank line
    /// before it kept).
    fn leading(&mut self, pos: usize, out: &mut Vec<Doc<'s>>) {
        out.append(&mut self.carry);
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.span.start as usize >= pos {
                break;
            }
            let blank = self.started
                && !self.after_opener
                && self.newlines_between(self.last_end, c.span.start as usize) >= 2;
            out.push(if blank { Doc::BlankLine } else { Doc::HardLine });
            self.suffix_pending = None;
            out.push(self.comment_doc(c));
            self.next_comment += 1;
            self.last_end = c.span.end as usize;
            self.after_opener = false;
            self.tight = false;
            self.started = true;
            if !c.block {
                out.push(Doc::HardLine);
                continue;
            }
            // What follows a block comment on its line stays there.
            let before = self.next_comment;
            self.trailing(out);
            out.append(&mut self.carry);
            if before == self.next_comment {
                let next = self.next_token_start();
                if next == self.src.len() || self.newlines_between(self.last_end, next) > 0 {
                    out.push(Doc::HardLine);
                } else if !matches!(
                    self.token_text(self.next),
                    Some("," | ";" | ":" | ")" | "]" | "}")
                ) {
                    // No space before a closing token, as after a comment
                    // inside a line (see `trailing`): a comment that was
                    // followed by one on its line (`/* c */, // d`) would
                    // otherwise be spaced on the next pass only.
                    out.push(Doc::Space);
                }
            }
        }
    }

    /// A separator (a line break or a space between parts of a
    /// construct), after the comments that end the line before it: those
    /// go right before the first separator after their token, so that the
    /// break they force is the outermost one there.
    fn sep(&mut self, d: Doc<'s>) -> Doc<'s> {
        if self.carry.is_empty() {
            return d;
        }
        let mut out = std::mem::take(&mut self.carry);
        out.push(d);
        concat(out)
    }

    /// Comments on the same line as what was just emitted: inline ones go
    /// to `out`, one that ends the line to `carry` (see [`Self::sep`]).
    /// While a comment waits for the end of the line (moved past this
    /// token), the ones after it are left to go on lines of their own.
    fn trailing(&mut self, out: &mut Vec<Doc<'s>>) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if self.suffix_pending.is_some_and(|t| t + 1 == self.next) {
                break;
            }
            let next_tok = self.next_token_start();
            if c.span.start as usize > next_tok
                || self.newlines_between(self.last_end, c.span.start as usize) > 0
            {
                break;
            }
            self.next_comment += 1;
            let next_start = self
                .comments
                .get(self.next_comment)
                .map_or(next_tok, |n| n.span.start as usize)
                .min(next_tok);
            let ends_line = !c.block
                || next_start == self.src.len()
                || self.newlines_between(c.span.end as usize, next_start) > 0;
            let text = self.text_of(c.span);
            let next = self.token_text(self.next);
            if ends_line {
                let list_end =
                    next == Some(",") || self.list_closer.get(self.next).copied().unwrap_or(false);
                let stmt_end =
                    next == Some(";") && !self.in_brackets.get(self.next).copied().unwrap_or(true);
                // At the end of the line in any case: moved past a `,`,
                // `;` or closing delimiter that follows it, or else
                // followed by a line break.
                self.carry.push(Doc::LineSuffix(if c.block {
                    text
                } else {
                    text.trim_end()
                }));
                if list_end {
                    self.carry.push(Doc::BreakParent);
                }
                if next == Some(",") || stmt_end {
                    // Printed after the `,` or `;`, at the end of its line.
                    self.suffix_pending = Some(self.next);
                } else if !list_end {
                    self.carry.push(Doc::HardLine);
                }
            } else {
                if !self.tight {
                    out.push(Doc::Space);
                }
                out.push(Doc::Verbatim(text));
                if !matches!(next, Some("," | ";" | ":" | ")" | "]" | "}")) {
                    out.push(Doc::Space);
                }
            }
            self.last_end = c.span.end as usize;
            self.after_opener = false;
            self.tight = false;
        }
    }

    /// Emits the next source token (with the comments around it), printed
    /// as `shape` makes of its text.
    fn emit_as(&mut self, shape: impl FnOnce(&'s str) -> Doc<'s>) -> Doc<'s> {
        let Some(&span) = self.toks.get(self.next) else {
            self.fail("ran out of tokens");
            return Doc::Nil;
        };
        let mut out = Vec::new();
        self.leading(span.start as usize, &mut out);
        let text = self.text_of(span);
        if std::mem::take(&mut self.vertical_start)
            && self.started
            && !self.after_opener
            && self.newlines_between(self.last_end, span.start as usize) >= 2
        {
            out.push(Doc::BlankLine);
        }
        out.push(shape(text));
        self.next += 1;
        self.last_end = span.end as usize;
        self.after_opener = OPENERS.contains(&text);
        self.tight = matches!(text, "(" | "[");
        self.started = true;
        self.trailing(&mut out);
        // A comment deferred past this token is printed at the end of the
        // token's line.
        if self.suffix_pending == Some(self.next - 1) {
            self.suffix_pending = None;
        }
        concat(out)
    }

    /// The next token, which must read `expected`.
    fn tok(&mut self, expected: &'static str) -> Doc<'s> {
        if !self.next_is(expected) {
            let found = self.token_text(self.next).unwrap_or("end of file");
            self.fail(format!("expected `{expected}`, found `{found}`"));
        }
        self.emit_as(Doc::Text)
    }

    /// The next token, which must be the one at `span` (a name or literal).
    fn tok_at(&mut self, span: Span) -> Doc<'s> {
        if self.toks.get(self.next) != Some(&span) {
            self.fail(format!("lost track of the token at byte {}", span.start));
        }
        self.emit_as(Doc::Text)
    }

    /// A trailing comma that is printed only when the list `g` breaks.
    fn optional_comma(&mut self, g: GroupId) -> Doc<'s> {
        if self.next_is(",") {
            self.emit_as(|t| if_break(Doc::Text(t), Doc::Nil, Some(g)))
        } else {
            if_break(Doc::Text(","), Doc::Nil, Some(g))
        }
    }

    /// An empty list or block after its opener `open` (emitted when the
    /// first comment not yet emitted was `first_comment`): `()`, `{}`, or
    /// with comments inside, `{ /* c */ }` if they sit on the opener's line
    /// between the delimiters, else on lines of their own.
    fn empty(&mut self, open: Doc<'s>, first_comment: usize, close: &'static str) -> Doc<'s> {
        let next = self.next_token_start();
        let only_inline = self.carry.is_empty()
            && self
                .comments
                .get(self.next_comment)
                .is_none_or(|c| c.span.start as usize > next);
        if only_inline {
            let padded = close == "}" && first_comment != self.next_comment;
            let space = if padded { Doc::Space } else { Doc::Nil };
            return concat(vec![open, space, self.tok(close)]);
        }
        let mut dangling = Vec::new();
        self.leading(next, &mut dangling);
        concat(vec![
            open,
            indent(concat(dangling)),
            Doc::HardLine,
            self.tok(close),
        ])
    }

    /// `open item, item, … close` on one line if it fits, else one item per
    /// line (or as many as fit, with `fill`) with a trailing comma.
    fn list<T>(
        &mut self,
        items: &[T],
        open: &'static str,
        close: &'static str,
        padded: bool,
        fill: bool,
        mut build: impl FnMut(&mut Self, &T) -> Doc<'s>,
    ) -> Doc<'s> {
        self.mark_list();
        let before = self.next_comment;
        let open_doc = self.tok(open);
        if items.is_empty() {
            return self.empty(open_doc, before, close);
        }
        let g = self.new_group();
        let line = || if padded { Doc::Line } else { Doc::SoftLine };
        let first_line = self.sep(line());
        let mut parts = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let d = build(self, item);
            if i + 1 < items.len() {
                let comma = self.tok(",");
                parts.push(concat(vec![d, comma]));
                parts.push(self.sep(Doc::Line));
            } else {
                let comma = self.optional_comma(g);
                parts.push(concat(vec![d, comma]));
            }
        }
        let mut dangling = Vec::new();
        self.leading(self.next_token_start(), &mut dangling);
        let body = if fill {
            Doc::Fill(parts)
        } else {
            concat(parts)
        };
        let inner = indent(concat(vec![first_line, body, concat(dangling)]));
        let close_doc = self.tok(close);
        group(concat(vec![open_doc, inner, line(), close_doc]), Some(g))
    }

    /// `{` elements, one per line `}`; `{}` when empty.
    fn vertical<T>(
        &mut self,
        items: &[T],
        mut build: impl FnMut(&mut Self, &T) -> Doc<'s>,
    ) -> Doc<'s> {
        self.mark_list();
        let before = self.next_comment;
        let open = self.tok("{");
        if items.is_empty() {
            return self.empty(open, before, "}");
        }
        let mut inner = Vec::new();
        for item in items {
            inner.push(self.sep(Doc::HardLine));
            self.vertical_start = true;
            inner.push(build(self, item));
        }
        self.leading(self.next_token_start(), &mut inner);
        concat(vec![
            open,
            indent(concat(inner)),
            Doc::HardLine,
            self.tok("}"),
        ])
    }

    pub fn file(&mut self, file: &File) -> Doc<'s> {
        let mut out = Vec::new();
        let mut prev: Option<&Item> = None;
        for item in &file.items {
            if let Some(p) = prev {
                let roomy = |i: &Item| matches!(i.kind, ItemKind::Fn(_) | ItemKind::Struct(_));
                out.push(self.sep(if roomy(p) || roomy(item) {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                }));
            }
            self.vertical_start = true;
            out.push(self.item(item));
            prev = Some(item);
        }
        self.leading(self.src.len(), &mut out);
        if self.next != self.toks.len() {
            self.fail("tokens left over");
        }
        if self.next_comment != self.comments.len() {
            self.fail("comments left over");
        }
        concat(out)
    }

    fn item(&mut self, item: &Item) -> Doc<'s> {
        match &item.kind {
            ItemKind::Use(u) => {
                let mut out = vec![
                    self.tok("use"),
                    Doc::Space,
                    self.tok_at(u.module.span),
                    self.tok("::"),
                ];
                if self.next_is("{") {
                    out.push(self.list(&u.names, "{", "}", false, true, |b, n| b.tok_at(n.span)));
                } else if let Some(n) = u.names.first() {
                    out.push(self.tok_at(n.span));
                } else if let Some(g) = u.glob {
                    out.push(self.tok_at(g));
                }
                out.push(self.tok(";"));
                concat(out)
            }
            ItemKind::Const(g) => self.global("const", g),
            ItemKind::Static(g) => self.global("static", g),
            ItemKind::Struct(s) => {
                let head = vec![
                    self.tok("struct"),
                    Doc::Space,
                    self.tok_at(s.name.span),
                    Doc::Space,
                ];
                let fields = self.vertical(&s.fields, |b, f| {
                    let mut d = vec![b.tok_at(f.name.span), b.tok(":"), Doc::Space, b.ty(&f.ty)];
                    if b.next_is(",") {
                        d.push(b.tok(","));
                    } else {
                        d.push(Doc::Text(","));
                    }
                    concat(d)
                });
                concat(vec![concat(head), fields])
            }
            ItemKind::Fn(f) => {
                let mut out = Vec::new();
                if f.export.is_some() {
                    out.push(self.tok("export"));
                    out.push(Doc::Space);
                }
                out.push(self.tok("fn"));
                out.push(Doc::Space);
                out.push(self.sig(&f.sig));
                out.push(Doc::Space);
                out.push(self.block(&f.body));
                concat(out)
            }
            ItemKind::ExternFn(sig) => concat(vec![
                self.tok("extern"),
                Doc::Space,
                self.tok("fn"),
                Doc::Space,
                self.sig(sig),
                self.tok(";"),
            ]),
            ItemKind::Error(_) => {
                self.fail("an item that did not parse");
                Doc::Nil
            }
        }
    }

    fn global(&mut self, keyword: &'static str, g: &GlobalItem) -> Doc<'s> {
        concat(vec![
            self.tok(keyword),
            Doc::Space,
            self.tok_at(g.name.span),
            self.tok(":"),
            Doc::Space,
            self.ty(&g.ty),
            Doc::Space,
            self.tok("="),
            Doc::Space,
            self.expr(&g.value),
            self.tok(";"),
        ])
    }

    fn sig(&mut self, sig: &FnSig) -> Doc<'s> {
        let mut out = vec![self.tok_at(sig.name.span)];
        out.push(self.list(&sig.params, "(", ")", false, false, |b, p| {
            concat(vec![
                b.tok_at(p.name.span),
                b.tok(":"),
                Doc::Space,
                b.ty(&p.ty),
            ])
        }));
        if let Some(ret) = &sig.ret {
            out.push(Doc::Space);
            out.push(self.tok("->"));
            out.push(Doc::Space);
            out.push(self.ty(ret));
        }
        concat(out)
    }

    fn ty(&mut self, t: &Type) -> Doc<'s> {
        match &t.kind {
            TypeKind::Named(_) => self.tok_at(t.span),
            TypeKind::Array(elem, len) => concat(vec![
                self.tok("["),
                self.ty(elem),
                self.tok(";"),
                Doc::Space,
                self.expr(len),
                self.tok("]"),
            ]),
            TypeKind::Slice { mutable, elem } => {
                let mut out = vec![self.tok("["), self.tok("]")];
                if *mutable {
                    out.push(self.tok("mut"));
                    out.push(Doc::Space);
                }
                out.push(self.ty(elem));
                concat(out)
            }
            TypeKind::Error => {
                self.fail("a type that did not parse");
                Doc::Nil
            }
        }
    }

    fn block(&mut self, b: &Block) -> Doc<'s> {
        self.vertical(&b.stmts, |b, s| b.stmt(s))
    }

    fn stmt(&mut self, s: &Stmt) -> Doc<'s> {
        match &s.kind {
            StmtKind::Let {
                mutable,
                name,
                ty,
                init,
            } => {
                let mut out = vec![
                    self.tok(if *mutable { "var" } else { "let" }),
                    Doc::Space,
                    self.tok_at(name.span),
                ];
                if let Some(t) = ty {
                    out.push(self.tok(":"));
                    out.push(Doc::Space);
                    out.push(self.ty(t));
                }
                out.extend([Doc::Space, self.tok("="), Doc::Space]);
                out.push(self.expr(init));
                out.push(self.tok(";"));
                concat(out)
            }
            StmtKind::Assign {
                target, op, value, ..
            } => concat(vec![
                self.expr(target),
                Doc::Space,
                self.tok(assign_symbol(*op)),
                Doc::Space,
                self.expr(value),
                self.tok(";"),
            ]),
            StmtKind::If { cond, then, els } => {
                let mut out = vec![self.tok("if"), Doc::Space, self.cond_block(cond, then)];
                if let Some(els) = els {
                    out.extend([Doc::Space, self.tok("else"), Doc::Space]);
                    match &els.kind {
                        StmtKind::If { .. } => out.push(self.stmt(els)),
                        StmtKind::Block(b) => out.push(self.block(b)),
                        _ => self.fail("an `else` without a block"),
                    }
                }
                concat(out)
            }
            StmtKind::While { cond, body } => concat(vec![
                self.tok("while"),
                Doc::Space,
                self.cond_block(cond, body),
            ]),
            StmtKind::For { var, iter, body } => {
                let mut out = vec![
                    self.tok("for"),
                    Doc::Space,
                    self.tok_at(var.span),
                    Doc::Space,
                    self.tok("in"),
                    Doc::Space,
                ];
                match iter {
                    ForIter::Range(a, b) => {
                        out.push(self.expr(a));
                        out.push(self.tok(".."));
                        out.push(self.expr(b));
                    }
                    ForIter::Each(e) => out.push(self.expr(e)),
                }
                out.push(Doc::Space);
                out.push(self.block(body));
                concat(out)
            }
            StmtKind::Break => concat(vec![self.tok("break"), self.tok(";")]),
            StmtKind::Continue => concat(vec![self.tok("continue"), self.tok(";")]),
            StmtKind::Abort => concat(vec![self.tok("abort"), self.tok(";")]),
            StmtKind::Return(value) => {
                let mut out = vec![self.tok("return")];
                if let Some(v) = value {
                    out.push(Doc::Space);
                    out.push(self.expr(v));
                }
                out.push(self.tok(";"));
                concat(out)
            }
            StmtKind::Expr(e) => concat(vec![self.expr(e), self.tok(";")]),
            StmtKind::Block(b) => self.block(b),
            StmtKind::Error => {
                self.fail("a statement that did not parse");
                Doc::Nil
            }
        }
    }

    /// The condition of `if`/`while` and its block. An operator chain that
    /// breaks puts the `{` on a line of its own, so the chain's continuation
    /// lines do not run into the body.
    fn cond_block(&mut self, cond: &Expr, body: &Block) -> Doc<'s> {
        if matches!(cond.kind, ExprKind::Binary { .. }) {
            let g = self.new_group();
            let mut chain = self.binary(cond);
            if !self.carry.is_empty() {
                // A comment ends the condition's line and pushes the `{`
                // to the next one; the chain still breaks as if ` {`
                // followed it, as it does when the comment sits before
                // the `{` on its line (the first pass of `if a > b /* c */
                // {`, whose comment ends the line once the chain broke).
                chain = concat(vec![chain, Doc::Reserve(2)]);
            }
            concat(vec![
                group(chain, Some(g)),
                self.sep(if_break(Doc::HardLine, Doc::Space, Some(g))),
                self.block(body),
            ])
        } else {
            concat(vec![self.expr(cond), Doc::Space, self.block(body)])
        }
    }

    /// An operator chain at one precedence level, ungrouped: the first
    /// operand, then each operator and operand on a continuation line when
    /// the chain breaks.
    fn binary(&mut self, e: &Expr) -> Doc<'s> {
        let ExprKind::Binary { op, .. } = &e.kind else {
            return self.expr(e);
        };
        let level = bin_level(*op);
        let mut chain = Vec::new();
        let mut first = e;
        while let ExprKind::Binary { op, lhs, rhs, .. } = &first.kind {
            if bin_level(*op) != level {
                break;
            }
            chain.push((*op, &**rhs));
            first = lhs;
        }
        let head = self.expr(first);
        let mut rest = Vec::new();
        for (op, rhs) in chain.into_iter().rev() {
            rest.push(self.sep(Doc::Line));
            rest.push(self.tok(op.symbol()));
            rest.push(Doc::Space);
            rest.push(self.expr(rhs));
        }
        concat(vec![head, indent(concat(rest))])
    }

    fn expr(&mut self, e: &Expr) -> Doc<'s> {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Name(_) => {
                self.tok_at(e.span)
            }
            ExprKind::Unary(op, inner) => {
                let op_doc = self.tok(op.symbol());
                // Two negations keep a space: `--x` reads as C's decrement,
                // which the parser refuses at the start of a statement.
                let apart =
                    matches!(op, UnOp::Neg) && matches!(inner.kind, ExprKind::Unary(UnOp::Neg, _));
                let space = if apart { Doc::Space } else { Doc::Nil };
                concat(vec![op_doc, space, self.expr(inner)])
            }
            ExprKind::Binary { .. } => {
                let chain = self.binary(e);
                group(chain, None)
            }
            ExprKind::Cast(inner, ty) => concat(vec![
                self.expr(inner),
                Doc::Space,
                self.tok("as"),
                Doc::Space,
                self.ty(ty),
            ]),
            ExprKind::Call(callee, args) => {
                let callee = self.expr(callee);
                let args = self.list(args, "(", ")", false, false, |b, a| b.expr(a));
                concat(vec![callee, args])
            }
            ExprKind::Index(base, index) => concat(vec![
                self.expr(base),
                self.tok("["),
                self.expr(index),
                self.tok("]"),
            ]),
            ExprKind::Field(base, name) => {
                concat(vec![self.expr(base), self.tok("."), self.tok_at(name.span)])
            }
            ExprKind::StructLit(name, fields) => {
                let name = self.tok_at(name.span);
                let fields = self.list(fields, "{", "}", true, false, |b, f| {
                    concat(vec![
                        b.tok("."),
                        b.tok_at(f.name.span),
                        Doc::Space,
                        b.tok("="),
                        Doc::Space,
                        b.expr(&f.value),
                    ])
                });
                concat(vec![name, Doc::Space, fields])
            }
            ExprKind::ArrayLit(elems) => {
                let fill = elems.iter().all(is_atom);
                self.list(elems, "[", "]", false, fill, |b, x| b.expr(x))
            }
            ExprKind::ArrayRepeat(value, count) => concat(vec![
                self.tok("["),
                self.expr(value),
                self.tok(";"),
                Doc::Space,
                self.expr(count),
                self.tok("]"),
            ]),
            ExprKind::Paren(inner) => concat(vec![self.tok("("), self.expr(inner), self.tok(")")]),
            ExprKind::Error => {
                self.fail("an expression that did not parse");
                Doc::Nil
            }
        }
    }
}
