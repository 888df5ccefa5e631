//! Inlining of small leaf functions into their callers (both optimised
//! first; the pipeline optimises a caller that changed again): a call costs argument staging through the frame,
//! the callee's prologue and epilogue, and a barrier to every optimisation
//! (constants, hoisted slice reads, dead code), which for a helper like
//! `read_be16` is most of its cost. Only leaves (no calls of their own) are
//! inlined, so inlining cannot cascade, and a caller stops growing at
//! `MAX_CALLER_INSTS`. The callee stays in the object for other callers and
//! exports; its trap sites are shared by every copy (they carry the
//! callee's source position, which is where a trap in any copy comes from).

use crate::ir::*;

/// Callees with at most this many instructions are inlined.
const MAX_CALLEE_INSTS: usize = 48;
/// A caller is not grown past this many instructions by inlining.
const MAX_CALLER_INSTS: usize = 4000;

/// An instruction with the source byte offset it comes from.
type Placed = (Inst, u32);

fn size(f: &Func) -> usize {
    f.blocks.iter().map(|b| b.insts.len() + 1).sum()
}

fn inlinable(f: &Func) -> bool {
    size(f) <= MAX_CALLEE_INSTS
        && f.blocks
            .iter()
            .all(|b| b.insts.iter().all(|(i, _)| !matches!(i, Inst::Call { .. })))
}

/// The functions of a module with small leaf calls inlined: `Some` for a
/// caller that changed (the pipeline optimises it again: constants and
/// slice reads now meet across the old call), `None` for one left as it was.
pub fn inline_small_calls(funcs: &[Func]) -> Vec<Option<Func>> {
    let small: Vec<bool> = funcs.iter().map(inlinable).collect();
    funcs
        .iter()
        .enumerate()
        .map(|(me, f)| inline_into(f, me, funcs, &small))
        .collect()
}

/// The calls of `f` to inlinable functions other than `me` replaced by the
/// callees' bodies, in layout order, until `f` reaches `MAX_CALLER_INSTS`.
///
/// One pass over the blocks in layout order: a callee's blocks hold no
/// call, and the rest of a split block is the next to look at, so this
/// inlines the calls that a search for the first call from the entry,
/// repeated after each splice, would. Each instruction is moved a bounded
/// number of times: a block of `n` calls is cut at all of them at once,
/// not split `n` times (which moved its tail once per call and left each
/// head with the capacity of all that followed: a function of 800 calls
/// of a leaf held 34 MB).
fn inline_into(f: &Func, me: usize, funcs: &[Func], small: &[bool]) -> Option<Func> {
    let callee_of = |inst: &Inst| match *inst {
        Inst::Call { func, .. }
            if func as usize != me && small.get(func as usize) == Some(&true) =>
        {
            Some(func as usize)
        }
        _ => None,
    };
    let mut f = f.clone();
    let mut size = size(&f);
    let old_layout = std::mem::take(&mut f.layout);
    let mut layout = Vec::with_capacity(old_layout.len());
    let mut spliced = false;
    for b in old_layout {
        layout.push(b);
        if size >= MAX_CALLER_INSTS
            || !f.blocks[b as usize]
                .insts
                .iter()
                .any(|(i, _)| callee_of(i).is_some())
        {
            continue;
        }
        // The block cut at each inlinable call: the instructions before
        // the first call stay in `b`, then each call and what follows it.
        let mut pieces: Vec<(Placed, Vec<Placed>)> = Vec::new();
        let mut head = Vec::new();
        for inst in std::mem::take(&mut f.blocks[b as usize].insts) {
            if callee_of(&inst.0).is_some() {
                pieces.push((inst, Vec::new()));
            } else {
                match pieces.last_mut() {
                    Some((_, after)) => after.push(inst),
                    None => head.push(inst),
                }
            }
        }
        f.blocks[b as usize].insts = head;
        let mut at = b as usize;
        let mut pieces = pieces.into_iter();
        while size < MAX_CALLER_INSTS {
            let Some((call, after)) = pieces.next() else {
                break;
            };
            let callee = &funcs[callee_of(&call.0).expect("cut at calls")];
            let (cont, grown) = splice(&mut f, at, call, callee, &mut layout);
            f.blocks[cont].insts = after;
            size += grown;
            at = cont;
            spliced = true;
        }
        // Calls past the budget stay calls, in order, in the last block.
        for (call, after) in pieces {
            f.blocks[at].insts.push(call);
            f.blocks[at].insts.extend(after);
        }
    }
    f.layout = layout;
    spliced.then_some(f)
}

