//! Rust's macro calls (`println!(…)`, `vec![…]`, `assert!(…)`; see the
//! parent module for how habits are found, reported and rewritten): one
//! error each, with the KPL that the macro stands for where there is one,
//! and read as a call of the same name so that nothing else cascades.

use super::{Rewriter, Tok, e};

impl Rewriter<'_> {
    /// A Rust macro call at `i` (`name`, `!`, then a bracket).
    pub(super) fn macro_call(&mut self, i: usize, name: &str) -> usize {
        let bang = self.span(i + 1);
        let open = i + 2;
        let close = self.pair[open];
        let s = self.span(i);
        let head = s.to(bang);
        let d = e(
            format!("KPL has no macros: `{name}!` is Rust"),
            head,
            "a macro call",
        );
        let top_comma = |r: &Self| {
            (open + 1..close).any(|k| {
                r.is(k, ",") && {
                    // A comma at the call's own level, not inside a nested group.
                    let mut depth = 0i32;
                    for j in open + 1..k {
                        match r.tok(j) {
                            Some(Tok::Sym("(" | "[" | "{")) => depth += 1,
                            Some(Tok::Sym(")" | "]" | "}")) => depth -= 1,
                            _ => {}
                        }
                    }
                    depth == 0
                }
            })
        };
        match name {
            "assert" | "debug_assert" if close != usize::MAX && self.is(close + 1, ";") => {
                let semi = self.span(close + 1);
                if close - open > 256 || top_comma(self) {
                    self.diags.push(
                        d.with_help("check the condition yourself: `if !(condition) { abort; }`"),
                    );
                    self.push(Tok::Ident(name.into()), s);
                    return i + 2;
                }
                let cond = self.text(self.span(open).to(self.span(close))).to_string();
                let fix = format!("if !{cond} {{ abort; }}");
                let whole = s.to(semi);
                self.diags.push(
                    d.with_note(
                        "`abort;` stops the plugin, as a failed assertion stops a Rust program",
                    )
                    .with_fix(format!("write `{fix}`"), whole, fix),
                );
                self.push(Tok::Kw("if"), s);
                self.push(Tok::Sym("!"), bang);
                let at = semi.start_point();
                self.later.insert(
                    close + 1,
                    vec![
                        (Tok::Sym("{"), at),
                        (Tok::Kw("abort"), semi),
                        (Tok::Sym(";"), semi),
                        (Tok::Sym("}"), semi.end_point()),
                    ],
                );
                i + 2
            }
            "panic" | "unreachable" | "todo" | "unimplemented" if close != usize::MAX => {
                let whole = s.to(self.span(close));
                self.diags
                    .push(d.with_maybe_fix("stop the plugin with `abort`", whole, "abort"));
                self.push(Tok::Kw("abort"), whole);
                close + 1
            }
            _ => {
                let d = match name {
                    "println" | "print" | "eprintln" | "eprint" | "dbg" | "format" | "write"
                    | "writeln" | "printk" => d.with_help(
                        "to write to the kernel log, `use kernel::{log, log_u64};` and call `log(\"text\");` or `log_u64(\"name\", value);`",
                    ),
                    "vec" => d.with_help(
                        "an array has a fixed length: `[0; 16]` or `[1, 2, 3]`",
                    ),
                    _ => d.with_help("write out the code the macro stands for, or a `fn`"),
                };
                self.diags.push(d);
                // Read as a call of the same name (on this broken line).
                self.push(Tok::Ident(name.into()), s);
                i + 2
            }
        }
    }
}
