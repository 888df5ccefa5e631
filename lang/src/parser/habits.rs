//! Turning parse failures into the diagnostics a newcomer can act on: the
//! habits from C and Rust the grammar recognises (each tagged by the
//! grammar, see the tag constants in `parser.rs`) get their KPL spelling and
//! a fix; a tail expression is read as the `return` it means; and a `{` left
//! open is blamed where its `}` belongs rather than at the end of the file.

use super::*;
use crate::diag::{Applicability, Suggestion};
use std::collections::HashMap;

/// Misspelled keywords, tagged `typo:` + the keyword (`fn`'s is
/// [`FN_TYPO`]).
const TYPO_TAGS: [&str; 12] = [
    "typo:const",
    "typo:static",
    "typo:struct",
    "typo:use",
    "typo:export",
    "typo:in",
    "typo:let",
    "typo:var",
    "typo:if",
    "typo:while",
    "typo:for",
    "typo:return",
];

pub(super) fn typo_tag(keyword: &str) -> &'static str {
    TYPO_TAGS
        .iter()
        .find(|t| t.strip_prefix("typo:") == Some(keyword))
        .copied()
        .unwrap_or(FN_TYPO)
}

pub(super) use crate::suggest::is_typo_of;

/// Whether `kind`, read where a body's `{` is missing (`if c return 1;`),
/// is a whole statement that braces would make a body: a jump, an
/// assignment or a call, cleanly ended by its `;`, with no brace inside.
/// Anything else (`if a 0 != {`, a swapped operator) means the condition
/// ended early, and wrapping the rest in braces would be a wrong fix.
pub(super) fn braceless_body_is_whole(kind: &StmtKind, text: &str) -> bool {
    let clean = |e: &Expr| !matches!(e.kind, ExprKind::Error);
    let statement = match kind {
        StmtKind::Break | StmtKind::Continue | StmtKind::Abort => true,
        StmtKind::Return(value) => value.as_ref().is_none_or(clean),
        StmtKind::Assign { value, .. } => clean(value),
        StmtKind::Expr(e) => matches!(e.kind, ExprKind::Call(..)),
        _ => false,
    };
    statement && text.ends_with(';') && !text.contains(['{', '}'])
}

/// The fix of C's declaration `T name =`: `let name: T =` with C's type
/// names in KPL's spelling; C++'s `auto` is what KPL infers, `let name =`.
pub(super) fn c_decl_fix(written: &str, name: &str) -> String {
    if written == "auto" {
        return format!("let {name} =");
    }
    let kpl = crate::suggest::foreign_type(written).map_or(written, |(kpl, _)| kpl);
    format!("let {name}: {kpl} =")
}

