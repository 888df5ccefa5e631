//! The whole-program rules: the call graph (recursion is E0500, reported once
//! per cycle), the stack estimate of the deepest call chain (E0505), unused
//! items and imports (W0003, W0004), and a plugin without exports (W0007).

use std::collections::{HashMap, HashSet};

use crate::ast::{File, ItemKind, UseItem};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;

use super::{Checker, GlobalKind, limits};

/// At most this many cycles of one group of mutually recursive functions
/// get their own E0500; the rest are counted in the last one's note.
const MAX_CYCLES_SHOWN: usize = 4;

impl<'a> Checker<'a> {
    pub(super) fn check_call_graph(&mut self) {
        let n = self.d.program.functions.len();
        let component = self.call_components();
        // A function is in a cycle when its component has another function,
        // or it calls itself.
        let mut size = vec![0usize; n];
        for &c in &component {
            size[c] += 1;
        }
        let in_cycle: Vec<bool> = (0..n)
            .map(|f| {
                size[component[f]] > 1
                    || self.d.program.functions[f]
                        .callees
                        .iter()
                        .any(|&(c, _)| c == f)
            })
            .collect();
        // Iterative DFS with colours; a grey target closes a cycle. Each
        // such back edge is a cycle of up to the whole component, so only
        // the first few of a component are spelt out (a chain of n
        // functions each also calling the first closed n cycles, and
        // listing each took n² in all); the others are counted.
        let mut colour = vec![0u8; n];
        // Where each grey function is on the DFS stack.
        let mut position = vec![0usize; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        let mut shown = vec![0usize; n];
        let mut more = vec![0usize; n];
        let mut cycles: Vec<Vec<usize>> = Vec::new();
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            colour[root] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let callees = &self.d.program.functions[node].callees;
                if *next < callees.len() {
                    let (callee, _) = callees[*next];
                    *next += 1;
                    match colour[callee] {
                        0 => {
                            colour[callee] = 1;
                            position[callee] = stack.len();
                            stack.push((callee, 0));
                        }
                        1 => {
                            let c = component[callee];
                            if shown[c] == MAX_CYCLES_SHOWN {
                                more[c] += 1;
                                continue;
                            }
                            let cycle: Vec<usize> =
                                stack[position[callee]..].iter().map(|(f, _)| *f).collect();
                            let mut key = cycle.clone();
                            key.sort_unstable();
                            if reported.insert(key) {
                                shown[c] += 1;
                                cycles.push(cycle);
                            }
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack.pop();
                }
            }
        }
        for cycle in cycles {
            let c = component[cycle[0]];
            // The last one shown of its component says what was not.
            shown[c] -= 1;
            let untold = if shown[c] == 0 { more[c] } else { 0 };
            self.report_cycle(&cycle, untold);
        }
        // Stack depth in reverse topological order (memoised DFS).
        let mut depth: Vec<Option<(u64, Option<usize>)>> = vec![None; n];
        for f in 0..n {
            self.stack_depth(f, &in_cycle, &mut depth);
        }
        let depth = depth;
        let mut called = vec![false; n];
        for f in &self.d.program.functions {
            for (c, _) in &f.callees {
                called[*c] = true;
            }
        }
        for f in 0..n {
            let (d, _) = depth[f].unwrap_or((0, None));
            self.d.to_mut().program.functions[f].stack_bytes = d;
            if d > limits::STACK_BYTES && !called[f] && !in_cycle[f] {
                let mut chain = Vec::new();
                let mut cur = Some(f);
                while let Some(c) = cur {
                    let def = &self.d.program.functions[c];
                    chain.push(format!("`{}` ({} bytes)", def.name, def.frame_bytes));
                    cur = depth[c].and_then(|(_, next)| next);
                }
                let def = &self.d.program.functions[f];
                self.diags.push(
                    Diagnostic::new(
                        Code::E0505,
                        format!("`{}` may use {d} bytes of stack", def.name),
                        def.span,
                        format!("the limit is {} bytes", limits::STACK_BYTES),
                    )
                    .with_note(format!("deepest call chain: {}", chain.join(" -> ")))
                    .with_help("move large arrays into statics, or make them smaller"),
                );
            }
        }
    }

    /// The deepest stack use of a call chain from `root` (memoised in
    /// `memo` with the callee on the deepest chain), computed for every
    /// function it reaches, callees first, on an explicit stack: a chain of
    /// calls may be as long as the file.
    fn stack_depth(
        &self,
        root: usize,
        in_cycle: &[bool],
        memo: &mut [Option<(u64, Option<usize>)>],
    ) {
        if memo[root].is_some() {
            return;
        }
        let functions = &self.d.program.functions;
        let frame = |f: usize| functions[f].frame_bytes;
        // (function, next callee to look at)
        let mut stack: Vec<(usize, usize)> = Vec::new();
        // A function in a cycle counts with its own frame only; the
        // placeholder guards against cycles the colouring missed.
        let enter = |f: usize,
                     memo: &mut [Option<(u64, Option<usize>)>],
                     stack: &mut Vec<(usize, usize)>| {
            memo[f] = Some((frame(f), None));
            if !in_cycle[f] {
                stack.push((f, 0));
            }
        };
        enter(root, memo, &mut stack);
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            let callees = &functions[f].callees;
            if let Some(&(c, _)) = callees.get(*next) {
                *next += 1;
                if memo[c].is_none() {
                    enter(c, memo, &mut stack);
                }
                continue;
            }
            stack.pop();
            let mut deepest = (0u64, None);
            for &(c, _) in callees {
                let d = memo[c].map_or(0, |(d, _)| d);
                if d > deepest.0 {
                    deepest = (d, Some(c));
                }
            }
            memo[f] = Some((frame(f).saturating_add(deepest.0), deepest.1));
        }
    }

