//! Lowering: a checked program (syntax tree + the checker's side tables) to
//! the IR. This is where KPL's semantics become explicit operations: wrapping
//! (`Norm` after arithmetic), shift masking, checked division, bounds checks
//! (omitted where an enclosing `for` proves the index in range), budget checks
//! on loop back-edges, and the layout of statics, constants and strings.
//!
//! - this file: the entry points ([`lower`], [`lower_with`], [`lower_function`]),
//!   the layout of statics, the module's read-only data and the per-function
//!   lowering state (`Lower`: blocks, virtual registers, local storage);
//! - `stmt.rs`: statements, loops (with their budget checks) and assignment;
//! - `place.rs`: places: addresses, bounds checks, loads, stores, aggregates;
//! - `expr.rs`: expressions: arithmetic, comparisons, branches, calls;
//! - `assemble.rs`: separately lowered functions put together into a module.

use std::collections::HashMap;

use kpl_lang::ast::{self, ItemKind};
use kpl_lang::check::{FnDef, Program};
use kpl_lang::types::{Ty, round_up};

use crate::ir::*;

mod assemble;
mod expr;
mod place;
mod stmt;

pub use assemble::assemble;

/// The lowered plugin: functions plus the data they reference.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub funcs: Vec<Func>,
    pub rodata: Vec<u8>,
    pub data_init: Vec<u8>,
    pub data_size: u32,
    /// Per trap site: what it checks and the source byte offset.
    pub sites: Vec<(TrapKind, u32)>,
    /// The statics by name, for the object's STATICS table.
    pub statics: Vec<StaticInfo>,
}

/// A static as the object's STATICS table lists it, so that a host can
/// read it by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticInfo {
    pub name: String,
    /// Byte offset in the data region.
    pub offset: u32,
    pub size: u32,
    /// The type of a scalar static, or of an array's elements when they
    /// are scalars; `None` for structs and nested arrays.
    pub elem: Option<Ty>,
    /// Elements of type `elem` (1 for a scalar, 0 without `elem`).
    pub count: u32,
}

/// The STATICS entries of a program whose statics are at `offsets` (from
/// [`static_layout`]).
pub fn static_table(prog: &Program, offsets: &[u32]) -> Vec<StaticInfo> {
    prog.statics
        .iter()
        .zip(offsets)
        .map(|(s, &offset)| {
            let (elem, count) = match &s.ty {
                t @ (Ty::Int(_) | Ty::Bool) => (Some(t.clone()), 1),
                Ty::Array(e, n) if matches!(**e, Ty::Int(_) | Ty::Bool) => {
                    (Some((**e).clone()), u32::try_from(*n).unwrap_or(0))
                }
                _ => (None, 0),
            };
            StaticInfo {
                name: s.name.clone(),
                offset,
                size: prog.layout(&s.ty).size as u32,
                elem,
                count,
            }
        })
        .collect()
}

struct ModuleBuilder<'a> {
    prog: &'a Program,
    /// Definitions that stand in for those of `prog.functions` at their
    /// index, sorted by it (see [`lower_function_with`]).
    fn_defs: &'a [(usize, FnDef)],
    /// Where the bodies' side tables are read: `expr_types`, `resolutions`
    /// and `bindings` (`prog` itself, or a function's own).
    tables: &'a Program,
    rodata: Vec<u8>,
    const_rodata: HashMap<u32, u32>,
    strings: HashMap<String, u32>,
    static_offsets: Vec<u32>,
    sites: Vec<(TrapKind, u32)>,
    /// Every rodata allocation in order, for [`assemble`].
    pieces: Vec<RodataPiece>,
}

/// What a piece of read-only data holds: a constant's value or a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RodataKey {
    Const(u32),
    Str(String),
}

/// One allocation in a function's read-only data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RodataPiece {
    pub key: RodataKey,
    pub offset: u32,
    pub bytes: Vec<u8>,
    pub align: u64,
}

/// One function lowered and optimised on its own: its trap sites and
/// rodata are numbered from 0 and its source positions are whatever the
/// spans of its tree were. [`assemble`] renumbers and relocates them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoweredFn {
    pub func: Func,
    pub sites: Vec<(TrapKind, u32)>,
    pub rodata: Vec<RodataPiece>,
}

impl<'a> ModuleBuilder<'a> {
    fn new(prog: &'a Program, static_offsets: Vec<u32>) -> Self {
        ModuleBuilder {
            prog,
            fn_defs: &[],
            tables: prog,
            rodata: Vec::new(),
            const_rodata: HashMap::new(),
            strings: HashMap::new(),
            static_offsets,
            sites: Vec::new(),
            pieces: Vec::new(),
        }
    }