/// The diagnostic for a habit from C or Rust (see the tags), with its fix.
pub(super) fn habit(tag: &str, fix: Option<&str>, span: Span, src: &str) -> Option<Diagnostic> {
    let found = src.get(span.range()).unwrap_or_default();
    let e = |message: &str, label: &str| {
        Diagnostic::new(Code::E0001, message.to_string(), span, label.to_string())
    };
    let fixed = |d: Diagnostic, help: &str| match fix {
        Some(fix) => d.with_fix(format!("write `{fix}`"), span, fix.to_string()),
        None => d.with_help(help.to_string()),
    };
    // A body on the header's line is C's `if (c) return 1;`. On a line of
    // its own it may be that too, or the first statement of a block whose
    // `{` was lost (the braces would then close it too early): a guess.
    let braceless = |d: Diagnostic| {
        let before = src.get(..span.start as usize).unwrap_or_default();
        let own_line = before.trim_end_matches([' ', '\t']).ends_with(['\n', '\r']);
        match fix {
            Some(fix) if own_line => {
                d.with_maybe_fix(format!("write `{fix}`"), span, fix.to_string())
            }
            _ => fixed(d, "put the statement in `{ }`"),
        }
    };
    // Removing a token also removes the blanks after it.
    let with_blanks = || {
        let rest = src.get(span.end as usize..).unwrap_or_default();
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        Span::new(span.start as usize, span.end as usize + blanks)
    };
    Some(match tag {
        LET_MUT => e("KPL writes `let mut` as `var`", "Rust's `let mut`")
            .with_note("`let` bindings never change; a `var` can be assigned")
            .with_fix("declare a variable with `var`", span, "var"),
        ASSIGN_IN_COND => e(
            "`=` assigns; compare with `==`",
            "assignment is not an expression in KPL",
        )
        .with_fix("to compare, write `==`", span, "=="),
        BRACELESS => braceless(e(
            "the body of `if` and `else` needs braces",
            "not in `{ }`",
        )),
        BRACELESS_LOOP => braceless(e("the body of a loop needs braces", "not in `{ }`")),
        NO_BODY => e(
            "expected `{` after the condition",
            "the condition ends before this",
        )
        .with_help("check the condition for a missing or misplaced operator or bracket"),
        RUST_STRUCT_LIT => fixed(
            e(
                "struct literal fields are written `.name = value`",
                "Rust's `name: value`",
            ),
            "write each field as `.name = value`",
        ),
        CALL_CAST => fixed(
            e(
                "a type cannot be called; KPL converts with `as`",
                "a conversion written as a call",
            ),
            "write `value as TYPE`",
        ),
        LEN_CALL => e("`.len` is not a method", "no `()` after `.len`").with_fix(
            "the length of an array or slice is `.len`, without `()`",
            span,
            "",
        ),
        ADDR_OF => e("KPL has no pointers or references", "`&` takes no address in KPL")
            .with_note(
                "scalars are passed by value; a slice (`[]u8`, `[]mut u8`) already refers to the array it views",
            )
            .with_fix("remove the `&`", with_blanks(), ""),
        DEREF => e("KPL has no pointers to dereference", "`*` before a value")
            .with_note("a slice is indexed (`s[i]`), a struct's fields are read with `.`")
            .with_fix("remove the `*`", with_blanks(), ""),
        RUST_SLICE => fixed(
            e("slice types are written `[]T` in KPL", "Rust's slice type"),
            "write `[]T` or `[]mut T`",
        ),
        C_FOR => fixed(
            e(
                "KPL's `for` loops over a range: `for i in a..b`",
                "a C-style loop header",
            ),
            "write `for i in a..b { … }`, or a `while` loop",
        ),
        STRUCT_SEMI => e("struct fields are separated by `,`", "expected `,`")
            .with_fix_edits(
                "separate the fields with `,`",
                Applicability::MachineApplicable,
                field_semicolons(src, span.start),
            )
            .with_note("every `;` between this struct's fields must be `,`"),
        C_DECL => fixed(
            e(
                "a local is declared with `let` or `var`, its type after the name",
                "C's declaration syntax",
            ),
            "write `let name: type = value;`",
        ),
        PUB_FN => e(
            "KPL has no `pub`: a function the host can call is `export`",
            "Rust's `pub`",
        )
        .with_fix("write `export`", span, "export"),
        UNTYPED_GLOBAL => e(
            "a `const` or `static` needs a type",
            "expected `: TYPE` before the `=`",
        )
        .with_help("write the type after the name, e.g. `const N: u32 = 4;`"),
        STATIC_MUT => e("KPL has no `mut` here", "Rust's `static mut`")
            .with_note("a `static` can always be assigned; a `const` never can")
            .with_fix("remove the `mut`", with_blanks(), ""),
        LET_NO_INIT => {
            let d = e("a local needs an initial value", "expected `= VALUE`")
                .with_note("KPL has no uninitialised variables");
            match declared_zero(src, span.start) {
                // A zero of the written type: a value, not the value meant.
                // A `let` becomes a `var`: Rust's `let y: u32;` is assigned
                // later (the parser reads it as a `var` for that reason).
                Some((decl, zero, kw_at)) => {
                    let mut edits = Vec::new();
                    let mut shown = decl.to_string();
                    for kw in ["let mut ", "let "] {
                        if let Some(rest) = decl.strip_prefix(kw) {
                            edits.push(Suggestion {
                                span: Span::new(kw_at, kw_at + kw.len() - 1),
                                replacement: "var".into(),
                            });
                            shown = format!("var {rest}");
                            break;
                        }
                    }
                    edits.push(Suggestion {
                        span: Span::new(span.start as usize, span.start as usize),
                        replacement: format!(" = {zero}").into(),
                    });
                    d.with_fix_edits(
                        format!("give it a value, e.g. `{shown} = {zero};`"),
                        Applicability::MaybeIncorrect,
                        edits,
                    )
                }
                None => d.with_help("give it a value, e.g. `var total: u32 = 0;`"),
            }
        }
        SWITCH_KW => e(&format!("KPL has no `{found}`"), "not a KPL statement")
            .with_note("KPL branches with `if`, `else if` and `else`")
            .with_help(
                "write one `if value == CASE { … }` per case, chained with `else if`, and `else` for the default",
            ),
        C_CAST => fixed(
            e("KPL converts with `as`, after the value", "C's cast syntax"),
            "write `value as TYPE`",
        ),
        WORD_OP => fixed(
            e(
                &format!("KPL writes `{found}` as `{}`", fix.unwrap_or_default()),
                "not an operator in KPL",
            ),
            "write `&&` or `||`",
        ),
        ARROW_FIELD => fixed(e("KPL reads a field with `.`", "C's `->`"), "write `.`")
            .with_note("KPL has no pointers: a struct is a value"),
        PARAM_NO_COLON => fixed(
            e(
                "a parameter is written `name: type`",
                "Go's order, without the `:`",
            ),
            "write",
        ),
        PARAM_NO_TYPE => e(
            &format!("the parameter `{found}` needs a type"),
            "expected `: TYPE` after the name",
        )
        .with_note("KPL infers no parameter types: every parameter is written `name: type`")
        .with_help(format!("write its type, e.g. `{found}: u32`")),
        COLON_RET => e(
            "a function's return type follows `->`",
            "expected `->` before the return type",
        )
        .with_fix("write `->`", span, " ->"),
        C_GLOBAL => fixed(
            e(
                "a `const` or `static` gives its type after the name",
                "C's declaration syntax",
            ),
            "write `const NAME: TYPE = value;`",
        ),
        C_FN => {
            let d = fixed(
                e(
                    "a function is declared `fn name(param: type) -> type`",
                    "C's declaration syntax",
                ),
                "write `fn name(x: u32) -> u32`",
            );
            if src
                .get(span.start as usize..)
                .is_some_and(|rest| rest.starts_with("export"))
            {
                d
            } else {
                d.with_note("add `export` before `fn` if the host should call it")
            }
        }
        LOOP_KW => e("KPL has no `loop`", "Rust's `loop`")
            .with_fix("an endless loop is `while true`", span, "while true"),
        _ => crate::suggest::keyword_typo(found, tag.strip_prefix("typo:")?, span),
    })
}

