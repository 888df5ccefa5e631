//! The optimiser, IR → IR, one function at a time. This module is the only
//! place that orders the optimisation passes; the passes themselves never
//! call one another, and what they need to know about a function they get
//! from [`crate::analysis`].
//!
//! ```text
//! optimize(f):
//!   hoist::expand_slice_accesses   slice accesses → SliceBase/SliceLen + plain access
//!   simplify::simplify             fold, narrow, propagate copies, dead code (to a fixed point)
//!   divide::by_constants           x / c, x % c → multiply by a reciprocal (or shift)
//!   hoist::hoist_loop_invariant_reads   invariant context reads → loop preheaders
//!   hoist::merge_reads             dominated duplicate reads → the first one
//!   simplify::simplify             again, only if either of the two changed something
//!   loads::merge_loads             a repeated load on a straight path → a copy
//!   hoist::pair_reads              a slice's base read moved next to its length read
//!   loops::strength_reduce         i * k in a loop → a register stepped with i
//!   loops::rotate                  loop tests copied to the back edges
//! ```
//!
//! Each of the last four is followed by `simplify` when it changed
//! something. Division comes after the first simplification, which makes
//! divisors constants; strength reduction after hoisting, so invariant reads
//! are out of the loop; rotation last, because the copies of a loop's test
//! give its registers a second write, which the passes that propagate only
//! through single writes would then leave alone.
//!
//! Expansion comes first so that folding sees the reads as ordinary
//! instructions; hoisting needs the folded IR (constant handles, dead copies
//! gone) to recognise invariants; and merging leaves copies behind that only
//! a second simplification removes. [`inline`] works on a whole module and
//! is sequenced by the pipeline (`crate::pipeline`): it runs after every
//! function has been optimised, and a caller it changes is optimised again.
//! So are the passes after inlining, each run once per function in this
//! order: [`peel`] (the first trips of a loop over a short table copied
//! out with constant indexes, then simplified: after inlining, so that a
//! helper's loop does not make it too large to inline), [`version`] (a copy of a loop whose constant-bounded checks
//! become masks, chosen by one test before it: the mask is a second write
//! of the index that the folding passes must not see), [`bounds`] (one
//! check for accesses at constant offsets from one index) and [`guards`]
//! (slice accesses at constant indexes proved by an earlier length test):
//! no later pass may rewrite the unchecked accesses they leave, which only
//! the checks they keep prove. [`finish`] comes last, before register
//! allocation: [`layout`] only orders blocks and copies return blocks, and
//! the order it sets is the one the allocator's intervals and the emitter's
//! fall-throughs follow; then [`coalesce`] computes a value copied into a
//! variable straight into it, and [`bytes`] makes byte stores of `x >> 8`
//! read `x`'s second byte: forms no earlier pass has to know.

pub mod bounds;
pub mod bytes;
pub mod coalesce;
pub mod divide;
pub mod guards;
pub mod hoist;
pub mod inline;
pub mod layout;
pub mod loads;
pub mod loops;
pub mod peel;
pub mod scaled;
pub mod simplify;
pub mod tested;
pub mod version;

use crate::ir::Func;
use crate::tune::Tune;

/// The last passes of every form of a function, before register
/// allocation: the block layout, assignments computed into their
/// variables, then the second-byte stores where `tune` wants them.
pub fn finish(f: &mut Func, tune: Tune) {
    layout::place_returns(f);
    coalesce::coalesce_copies(f);
    if tune.stores_second_byte_from_high_register() {
        bytes::store_second_bytes(f);
    }
}

/// Optimises one function in place (the pass order above).
pub fn optimize(f: &mut Func) {
    hoist::expand_slice_accesses(f);
    optimize_expanded(f);
}

/// Optimises a function of the local form (`lower::Options::local_checks`,
/// `crate::pipeline`): the passes of [`optimize`] but the first, so every
/// slice access keeps its check and its reads of the context block at its
/// own place, proved by instructions right before it (the emitter's
/// general form), never by a length or base read elsewhere.
pub fn optimize_local(f: &mut Func) {
    optimize_expanded(f);
}

fn optimize_expanded(f: &mut Func) {
    simplify::simplify(f);
    if divide::by_constants(f) {
        simplify::simplify(f);
    }
    let hoisted = hoist::hoist_loop_invariant_reads(f);
    if hoist::merge_reads(f) || hoisted {
        simplify::simplify(f);
    }
    if loads::merge_loads(f) {
        simplify::simplify(f);
    }
    hoist::pair_reads(f);
    if loops::strength_reduce(f) {
        simplify::simplify(f);
    }
    if loops::rotate(f) {
        simplify::simplify(f);
    }
}

/// What the passes' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::ir::{Check, Func, Inst};
    use crate::std_imports::ImportSources;

    /// Accesses `include` accepts, by their check: (checked against a
    /// bound, proven).
    pub(crate) fn check_counts(f: &Func, include: impl Fn(&Inst) -> bool) -> (usize, usize) {
        let mut checked = 0;
        let mut proven = 0;
        for (inst, _) in f.blocks.iter().flat_map(|b| &b.insts) {
            if let Some(index) = inst.addr().and_then(|a| a.index)
                && include(inst)
            {
                match index.check {
                    Check::Below(..) | Check::BelowLen(..) | Check::SliceLen(..) => checked += 1,
                    Check::Proven => proven += 1,
                    Check::Combined => {}
                }
            }
        }
        (checked, proven)
    }

    /// The optimised IR of function `name` in `src`.
    pub(crate) fn optimised(src: &str, name: &str) -> Func {
        let (imports, _) = ImportSources::embedded().load();
        let a = kpl_lang::analyze(src, &imports);
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        let module = crate::lower::lower(&a.file, &a.program);
        let mut f = module
            .funcs
            .iter()
            .find(|f| f.name == name)
            .expect("function")
            .clone();
        crate::opt::optimize(&mut f);
        f
    }
}