    fn rodata_bytes(&mut self, key: RodataKey, bytes: &[u8], align: u64) -> u32 {
        let at = round_up(self.rodata.len() as u64, align.max(1)) as usize;
        self.rodata.resize(at, 0);
        self.rodata.extend_from_slice(bytes);
        self.pieces.push(RodataPiece {
            key,
            offset: at as u32,
            bytes: bytes.to_vec(),
            align,
        });
        at as u32
    }

    fn const_offset(&mut self, index: u32) -> u32 {
        if let Some(&o) = self.const_rodata.get(&index) {
            return o;
        }
        let def = &self.prog.consts[index as usize];
        let mut bytes = Vec::new();
        if let Some(v) = &def.value {
            v.write_bytes(&def.ty, self.prog, &mut bytes);
        }
        let align = self.prog.layout(&def.ty).align;
        let o = self.rodata_bytes(RodataKey::Const(index), &bytes, align);
        self.const_rodata.insert(index, o);
        o
    }

    fn string(&mut self, s: &str) -> (u32, u32) {
        if let Some(&o) = self.strings.get(s) {
            return (o, s.len() as u32);
        }
        let o = self.rodata_bytes(RodataKey::Str(s.to_string()), s.as_bytes(), 1);
        self.strings.insert(s.to_string(), o);
        (o, s.len() as u32)
    }
}

/// Code-generation switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Emit the fuel check on loop back-edges. Only benchmarks turn this off
    /// (to measure its cost): code without it is rejected by the verifier.
    pub budget_checks: bool,
    /// How a back-edge checks the budget.
    pub budget: BudgetCheck,
    /// The local form: every access is checked right before it, so the
    /// verifier needs no fact carried from elsewhere in the function. Off,
    /// an access whose index a counted loop proves in range (`for i in
    /// 0..n` indexing an array of at least `n` elements, `for x in s`, the
    /// copy loop of `[x; n]`) has no check, and the verifier must follow
    /// the proof through the loop in tables it bounds. The pipeline falls
    /// back to this form for a function the verifier refuses
    /// (`crate::pipeline`, "The local form").
    pub local_checks: bool,
    /// The cores the code is tuned for ([`crate::tune`]). The default is the
    /// process's ([`crate::tune::process_tune`]).
    pub tune: crate::tune::Tune,
}

/// How a loop back-edge spends the budget. There is one form: the verifier
/// accepts no budget check that a runtime does not honour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetCheck {
    /// `dec r13; jz trap`: a fuel counter in a reserved register. Deterministic
    /// (the same plugin traps at the same iteration on every machine) and
    /// touches no memory.
    Fuel,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            budget_checks: true,
            budget: BudgetCheck::Fuel,
            local_checks: false,
            tune: crate::tune::process_tune(),
        }
    }
}

/// Lowers every function of an error-free program.
pub fn lower(file: &ast::File, prog: &Program) -> Module {
    lower_with(file, prog, Options::default())
}

/// The statics laid out in declaration order with natural alignment:
/// (offset of each, initial bytes, size of the data area).
pub fn static_layout(prog: &Program) -> (Vec<u32>, Vec<u8>, u32) {
    let mut offsets = Vec::new();
    let mut data_init = Vec::new();
    for s in &prog.statics {
        let l = prog.layout(&s.ty);
        let at = round_up(data_init.len() as u64, l.align.max(1)) as usize;
        data_init.resize(at, 0);
        offsets.push(at as u32);
        let mut bytes = Vec::new();
        if let Some(v) = &s.value {
            v.write_bytes(&s.ty, prog, &mut bytes);
        }
        bytes.resize(l.size as usize, 0);
        data_init.extend_from_slice(&bytes);
    }
    let data_size = round_up(data_init.len() as u64, 8) as u32;
    (offsets, data_init, data_size)
}

/// Lowers function `fn_index` of `prog` alone (`item` is its
/// syntax, `static_offsets` from [`static_layout`]).
pub fn lower_function(
    prog: &Program,
    item: &ast::FnItem,
    fn_index: usize,
    static_offsets: &[u32],
    options: Options,
) -> LoweredFn {
    lower_function_with(prog, prog, &[], item, fn_index, static_offsets, options)
}