/// C's `do { … } while (c);` (at `whole`): the diagnostic, with the fix
/// that writes it `while true { …  if !(c) { break; } }`. The fix is
/// machine-applicable unless the body has a `continue` of this loop: C's
/// `continue` goes to the test, KPL's would skip it.
pub(super) fn do_while(
    src: &str,
    do_at: Span,
    body: &Block,
    while_at: Span,
    cond: &Expr,
    whole: Span,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::E0001,
        "KPL has no `do … while`",
        do_at,
        "C's `do`, whose body runs before the test",
    )
    .with_secondary(
        Span::new(while_at.start as usize, whole.end as usize),
        "the test after the body",
    )
    .with_note("KPL's `while` tests before each pass; a loop that runs at least once is `while true` with the test and a `break` at the end of its body");
    let close = body.span.end.saturating_sub(1);
    if src.as_bytes().get(close as usize) != Some(&b'}') {
        return d.with_help("write `while true { …  if !(c) { break; } }`");
    }
    let c = src.get(cond.span.range()).unwrap_or_default();
    let test = if matches!(cond.kind, ExprKind::Paren(_)) {
        format!("!{c}")
    } else {
        format!("!({c})")
    };
    // On its own lines, indented one step deeper than the `}`, when the `}`
    // starts its line; else on the line of the `}`.
    let (at, replacement) = if let Some(indent) = leading_blanks(src, close) {
        let pad = &src[close as usize - indent..close as usize];
        let at = close as usize - indent;
        let text = format!("{pad}    if {test} {{\n{pad}        break;\n{pad}    }}\n{pad}}}");
        (at, text)
    } else {
        (close as usize, format!("if {test} {{ break; }} }}"))
    };
    let edits = vec![
        Suggestion {
            span: do_at,
            replacement: "while true".into(),
        },
        Suggestion {
            span: Span::new(at, whole.end as usize),
            replacement: replacement.into(),
        },
    ];
    let continues = continues_loop(body);
    let applicability = if continues {
        Applicability::MaybeIncorrect
    } else {
        Applicability::MachineApplicable
    };
    let d = d.with_fix_edits(
        "test at the end of a `while true` loop",
        applicability,
        edits,
    );
    if continues {
        d.with_note("a `continue` in the body would now skip the test: check each one")
    } else {
        d
    }
}