    /// The strongly connected components of the call graph: for each
    /// function, the index of its component (Tarjan's algorithm on an
    /// explicit stack; linear in the functions and calls).
    fn call_components(&self) -> Vec<usize> {
        let functions = &self.d.program.functions;
        let n = functions.len();
        const UNSEEN: usize = usize::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut component = vec![UNSEEN; n];
        let mut open: Vec<usize> = Vec::new();
        let mut next_index = 0;
        let mut components = 0;
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            let mut dfs: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next_index;
            low[root] = next_index;
            next_index += 1;
            open.push(root);
            on_stack[root] = true;
            while let Some(&mut (f, ref mut next)) = dfs.last_mut() {
                if let Some(&(c, _)) = functions[f].callees.get(*next) {
                    *next += 1;
                    if index[c] == UNSEEN {
                        index[c] = next_index;
                        low[c] = next_index;
                        next_index += 1;
                        open.push(c);
                        on_stack[c] = true;
                        dfs.push((c, 0));
                    } else if on_stack[c] {
                        low[f] = low[f].min(index[c]);
                    }
                    continue;
                }
                dfs.pop();
                if let Some(&(parent, _)) = dfs.last() {
                    low[parent] = low[parent].min(low[f]);
                }
                if low[f] == index[f] {
                    while let Some(g) = open.pop() {
                        on_stack[g] = false;
                        component[g] = components;
                        if g == f {
                            break;
                        }
                    }
                    components += 1;
                }
            }
        }
        component
    }

    /// E0500 for `cycle`; `more`: how many other calls close cycles among
    /// the same mutually recursive functions and are not spelt out.
    fn report_cycle(&mut self, cycle: &[usize], more: usize) {
        // A long cycle is named by its ends: the labels show every call.
        const NAMED: usize = 8;
        let name = |f: usize| format!("`{}`", self.d.program.functions[f].name);
        let mut names: Vec<String> = Vec::new();
        if cycle.len() <= 2 * NAMED {
            names.extend(cycle.iter().map(|&f| name(f)));
        } else {
            names.extend(cycle[..NAMED].iter().map(|&f| name(f)));
            names.push(format!("… {} more …", cycle.len() - 2 * NAMED));
            names.extend(cycle[cycle.len() - NAMED..].iter().map(|&f| name(f)));
        }
        names.push(name(cycle[0]));
        // The call that closes the cycle is reported at its call site.
        let first = cycle[0];
        let mut edges = Vec::new();
        for (k, &f) in cycle.iter().enumerate() {
            let target = cycle[(k + 1) % cycle.len()];
            if let Some((_, span)) = self.d.program.functions[f]
                .callees
                .iter()
                .find(|(c, _)| *c == target)
            {
                edges.push((*span, self.d.program.functions[target].name.clone()));
            }
        }
        let (primary, target) = edges
            .last()
            .cloned()
            .unwrap_or((self.d.program.functions[first].span, String::new()));
        let mut d = if cycle.len() == 1 {
            Diagnostic::new(
                Code::E0500,
                format!(
                    "function `{}` calls itself",
                    self.d.program.functions[first].name
                ),
                primary,
                "recursive call",
            )
        } else {
            Diagnostic::new(
                Code::E0500,
                format!("recursion: {}", names.join(" -> ")),
                primary,
                format!("this call to `{target}` closes the cycle"),
            )
        };
        for (span, name) in edges.iter().take(edges.len().saturating_sub(1)) {
            d = d.with_secondary(*span, format!("calls `{name}`"));
        }
        d = d.with_note(format!("call cycle: {}", names.join(" -> ")));
        if more > 0 {
            d = d.with_note(format!(
                "{more} more calls among these functions close cycles too"
            ));
        }
        d = d.with_help(
            "KPL forbids recursion so every plugin's stack use is bounded; rewrite it as a loop",
        );
        self.report(d);
    }

    /// E0110 for Rust's `use m::*;` (the item at `line`): the fix names the
    /// imports of `m` the file uses (those the glob defined, see
    /// `collect_items`), in the module's order, or removes the line when it
    /// uses none.
    fn report_glob(&mut self, line: Span, u: &UseItem) {
        let (Some(star), Some(module)) = (u.glob, self.imports.module(&u.module.name)) else {
            return; // an unknown module is E0104's one mistake
        };
        let used: Vec<&str> =
            module
                .functions
                .iter()
                .map(|f| f.name.as_str())
                .filter(|n| {
                    self.used.contains(*n)
                        && self.d.globals.get(*n).is_some_and(|g| {
                            g.span == star && matches!(g.kind, GlobalKind::Import(_))
                        })
                })
                .collect();
        let d = Diagnostic::new(
            Code::E0110,
            format!(
                "`use {}::*` imports everything: KPL names each import",
                module.name
            ),
            star,
            "a glob import",
        )
        .with_note(
            "a plugin's object lists the kernel functions it calls, and its `use` lines say which",
        );
        let d = match used.as_slice() {
            [] => d.with_fix(
                format!(
                    "the file uses no import of `{}`: remove the line",
                    module.name
                ),
                line,
                "",
            ),
            [one] => d.with_fix(
                format!("import what the file uses: `{one}`"),
                star,
                one.to_string(),
            ),
            many => {
                let list = many.join(", ");
                d.with_fix(
                    format!("import what the file uses: `{{{list}}}`"),
                    star,
                    format!("{{{list}}}"),
                )
            }
        };
        self.report(d);
    }

    pub(super) fn check_unused(&mut self) {
        let mut unused: Vec<(Span, GlobalKind, String)> = self
            .d
            .globals
            .iter()
            .filter(|(n, _)| !self.used.contains(*n))
            .map(|(n, g)| (g.span, g.kind, n.clone()))
            .collect();
        unused.sort_by_key(|(s, _, _)| *s);
        let file = self.file;
        let globs: Vec<(Span, &UseItem)> = file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Use(u) if u.glob.is_some() => Some((i.span, u)),
                _ => None,
            })
            .collect();
        let from_glob = |span: Span| globs.iter().any(|(_, u)| u.glob == Some(span));
        let no_exports = !self.d.program.functions.iter().any(|f| f.exported);
        // Without exports every function that nothing calls is unused: that
        // is W0007's one mistake, which names the first of them, not a W0003
        // for each.
        let mut roots: Vec<(Span, String)> = Vec::new();
        let mut removals: Option<HashMap<u32, Span>> = None;
        for (span, kind, name) in unused {
            match kind {
                GlobalKind::Fn(i) if self.d.program.functions[i].exported => {}
                GlobalKind::Fn(_) if no_exports => roots.push((span, name)),
                GlobalKind::Poisoned => {}
                // The glob's own error says which to keep (below).
                GlobalKind::Import(_) if from_glob(span) => {}
                GlobalKind::Import(_) => {
                    let d = Diagnostic::new(
                        Code::W0004,
                        format!("import `{name}` is never used"),
                        span,
                        "unused import",
                    );
                    let removal = removals
                        .get_or_insert_with(|| unused_import_removals(file))
                        .get(&span.start);
                    self.report(match removal.copied() {
                        Some(removal) => d.with_fix("remove it from the `use` list", removal, ""),
                        None => d.with_help("remove it from the `use` list"),
                    });
                }
                _ => {
                    if name.starts_with('_') {
                        continue;
                    }
                    // Only functions can be exported: constants, statics
                    // and structs are the plugin's own.
                    let help = if matches!(kind, GlobalKind::Fn(_)) {
                        "remove it, or `export` it if the host should call it"
                    } else {
                        "remove it, or start its name with `_` to keep it unused"
                    };
                    self.report(
                        Diagnostic::new(
                            Code::W0003,
                            format!("{} `{name}` is never used", kind.describe()),
                            span,
                            "unused",
                        )
                        .with_help(help),
                    )
                }
            }
        }
        for (line, u) in globs {
            self.report_glob(line, u);
        }
        if !no_exports {
            return;
        }
        // The first function nothing calls, and where its item starts.
        let root = roots.first().and_then(|(span, name)| {
            let item = self
                .file
                .items
                .iter()
                .find(|i| matches!(&i.kind, ItemKind::Fn(f) if f.sig.name.span == *span))?;
            Some((*span, name.clone(), item.span.start_point()))
        });
        let d = match root {
            Some((span, name, at)) => {
                let mut d = Diagnostic::new(
                    Code::W0007,
                    "the plugin exports no functions",
                    span,
                    format!("`{name}` is not exported, so the host cannot call it"),
                )
                .with_maybe_fix(format!("export `{name}`"), at, "export ");
                if name == "main" {
                    d = d.with_note(
                        "a plugin has no `main`: the host calls the functions it exports",
                    );
                }
                if roots.len() > 1 {
                    d = d.with_note(format!(
                        "{} more functions are not called by any other",
                        roots.len() - 1
                    ));
                }
                d
            }
            None => {
                let span = self.file.items.first().map_or(Span::default(), |i| {
                    Span::new(i.span.start as usize, i.span.start as usize)
                });
                Diagnostic::new(
                    Code::W0007,
                    "the plugin exports no functions",
                    span,
                    "nothing here can be called by the host",
                )
                .with_help("mark entry points with `export fn`")
            }
        };
        self.report(d);
    }
}

/// For each imported name (by its span's start), what removing it takes
/// out of its `use`: the whole item when it is the item's only name, else the
/// name and the comma between it and its neighbour (the next one's, or for
/// the last name the one before it), so that `use kernel::{a, b, c};` loses
/// `b, ` or `, c`. One pass over the items, however many names are unused.
fn unused_import_removals(file: &File) -> HashMap<u32, Span> {
    let mut removals = HashMap::new();
    for item in &file.items {
        let ItemKind::Use(u) = &item.kind else {
            continue;
        };
        for (i, name) in u.names.iter().enumerate() {
            let removal = match (u.names.len(), u.names.get(i + 1)) {
                (1, _) => item.span,
                (_, Some(next)) => Span::new(name.span.start as usize, next.span.start as usize),
                (_, None) => Span::new(u.names[i - 1].span.end as usize, name.span.end as usize),
            };
            removals.insert(name.span.start, removal);
        }
    }
    removals
}
