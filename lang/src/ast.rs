//! The syntax tree. Every node carries its span; expressions also carry an
//! [`ExprId`] so later stages can keep per-expression facts (types, name
//! resolutions) in side tables instead of mutating the tree.

use crate::span::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
    /// The `///` lines directly above the item, without the slashes.
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Use(UseItem),
    Const(GlobalItem),
    Static(GlobalItem),
    Struct(StructItem),
    Fn(FnItem),
    /// `extern fn` — only valid in `std-imports/` declaration files.
    ExternFn(FnSig),
    /// An item the parser could not make sense of (already reported), and
    /// the name it declares when its start could still be read (`fn g(…`,
    /// `struct S {…`): uses of that name are then not reported as unknown,
    /// since the one mistake is in the item.
    Error(Option<Ident>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseItem {
    pub module: Ident,
    pub names: Vec<Ident>,
    /// Rust's glob, `use kernel::*;` (the span of `*`; `names` is empty):
    /// not KPL, but parsed so that the checker can name the imports the
    /// file uses in its fix (E0110) instead of an error at every call.
    pub glob: Option<Span>,
}

/// A `const` or `static`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalItem {
    pub name: Ident,
    pub ty: Type,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructItem {
    pub name: Ident,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Ident,
    pub ty: Type,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnSig {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<Type>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnItem {
    /// Span of the `export` keyword for entry points.
    pub export: Option<Span>,
    pub sig: FnSig,
    pub body: Block,
    /// The body has a `return` with a value, at any depth (set by the
    /// parser, [`returns_a_value`]). It stays with the declaration when the
    /// editor's database checks declarations apart from bodies: a function
    /// without `-> T` that has one is E0402 in its body, and its calls are
    /// of the error type instead of each an E0403.
    pub returns_value: bool,
}

/// Whether a body has a `return` with a value, at any depth (a walk with
/// its own stack: bodies may nest deeply).
pub fn returns_a_value(body: &Block) -> bool {
    let mut todo: Vec<&Stmt> = body.stmts.iter().collect();
    while let Some(s) = todo.pop() {
        match &s.kind {
            StmtKind::Return(Some(_)) => return true,
            StmtKind::If { then, els, .. } => {
                todo.extend(&then.stmts);
                todo.extend(els.as_deref());
            }
            StmtKind::While { body, .. } | StmtKind::For { body, .. } | StmtKind::Block(body) => {
                todo.extend(&body.stmts)
            }
            _ => {}
        }
    }
    false
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: Ident,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Type {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// `bool`, `u32`, `str`, or a struct name.
    Named(String),
    Array(Box<Type>, Box<Expr>),
    Slice {
        mutable: bool,
        elem: Box<Type>,
    },
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `let` (immutable) or `var` (mutable).
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<Type>,
        init: Expr,
    },
    /// `target = value` or `target op= value`.
    Assign {
        target: Expr,
        op: Option<BinOp>,
        op_span: Span,
        value: Expr,
    },
    If {
        cond: Expr,
        then: Block,
        /// Either a block or a nested `if` statement.
        els: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    For {
        var: Ident,
        iter: ForIter,
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Abort,
    Expr(Expr),
    Block(Block),
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForIter {
    Range(Expr, Expr),
    Each(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ExprId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Int(u64),
    Bool(bool),
    Str(String),
    Name(String),
    Unary(UnOp, Box<Expr>),
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Cast(Box<Expr>, Type),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Field(Box<Expr>, Ident),
    StructLit(Ident, Vec<FieldInit>),
    ArrayLit(Vec<Expr>),
    ArrayRepeat(Box<Expr>, Box<Expr>),
    Paren(Box<Expr>),
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            Shl => "<<",
            Shr => ">>",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
        }
    }

    pub fn is_comparison(self) -> bool {
        use BinOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }
}

impl UnOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "!",
            UnOp::BitNot => "~",
        }
    }
}

impl Expr {
    /// Strips any parentheses.
    pub fn unparen(&self) -> &Expr {
        match &self.kind {
            ExprKind::Paren(inner) => inner.unparen(),
            _ => self,
        }
    }
}

/// Gives every expression in the file a distinct id, in source order.
/// Returns the number of ids handed out.
pub fn number_exprs(file: &mut File) -> u32 {
    let mut next = 0;
    for item in &mut file.items {
        match &mut item.kind {
            ItemKind::Const(g) | ItemKind::Static(g) => {
                number_type(&mut g.ty, &mut next);
                number_expr(&mut g.value, &mut next);
            }
            ItemKind::Struct(s) => {
                for f in &mut s.fields {
                    number_type(&mut f.ty, &mut next);
                }
            }
            ItemKind::Fn(f) => {
                number_sig(&mut f.sig, &mut next);
                number_block(&mut f.body, &mut next);
            }
            ItemKind::ExternFn(sig) => number_sig(sig, &mut next),
            ItemKind::Use(_) | ItemKind::Error(_) => {}
        }
    }
    next
}

fn number_sig(sig: &mut FnSig, next: &mut u32) {
    for p in &mut sig.params {
        number_type(&mut p.ty, next);
    }
    if let Some(t) = &mut sig.ret {
        number_type(t, next);
    }
}

fn number_type(ty: &mut Type, next: &mut u32) {
    match &mut ty.kind {
        TypeKind::Array(elem, len) => {
            number_type(elem, next);
            number_expr(len, next);
        }
        TypeKind::Slice { elem, .. } => number_type(elem, next),
        TypeKind::Named(_) | TypeKind::Error => {}
    }
}

fn number_block(block: &mut Block, next: &mut u32) {
    for s in &mut block.stmts {
        number_stmt(s, next);
    }
}

fn number_stmt(stmt: &mut Stmt, next: &mut u32) {
    match &mut stmt.kind {
        StmtKind::Let { ty, init, .. } => {
            if let Some(t) = ty {
                number_type(t, next);
            }
            number_expr(init, next);
        }
        StmtKind::Assign { target, value, .. } => {
            number_expr(target, next);
            number_expr(value, next);
        }
        StmtKind::If { cond, then, els } => {
            number_expr(cond, next);
            number_block(then, next);
            if let Some(e) = els {
                number_stmt(e, next);
            }
        }
        StmtKind::While { cond, body } => {
            number_expr(cond, next);
            number_block(body, next);
        }
        StmtKind::For { iter, body, .. } => {
            match iter {
                ForIter::Range(a, b) => {
                    number_expr(a, next);
                    number_expr(b, next);
                }
                ForIter::Each(e) => number_expr(e, next),
            }
            number_block(body, next);
        }
        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => number_expr(e, next),
        StmtKind::Block(b) => number_block(b, next),
        StmtKind::Return(None)
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Abort
        | StmtKind::Error => {}
    }
}

fn number_expr(expr: &mut Expr, next: &mut u32) {
    expr.id = ExprId(*next);
    *next += 1;
    match &mut expr.kind {
        ExprKind::Unary(_, e) | ExprKind::Paren(e) | ExprKind::Field(e, _) => number_expr(e, next),
        ExprKind::Binary { lhs, rhs, .. } => {
            number_expr(lhs, next);
            number_expr(rhs, next);
        }
        ExprKind::Cast(e, t) => {
            number_expr(e, next);
            number_type(t, next);
        }
        ExprKind::Call(callee, args) => {
            number_expr(callee, next);
            for a in args {
                number_expr(a, next);
            }
        }
        ExprKind::Index(a, i) | ExprKind::ArrayRepeat(a, i) => {
            number_expr(a, next);
            number_expr(i, next);
        }
        ExprKind::StructLit(_, fields) => {
            for f in fields {
                number_expr(&mut f.value, next);
            }
        }
        ExprKind::ArrayLit(elems) => {
            for e in elems {
                number_expr(e, next);
            }
        }
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
}

/// A borrowed node, for walking the tree without recursion.
enum NodeRef<'a> {
    Expr(&'a Expr),
    Stmt(&'a Stmt),
    Block(&'a Block),
    Type(&'a Type),
}

impl<'a> NodeRef<'a> {
    fn span(&self) -> Span {
        match self {
            NodeRef::Expr(e) => e.span,
            NodeRef::Stmt(s) => s.span,
            NodeRef::Block(b) => b.span,
            NodeRef::Type(t) => t.span,
        }
    }

    fn children(&self, out: &mut Vec<NodeRef<'a>>) {
        match *self {
            NodeRef::Expr(e) => match &e.kind {
                ExprKind::Unary(_, x) | ExprKind::Paren(x) | ExprKind::Field(x, _) => {
                    out.push(NodeRef::Expr(x))
                }
                ExprKind::Binary { lhs, rhs, .. } => {
                    out.push(NodeRef::Expr(lhs));
                    out.push(NodeRef::Expr(rhs));
                }
                ExprKind::Cast(x, t) => {
                    out.push(NodeRef::Expr(x));
                    out.push(NodeRef::Type(t));
                }
                ExprKind::Call(c, args) => {
                    out.push(NodeRef::Expr(c));
                    out.extend(args.iter().map(NodeRef::Expr));
                }
                ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
                    out.push(NodeRef::Expr(a));
                    out.push(NodeRef::Expr(b));
                }
                ExprKind::StructLit(_, fields) => {
                    out.extend(fields.iter().map(|f| NodeRef::Expr(&f.value)))
                }
                ExprKind::ArrayLit(elems) => out.extend(elems.iter().map(NodeRef::Expr)),
                _ => {}
            },
            NodeRef::Stmt(s) => match &s.kind {
                StmtKind::Let { ty, init, .. } => {
                    out.extend(ty.iter().map(NodeRef::Type));
                    out.push(NodeRef::Expr(init));
                }
                StmtKind::Assign { target, value, .. } => {
                    out.push(NodeRef::Expr(target));
                    out.push(NodeRef::Expr(value));
                }
                StmtKind::If { cond, then, els } => {
                    out.push(NodeRef::Expr(cond));
                    out.push(NodeRef::Block(then));
                    out.extend(els.iter().map(|e| NodeRef::Stmt(e)));
                }
                StmtKind::While { cond, body } => {
                    out.push(NodeRef::Expr(cond));
                    out.push(NodeRef::Block(body));
                }
                StmtKind::For { iter, body, .. } => {
                    match iter {
                        ForIter::Range(a, b) => {
                            out.push(NodeRef::Expr(a));
                            out.push(NodeRef::Expr(b));
                        }
                        ForIter::Each(x) => out.push(NodeRef::Expr(x)),
                    }
                    out.push(NodeRef::Block(body));
                }
                StmtKind::Return(Some(x)) | StmtKind::Expr(x) => out.push(NodeRef::Expr(x)),
                StmtKind::Block(b) => out.push(NodeRef::Block(b)),
                _ => {}
            },
            NodeRef::Block(b) => out.extend(b.stmts.iter().map(NodeRef::Stmt)),
            NodeRef::Type(t) => match &t.kind {
                TypeKind::Array(elem, len) => {
                    out.push(NodeRef::Type(elem));
                    out.push(NodeRef::Expr(len));
                }
                TypeKind::Slice { elem, .. } => out.push(NodeRef::Type(elem)),
                _ => {}
            },
        }
    }
}

fn item_roots(item: &Item) -> Vec<NodeRef<'_>> {
    let mut roots = Vec::new();
    match &item.kind {
        ItemKind::Const(g) | ItemKind::Static(g) => {
            roots.push(NodeRef::Type(&g.ty));
            roots.push(NodeRef::Expr(&g.value));
        }
        ItemKind::Struct(s) => roots.extend(s.fields.iter().map(|f| NodeRef::Type(&f.ty))),
        ItemKind::Fn(f) => {
            roots.extend(f.sig.params.iter().map(|p| NodeRef::Type(&p.ty)));
            roots.extend(f.sig.ret.iter().map(NodeRef::Type));
            roots.push(NodeRef::Block(&f.body));
        }
        ItemKind::ExternFn(sig) => {
            roots.extend(sig.params.iter().map(|p| NodeRef::Type(&p.ty)));
            roots.extend(sig.ret.iter().map(NodeRef::Type));
        }
        ItemKind::Use(_) | ItemKind::Error(_) => {}
    }
    roots
}

/// The span of the first node nested deeper than `limit` in `item`, found
/// without recursion (the tree may be arbitrarily deep).
pub fn too_deep(item: &Item, limit: usize) -> Option<Span> {
    let mut stack: Vec<(NodeRef<'_>, usize)> =
        item_roots(item).into_iter().map(|n| (n, 1)).collect();
    let mut children = Vec::new();
    while let Some((node, depth)) = stack.pop() {
        if depth > limit {
            return Some(node.span());
        }
        node.children(&mut children);
        stack.extend(children.drain(..).map(|c| (c, depth + 1)));
    }
    None
}

/// A node taken out of the tree while it is freed.
enum Owned {
    Expr(Expr),
    Stmt(Stmt),
    Type(Type),
}

fn leaf_expr() -> Expr {
    Expr {
        id: ExprId(0),
        kind: ExprKind::Error,
        span: Span::default(),
    }
}

fn leaf_type() -> Type {
    Type {
        kind: TypeKind::Error,
        span: Span::default(),
    }
}

fn leaf_stmt() -> Stmt {
    Stmt {
        kind: StmtKind::Error,
        span: Span::default(),
    }
}

impl ExprKind {
    /// Whether dropping this node recurses at most one level: none of its
    /// children has children of its own.
    fn shallow(&self) -> bool {
        let leaf = |e: &Expr| e.kind.is_leaf();
        match self {
            ExprKind::Unary(_, x) | ExprKind::Paren(x) | ExprKind::Field(x, _) => leaf(x),
            ExprKind::Binary { lhs, rhs, .. } => leaf(lhs) && leaf(rhs),
            ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => leaf(a) && leaf(b),
            ExprKind::Cast(x, t) => leaf(x) && t.kind.is_leaf(),
            ExprKind::Call(c, args) => leaf(c) && args.iter().all(leaf),
            ExprKind::StructLit(_, fields) => fields.iter().all(|f| leaf(&f.value)),
            ExprKind::ArrayLit(elems) => elems.iter().all(leaf),
            _ => true,
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(
            self,
            ExprKind::Int(_)
                | ExprKind::Bool(_)
                | ExprKind::Str(_)
                | ExprKind::Name(_)
                | ExprKind::Error
        )
    }

    /// Moves the children out, leaving leaves behind.
    fn take_children(&mut self, out: &mut Vec<Owned>) {
        let mut take =
            |x: &mut Box<Expr>| out.push(Owned::Expr(std::mem::replace(&mut **x, leaf_expr())));
        match self {
            ExprKind::Unary(_, x) | ExprKind::Paren(x) | ExprKind::Field(x, _) => take(x),
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Index(lhs, rhs)
            | ExprKind::ArrayRepeat(lhs, rhs) => {
                take(lhs);
                take(rhs);
            }
            ExprKind::Cast(x, t) => {
                take(x);
                out.push(Owned::Type(std::mem::replace(t, leaf_type())));
            }
            ExprKind::Call(c, args) => {
                take(c);
                out.extend(args.drain(..).map(Owned::Expr));
            }
            ExprKind::StructLit(_, fields) => {
                out.extend(fields.drain(..).map(|f| Owned::Expr(f.value)));
            }
            ExprKind::ArrayLit(elems) => out.extend(elems.drain(..).map(Owned::Expr)),
            _ => {}
        }
    }
}

impl TypeKind {
    fn is_leaf(&self) -> bool {
        matches!(self, TypeKind::Named(_) | TypeKind::Error)
    }

    fn shallow(&self) -> bool {
        match self {
            TypeKind::Array(elem, len) => elem.kind.is_leaf() && len.kind.is_leaf(),
            TypeKind::Slice { elem, .. } => elem.kind.is_leaf(),
            _ => true,
        }
    }

    fn take_children(&mut self, out: &mut Vec<Owned>) {
        match self {
            TypeKind::Array(elem, len) => {
                out.push(Owned::Type(std::mem::replace(&mut **elem, leaf_type())));
                out.push(Owned::Expr(std::mem::replace(&mut **len, leaf_expr())));
            }
            TypeKind::Slice { elem, .. } => {
                out.push(Owned::Type(std::mem::replace(&mut **elem, leaf_type())));
            }
            _ => {}
        }
    }
}

impl StmtKind {
    /// Whether dropping this statement recurses at most one level: its
    /// expressions and types are leaves and its blocks empty. Most
    /// statements of real code (`let x = 1;`, `return y;`) are, so their
    /// drop needs no stack; so is every statement whose children
    /// [`drop_iteratively`] has taken.
    fn shallow(&self) -> bool {
        let leaf = |e: &Expr| e.kind.is_leaf();
        match self {
            StmtKind::Let { ty, init, .. } => {
                ty.as_ref().is_none_or(|t| t.kind.is_leaf()) && leaf(init)
            }
            StmtKind::Assign { target, value, .. } => leaf(target) && leaf(value),
            StmtKind::If { cond, then, els } => {
                leaf(cond) && then.stmts.is_empty() && els.as_ref().is_none_or(|e| e.kind.is_leaf())
            }
            StmtKind::While { cond, body } => leaf(cond) && body.stmts.is_empty(),
            StmtKind::For { iter, body, .. } => {
                let iter_leaf = match iter {
                    ForIter::Range(a, b) => leaf(a) && leaf(b),
                    ForIter::Each(x) => leaf(x),
                };
                iter_leaf && body.stmts.is_empty()
            }
            StmtKind::Return(Some(x)) | StmtKind::Expr(x) => leaf(x),
            StmtKind::Block(b) => b.stmts.is_empty(),
            _ => true,
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(
            self,
            StmtKind::Break
                | StmtKind::Continue
                | StmtKind::Abort
                | StmtKind::Error
                | StmtKind::Return(None)
        )
    }

    fn take_children(&mut self, out: &mut Vec<Owned>) {
        let take_expr = |e: &mut Expr| Owned::Expr(std::mem::replace(e, leaf_expr()));
        let take_block = |b: &mut Block, out: &mut Vec<Owned>| {
            out.extend(b.stmts.drain(..).map(Owned::Stmt));
        };
        match self {
            StmtKind::Let { ty, init, .. } => {
                out.extend(ty.take().map(Owned::Type));
                out.push(take_expr(init));
            }
            StmtKind::Assign { target, value, .. } => {
                out.push(take_expr(target));
                out.push(take_expr(value));
            }
            StmtKind::If { cond, then, els } => {
                out.push(take_expr(cond));
                take_block(then, out);
                if let Some(e) = els {
                    out.push(Owned::Stmt(std::mem::replace(&mut **e, leaf_stmt())));
                }
            }
            StmtKind::While { cond, body } => {
                out.push(take_expr(cond));
                take_block(body, out);
            }
            StmtKind::For { iter, body, .. } => {
                match iter {
                    ForIter::Range(a, b) => {
                        out.push(take_expr(a));
                        out.push(take_expr(b));
                    }
                    ForIter::Each(x) => out.push(take_expr(x)),
                }
                take_block(body, out);
            }
            StmtKind::Return(Some(x)) | StmtKind::Expr(x) => out.push(take_expr(x)),
            StmtKind::Block(b) => take_block(b, out),
            _ => {}
        }
    }
}

/// Frees the children of a node one at a time from a heap stack: the tree
/// the parser builds may be arbitrarily deep before [`too_deep`] has looked at
/// it, and a recursive drop of it would overflow the stack.
fn drop_iteratively(first: &mut dyn FnMut(&mut Vec<Owned>)) {
    let mut stack = Vec::new();
    first(&mut stack);
    while let Some(node) = stack.pop() {
        match node {
            Owned::Expr(mut e) => e.kind.take_children(&mut stack),
            Owned::Type(mut t) => t.kind.take_children(&mut stack),
            Owned::Stmt(mut s) => s.kind.take_children(&mut stack),
        }
        // `node`'s remains drop here, without children.
    }
}

impl Drop for Expr {
    fn drop(&mut self) {
        if !self.kind.shallow() {
            drop_iteratively(&mut |stack| self.kind.take_children(stack));
        }
    }
}

impl Drop for Type {
    fn drop(&mut self) {
        if !self.kind.shallow() {
            drop_iteratively(&mut |stack| self.kind.take_children(stack));
        }
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        if !self.kind.shallow() {
            drop_iteratively(&mut |stack| self.kind.take_children(stack));
        }
    }
}

/// Applies `f` to every span in `item` (the item's own, its names', its
/// types', statements' and expressions'). Used to move an item into another
/// coordinate system, e.g. spans relative to the item's start. The item must
/// have passed [`too_deep`] (the walk recurses).
pub fn map_spans(item: &mut Item, f: &mut dyn FnMut(Span) -> Span) {
    item.span = f(item.span);
    match &mut item.kind {
        ItemKind::Use(u) => {
            u.module.span = f(u.module.span);
            for n in &mut u.names {
                n.span = f(n.span);
            }
            if let Some(g) = &mut u.glob {
                *g = f(*g);
            }
        }
        ItemKind::Const(g) | ItemKind::Static(g) => {
            g.name.span = f(g.name.span);
            map_type(&mut g.ty, f);
            map_expr(&mut g.value, f);
        }
        ItemKind::Struct(s) => {
            s.name.span = f(s.name.span);
            for field in &mut s.fields {
                field.name.span = f(field.name.span);
                map_type(&mut field.ty, f);
            }
        }
        ItemKind::Fn(func) => {
            func.export = func.export.map(&mut *f);
            map_sig(&mut func.sig, f);
            map_block(&mut func.body, f);
        }
        ItemKind::ExternFn(sig) => map_sig(sig, f),
        ItemKind::Error(name) => {
            if let Some(name) = name {
                name.span = f(name.span);
            }
        }
    }
}

fn map_sig(sig: &mut FnSig, f: &mut dyn FnMut(Span) -> Span) {
    sig.name.span = f(sig.name.span);
    for p in &mut sig.params {
        p.name.span = f(p.name.span);
        map_type(&mut p.ty, f);
    }
    if let Some(t) = &mut sig.ret {
        map_type(t, f);
    }
}

fn map_type(ty: &mut Type, f: &mut dyn FnMut(Span) -> Span) {
    ty.span = f(ty.span);
    match &mut ty.kind {
        TypeKind::Array(elem, len) => {
            map_type(elem, f);
            map_expr(len, f);
        }
        TypeKind::Slice { elem, .. } => map_type(elem, f),
        TypeKind::Named(_) | TypeKind::Error => {}
    }
}

/// [`map_spans`] for a block on its own.
pub fn map_block(block: &mut Block, f: &mut dyn FnMut(Span) -> Span) {
    block.span = f(block.span);
    for s in &mut block.stmts {
        map_stmt(s, f);
    }
}

fn map_stmt(stmt: &mut Stmt, f: &mut dyn FnMut(Span) -> Span) {
    stmt.span = f(stmt.span);
    match &mut stmt.kind {
        StmtKind::Let { name, ty, init, .. } => {
            name.span = f(name.span);
            if let Some(t) = ty {
                map_type(t, f);
            }
            map_expr(init, f);
        }
        StmtKind::Assign {
            target,
            op_span,
            value,
            ..
        } => {
            map_expr(target, f);
            *op_span = f(*op_span);
            map_expr(value, f);
        }
        StmtKind::If { cond, then, els } => {
            map_expr(cond, f);
            map_block(then, f);
            if let Some(e) = els {
                map_stmt(e, f);
            }
        }
        StmtKind::While { cond, body } => {
            map_expr(cond, f);
            map_block(body, f);
        }
        StmtKind::For { var, iter, body } => {
            var.span = f(var.span);
            match iter {
                ForIter::Range(a, b) => {
                    map_expr(a, f);
                    map_expr(b, f);
                }
                ForIter::Each(e) => map_expr(e, f),
            }
            map_block(body, f);
        }
        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => map_expr(e, f),
        StmtKind::Block(b) => map_block(b, f),
        StmtKind::Return(None)
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Abort
        | StmtKind::Error => {}
    }
}

fn map_expr(expr: &mut Expr, f: &mut dyn FnMut(Span) -> Span) {
    expr.span = f(expr.span);
    match &mut expr.kind {
        ExprKind::Unary(_, e) | ExprKind::Paren(e) => map_expr(e, f),
        ExprKind::Field(e, name) => {
            map_expr(e, f);
            name.span = f(name.span);
        }
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            *op_span = f(*op_span);
            map_expr(lhs, f);
            map_expr(rhs, f);
        }
        ExprKind::Cast(e, t) => {
            map_expr(e, f);
            map_type(t, f);
        }
        ExprKind::Call(callee, args) => {
            map_expr(callee, f);
            for a in args {
                map_expr(a, f);
            }
        }
        ExprKind::Index(a, i) | ExprKind::ArrayRepeat(a, i) => {
            map_expr(a, f);
            map_expr(i, f);
        }
        ExprKind::StructLit(name, fields) => {
            name.span = f(name.span);
            for init in fields {
                init.name.span = f(init.name.span);
                map_expr(&mut init.value, f);
            }
        }
        ExprKind::ArrayLit(elems) => {
            for e in elems {
                map_expr(e, f);
            }
        }
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
}

/// Calls `f` with every span in `item`, as [`map_spans`] visits them,
/// without changing (or cloning) the item. The item must have passed
/// [`too_deep`] (the walk recurses).
pub fn for_each_span(item: &Item, f: &mut dyn FnMut(Span)) {
    f(item.span);
    match &item.kind {
        ItemKind::Use(u) => {
            f(u.module.span);
            for n in &u.names {
                f(n.span);
            }
            if let Some(g) = u.glob {
                f(g);
            }
        }
        ItemKind::Const(g) | ItemKind::Static(g) => {
            f(g.name.span);
            visit_type(&g.ty, f);
            visit_expr(&g.value, f);
        }
        ItemKind::Struct(s) => {
            f(s.name.span);
            for field in &s.fields {
                f(field.name.span);
                visit_type(&field.ty, f);
            }
        }
        ItemKind::Fn(func) => {
            if let Some(s) = func.export {
                f(s);
            }
            visit_sig(&func.sig, f);
            visit_block(&func.body, f);
        }
        ItemKind::ExternFn(sig) => visit_sig(sig, f),
        ItemKind::Error(_) => {}
    }
}

fn visit_sig(sig: &FnSig, f: &mut dyn FnMut(Span)) {
    f(sig.name.span);
    for p in &sig.params {
        f(p.name.span);
        visit_type(&p.ty, f);
    }
    if let Some(t) = &sig.ret {
        visit_type(t, f);
    }
}

fn visit_type(ty: &Type, f: &mut dyn FnMut(Span)) {
    f(ty.span);
    match &ty.kind {
        TypeKind::Array(elem, len) => {
            visit_type(elem, f);
            visit_expr(len, f);
        }
        TypeKind::Slice { elem, .. } => visit_type(elem, f),
        TypeKind::Named(_) | TypeKind::Error => {}
    }
}

fn visit_block(block: &Block, f: &mut dyn FnMut(Span)) {
    f(block.span);
    for s in &block.stmts {
        visit_stmt(s, f);
    }
}

fn visit_stmt(stmt: &Stmt, f: &mut dyn FnMut(Span)) {
    f(stmt.span);
    match &stmt.kind {
        StmtKind::Let { name, ty, init, .. } => {
            f(name.span);
            if let Some(t) = ty {
                visit_type(t, f);
            }
            visit_expr(init, f);
        }
        StmtKind::Assign {
            target,
            op_span,
            value,
            ..
        } => {
            visit_expr(target, f);
            f(*op_span);
            visit_expr(value, f);
        }
        StmtKind::If { cond, then, els } => {
            visit_expr(cond, f);
            visit_block(then, f);
            if let Some(e) = els {
                visit_stmt(e, f);
            }
        }
        StmtKind::While { cond, body } => {
            visit_expr(cond, f);
            visit_block(body, f);
        }
        StmtKind::For { var, iter, body } => {
            f(var.span);
            match iter {
                ForIter::Range(a, b) => {
                    visit_expr(a, f);
                    visit_expr(b, f);
                }
                ForIter::Each(e) => visit_expr(e, f),
            }
            visit_block(body, f);
        }
        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => visit_expr(e, f),
        StmtKind::Block(b) => visit_block(b, f),
        StmtKind::Return(None)
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Abort
        | StmtKind::Error => {}
    }
}

fn visit_expr(expr: &Expr, f: &mut dyn FnMut(Span)) {
    f(expr.span);
    match &expr.kind {
        ExprKind::Unary(_, e) | ExprKind::Paren(e) => visit_expr(e, f),
        ExprKind::Field(e, name) => {
            visit_expr(e, f);
            f(name.span);
        }
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            f(*op_span);
            visit_expr(lhs, f);
            visit_expr(rhs, f);
        }
        ExprKind::Cast(e, t) => {
            visit_expr(e, f);
            visit_type(t, f);
        }
        ExprKind::Call(callee, args) => {
            visit_expr(callee, f);
            for a in args {
                visit_expr(a, f);
            }
        }
        ExprKind::Index(a, i) | ExprKind::ArrayRepeat(a, i) => {
            visit_expr(a, f);
            visit_expr(i, f);
        }
        ExprKind::StructLit(name, fields) => {
            f(name.span);
            for init in fields {
                f(init.name.span);
                visit_expr(&init.value, f);
            }
        }
        ExprKind::ArrayLit(elems) => {
            for e in elems {
                visit_expr(e, f);
            }
        }
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
}