/// The loop C's `do { … } while (c);` means: `while true { …; if !(c) {
/// break; } }`, the test placed where C makes it.
pub(super) fn do_while_loop(
    do_at: Span,
    mut body: Block,
    while_at: Span,
    cond: Expr,
    whole: Span,
) -> StmtKind {
    let test_span = Span::new(while_at.start as usize, whole.end as usize);
    let not = Expr {
        id: ExprId(0),
        span: cond.span,
        kind: ExprKind::Unary(UnOp::Not, Box::new(cond)),
    };
    let exit = Stmt {
        kind: StmtKind::Break,
        span: while_at,
    };
    body.stmts.push(Stmt {
        kind: StmtKind::If {
            cond: not,
            then: Block {
                stmts: vec![exit],
                span: while_at,
            },
            els: None,
        },
        span: test_span,
    });
    StmtKind::While {
        cond: Expr {
            id: ExprId(0),
            kind: ExprKind::Bool(true),
            span: do_at,
        },
        body,
    }
}

/// Whether a `continue` in `body` continues the loop `body` belongs to
/// (not one nested inside it). Iterative: the tree is not yet depth-checked.
fn continues_loop(body: &Block) -> bool {
    let mut todo: Vec<&Stmt> = body.stmts.iter().collect();
    while let Some(s) = todo.pop() {
        match &s.kind {
            StmtKind::Continue => return true,
            StmtKind::If { then, els, .. } => {
                todo.extend(&then.stmts);
                todo.extend(els.as_deref());
            }
            StmtKind::Block(b) => todo.extend(&b.stmts),
            _ => {}
        }
    }
    false
}

/// A type named the C or Rust way (`uint32_t`, `int`, `usize`), under its
/// KPL name; any other name as it is.
/// Whether a C or Rust habit may have meant `n` as a type: a KPL primitive
/// or a name [`crate::suggest::foreign_type`] knows.
pub(super) fn names_a_type(n: &str) -> bool {
    PRIMITIVES.contains(&n) || crate::suggest::foreign_type(n).is_some()
}

/// The name a habit's fix writes for a type [`c_type`] made.
pub(super) fn type_name(t: &Type) -> &str {
    match &t.kind {
        TypeKind::Named(n) => n,
        _ => "",
    }
}

pub(super) fn c_type(i: Ident) -> Type {
    let kpl = crate::suggest::foreign_type(&i.name).map_or(i.name.as_str(), |(kpl, _)| kpl);
    Type {
        kind: TypeKind::Named(kpl.to_string()),
        span: i.span,
    }
}

/// What C's function head `[export] R name(T x, …)` parses to: the
/// `export`, the return type, the name and the parameters.
pub(super) type CFnHead = (((Option<Span>, Type), Ident), Vec<Param>);

/// The KPL spelling of a C function's head, `fn name(x: T, …) -> R`, for
/// the C-function habit's fix.
pub(super) fn c_function_fix(sig: &FnSig) -> String {
    let params: Vec<String> = sig
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name.name, type_name(&p.ty)))
        .collect();
    let arrow = sig
        .ret
        .as_ref()
        .map_or(String::new(), |t| format!(" -> {}", type_name(t)));
    format!("fn {}({}){arrow}", sig.name.name, params.join(", "))
}

