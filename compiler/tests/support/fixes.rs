//! The oracle for fixes as data (shared by `ui.rs` and
//! `one_mistake_mutants.rs`): each fix of a diagnostic, applied, removes it,
//! and a machine-applicable one adds nothing.

/// Applies every fix of every diagnostic of `src` (placeholders aside), one
/// at a time, and checks again: the diagnostic must be gone, and after a
/// machine-applicable fix no diagnostic may appear that was not there
/// before (compared by code and position, moved by the edits). Returns the
/// number of fixes applied and a description of each failure.
///
/// `known` are the diagnostics of the program a mistake was made in, if
/// any (warnings): one of them showing again after a fix (by code and
/// message) is the program's, not the fix's; the mistake had hidden it.
pub fn check_fixes(
    name: &str,
    src: &str,
    imports: &kpl_lang::imports::ImportTable,
    known: &[kpl_lang::Diagnostic],
) -> (usize, Vec<String>) {
    use kpl_lang::diag::Applicability;
    let mut failures = Vec::new();
    let mut applied = 0;
    let before = kpl_lang::analyze(src, imports).diagnostics;
    for d in &before {
        for h in &d.help {
            if h.edits.is_empty() || h.applicability == Applicability::HasPlaceholders {
                continue;
            }
            applied += 1;
            // Offsets after the edits (applied last to first).
            let moved = |o: u32| -> u32 {
                let mut at = i64::from(o);
                for e in &h.edits {
                    if e.span.end <= o && !(e.span.start == e.span.end && e.span.start == o) {
                        at += e.replacement.len() as i64 - i64::from(e.span.end - e.span.start);
                    }
                }
                at as u32
            };
            let mut fixed = src.to_string();
            for e in h.edits.iter().rev() {
                fixed.replace_range(e.span.range(), &e.replacement);
            }
            let after = kpl_lang::analyze(&fixed, imports).diagnostics;
            let key = |x: &kpl_lang::Diagnostic| (x.code, x.primary.span.start);
            let old: Vec<_> = before
                .iter()
                .filter(|x| *x != d)
                .map(|x| (x.code, moved(x.primary.span.start)))
                .collect();
            let target = (d.code, moved(d.primary.span.start));
            // A guess (maybe-incorrect) must fix its diagnostic, but may
            // uncover errors it hid: only a machine-applicable fix promises
            // a clean result.
            let strict = h.applicability == Applicability::MachineApplicable;
            // Only one error is reported per line, and a broken line hides
            // the errors of what it names: fixing it may reveal another
            // mistake on the same line, outside the text the fix wrote.
            let line_of = |o: u32| fixed[..(o as usize).min(fixed.len())].matches('\n').count();
            let written: Vec<(u32, u32)> = h
                .edits
                .iter()
                .map(|e| {
                    let at = moved(e.span.start);
                    (at, at + e.replacement.len() as u32)
                })
                .collect();
            let revealed = |x: &kpl_lang::Diagnostic| {
                let at = x.primary.span.start;
                at != target.1
                    && line_of(at) == line_of(target.1)
                    && written.iter().all(|&(a, b)| at < a || at > b)
            };
            let the_programs = |x: &kpl_lang::Diagnostic| {
                known
                    .iter()
                    .any(|k| k.code == x.code && k.message == x.message)
            };
            let new: Vec<String> = after
                .iter()
                .filter(|x| {
                    key(x) == target
                        || (strict && !old.contains(&key(x)) && !revealed(x) && !the_programs(x))
                })
                .map(|x| format!("{} {}", x.code, x.message))
                .collect();
            if !new.is_empty() {
                failures.push(format!(
                    "{name}: {} `{}` (help `{}`): after the fix: {new:?}\n{fixed}",
                    d.code, d.message, h.message
                ));
            }
        }
    }
    (applied, failures)
}
