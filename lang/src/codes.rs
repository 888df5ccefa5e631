//! The stable diagnostic codes. Each code's long explanation lives in
//! `book/src/errors/<CODE>.md`: the book renders it and `kplc explain` prints
//! the very same file, embedded here at build time.

use crate::diag::Severity;

macro_rules! codes {
    ($($code:ident => $title:literal,)*) => {
        /// A stable diagnostic code: `E…` for errors, `W…` for warnings.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($code,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code),)* }
            }

            /// One-line title, as in the error index.
            pub fn title(self) -> &'static str {
                match self { $(Code::$code => $title,)* }
            }

            /// The error-index entry (Markdown) for this code.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$code => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/../book/src/errors/", stringify!($code), ".md"
                    )),)*
                }
            }
        }
    };
}

codes! {
    E0001 => "syntax error",
    E0002 => "unterminated string literal or block comment",
    E0003 => "invalid character",
    E0004 => "malformed integer literal",
    E0005 => "invalid escape sequence",
    E0006 => "comparison operators cannot be chained",
    E0007 => "too many syntax errors in one item",
    E0008 => "too many errors in one file",
    E0100 => "unknown name",
    E0101 => "name defined twice",
    E0102 => "unknown type",
    E0103 => "unknown import",
    E0104 => "unknown import module",
    E0105 => "no such field",
    E0106 => "field given twice",
    E0107 => "missing fields in struct literal",
    E0108 => "not a function",
    E0109 => "expected a value",
    E0110 => "glob import",
    E0200 => "mismatched types",
    E0201 => "wrong number of arguments",
    E0202 => "integer literal out of range",
    E0203 => "operator cannot be applied to these types",
    E0204 => "invalid cast",
    E0205 => "type cannot be indexed",
    E0206 => "string literal outside an import argument",
    E0207 => "type not allowed here",
    E0208 => "constant index out of bounds",
    E0300 => "assignment to immutable binding",
    E0301 => "write through a read-only slice",
    E0302 => "invalid assignment target",
    E0303 => "atomic operation outside a static",
    E0304 => "atomic operation on a non-integer place",
    E0400 => "missing return",
    E0401 => "break or continue outside a loop",
    E0402 => "return value does not match the function",
    E0403 => "function without a value used as a value",
    E0500 => "recursion",
    E0501 => "not a constant expression",
    E0502 => "constant evaluation failed",
    E0503 => "invalid array length",
    E0504 => "definition depends on itself",
    E0505 => "stack limit exceeded",
    E0506 => "static data limit exceeded",
    E0507 => "too many parameters",
    E0508 => "nesting too deep",
    W0001 => "unused binding",
    W0002 => "unreachable code",
    W0003 => "unused item",
    W0004 => "unused import",
    W0005 => "expression value unused",
    W0006 => "variable never assigned",
    W0007 => "plugin exports no functions",
    W0008 => "shift amount exceeds bit width",
    W0009 => "comparison is always true or false",
    W0010 => "decimal literal with a leading zero",
    W0011 => "division by zero",
}

impl Code {
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('E') {
            Severity::Error
        } else {
            Severity::Warning
        }
    }

    /// Parses `E0200` / `e0200` / `W0001`.
    pub fn parse(text: &str) -> Option<Code> {
        let upper = text.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == upper)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
