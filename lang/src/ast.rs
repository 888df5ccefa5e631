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
    /// An item the parser could not make sense of (already reported).
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseItem {
    pub module: Ident,
    pub names: Vec<Ident>,
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
    Slice { mutable: bool, elem: Box<Type> },
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
            ItemKind::Use(_) | ItemKind::Error => {}
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