/// [`lower_function`] of the declarations `prog` shared by every body,
/// with the body's side tables (`expr_types`, `resolutions`, `bindings`)
/// read from `tables` and `fn_defs` (sorted by index) standing in for the
/// definitions of `prog.functions` at their indices. A function's lowering
/// reads only its own definition and its callees', so the database gives
/// those and no copy of the declarations: a copy per function made
/// `kplc build` quadratic in the number of functions times the number of
/// functions, constants, statics and structs.
pub fn lower_function_with(
    prog: &Program,
    tables: &Program,
    fn_defs: &[(usize, FnDef)],
    item: &ast::FnItem,
    fn_index: usize,
    static_offsets: &[u32],
    options: Options,
) -> LoweredFn {
    let mut mb = ModuleBuilder::new(prog, static_offsets.to_vec());
    mb.fn_defs = fn_defs;
    mb.tables = tables;
    let mut l = Lower::new(&mut mb, fn_index, item, options);
    let func = l.function(item, 0);
    LoweredFn {
        func,
        sites: mb.sites,
        rodata: mb.pieces,
    }
}

pub fn lower_with(file: &ast::File, prog: &Program, options: Options) -> Module {
    let (static_offsets, data_init, data_size) = static_layout(prog);
    let statics = static_table(prog, &static_offsets);
    let mut mb = ModuleBuilder::new(prog, static_offsets);
    let mut funcs = Vec::new();
    for (i, f) in prog.functions.iter().enumerate() {
        let ItemKind::Fn(item) = &file.items[f.item].kind else {
            continue;
        };
        let first_site = mb.sites.len() as u32;
        let mut l = Lower::new(&mut mb, i, item, options);
        let func = l.function(item, first_site);
        funcs.push(func);
    }
    Module {
        funcs,
        rodata: mb.rodata,
        data_init,
        data_size,
        sites: mb.sites,
        statics,
    }
}

fn new_block() -> Block {
    Block {
        insts: Vec::new(),
        term: Term::Ret(None),
        term_pos: 0,
    }
}

#[derive(Clone, Copy, Debug)]
enum Storage {
    Scalar(V),
    Slice(V),
    /// Offset and size in the aggregate area.
    Aggregate(u32, u32),
    Unset,
}

/// What a `for` loop proves about its index variable.
#[derive(Clone, Copy, Debug)]
enum Proof {
    /// `i < len(slice local)`.
    SliceLen(u32),
    /// `0 <= i < n`.
    Below(u64),
}

/// A memory location being built up from a place expression.
#[derive(Clone, Copy, Debug)]
struct Place {
    base: Base,
    disp: u32,
    /// Size in bytes of the whole object `base` refers to (0 for slices).
    whole: u32,
    /// One dynamic index, already checked semantically, and its stride.
    index: Option<(V, u32, Check)>,
}

struct Lower<'a, 'b> {
    prog: &'a Program,
    /// The body's side tables (see [`ModuleBuilder::tables`]).
    tables: &'a Program,
    mb: &'b mut ModuleBuilder<'a>,
    fn_index: usize,
    blocks: Vec<Block>,
    cur: BlockId,
    n_vregs: u32,
    locals: Vec<Storage>,
    aggregate_bytes: u32,
    /// (break target, continue target).
    loops: Vec<(BlockId, BlockId)>,
    proven: Vec<(u32, Proof)>,
    pos: u32,
    options: Options,
    /// Blocks in layout order (see `switch_to`).
    placed: Vec<BlockId>,
    /// `is_placed[b]`: `b` is in `placed` (asking `placed` itself was a scan
    /// per block switch, quadratic in a function's blocks).
    is_placed: Vec<bool>,
}

fn scalar_of(ty: &Ty) -> Scalar {
    match ty {
        Ty::Int(t) => Scalar::of_int(*t),
        _ => Scalar::BOOL,
    }
}

impl<'a, 'b> Lower<'a, 'b> {
    /// The lowering of function `fn_index` (`item`), starting in one empty
    /// block.
    fn new(
        mb: &'b mut ModuleBuilder<'a>,
        fn_index: usize,
        item: &ast::FnItem,
        options: Options,
    ) -> Self {
        Lower {
            prog: mb.prog,
            tables: mb.tables,
            mb,
            fn_index,
            blocks: vec![new_block()],
            cur: 0,
            n_vregs: 0,
            locals: Vec::new(),
            aggregate_bytes: 0,
            loops: Vec::new(),
            proven: Vec::new(),
            pos: item.sig.name.span.start,
            options,
            placed: vec![0],
            is_placed: vec![true],
        }
    }
}

