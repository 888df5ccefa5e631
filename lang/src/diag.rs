//! Diagnostics as data. Every stage reports problems as [`Diagnostic`] values;
//! rendering (terminal, JSON, LSP) happens at the edge, in `kplc`.

use std::borrow::Cow;

use crate::codes::Code;
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// The text of a message or an edit: borrowed when it is fixed (most are),
/// owned when it was formatted. A file dense with errors keeps hundreds of
/// thousands of diagnostics, and an allocation for each of their fixed
/// words was much of their memory and of the time to copy them.
pub type Text = Cow<'static, str>;

/// A message attached to a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: Text,
}

/// One edit: replace the text at `span` with `replacement` (an insertion
/// when the span is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub span: Span,
    pub replacement: Text,
}

/// How far a tool may trust a fix (the levels of rustc's `Applicability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Applicability {
    /// Applying the edits fixes the problem and the program then means what
    /// the user evidently meant: an editor may apply it without asking.
    #[default]
    MachineApplicable,
    /// The edits fix this diagnostic, but may not be what was meant (a
    /// conversion that can truncate, a guessed name): show, do not apply
    /// unasked.
    MaybeIncorrect,
    /// The replacement holds placeholders (`...`) the user must fill in.
    HasPlaceholders,
}

impl Applicability {
    /// The spelling used in `--message-format json` and the book.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::MachineApplicable => "machine-applicable",
            Applicability::MaybeIncorrect => "maybe-incorrect",
            Applicability::HasPlaceholders => "has-placeholders",
        }
    }
}

/// Advice for fixing the problem, optionally with a fix: edits that, applied
/// together, carry the advice out. The edits never overlap and are sorted by
/// position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Help {
    pub message: Text,
    /// Empty for advice in prose only.
    pub edits: Vec<Suggestion>,
    /// Meaningless when `edits` is empty.
    pub applicability: Applicability,
    /// A `use` declaration the fix also needs at the file's imports, not yet
    /// among `edits`: a body is checked apart from the rest of the file (in
    /// its own coordinates, in the editor), so its checker cannot place an
    /// edit there. [`crate::place_missing_uses`] adds it, on the file's
    /// final diagnostics; until then the fix is incomplete, so nothing may
    /// read a help with this set as a fix.
    pub missing_use: Option<Text>,
}