/// Rust's tail expression: a function with a return type whose last
/// statement is an expression that only lacks its `;` returns nothing in
/// KPL. The missing `;` is reported as that, and the statement is read as
/// the `return` it means (so no E0400 follows).
pub(super) fn tail_expressions(file: &mut File, diagnostics: &mut [Diagnostic], src: &str) {
    for item in &mut file.items {
        let ItemKind::Fn(f) = &mut item.kind else {
            continue;
        };
        if f.sig.ret.is_none() {
            continue;
        }
        // After a `return`, the value was never reached: more likely a
        // statement out of place (`return; x`) than a value to return.
        let after_return = f
            .body
            .stmts
            .iter()
            .rev()
            .nth(1)
            .is_some_and(|s| matches!(s.kind, StmtKind::Return(_)));
        let Some(last) = f.body.stmts.last_mut() else {
            continue;
        };
        let StmtKind::Expr(e) = &last.kind else {
            continue;
        };
        let end = Span::new(e.span.end as usize, e.span.end as usize);
        let Some(d) = diagnostics.iter_mut().find(|d| {
            d.code == Code::E0001 && d.message == "expected `;`" && d.primary.span == end
        }) else {
            continue;
        };
        let value = src.get(e.span.range()).unwrap_or_default();
        let fix = format!("return {value};");
        let d_new = Diagnostic::new(
            Code::E0001,
            "KPL has no tail expressions",
            e.span,
            "this value is not returned",
        )
        .with_note("a function returns its value with `return`");
        *d = d_new.with_fix_unless_guess(after_return, format!("write `{fix}`"), e.span, fix);
        let StmtKind::Expr(e) = std::mem::replace(&mut last.kind, StmtKind::Error) else {
            unreachable!("matched above");
        };
        last.kind = StmtKind::Return(Some(e));
    }
}

/// `var NAME: TYPE` written just before `at` (where its `= VALUE` is
/// missing), and a zero of that type: `0`, `false`, or an array of them
/// (`[0; 4]`, at most four levels). `None` for any other type, or when the
/// keyword is not among the [`DECL_LOOKBACK`] bytes before `at` (a bound,
/// so that a line of many such statements is not scanned once for each).
fn declared_zero(src: &str, at: u32) -> Option<(&str, String, usize)> {
    let at = at as usize;
    let mut from = at.saturating_sub(DECL_LOOKBACK);
    while !src.is_char_boundary(from) {
        from += 1;
    }
    let window = src.get(from..at)?;
    let start = ["let ", "var "]
        .iter()
        .filter_map(|k| window.rfind(k))
        .filter(|&k| k == 0 || !window.as_bytes()[k - 1].is_ascii_alphanumeric())
        .max()?;
    let decl = window[start..].trim();
    let rest = ["let mut ", "let ", "var "]
        .iter()
        .find_map(|k| decl.strip_prefix(k))?;
    let (_, mut ty) = rest.split_once(':')?;
    let mut lengths = Vec::new();
    loop {
        ty = ty.trim();
        let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            break;
        };
        let (elem, n) = inner.rsplit_once(';')?;
        if lengths.len() == 4 {
            return None;
        }
        lengths.push(n.trim());
        ty = elem;
    }
    let mut zero = match ty {
        "bool" => "false".to_string(),
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" => "0".to_string(),
        _ => return None,
    };
    for n in lengths.iter().rev() {
        zero = format!("[{zero}; {n}]");
    }
    // Where the keyword is in `src` (`decl` is trimmed of nothing before
    // it: `start` is the keyword's own position).
    Some((decl, zero, from + start))
}

/// How far before a missing `= VALUE` [`declared_zero`] looks for its
/// declaration.
const DECL_LOOKBACK: usize = 256;

/// The blanks before `at` on its line, if only blanks precede it there:
/// walked back a blank at a time, never further than the blanks, so that
/// asking of every `}` (or every `do … while`) of a long line costs no more
/// than the line. Searched back to the line's start instead, a line of a
/// hundred thousand blocks with one left open was quadratic (2 s a MiB).
fn leading_blanks(src: &str, at: u32) -> Option<usize> {
    let bytes = src.as_bytes();
    let at = (at as usize).min(src.len());
    let mut k = at;
    while k > 0 && matches!(bytes[k - 1], b' ' | b'\t') {
        k -= 1;
    }
    (k == 0 || bytes[k - 1] == b'\n').then_some(at - k)
}