/// Replaces `call`, the end of block `b`'s instructions, by a copy of
/// `callee`: block `b` ends by moving the arguments into the callee's
/// parameters and jumping to its entry; every `return` copies the result
/// and jumps to a new, empty block that takes `b`'s terminator. The new
/// blocks go at the end of `f.blocks` and of `layout`. Returns the new
/// block and how many instructions and terminators `f` gained.
fn splice(
    f: &mut Func,
    b: usize,
    call: Placed,
    callee: &Func,
    layout: &mut Vec<BlockId>,
) -> (usize, usize) {
    let vbase = f.n_vregs;
    f.n_vregs += callee.n_vregs;
    let bbase = f.blocks.len() as BlockId;
    let agg = f.aggregate_bytes.div_ceil(16) * 16;
    f.aggregate_bytes = agg + callee.aggregate_bytes;
    let cont = bbase + callee.blocks.len() as BlockId;

    let (call, pos) = call;
    let Inst::Call { dst, args, .. } = call else {
        unreachable!("splice is given calls");
    };
    // The call goes and the new block's terminator comes: what `f` gains
    // is the copies of the arguments and the callee's blocks.
    let mut grown = 0;
    for (&p, &a) in callee.params.iter().zip(&args) {
        f.blocks[b].insts.push((
            Inst::Copy {
                dst: p + vbase,
                src: a,
            },
            pos,
        ));
        grown += 1;
    }
    let rest_term = std::mem::replace(&mut f.blocks[b].term, Term::Jump(bbase));
    let rest_pos = f.blocks[b].term_pos;

    let mut shift = |v: &mut V| *v += vbase;
    for block in &callee.blocks {
        let mut insts = block.insts.clone();
        for (inst, _) in &mut insts {
            inst.map_uses(&mut shift);
            inst.map_def(&mut shift);
            if let Some(Addr {
                base: Base::Stack(off),
                ..
            }) = inst.addr_mut()
            {
                *off += agg;
            }
        }
        let term = match &block.term {
            Term::Jump(t) => Term::Jump(t + bbase),
            Term::Branch { cond, then, els } => Term::Branch {
                cond: cond + vbase,
                then: then + bbase,
                els: els + bbase,
            },
            Term::Ret(v) => {
                if let (Some(d), Some(v)) = (dst, v) {
                    insts.push((
                        Inst::Copy {
                            dst: d,
                            src: v + vbase,
                        },
                        block.term_pos,
                    ));
                }
                Term::Jump(cont)
            }
        };
        grown += insts.len() + 1;
        f.blocks.push(Block {
            insts,
            term,
            term_pos: block.term_pos,
        });
    }
    f.blocks.push(Block {
        insts: Vec::new(),
        term: rest_term,
        term_pos: rest_pos,
    });
    layout.extend(callee.layout.iter().map(|&x| x + bbase));
    layout.push(cont);
    (cont as usize, grown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::std_imports::ImportSources;

    fn module(src: &str) -> crate::lower::Module {
        let (imports, _) = ImportSources::embedded().load();
        let a = kpl_lang::analyze(src, &imports);
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        crate::lower::lower(&a.file, &a.program)
    }

    fn calls(f: &Func) -> usize {
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| matches!(i, Inst::Call { .. }))
            .count()
    }

    #[test]
    fn small_leaves_are_inlined_and_stay_callable() {
        let m = module(
            "fn be16(p: []u8, at: u32) -> u32 { return ((p[at] as u32) << 8) | (p[at + 1] as u32); }
             fn twice(x: u32) -> u32 { return be16_outer(x) * 2; }
             fn be16_outer(x: u32) -> u32 { var a: [u32; 2] = [x, 1]; return a[0] + a[1]; }
             export fn f(p: []u8) -> u32 { return be16(p, 0) + be16(p, 2) + twice(3); }",
        );
        let out: Vec<Func> = inline_small_calls(&m.funcs)
            .into_iter()
            .zip(&m.funcs)
            .map(|(new, old)| new.unwrap_or_else(|| old.clone()))
            .collect();
        let f = out.iter().find(|f| f.name == "f").unwrap();
        // be16 is inlined twice; twice calls be16_outer (not a leaf), so
        // twice stays a call and be16_outer is inlined into it.
        assert_eq!(calls(f), 1, "{f}");
        let twice = out.iter().find(|f| f.name == "twice").unwrap();
        assert_eq!(calls(twice), 0, "{twice}");
        // The callee's aggregate area moved into the caller's.
        assert!(twice.aggregate_bytes >= 8, "{twice}");
        assert_eq!(out.len(), m.funcs.len());
    }
}