impl<'a> Lower<'a, '_> {
    fn vreg(&mut self) -> V {
        self.n_vregs += 1;
        self.n_vregs - 1
    }

    fn emit(&mut self, inst: Inst) {
        let pos = self.pos;
        self.blocks[self.cur as usize].insts.push((inst, pos));
    }

    fn new_block(&mut self) -> BlockId {
        self.blocks.push(new_block());
        (self.blocks.len() - 1) as BlockId
    }

    fn terminate(&mut self, term: Term) {
        let b = &mut self.blocks[self.cur as usize];
        b.term = term;
        b.term_pos = self.pos;
    }

    fn switch_to(&mut self, b: BlockId) {
        self.cur = b;
        // Blocks are laid out in the order code starts going into them: a
        // loop's latch and exit come after its body, so the only backward
        // jumps are the latches' (which carry the budget check).
        let i = b as usize;
        if self.is_placed.len() <= i {
            self.is_placed.resize(i + 1, false);
        }
        if !self.is_placed[i] {
            self.is_placed[i] = true;
            self.placed.push(b);
        }
    }

    /// The check of an access a counted loop proves in range: none with
    /// none, or `local` with a new site in [`Options::local_checks`].
    fn loop_check(&mut self, local: impl FnOnce(SiteId) -> Check) -> Check {
        if self.options.local_checks {
            local(self.site(TrapKind::Bounds))
        } else {
            Check::Proven
        }
    }

    fn site(&mut self, kind: TrapKind) -> SiteId {
        self.mb.sites.push((kind, self.pos));
        (self.mb.sites.len() - 1) as SiteId
    }

    fn konst(&mut self, value: i64) -> V {
        let dst = self.vreg();
        self.emit(Inst::Const { dst, value });
        dst
    }

    /// The definition of function `index`: the stand-in of
    /// [`lower_function_with`] if there is one.
    fn fn_def_get(&self, index: usize) -> Option<&'a FnDef> {
        let defs: &'a [(usize, FnDef)] = self.mb.fn_defs;
        match defs.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(k) => Some(&defs[k].1),
            Err(_) => self.prog.functions.get(index),
        }
    }

    /// The definition of the function being lowered, which the caller of
    /// the lowering always gives.
    fn fn_def(&self, index: usize) -> &'a FnDef {
        self.fn_def_get(index)
            .expect("the function being lowered has a definition")
    }

    fn ty(&self, e: &ast::Expr) -> Ty {
        self.tables.type_of(e.id).clone()
    }

    fn function(&mut self, item: &ast::FnItem, first_site: SiteId) -> Func {
        let def = self.fn_def(self.fn_index);
        self.locals = vec![Storage::Unset; def.locals.len()];
        let mut params = Vec::new();
        for (i, ty) in def.params.iter().enumerate() {
            let v = self.vreg();
            params.push(v);
            self.locals[i] = match ty {
                Ty::Slice { .. } => Storage::Slice(v),
                _ => Storage::Scalar(v),
            };
        }
        self.block(&item.body);
        // Falling off the end: only reachable in functions without a value
        // (the checker guarantees a return otherwise).
        self.pos = item.body.span.end.saturating_sub(1);
        self.terminate(Term::Ret(None));
        let def = self.fn_def(self.fn_index);
        Func {
            name: def.name.clone(),
            exported: def.exported,
            params,
            returns_value: def.ret.is_some(),
            blocks: std::mem::take(&mut self.blocks),
            n_vregs: self.n_vregs,
            aggregate_bytes: round_up(u64::from(self.aggregate_bytes), 16) as u32,
            first_site,
            layout: std::mem::take(&mut self.placed),
        }
    }

    /// A fresh slot in the aggregate area for a value of type `ty`.
    fn temp_aggregate(&mut self, ty: &Ty) -> Place {
        let l = self.prog.layout(ty);
        let at = round_up(u64::from(self.aggregate_bytes), l.align.max(1)) as u32;
        self.aggregate_bytes = at + l.size as u32;
        Place {
            base: Base::Stack(at),
            disp: 0,
            whole: l.size as u32,
            index: None,
        }
    }

    fn local_storage(&mut self, id: u32) -> Storage {
        self.locals[id as usize]
    }

    fn declare(&mut self, name_span: kpl_lang::Span) -> (u32, Storage) {
        let id = self.tables.bindings.get(&name_span).copied().unwrap_or(0);
        let def = &self.fn_def(self.fn_index).locals[id as usize];
        let storage = match &def.ty {
            Ty::Array(..) | Ty::Struct(..) => {
                let l = self.prog.layout(&def.ty);
                let at = round_up(u64::from(self.aggregate_bytes), l.align.max(1)) as u32;
                self.aggregate_bytes = at + l.size as u32;
                Storage::Aggregate(at, l.size as u32)
            }
            _ => Storage::Scalar(self.vreg()),
        };
        self.locals[id as usize] = storage;
        (id, storage)
    }
}
