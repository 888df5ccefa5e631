//! The tags of the parser's custom errors, one per mistake it reads (C's and
//! Rust's habits among them), which `habits` turns into diagnostics, and the
//! tokens that may follow an operand, which its expected-token lists name.

pub(crate) const MISSING_SEMI: &str = "missing-semicolon";
pub(crate) const CHAINED_CMP: &str = "chained-comparison";
// Habits from C and Rust: the grammar accepts the foreign form, builds the
// tree the user meant (so names stay declared and nothing cascades) and
// reports one error with the KPL spelling.
pub(crate) const LET_MUT: &str = "let-mut";
pub(crate) const ASSIGN_IN_COND: &str = "assign-in-condition";
pub(crate) const BRACELESS: &str = "braceless-body";
pub(crate) const BRACELESS_LOOP: &str = "braceless-loop-body";
/// Where a body's `{` is missing and what follows is not a whole statement
/// (`if a 0 != {`): the condition ends too early, no braces would help.
pub(crate) const NO_BODY: &str = "no-body-after-condition";
pub(crate) const RUST_STRUCT_LIT: &str = "rust-struct-literal";
pub(crate) const CALL_CAST: &str = "call-cast";
pub(crate) const LEN_CALL: &str = "len-call";
pub(crate) const ADDR_OF: &str = "address-of";
pub(crate) const DEREF: &str = "dereference";
pub(crate) const RUST_SLICE: &str = "rust-slice-type";
pub(crate) const C_FOR: &str = "c-for";
pub(crate) const STRUCT_SEMI: &str = "struct-field-semicolon";
pub(crate) const C_DECL: &str = "c-declaration";
pub(crate) const PUB_FN: &str = "pub-fn";
pub(crate) const FN_TYPO: &str = "typo:fn";
pub(crate) const LOOP_KW: &str = "loop";
pub(crate) const UNTYPED_GLOBAL: &str = "untyped-global";
pub(crate) const STATIC_MUT: &str = "static-mut";
pub(crate) const LET_NO_INIT: &str = "let-without-value";
pub(crate) const SWITCH_KW: &str = "switch-or-match";
pub(crate) const C_CAST: &str = "c-cast";
pub(crate) const WORD_OP: &str = "word-operator";
pub(crate) const ARROW_FIELD: &str = "arrow-field";
pub(crate) const COLON_RET: &str = "colon-return-type";
pub(crate) const C_FN: &str = "c-function";
pub(crate) const C_GLOBAL: &str = "c-global";
pub(crate) const DO_WHILE: &str = "do-while";
pub(crate) const PARAM_NO_TYPE: &str = "parameter-without-type";
pub(crate) const PARAM_NO_COLON: &str = "parameter-without-colon";

/// Tokens that can follow a complete operand (binary and postfix operators).
pub(crate) const OPERATOR_TOKENS: [&str; 24] = [
    "!=", "%", "&&", "&", "(", "*", "+", "-", ".", "/", "<<", "<=", "<", "==", ">=", ">>", ">",
    "[", "^", "as", "{", "|", "||", "..",
];
