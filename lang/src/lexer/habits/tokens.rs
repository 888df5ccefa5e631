//! What the habit rules ask of single tokens (see the parent module): the
//! pairing of brackets, whether a token may start a habit at all, ends or
//! starts an operand, or names a type, and the value of an associated
//! constant such as `u32::MAX`.

use crate::lexer::{Tok, index_of, symbol_index};
use crate::span::Span;

/// For each bracket token, the index of its partner (`usize::MAX` for a
/// token that is not a bracket, or one left unpaired).
pub(super) fn pairs(toks: &[(Tok, Span)]) -> Vec<usize> {
    let mut pair = vec![usize::MAX; toks.len()];
    let mut open: Vec<usize> = Vec::new();
    for (k, (t, _)) in toks.iter().enumerate() {
        match t {
            Tok::Sym("(" | "[" | "{") => open.push(k),
            Tok::Sym(c @ (")" | "]" | "}")) => {
                let want = match *c {
                    ")" => "(",
                    "]" => "[",
                    _ => "{",
                };
                if let Some(&o) = open.last()
                    && old_sym(&toks[o].0) == Some(want)
                {
                    open.pop();
                    pair[o] = k;
                    pair[k] = o;
                }
            }
            _ => {}
        }
    }
    pair
}

pub(super) fn old_sym(t: &Tok) -> Option<&'static str> {
    match t {
        Tok::Sym(s) => Some(s),
        _ => None,
    }
}

/// The symbols a rule of [`Rewriter::habit`] or [`Rewriter::more_habit`]
/// can start at (bits by index in the lexer's symbol table). Every rule
/// starts at one of these, a name, a number or one of the keywords in
/// [`may_start_habit`], so any other token is turned away after one look-up
/// instead of being compared with each rule's pattern in turn (a quarter of
/// lexing a file of `(`, counted by callgrind).
pub(super) const HABIT_SYMBOLS: u64 = {
    let syms = [
        "<", "==", "!=", "*", ">>", "{", "+", "-", ",", ")", "}", ";", "..", "[", "&", "->", ":",
        // The first of two binary operators in a row (`x +* 2`).
        "/", "%", "<<", "<=", ">", ">=", "&&", "||", "|", "^",
        // A default value (`y: u32 = 1` in a parameter list).
        "=",
    ];
    let mut set = 0u64;
    let mut k = 0;
    while k < syms.len() {
        set |= 1 << index_of(syms[k]);
        k += 1;
    }
    set
};

/// Whether a habit may start at `t`, followed by `next` (false only where
/// no rule can). A name starts one only as one of a few words or before a
/// token some rule looks for after a name, a number only before `.`.
pub(super) fn may_start_habit(t: &Tok, next: Option<&Tok>) -> bool {
    match t {
        Tok::Sym(s) => symbol_index(s).is_none_or(|i| HABIT_SYMBOLS >> i & 1 != 0),
        Tok::Kw(k) => matches!(
            *k,
            "let"
                | "var"
                | "fn"
                | "while"
                | "if"
                | "export"
                | "mut"
                | "in"
                | "use"
                | "const"
                | "static"
                | "struct"
                | "for"
        ),
        Tok::Str(_) => false,
        Tok::Ident(w) => {
            matches!(
                &**w,
                "not"
                    | "elif"
                    | "elsif"
                    | "elseif"
                    | "step"
                    | "by"
                    | "unsafe"
                    | "self"
                    | "end"
                    | "try"
                    | "catch"
            ) || super::words::starts_word_habit(w, next)
                || matches!(
                    next,
                    Some(Tok::Ident(_) | Tok::Sym(":" | "+" | "-" | "::" | "!" | "<" | "*"))
                )
                || (matches!(next, Some(Tok::Sym("["))) && is_type_name(w))
        }
        Tok::Int(_) | Tok::BadInt => matches!(next, Some(Tok::Sym("."))),
    }
}

/// A built-in type's name as KPL spells it.
pub(super) fn is_kpl_type(name: &str) -> bool {
    INT_TYPES.contains(&name) || name == "bool"
}

/// A built-in type's name, or a C or Rust one that means one (C's array
/// declarator `u8[16]` starts at one).
pub(super) fn is_type_name(name: &str) -> bool {
    is_kpl_type(name) || crate::suggest::foreign_type(name).is_some()
}

/// Whether a token ends an operand (so a binary operator may follow).
pub(super) fn ends_operand(t: Option<&(Tok, Span)>) -> bool {
    matches!(
        t,
        Some((
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Str(_)
                | Tok::BadInt
                | Tok::Kw("true" | "false")
                | Tok::Sym(")" | "]"),
            _
        ))
    )
}

/// Whether a statement may start after this token.
pub(super) fn starts_statement(t: Option<&(Tok, Span)>) -> bool {
    matches!(t, None | Some((Tok::Sym(";" | "{" | "}"), _)))
}

/// Whether `t` is a keyword only a statement starts with (what follows a
/// `{` of a block, never of a struct literal).
pub(super) fn is_statement_keyword(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Kw("let" | "var" | "if" | "while" | "for" | "return" | "break" | "continue" | "abort")
    )
}

/// Whether a token starts an operand that no name can be followed by in
/// KPL (so `not x` and `elif x` are never a call `not(x)` or a use of a
/// variable named `not`).
pub(super) fn starts_operand(t: Option<&(Tok, Span)>) -> bool {
    matches!(
        t,
        Some((
            Tok::Ident(_) | Tok::Int(_) | Tok::Kw("true" | "false") | Tok::Sym("!"),
            _
        ))
    )
}

/// Whether a C or Rust habit may mean `n` as a type: a KPL primitive, a
/// C or Rust type name, or a struct-like capitalised name.
pub(super) fn names_a_type(n: &str) -> bool {
    is_type_name(n) || n.starts_with(|c: char| c.is_ascii_uppercase())
}

pub(super) const INT_TYPES: [&str; 8] = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

/// The value of Rust's `T::MAX`, `T::MIN` or `T::BITS` for a KPL integer
/// type, as KPL source text.
pub(super) fn associated_constant(ty: &str, name: &str) -> Option<String> {
    let bits: u32 = ty[1..].parse().ok()?;
    let signed = ty.starts_with('i');
    let hex = |digits: &str| {
        let groups: Vec<&str> = digits
            .as_bytes()
            .rchunks(4)
            .rev()
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!("0x{}", groups.join("_"))
    };
    let f = "F".repeat(bits as usize / 4);
    Some(match (name, signed) {
        ("MAX", false) => hex(&f),
        ("MAX", true) => hex(&format!("7{}", &f[1..])),
        ("MIN", false) => "0".to_string(),
        ("MIN", true) => format!("-{}", 1u128 << (bits - 1)),
        ("BITS", _) => bits.to_string(),
        _ => return None,
    })
}