impl Help {
    /// The edit of a single-edit fix.
    pub fn suggestion(&self) -> Option<&Suggestion> {
        match self.edits.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether an editor may apply the fix without asking.
    pub fn is_machine_applicable(&self) -> bool {
        !self.edits.is_empty() && self.applicability == Applicability::MachineApplicable
    }

    /// Every span the help refers to, for passes that move spans.
    pub fn spans_mut(&mut self) -> impl Iterator<Item = &mut Span> {
        self.edits.iter_mut().map(|e| &mut e.span)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: Text,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub notes: Vec<Text>,
    pub help: Vec<Help>,
}

impl Diagnostic {
    /// A diagnostic whose severity comes from its code (`E…` errors, `W…` warnings).
    pub fn new(code: Code, message: impl Into<Text>, span: Span, label: impl Into<Text>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            message: message.into(),
            primary: Label {
                span,
                message: label.into(),
            },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<Text>) -> Self {
        push_exact(
            &mut self.secondary,
            Label {
                span,
                message: message.into(),
            },
        );
        self
    }

    pub fn with_note(mut self, note: impl Into<Text>) -> Self {
        push_exact(&mut self.notes, note.into());
        self
    }

    pub fn with_help(mut self, message: impl Into<Text>) -> Self {
        push_exact(
            &mut self.help,
            Help {
                message: message.into(),
                edits: Vec::new(),
                applicability: Applicability::MachineApplicable,
                missing_use: None,
            },
        );
        self
    }

    /// Help carrying one edit that fixes the problem when applied, and is
    /// what the user meant (machine-applicable).
    pub fn with_fix(
        self,
        message: impl Into<Text>,
        span: Span,
        replacement: impl Into<Text>,
    ) -> Self {
        self.with_fix_edits(
            message,
            Applicability::MachineApplicable,
            vec![Suggestion {
                span,
                replacement: replacement.into(),
            }],
        )
    }

    /// Help carrying one edit that fixes the diagnostic but may not be what
    /// was meant (e.g. a guessed name, a conversion that can truncate).
    pub fn with_maybe_fix(
        self,
        message: impl Into<Text>,
        span: Span,
        replacement: impl Into<Text>,
    ) -> Self {
        self.with_fix_edits(
            message,
            Applicability::MaybeIncorrect,
            vec![Suggestion {
                span,
                replacement: replacement.into(),
            }],
        )
    }

    /// [`Diagnostic::with_maybe_fix`] when the edit is a `guess`, else
    /// [`Diagnostic::with_fix`]: for a fix that is sure in most places a
    /// mistake occurs, and a guess in some.
    pub fn with_fix_unless_guess(
        self,
        guess: bool,
        message: impl Into<Text>,
        span: Span,
        replacement: impl Into<Text>,
    ) -> Self {
        if guess {
            self.with_maybe_fix(message, span, replacement)
        } else {
            self.with_fix(message, span, replacement)
        }
    }

    /// Help carrying a fix of any number of edits, applied together. The
    /// edits are sorted by position; overlapping edits are a bug of the
    /// caller and are dropped (the help stays, as prose).
    pub fn with_fix_edits(
        mut self,
        message: impl Into<Text>,
        applicability: Applicability,
        mut edits: Vec<Suggestion>,
    ) -> Self {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        let overlap = edits.windows(2).any(|w| {
            w[1].span.start < w[0].span.end
                || (w[1].span.start == w[0].span.start
                    && w[0].span.start == w[0].span.end
                    && w[1].span.start == w[1].span.end)
        });
        debug_assert!(!overlap, "overlapping edits in a fix: {edits:?}");
        if overlap {
            edits.clear();
        }
        push_exact(
            &mut self.help,
            Help {
                message: message.into(),
                edits,
                applicability,
                missing_use: None,
            },
        );
        self
    }

    /// Another place of the same mistake (a misspelt local or an unknown
    /// type used again): a secondary label "also used here" and, when the
    /// first help has edits, its first edit's replacement at `span` too,
    /// kept in source order, so one fix mends every use. A place already
    /// labelled is not added twice. Past 256 places, further ones are
    /// counted as the same mistake only, so a million uses cost a million
    /// constant steps. Returns whether `span` was added.
    pub(crate) fn also_used_here(&mut self, span: Span) -> bool {
        const MAX_PLACES: usize = 256;
        if self.secondary.len() >= MAX_PLACES
            || self.primary.span == span
            || self.secondary.iter().any(|l| l.span == span)
        {
            return false;
        }
        self.secondary.push(Label {
            span,
            message: "also used here".into(),
        });
        if let Some(h) = self.help.first_mut()
            && let Some(first) = h.edits.first()
            && first.span != span
        {
            let edit = Suggestion {
                span,
                replacement: first.replacement.clone(),
            };
            let at = h.edits.partition_point(|e| e.span.start < span.start);
            h.edits.insert(at, edit);
        }
        true
    }

    /// Help whose fix adds `use_decl` (e.g. `use kernel::log;`) at the
    /// file's imports, with `edits` in the body (e.g. removing `kernel::`
    /// from a call). The `use` is placed by [`crate::place_missing_uses`].
    pub fn with_use_fix(
        mut self,
        message: impl Into<Text>,
        use_decl: impl Into<Text>,
        mut edits: Vec<Suggestion>,
    ) -> Self {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        push_exact(
            &mut self.help,
            Help {
                message: message.into(),
                edits,
                applicability: Applicability::MachineApplicable,
                missing_use: Some(use_decl.into()),
            },
        );
        self
    }

    /// "`what` `name` is declared twice", pointing at both declarations.
    pub fn declared_twice(code: Code, what: &str, name: &str, again: Span, first: Span) -> Self {
        Diagnostic::new(
            code,
            format!("{what} `{name}` is declared twice"),
            again,
            "declared again here",
        )
        .with_secondary(first, "first declared here")
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Pushes with room for exactly one more element. A diagnostic has one or
/// two labels, notes or helps, and a flood of diagnostics keeps all of them:
/// `Vec::push`'s first growth to four elements made a help list 224 bytes
/// where one help is 56, and was most of a flood's memory. Past a few, the
/// list grows as usual: one element at a time, a diagnostic with a label
/// per call of a cycle of n functions reallocated n times (n² bytes).
fn push_exact<T>(list: &mut Vec<T>, item: T) {
    if list.len() < 4 {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// Orders diagnostics by position, then code, so every output is deterministic.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(order);
}

/// What [`sort`] orders by: the primary span, then the code.
pub fn order(d: &Diagnostic) -> (u32, u32, Code) {
    (d.primary.span.start, d.primary.span.end, d.code)
}
