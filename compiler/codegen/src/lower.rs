//! Lowering: a checked program (syntax tree + the checker's side tables) to
//! the IR. This is where KPL's semantics become explicit operations: wrapping
//! (`Norm` after arithmetic), shift masking, checked division, bounds checks
//! (omitted where an enclosing `for` proves the index in range), budget checks
//! on loop back-edges, and the layout of statics, constants and strings.

use std::collections::HashMap;

use kpl_lang::ast::{self, BinOp, ExprKind, ForIter, ItemKind, StmtKind, UnOp};
use kpl_lang::check::{Program, Res};
use kpl_lang::consteval::Value;
use kpl_lang::types::{IntTy, Ty, round_up};

use crate::ir::*;

/// The lowered plugin: functions plus the data they reference.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub funcs: Vec<Func>,
    pub rodata: Vec<u8>,
    pub data_init: Vec<u8>,
    pub data_size: u32,
    /// Per trap site: what it checks and the source byte offset.
    pub sites: Vec<(TrapKind, u32)>,
}

struct ModuleBuilder<'a> {
    prog: &'a Program,
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

impl ModuleBuilder<'_> {
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
    let mut mb = ModuleBuilder {
        prog,
        rodata: Vec::new(),
        const_rodata: HashMap::new(),
        strings: HashMap::new(),
        static_offsets: static_offsets.to_vec(),
        sites: Vec::new(),
        pieces: Vec::new(),
    };
    let mut l = Lower {
        prog,
        mb: &mut mb,
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
    };
    let func = l.function(item, 0);
    LoweredFn {
        func,
        sites: mb.sites,
        rodata: mb.pieces,
    }
}

/// Puts separately lowered functions together into the module
/// [`lower_with`] would have built: rodata merged in order of first use
/// (each constant and string once), trap sites renumbered, and source
/// positions mapped by `pos`. The functions may already be optimised (the
/// database's path does so before assembling).
pub fn assemble(
    parts: &[&LoweredFn],
    data_init: Vec<u8>,
    data_size: u32,
    pos: &dyn Fn(u32) -> u32,
) -> Module {
    let mut rodata: Vec<u8> = Vec::new();
    let mut placed: HashMap<RodataKey, u32> = HashMap::new();
    let mut sites = Vec::new();
    let mut funcs = Vec::new();
    for part in parts {
        // (local start, local end, global start) of each piece.
        let mut moved: Vec<(u32, u32, u32)> = Vec::new();
        for piece in &part.rodata {
            let at = *placed.entry(piece.key.clone()).or_insert_with(|| {
                let at = round_up(rodata.len() as u64, piece.align.max(1)) as usize;
                rodata.resize(at, 0);
                rodata.extend_from_slice(&piece.bytes);
                at as u32
            });
            moved.push((piece.offset, piece.offset + piece.bytes.len() as u32, at));
        }
        let first = sites.len() as u32;
        sites.extend(part.sites.iter().map(|&(k, p)| (k, pos(p))));
        let mut f = part.func.clone();
        f.first_site = first;
        relocate(&mut f, first, &moved, pos);
        funcs.push(f);
    }
    Module {
        funcs,
        rodata,
        data_init,
        data_size,
        sites,
    }
}

/// Renumbers trap sites (+`first`), moves rodata offsets and maps source
/// positions in one function.
fn relocate(f: &mut Func, first: u32, moved: &[(u32, u32, u32)], pos: &dyn Fn(u32) -> u32) {
    // An offset inside (or at the start of) a piece moves with the piece.
    let rodata = |o: &mut u32| {
        if let Some(&(from, _, to)) = moved
            .iter()
            .find(|(a, b, _)| *a <= *o && (*o < *b || *o == *a))
        {
            *o = *o - from + to;
        }
    };
    let addr = |a: &mut Addr| {
        if let Base::Rodata(o) = &mut a.base {
            rodata(o);
        }
        if let Some(i) = &mut a.index {
            match &mut i.check {
                Check::Below(_, s) | Check::SliceLen(s) | Check::BelowLen(_, s) => *s += first,
                Check::Proven | Check::Combined => {}
            }
        }
    };
    for b in &mut f.blocks {
        b.term_pos = pos(b.term_pos);
        for (inst, p) in &mut b.insts {
            *p = pos(*p);
            match inst {
                Inst::Div { div0, overflow, .. } => {
                    *div0 += first;
                    *overflow += first;
                }
                Inst::Load { addr: a, .. } | Inst::Store { addr: a, .. } => addr(a),
                Inst::CallImport { args, .. } => {
                    for a in args {
                        if let ImportArg::Str { offset, .. } = a {
                            rodata(offset);
                        }
                    }
                }
                Inst::Budget { site } | Inst::Trap { site } => *site += first,
                Inst::Const { .. }
                | Inst::Copy { .. }
                | Inst::Bin { .. }
                | Inst::BinImm { .. }
                | Inst::Neg { .. }
                | Inst::Not { .. }
                | Inst::Norm { .. }
                | Inst::Cmp { .. }
                | Inst::CmpImm { .. }
                | Inst::SliceLen { .. }
                | Inst::SliceBase { .. }
                | Inst::Call { .. } => {}
            }
        }
    }
}