/// The indentation of the lines holding many offsets (the `{` of each `}`
/// a line starts with, which may all be on one long line): each line's
/// start found in an index of the line feeds, and each line's blanks
/// counted once.
struct Indents<'s> {
    src: &'s str,
    feeds: Vec<usize>,
    blanks: HashMap<usize, usize>,
}

impl<'s> Indents<'s> {
    fn new(src: &'s str) -> Self {
        let feeds = src
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Indents {
            src,
            feeds,
            blanks: HashMap::new(),
        }
    }

    /// Where the line holding `at` starts.
    fn line_start(&self, at: usize) -> usize {
        match self.feeds.partition_point(|&f| f < at) {
            0 => 0,
            k => self.feeds[k - 1] + 1,
        }
    }

    /// The indentation of the line holding `at`, in blanks before `at`.
    fn of(&mut self, at: u32) -> usize {
        let src = self.src;
        let at = (at as usize).min(src.len());
        let start = self.line_start(at);
        let blanks = *self.blanks.entry(start).or_insert_with(|| {
            src.as_bytes()[start..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count()
        });
        blanks.min(at - start)
    }
}

/// A `{` left open is reported at the end of the file (or of its item),
/// where the balancing closed it; its real `}` is usually missing much
/// earlier, and the `}` meant for an outer block was taken for it. Find the
/// innermost `{` whose `}` is not at its indentation, and point at it and at
/// the line where its `}` belongs. Returns where that line's first token
/// is an `else`: the parser's complaint about that `else` (no `if` left
/// open before it) is the same missing `}`, one mistake, so the caller
/// drops it.
pub(super) fn blame_unclosed_brace(
    diagnostics: &mut [Diagnostic],
    src: &str,
    tokens: &[(Tok, Span)],
) -> Vec<u32> {
    let mut cascades = Vec::new();
    let mut cursor = 0usize;
    // Built at the first `{` that needs it: most files have none.
    let mut indents: Option<Indents> = None;
    for d in diagnostics.iter_mut() {
        if d.message != "unclosed `{`" {
            continue;
        }
        let Some(opener) = d.secondary.first().map(|l| l.span) else {
            continue;
        };
        let from = tokens
            .partition_point(|(_, s)| s.start < opener.start)
            .max(cursor);
        let mut stack: Vec<Span> = Vec::new();
        let mut suspect = None;
        let mut i = from;
        while let Some((t, s)) = tokens.get(i) {
            if s.start >= d.primary.span.start {
                break;
            }
            match t {
                Tok::Sym("{") => stack.push(*s),
                Tok::Sym("}") => {
                    if let Some(open) = stack.pop()
                        && suspect.is_none()
                        && let Some(close_indent) = leading_blanks(src, s.start)
                        && close_indent
                            != indents
                                .get_or_insert_with(|| Indents::new(src))
                                .of(open.start)
                    {
                        suspect = Some(open);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        cursor = i;
        let Some(open) = suspect else {
            continue;
        };
        // Where its `}` belongs: before the first later line that is not
        // indented deeper than the line of the `{`.
        let indents = indents.get_or_insert_with(|| Indents::new(src));
        let want = indents.of(open.start);
        let after_open = tokens.partition_point(|(_, s)| s.start <= open.start);
        let mut prev_line_end = None;
        for (t, s) in &tokens[after_open..] {
            if let Some(indent) = leading_blanks(src, s.start)
                && indent <= want
            {
                let line_start = s.start as usize - indent;
                prev_line_end = Some(line_start);
                if *t == Tok::Kw("else") {
                    cascades.push(s.start);
                }
                break;
            }
        }
        let outer = d.secondary.remove(0);
        d.secondary.insert(
            0,
            Label {
                span: open,
                message: "this `{` is never closed".into(),
            },
        );
        if outer.span != open {
            d.secondary.insert(
                1,
                Label {
                    span: outer.span,
                    message: "this `{` is closed by the last `}`".into(),
                },
            );
        }
        if let Some(at) = prev_line_end {
            let fix_at = Span::new(at, at);
            let open_line = indents.line_start(open.start as usize);
            let closer = format!("{}}}\n", &src[open_line..open_line + want]);
            d.help.clear();
            // Named by its text, not its number: a file may be parsed in
            // chunks (the incremental database), where numbers would differ.
            let line = src[at..].lines().next().unwrap_or_default().trim();
            let line: String = line.chars().take(40).collect();
            d.help.push(crate::diag::Help {
                message: format!(
                    "close it before `{line}`, where the indentation says its block ends"
                )
                .into(),
                // Where a block ends is the indentation's guess.
                edits: vec![crate::diag::Suggestion {
                    span: fix_at,
                    replacement: closer.into(),
                }],
                applicability: crate::diag::Applicability::MaybeIncorrect,
                missing_use: None,
            });
        }
    }
    cascades
}

/// Every `;` that separates fields of the struct whose first such `;` is at
/// `from`, up to the struct's `}`, each made a `,`: the parser reports the
/// first one only. A `;` inside brackets (an array type's length) or in a
/// comment is not a separator.
fn field_semicolons(src: &str, from: u32) -> Vec<Suggestion> {
    let mut edits = Vec::new();
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = from as usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            b'}' | b'{' if depth == 0 => break,
            b';' if depth == 0 => edits.push(Suggestion {
                span: Span::new(i, i + 1),
                replacement: ",".into(),
            }),
            _ => {}
        }
        i += 1;
    }
    edits
}

/// A struct's `;` separators are one mistake: of the errors (in source
/// order) each struct's first `;` is kept, the others dropped.
pub(super) fn first_struct_semi_each(
    errors: Vec<SyntaxError>,
    tokens: &[(Tok, Span)],
) -> Vec<SyntaxError> {
    let struct_kws: Vec<u32> = tokens
        .iter()
        .filter(|(t, _)| *t == Tok::Kw("struct"))
        .map(|(_, s)| s.start)
        .collect();
    let mut last_semi: Option<u32> = None;
    errors
        .into_iter()
        .filter(|e| {
            let is_semi = e.custom.as_ref().is_some_and(|c| c.tag == STRUCT_SEMI);
            if !is_semi {
                return true;
            }
            let at = e.span.start as u32;
            let same_struct = last_semi.is_some_and(|prev| {
                let k = struct_kws.partition_point(|&s| s <= prev);
                struct_kws.get(k).is_none_or(|&s| s > at)
            });
            last_semi = Some(at);
            !same_struct
        })
        .collect()
}

/// Keyword `k`, or an identifier that is probably `k` misspelled (reported,
/// then parsed as `k`). Only used where the keyword is followed by something
/// an identifier cannot be followed by, so a real name is never taken.
pub(super) fn kw_or_typo<'t, I, Er: ParseError<'t, I>>(
    k: &'static str,
) -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    kw(k)
        .ignored()
        .or(select! { Tok::Ident(name) if is_typo_of(&name, k) => () }
            .validate(move |(), e, emitter| emitter.emit(Er::tagged(e.span(), typo_tag(k)))))
}

/// An expression where a comparison is expected (a condition, or inside
/// parentheses), optionally followed by `= rhs`: assignment is never an
/// expression in KPL, so that is C's `if (x = 1)`, reported and read as
/// `lhs == rhs`.
pub(super) fn assign_as_comparison<'t, I, Er, P>(
    expr: P,
) -> impl Parser<'t, I, Expr, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, Expr, Extra<Er>> + Clone,
{
    expr.clone()
        .then(sym("=").map_with(|_, e| e.span()).then(expr).or_not())
        .validate(|(lhs, assign), _, emitter| match assign {
            None => lhs,
            Some((at, rhs)) => {
                emitter.emit(Er::tagged(at, ASSIGN_IN_COND));
                let span = lhs.span.to(rhs.span);
                Expr {
                    id: ExprId(0),
                    kind: ExprKind::Binary {
                        op: BinOp::Eq,
                        op_span: Span::from(at),
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                    span,
                }
            }
        })
}
