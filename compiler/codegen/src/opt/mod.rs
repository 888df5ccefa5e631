//! The optimiser, IR → IR, one function at a time. This module is the only
//! place that orders the optimisation passes; the passes themselves never
//! call one another, and what they need to know about a function they get
//! from [`crate::analysis`].
//!
//! ```text
//! optimize(f):
//!   hoist::expand_slice_accesses   slice accesses → SliceBase/SliceLen + plain access
//!   simplify::simplify             fold, narrow, propagate copies, dead code (to a fixed point)
//!   hoist::hoist_loop_invariant_reads   invariant context reads → loop preheaders
//!   hoist::merge_reads             dominated duplicate reads → the first one
//!   simplify::simplify             again, only if either of the two changed something
//! ```
//!
//! Expansion comes first so that folding sees the reads as ordinary
//! instructions; hoisting needs the folded IR (constant handles, dead copies
//! gone) to recognise invariants; and merging leaves copies behind that only
//! a second simplification removes. [`inline`] works on a whole module and
//! is sequenced by the pipeline (`crate::pipeline`): it runs after every
//! function has been optimised, and a caller it changes is optimised again.

pub mod hoist;
pub mod inline;
pub mod simplify;

use crate::ir::Func;

/// Optimises one function in place (the pass order above).
pub fn optimize(f: &mut Func) {
    hoist::expand_slice_accesses(f);
    simplify::simplify(f);
    let hoisted = hoist::hoist_loop_invariant_reads(f);
    if hoist::merge_reads(f) || hoisted {
        simplify::simplify(f);
    }
}