pub fn lower_with(file: &ast::File, prog: &Program, options: Options) -> Module {
    let (static_offsets, data_init, data_size) = static_layout(prog);
    let mut mb = ModuleBuilder {
        prog,
        rodata: Vec::new(),
        const_rodata: HashMap::new(),
        strings: HashMap::new(),
        static_offsets,
        sites: Vec::new(),
        pieces: Vec::new(),
    };
    let mut funcs = Vec::new();
    for (i, f) in prog.functions.iter().enumerate() {
        let ItemKind::Fn(item) = &file.items[f.item].kind else {
            continue;
        };
        let first_site = mb.sites.len() as u32;
        let mut l = Lower {
            prog,
            mb: &mut mb,
            fn_index: i,
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
        };
        let func = l.function(item, first_site);
        funcs.push(func);
    }
    Module {
        funcs,
        rodata: mb.rodata,
        data_init,
        data_size,
        sites: mb.sites,
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
}

fn scalar_of(ty: &Ty) -> Scalar {
    match ty {
        Ty::Int(t) => Scalar::of_int(*t),
        _ => Scalar::BOOL,
    }
}

impl Lower<'_, '_> {
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
        if !self.placed.contains(&b) {
            self.placed.push(b);
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

    fn ty(&self, e: &ast::Expr) -> Ty {
        self.prog.type_of(e.id).clone()
    }

    fn function(&mut self, item: &ast::FnItem, first_site: SiteId) -> Func {
        let def = &self.prog.functions[self.fn_index];
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
        let def = &self.prog.functions[self.fn_index];
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
        let id = self.prog.bindings.get(&name_span).copied().unwrap_or(0);
        let def = &self.prog.functions[self.fn_index].locals[id as usize];
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

    // ----- statements --------------------------------------------------------

    fn block(&mut self, b: &ast::Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    /// Starts a fresh block for code after an unconditional jump, so that
    /// (unreachable) statements still have somewhere to go.
    fn dead_end(&mut self) {
        let b = self.new_block();
        self.switch_to(b);
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        self.pos = s.span.start;
        match &s.kind {
            StmtKind::Let { name, init, .. } => {
                let (_, storage) = self.declare(name.span);
                match storage {
                    Storage::Scalar(v) => {
                        let x = self.expr(init);
                        self.emit(Inst::Copy { dst: v, src: x });
                    }
                    Storage::Aggregate(off, size) => {
                        let place = Place {
                            base: Base::Stack(off),
                            disp: 0,
                            whole: size,
                            index: None,
                        };
                        self.store_aggregate(place, init);
                    }
                    _ => {}
                }
            }
            StmtKind::Assign {
                target, op, value, ..
            } => self.assign(target, *op, value),
            StmtKind::If { cond, then, els } => {
                let then_b = self.new_block();
                let else_b = self.new_block();
                let join = self.new_block();
                self.branch(cond, then_b, else_b);
                self.switch_to(then_b);
                self.block(then);
                self.terminate(Term::Jump(join));
                self.switch_to(else_b);
                if let Some(e) = els {
                    self.stmt(e);
                }
                self.terminate(Term::Jump(join));
                self.switch_to(join);
            }
            StmtKind::While { cond, body } => {
                let loop_pos = s.span.start;
                let header = self.new_block();
                let body_b = self.new_block();
                let latch = self.new_block();
                let exit = self.new_block();
                self.terminate(Term::Jump(header));
                self.switch_to(header);
                self.branch(cond, body_b, exit);
                self.switch_to(body_b);
                self.loop_body(body, header, latch, exit, loop_pos, None);
            }
            StmtKind::For { var, iter, body } => self.for_loop(var, iter, body),
            StmtKind::Break | StmtKind::Continue => {
                if let Some(&(brk, cont)) = self.loops.last() {
                    let to = if s.kind == StmtKind::Break { brk } else { cont };
                    self.terminate(Term::Jump(to));
                }
                self.dead_end();
            }
            StmtKind::Return(value) => {
                let v = value.as_ref().map(|e| self.expr(e));
                self.terminate(Term::Ret(v));
                self.dead_end();
            }
            StmtKind::Abort => {
                let site = self.site(TrapKind::Abort);
                self.emit(Inst::Trap { site });
                self.terminate(Term::Ret(None));
                self.dead_end();
            }
            StmtKind::Expr(e) => {
                self.expr_for_effect(e);
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Error => {}
        }
    }

    /// Starts a counted loop: jumps to a new header block that branches to
    /// a new body block while `idx cc bound`, else to a new exit block. With
    /// `latch`, a latch block is created between body and exit (the layout
    /// order). Returns (header, latch, exit) with the body block current.
    fn loop_head(&mut self, idx: V, cc: Cc, bound: V, latch: bool) -> (BlockId, BlockId, BlockId) {
        let header = self.new_block();
        let body = self.new_block();
        let latch = if latch { self.new_block() } else { body };
        let exit = self.new_block();
        self.terminate(Term::Jump(header));
        self.switch_to(header);
        let c = self.vreg();
        self.emit(Inst::Cmp {
            cc,
            dst: c,
            a: idx,
            b: bound,
        });
        self.terminate(Term::Branch {
            cond: c,
            then: body,
            els: exit,
        });
        self.switch_to(body);
        (header, latch, exit)
    }

    /// Fuel check and jump back to the loop header. `loop_pos` is the loop
    /// statement's source offset: a Budget trap is reported there.
    /// A loop's body and latch: inside the body `break` goes to `exit` and
    /// `continue` to `latch`, which adds 1 to `counter` (if any) and takes
    /// the budgeted back-edge to `header`; lowering goes on at `exit`.
    fn loop_body(
        &mut self,
        body: &ast::Block,
        header: BlockId,
        latch: BlockId,
        exit: BlockId,
        loop_pos: u32,
        counter: Option<V>,
    ) {
        self.loops.push((exit, latch));
        self.block(body);
        self.loops.pop();
        self.terminate(Term::Jump(latch));
        self.switch_to(latch);
        if let Some(c) = counter {
            self.emit(Inst::BinImm {
                op: Op::Add,
                dst: c,
                a: c,
                imm: 1,
            });
        }
        self.back_edge(header, loop_pos);
        self.switch_to(exit);
    }

    fn back_edge(&mut self, header: BlockId, loop_pos: u32) {
        self.pos = loop_pos;
        if self.options.budget_checks {
            let site = self.site(TrapKind::Budget);
            self.emit(Inst::Budget { site });
        }
        self.terminate(Term::Jump(header));
    }

    fn for_loop(&mut self, var: &ast::Ident, iter: &ForIter, body: &ast::Block) {
        let loop_pos = self.pos;
        let (var_id, var_storage) = self.declare(var.span);
        match iter {
            ForIter::Range(lo, hi) => {
                let Storage::Scalar(i) = var_storage else {
                    return;
                };
                let ty = self.ty(lo);
                let signed = matches!(ty, Ty::Int(t) if t.signed());
                let start = self.expr(lo);
                let end_value = self.expr(hi);
                // The bound is a snapshot: the body may change the variable it came from.
                let end = self.vreg();
                self.emit(Inst::Copy {
                    dst: end,
                    src: end_value,
                });
                self.emit(Inst::Copy { dst: i, src: start });
                let proof = self.range_proof(lo, hi, signed);
                // With a proof both bounds are non-negative, so the unsigned
                // compare is the same test — and the one the verifier reads
                // as "index below bound".
                let cc = if signed && proof.is_none() {
                    Cc::Lt
                } else {
                    Cc::B
                };
                let (header, latch, exit) = self.loop_head(i, cc, end, true);
                if let Some(p) = proof {
                    self.proven.push((var_id, p));
                }
                // i < end <= MAX, so i + 1 cannot wrap: no Norm needed.
                self.loop_body(body, header, latch, exit, loop_pos, Some(i));
                if proof.is_some() {
                    self.proven.pop();
                }
            }
            ForIter::Each(seq) => {
                let place = match self.place(seq) {
                    Some(p) => p,
                    None => {
                        // An array value that is not a place (a literal):
                        // evaluate it once into a temporary.
                        let size = self.prog.layout(&self.ty(seq)).size as u32;
                        let tmp = self.temp_aggregate(&self.ty(seq));
                        self.store_aggregate(tmp, seq);
                        let _ = size;
                        tmp
                    }
                };
                let seq_ty = self.ty(seq);
                let (len, elem_ty) = match (&seq_ty, place.base) {
                    (Ty::Slice { elem, .. }, Base::Slice(h)) => {
                        let n = self.vreg();
                        self.emit(Inst::SliceLen {
                            dst: n,
                            handle: h,
                            writable: false,
                            size: Scalar::of_int(*elem).size,
                        });
                        (n, Ty::Int(*elem))
                    }
                    (Ty::Array(elem, n), _) => (self.konst(*n as i64), (**elem).clone()),
                    _ => return,
                };
                let idx = self.konst(0);
                let (header, latch, exit) = self.loop_head(idx, Cc::B, len, true);
                let elem_size = self.prog.layout(&elem_ty).size as u32;
                let elem_place = self.indexed(place, idx, elem_size, Check::Proven);
                match var_storage {
                    Storage::Scalar(v) => {
                        let x = self.load(elem_place, scalar_of(&elem_ty));
                        self.emit(Inst::Copy { dst: v, src: x });
                    }
                    Storage::Aggregate(off, size) => {
                        let dst = Place {
                            base: Base::Stack(off),
                            disp: 0,
                            whole: size,
                            index: None,
                        };
                        self.copy(dst, elem_place, size);
                    }
                    _ => {}
                }
                self.loop_body(body, header, latch, exit, loop_pos, Some(idx));
            }
        }
    }

    /// What `for i in lo..hi` proves about `i` inside the body.
    fn range_proof(&mut self, lo: &ast::Expr, hi: &ast::Expr, signed: bool) -> Option<Proof> {
        let nonneg = !signed || matches!(lo.unparen().kind, ExprKind::Int(_));
        if !nonneg {
            return None;
        }
        match &hi.unparen().kind {
            ExprKind::Field(base, f) if f.name == "len" => {
                match self.prog.resolutions.get(&base.unparen().id) {
                    Some(Res::Local(l)) => match self.locals[*l as usize] {
                        Storage::Slice(_) => Some(Proof::SliceLen(*l)),
                        _ => match self.ty(base) {
                            Ty::Array(_, n) => Some(Proof::Below(n)),
                            _ => None,
                        },
                    },
                    _ => match self.ty(base) {
                        Ty::Array(_, n) => Some(Proof::Below(n)),
                        _ => None,
                    },
                }
            }
            ExprKind::Int(n) => Some(Proof::Below(*n)),
            _ => None,
        }
    }

    fn assign(&mut self, target: &ast::Expr, op: Option<BinOp>, value: &ast::Expr) {
        let ty = self.ty(target);
        // A scalar local: a register.
        if let ExprKind::Name(_) = target.unparen().kind
            && let Some(Res::Local(l)) = self.prog.resolutions.get(&target.unparen().id)
            && let Storage::Scalar(v) = self.local_storage(*l)
        {
            let x = match op {
                None => self.expr(value),
                Some(op) => {
                    let rhs = self.expr(value);
                    self.arith(op, &ty, v, rhs, &self.ty(value))
                }
            };
            self.emit(Inst::Copy { dst: v, src: x });
            return;
        }
        let Some(place) = self.place(target) else {
            return;
        };
        if matches!(ty, Ty::Array(..) | Ty::Struct(..)) {
            // A literal is built element by element; if building it reads
            // the target (or calls, which may write statics), build it in a
            // temporary first: the old value must be read in full.
            let literal = matches!(
                value.unparen().kind,
                ExprKind::StructLit(..) | ExprKind::ArrayLit(..) | ExprKind::ArrayRepeat(..)
            );
            let root = place_root(target).and_then(|r| self.prog.resolutions.get(&r).copied());
            if literal && reads_or_calls(value, root, self.prog) {
                let tmp = self.temp_aggregate(&ty);
                self.store_aggregate(tmp, value);
                let size = self.prog.layout(&ty).size as u32;
                self.copy(place, tmp, size);
            } else {
                self.store_aggregate(place, value);
            }
            return;
        }
        let s = scalar_of(&ty);
        // The place (its indexes and their checks) is evaluated before the
        // right-hand side: `a[9] = f()` traps without calling f.
        if op.is_none()
            && let Some((v, stride, check)) = place.index
        {
            self.run_check(v, check, place.base, stride);
        }
        let x = match op {
            None => self.expr(value),
            Some(op) => {
                // The place is evaluated once; its checks already ran.
                let old = self.load(place, s);
                let rhs = self.expr(value);
                self.arith(op, &ty, old, rhs, &self.ty(value))
            }
        };
        self.store(place, x, s);
    }

    // ----- places ------------------------------------------------------------

    /// The memory location of a place expression (aggregates, elements,
    /// fields, statics, slices). `None` for scalars held in registers.
    ///
    /// An aggregate value that is not a place (an array, repeat or struct
    /// literal, at any depth under parentheses, fields and indexes) is
    /// evaluated into a fresh temporary, which is then its place: every
    /// postfix on every kind of primary goes through here.
    fn place(&mut self, e: &ast::Expr) -> Option<Place> {
        match &e.kind {
            ExprKind::Paren(x) => self.place(x),
            ExprKind::StructLit(..) | ExprKind::ArrayLit(..) | ExprKind::ArrayRepeat(..) => {
                let tmp = self.temp_aggregate(&self.ty(e));
                self.store_aggregate(tmp, e);
                Some(tmp)
            }
            ExprKind::Name(_) => match self.prog.resolutions.get(&e.id).copied()? {
                Res::Local(l) => match self.local_storage(l) {
                    Storage::Aggregate(off, size) => Some(Place {
                        base: Base::Stack(off),
                        disp: 0,
                        whole: size,
                        index: None,
                    }),
                    Storage::Slice(h) => Some(Place {
                        base: Base::Slice(h),
                        disp: 0,
                        whole: 0,
                        index: None,
                    }),
                    _ => None,
                },
                Res::Static(i) => {
                    let off = self.mb.static_offsets[i as usize];
                    let size = self.prog.layout(&self.prog.statics[i as usize].ty).size as u32;
                    Some(Place {
                        base: Base::Static(off),
                        disp: 0,
                        whole: size,
                        index: None,
                    })
                }
                Res::Const(i) => {
                    let off = self.mb.const_offset(i);
                    let size = self.prog.layout(&self.prog.consts[i as usize].ty).size as u32;
                    Some(Place {
                        base: Base::Rodata(off),
                        disp: 0,
                        whole: size,
                        index: None,
                    })
                }
                _ => None,
            },
            ExprKind::Field(base, field) => {
                let p = self.place(base)?;
                let Ty::Struct(id, _) = self.ty(base) else {
                    return None;
                };
                let def = &self.prog.structs[id.0 as usize];
                let f = def.fields.iter().find(|f| f.name == field.name)?;
                Some(Place {
                    disp: p.disp + f.offset as u32,
                    ..p
                })
            }
            ExprKind::Index(base, index) => {
                let p = self.place(base)?;
                let base_ty = self.ty(base);
                let proven = self.is_proven(base, index, &base_ty);
                let i = self.expr(index);
                match base_ty {
                    Ty::Slice { elem, .. } => {
                        let check = if proven {
                            Check::Proven
                        } else {
                            Check::SliceLen(self.site(TrapKind::Bounds))
                        };
                        Some(self.indexed(p, i, u32::from(Scalar::of_int(elem).size), check))
                    }
                    Ty::Array(elem, n) => {
                        let stride = self.prog.layout(&elem).size as u32;
                        let check = if proven {
                            Check::Proven
                        } else {
                            Check::Below(n, self.site(TrapKind::Bounds))
                        };
                        Some(self.indexed(p, i, stride, check))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn is_proven(&self, base: &ast::Expr, index: &ast::Expr, base_ty: &Ty) -> bool {
        let Some(Res::Local(i)) = self.prog.resolutions.get(&index.unparen().id).copied() else {
            return false;
        };
        if !matches!(index.unparen().kind, ExprKind::Name(_)) {
            return false;
        }
        self.proven.iter().rev().any(|(l, proof)| {
            *l == i
                && match (proof, base_ty) {
                    (Proof::SliceLen(s), Ty::Slice { .. }) => matches!(
                        self.prog.resolutions.get(&base.unparen().id),
                        Some(Res::Local(b)) if b == s
                    ),
                    (Proof::Below(n), Ty::Array(_, len)) => n <= len,
                    _ => false,
                }
        })
    }

    /// Adds a dynamic index to a place. A second index is folded into a byte
    /// offset (its own check has already run).
    fn indexed(&mut self, p: Place, i: V, stride: u32, check: Check) -> Place {
        match p.index {
            // The check is folded into the access's addressing form.
            None => Place {
                index: Some((i, stride, check)),
                ..p
            },
            Some((prev, prev_stride, prev_check)) => {
                // Run both semantic checks, then address by bytes.
                self.run_check(prev, prev_check, p.base, prev_stride);
                self.run_check(i, check, p.base, stride);
                let a = self.scaled(prev, prev_stride);
                let b = self.scaled(i, stride);
                let bytes = self.vreg();
                self.emit(Inst::Bin {
                    op: Op::Add,
                    dst: bytes,
                    a,
                    b,
                });
                Place {
                    index: Some((bytes, 1, Check::Combined)),
                    ..p
                }
            }
        }
    }

    fn scaled(&mut self, v: V, by: u32) -> V {
        if by == 1 {
            return v;
        }
        let k = self.konst(i64::from(by));
        let dst = self.vreg();
        self.emit(Inst::Bin {
            op: Op::Mul,
            dst,
            a: v,
            b: k,
        });
        dst
    }

    /// Emits a standalone semantic bounds check (a one-element probe load).
    /// `stride` is the element size; slices are checked in elements of it.
    fn run_check(&mut self, v: V, check: Check, base: Base, stride: u32) {
        if matches!(check, Check::Proven | Check::Combined) {
            return;
        }
        let scale = match base {
            Base::Slice(_) if matches!(stride, 1 | 2 | 4 | 8) => stride as u8,
            _ => 1,
        };
        let addr = Addr {
            base,
            index: Some(Index { v, scale, check }),
            disp: 0,
        };
        // A probe load of one element performs exactly the check.
        let dst = self.vreg();
        self.emit(Inst::Load {
            dst,
            addr,
            ty: Scalar {
                size: scale,
                signed: false,
            },
        });
    }

    /// The machine address for accessing a scalar of `size` bytes at `p`.
    fn access(&mut self, p: Place, size: u8) -> Addr {
        match p.index {
            None => Addr {
                base: p.base,
                index: None,
                disp: p.disp,
            },
            Some((v, stride, check)) if stride == u32::from(size) && check != Check::Combined => {
                Addr {
                    base: p.base,
                    index: Some(Index {
                        v,
                        scale: size,
                        check,
                    }),
                    disp: p.disp,
                }
            }
            Some((v, stride, check)) => {
                // Element of a struct or nested array: check the element index
                // semantically, then address in units of the scalar with a
                // check against the object's end, which the verifier can see.
                self.run_check(v, check, p.base, stride);
                let (units, scale) = if stride % u32::from(size) == 0 {
                    (self.scaled(v, stride / u32::from(size)), size)
                } else {
                    (self.scaled(v, stride), 1)
                };
                let limit = (u64::from(p.whole)
                    .saturating_sub(u64::from(p.disp) + u64::from(size))
                    / u64::from(scale))
                    + 1;
                let site = self.site(TrapKind::Bounds);
                Addr {
                    base: p.base,
                    index: Some(Index {
                        v: units,
                        scale,
                        check: Check::Below(limit, site),
                    }),
                    disp: p.disp,
                }
            }
        }
    }

    fn load(&mut self, p: Place, s: Scalar) -> V {
        let addr = self.access(p, s.size);
        let dst = self.vreg();
        self.emit(Inst::Load { dst, addr, ty: s });
        dst
    }

    fn store(&mut self, p: Place, src: V, s: Scalar) {
        let addr = self.access(p, s.size);
        self.emit(Inst::Store { addr, src, ty: s });
    }

    fn offset(p: Place, by: u32) -> Place {
        Place {
            disp: p.disp + by,
            ..p
        }
    }

    /// Copies `size` bytes between places, in the largest chunks alignment allows.
    fn copy(&mut self, dst: Place, src: Place, size: u32) {
        let mut at = 0;
        while at < size {
            let chunk = [8u8, 4, 2, 1]
                .into_iter()
                .find(|c| u32::from(*c) <= size - at && at % u32::from(*c) == 0)
                .unwrap_or(1);
            let s = Scalar {
                size: chunk,
                signed: false,
            };
            let v = self.load(Self::offset(src, at), s);
            self.store(Self::offset(dst, at), v, s);
            at += u32::from(chunk);
        }
    }

    /// Evaluates an aggregate-typed expression straight into `dst`.
    fn store_aggregate(&mut self, dst: Place, e: &ast::Expr) {
        self.pos = e.span.start;
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Paren(x) => self.store_aggregate(dst, x),
            ExprKind::StructLit(_, inits) => {
                let Ty::Struct(id, _) = ty else { return };
                let fields = self.prog.structs[id.0 as usize].fields.clone();
                // Source order of evaluation, each into its field.
                for init in inits {
                    if let Some(f) = fields.iter().find(|f| f.name == init.name.name) {
                        self.store_value(Self::offset(dst, f.offset as u32), &f.ty, &init.value);
                    }
                }
            }
            ExprKind::ArrayLit(elems) => {
                let Ty::Array(elem_ty, _) = ty else { return };
                let size = self.prog.layout(&elem_ty).size as u32;
                for (k, x) in elems.iter().enumerate() {
                    self.store_value(Self::offset(dst, k as u32 * size), &elem_ty, x);
                }
            }
            ExprKind::ArrayRepeat(x, _) => {
                let Ty::Array(elem_ty, n) = ty else { return };
                let size = self.prog.layout(&elem_ty).size as u32;
                // The element is evaluated once, then copied n times.
                let scalar = !matches!(*elem_ty, Ty::Array(..) | Ty::Struct(..));
                let (value, tmp) = if scalar {
                    (Some(self.expr(x)), None)
                } else {
                    let align = self.prog.layout(&elem_ty).align.max(1);
                    let at = round_up(u64::from(self.aggregate_bytes), align) as u32;
                    self.aggregate_bytes = at + size;
                    let tmp = Place {
                        base: Base::Stack(at),
                        disp: 0,
                        whole: size,
                        index: None,
                    };
                    self.store_aggregate(tmp, x);
                    (None, Some(tmp))
                };
                let total = size as u64 * n;
                if total <= 64 {
                    for k in 0..n as u32 {
                        let d = Self::offset(dst, k * size);
                        match (value, tmp) {
                            (Some(v), _) => self.store(d, v, scalar_of(&elem_ty)),
                            (_, Some(t)) => self.copy(d, t, size),
                            _ => {}
                        }
                    }
                } else {
                    // A counted loop over the elements (with its budget check).
                    let loop_pos = self.pos;
                    let idx = self.konst(0);
                    let count = self.konst(n as i64);
                    let (header, _, exit) = self.loop_head(idx, Cc::B, count, false);
                    let d = self.indexed(dst, idx, size, Check::Proven);
                    match (value, tmp) {
                        (Some(v), _) => self.store(d, v, scalar_of(&elem_ty)),
                        (_, Some(t)) => self.copy(d, t, size),
                        _ => {}
                    }
                    self.emit(Inst::BinImm {
                        op: Op::Add,
                        dst: idx,
                        a: idx,
                        imm: 1,
                    });
                    self.back_edge(header, loop_pos);
                    self.switch_to(exit);
                }
            }
            _ => {
                if let Some(src) = self.place(e) {
                    let size = self.prog.layout(&ty).size as u32;
                    self.copy(dst, src, size);
                }
            }
        }
    }

    fn store_value(&mut self, dst: Place, ty: &Ty, e: &ast::Expr) {
        if matches!(ty, Ty::Array(..) | Ty::Struct(..)) {
            self.store_aggregate(dst, e);
        } else {
            let v = self.expr(e);
            self.store(dst, v, scalar_of(ty));
        }
    }

    // ----- expressions -------------------------------------------------------

    fn expr_for_effect(&mut self, e: &ast::Expr) {
        match &e.unparen().kind {
            ExprKind::Call(..) => {
                self.call(e.unparen(), false);
            }
            _ => {
                // Evaluated for its traps (e.g. a checked index), value dropped.
                if matches!(self.ty(e), Ty::Array(..) | Ty::Struct(..)) {
                    self.aggregate_for_effect(e);
                } else {
                    self.expr(e);
                }
            }
        }
    }

    /// Evaluates an aggregate-typed expression only for its effects: its
    /// calls, and the bounds checks of its indexes. An expression that has
    /// neither (a variable, a field of one, a literal of constants) emits
    /// nothing.
    fn aggregate_for_effect(&mut self, e: &ast::Expr) {
        if !may_call_or_trap(e) {
            return;
        }
        let saved = self.pos;
        self.pos = e.span.start;
        if let Some(p) = self.place(e)
            && let Some((v, stride, check)) = p.index
        {
            self.run_check(v, check, p.base, stride);
        }
        self.pos = saved;
    }

    fn norm(&mut self, v: V, ty: &Ty) -> V {
        match ty {
            Ty::Int(t) if t.bits() < 64 => {
                let dst = self.vreg();
                self.emit(Inst::Norm {
                    dst,
                    a: v,
                    ty: Scalar::of_int(*t),
                });
                dst
            }
            _ => v,
        }
    }

    /// `a op b` for arithmetic and bitwise operators, with KPL's semantics.
    fn arith(&mut self, op: BinOp, ty: &Ty, a: V, b: V, _rhs_ty: &Ty) -> V {
        let int = ty.as_int();
        let signed = int.is_some_and(IntTy::signed);
        let dst = self.vreg();
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let op = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    _ => Op::Mul,
                };
                self.emit(Inst::Bin { op, dst, a, b });
                self.norm(dst, ty)
            }
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
                let op = match op {
                    BinOp::BitAnd => Op::And,
                    BinOp::BitOr => Op::Or,
                    _ => Op::Xor,
                };
                // Canonical inputs give a canonical result.
                self.emit(Inst::Bin { op, dst, a, b });
                dst
            }
            BinOp::Shl | BinOp::Shr => {
                let bits = int.map_or(64, IntTy::bits);
                let amount = self.vreg();
                self.emit(Inst::BinImm {
                    op: Op::And,
                    dst: amount,
                    a: b,
                    imm: (bits - 1) as i32,
                });
                let op = match (op, signed) {
                    (BinOp::Shl, _) => Op::Shl,
                    (_, true) => Op::Sar,
                    _ => Op::Shr,
                };
                self.emit(Inst::Bin {
                    op,
                    dst,
                    a,
                    b: amount,
                });
                if op == Op::Shl {
                    self.norm(dst, ty)
                } else {
                    dst
                }
            }
            BinOp::Div | BinOp::Rem => {
                let div0 = self.site(TrapKind::DivByZero);
                let overflow = self.site(TrapKind::Overflow);
                self.emit(Inst::Div {
                    dst,
                    a,
                    b,
                    signed,
                    rem: op == BinOp::Rem,
                    min: if signed {
                        int.map(|t| t.min() as i64)
                    } else {
                        None
                    },
                    div0,
                    overflow,
                });
                dst
            }
            _ => dst,
        }
    }

    fn expr(&mut self, e: &ast::Expr) -> V {
        let saved = self.pos;
        self.pos = e.span.start;
        let v = self.expr_inner(e);
        self.pos = saved;
        v
    }

    fn expr_inner(&mut self, e: &ast::Expr) -> V {
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Int(v) => {
                let s = scalar_of(&ty);
                self.konst(s.normalize(*v as i64))
            }
            ExprKind::Bool(b) => self.konst(i64::from(*b)),
            ExprKind::Paren(x) => self.expr(x),
            ExprKind::Unary(op, x) => {
                if *op == UnOp::Neg
                    && let ExprKind::Int(v) = x.unparen().kind
                {
                    let s = scalar_of(&ty);
                    return self.konst(s.normalize((v as i64).wrapping_neg()));
                }
                let a = self.expr(x);
                let dst = self.vreg();
                match op {
                    UnOp::Neg => {
                        self.emit(Inst::Neg { dst, a });
                        self.norm(dst, &ty)
                    }
                    UnOp::BitNot => {
                        self.emit(Inst::Not { dst, a });
                        self.norm(dst, &ty)
                    }
                    UnOp::Not => {
                        self.emit(Inst::BinImm {
                            op: Op::Xor,
                            dst,
                            a,
                            imm: 1,
                        });
                        dst
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinOp::And | BinOp::Or => self.short_circuit(e),
                op if op.is_comparison() => {
                    let lt = self.ty(lhs);
                    let a = self.expr(lhs);
                    let b = self.expr(rhs);
                    let signed = matches!(lt, Ty::Int(t) if t.signed());
                    let cc = cmp_cc(*op, signed);
                    let dst = self.vreg();
                    self.emit(Inst::Cmp { cc, dst, a, b });
                    dst
                }
                op => {
                    let a = self.expr(lhs);
                    let b = self.expr(rhs);
                    let rt = self.ty(rhs);
                    self.arith(*op, &ty, a, b, &rt)
                }
            },
            ExprKind::Cast(x, _) => {
                let a = self.expr(x);
                let from = self.ty(x);
                if from == ty {
                    return a;
                }
                self.norm(a, &ty)
            }
            ExprKind::Call(..) => self.call(e, true).unwrap_or_else(|| self.konst(0)),
            ExprKind::Name(_) => match self.prog.resolutions.get(&e.id).copied() {
                Some(Res::Local(l)) => match self.local_storage(l) {
                    Storage::Scalar(v) | Storage::Slice(v) => v,
                    _ => self.konst(0),
                },
                Some(Res::Const(i)) => match &self.prog.consts[i as usize].value {
                    Some(Value::Int(v, _)) => self.konst(*v as i64),
                    Some(Value::Bool(b)) => self.konst(i64::from(*b)),
                    _ => self.konst(0),
                },
                Some(Res::Static(_)) => match self.place(e) {
                    Some(p) => self.load(p, scalar_of(&ty)),
                    None => self.konst(0),
                },
                _ => self.konst(0),
            },
            ExprKind::Field(base, f)
                if f.name == "len" && matches!(self.ty(base), Ty::Array(..) | Ty::Slice { .. }) =>
            {
                match self.ty(base) {
                    Ty::Array(_, n) => {
                        // `e.len` evaluates `e` (its calls and bounds checks),
                        // then ignores the value.
                        self.aggregate_for_effect(base);
                        self.konst(n as i64)
                    }
                    t => {
                        let (writable, size) = match t {
                            Ty::Slice { mutable, elem } => (mutable, Scalar::of_int(elem).size),
                            _ => (false, 1),
                        };
                        let h = self.expr(base);
                        let dst = self.vreg();
                        self.emit(Inst::SliceLen {
                            dst,
                            handle: h,
                            writable,
                            size,
                        });
                        dst
                    }
                }
            }
            ExprKind::Field(..) | ExprKind::Index(..) => match self.place(e) {
                Some(p) => self.load(p, scalar_of(&ty)),
                None => self.konst(0),
            },
            // Aggregates and strings are never scalar values.
            _ => self.konst(0),
        }
    }

    fn short_circuit(&mut self, e: &ast::Expr) -> V {
        let result = self.vreg();
        let t = self.new_block();
        let f = self.new_block();
        let join = self.new_block();
        self.branch(e, t, f);
        self.switch_to(t);
        self.emit(Inst::Const {
            dst: result,
            value: 1,
        });
        self.terminate(Term::Jump(join));
        self.switch_to(f);
        self.emit(Inst::Const {
            dst: result,
            value: 0,
        });
        self.terminate(Term::Jump(join));
        self.switch_to(join);
        result
    }

    /// Evaluates a condition as control flow (short-circuiting `&&`/`||`).
    fn branch(&mut self, cond: &ast::Expr, then: BlockId, els: BlockId) {
        match &cond.unparen().kind {
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
                ..
            } => {
                let mid = self.new_block();
                self.branch(lhs, mid, els);
                self.switch_to(mid);
                self.branch(rhs, then, els);
            }
            ExprKind::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
                ..
            } => {
                let mid = self.new_block();
                self.branch(lhs, then, mid);
                self.switch_to(mid);
                self.branch(rhs, then, els);
            }
            ExprKind::Unary(UnOp::Not, x) => self.branch(x, els, then),
            _ => {
                let c = self.expr(cond);
                self.terminate(Term::Branch { cond: c, then, els });
            }
        }
    }

    fn call(&mut self, e: &ast::Expr, want_value: bool) -> Option<V> {
        let ExprKind::Call(callee, args) = &e.kind else {
            return None;
        };
        let res = self.prog.resolutions.get(&callee.unparen().id).copied()?;
        match res {
            Res::Fn(f) => {
                let vs: Vec<V> = args.iter().map(|a| self.expr(a)).collect();
                let returns = self.prog.functions[f as usize].ret.is_some();
                let dst = (returns && want_value).then(|| self.vreg());
                let dst = dst.or_else(|| returns.then(|| self.vreg()));
                self.emit(Inst::Call {
                    dst,
                    func: f,
                    args: vs,
                });
                dst
            }
            Res::Import(i) => {
                let mut out = Vec::new();
                for a in args {
                    match &a.unparen().kind {
                        ExprKind::Str(s) => {
                            let (offset, len) = self.mb.string(s);
                            out.push(ImportArg::Str { offset, len });
                        }
                        _ => {
                            let v = self.expr(a);
                            out.push(ImportArg::Value(v));
                        }
                    }
                }
                let returns = self.prog.imports[i as usize].ret.is_some();
                let dst = returns.then(|| self.vreg());
                self.emit(Inst::CallImport {
                    dst,
                    slot: i,
                    args: out,
                });
                // Host results are normalised to the declared type.
                match (dst, &self.prog.imports[i as usize].ret.clone()) {
                    (Some(d), Some(t)) => Some(self.norm(d, t)),
                    _ => dst,
                }
            }
            _ => None,
        }
    }
}

/// The expression id of the variable a place expression is rooted at.
fn place_root(e: &ast::Expr) -> Option<ast::ExprId> {
    match &e.kind {
        ExprKind::Name(_) => Some(e.id),
        ExprKind::Paren(x) | ExprKind::Field(x, _) | ExprKind::Index(x, _) => place_root(x),
        _ => None,
    }
}

/// Whether evaluating `e` may read the variable `root` or call a function.
fn reads_or_calls(e: &ast::Expr, root: Option<Res>, prog: &Program) -> bool {
    match &e.kind {
        ExprKind::Name(_) => root.is_some() && prog.resolutions.get(&e.id).copied() == root,
        ExprKind::Call(..) => true,
        ExprKind::Paren(x)
        | ExprKind::Unary(_, x)
        | ExprKind::Cast(x, _)
        | ExprKind::Field(x, _) => reads_or_calls(x, root, prog),
        ExprKind::Binary { lhs, rhs, .. } => {
            reads_or_calls(lhs, root, prog) || reads_or_calls(rhs, root, prog)
        }
        ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
            reads_or_calls(a, root, prog) || reads_or_calls(b, root, prog)
        }
        ExprKind::StructLit(_, fields) => {
            fields.iter().any(|f| reads_or_calls(&f.value, root, prog))
        }
        ExprKind::ArrayLit(elems) => elems.iter().any(|x| reads_or_calls(x, root, prog)),
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Error => false,
    }
}

/// Whether evaluating `e` may call a function or trap (a division, an
/// index); otherwise evaluating it for its effects does nothing.
fn may_call_or_trap(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Call(..) | ExprKind::Index(..) | ExprKind::Error => true,
        ExprKind::Binary { op, lhs, rhs, .. } => {
            matches!(op, BinOp::Div | BinOp::Rem) || may_call_or_trap(lhs) || may_call_or_trap(rhs)
        }
        ExprKind::Paren(x)
        | ExprKind::Unary(_, x)
        | ExprKind::Cast(x, _)
        | ExprKind::Field(x, _) => may_call_or_trap(x),
        ExprKind::ArrayRepeat(x, _) => may_call_or_trap(x),
        ExprKind::StructLit(_, fields) => fields.iter().any(|f| may_call_or_trap(&f.value)),
        ExprKind::ArrayLit(elems) => elems.iter().any(may_call_or_trap),
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Name(_) => false,
    }
}

fn cmp_cc(op: BinOp, signed: bool) -> Cc {
    match (op, signed) {
        (BinOp::Eq, _) => Cc::Eq,
        (BinOp::Ne, _) => Cc::Ne,
        (BinOp::Lt, true) => Cc::Lt,
        (BinOp::Le, true) => Cc::Le,
        (BinOp::Gt, true) => Cc::Gt,
        (BinOp::Ge, true) => Cc::Ge,
        (BinOp::Lt, false) => Cc::B,
        (BinOp::Le, false) => Cc::Be,
        (BinOp::Gt, false) => Cc::A,
        (BinOp::Ge, false) => Cc::Ae,
        _ => Cc::Ne,
    }
}
