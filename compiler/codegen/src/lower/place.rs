//! Lowering places: the memory location of a place expression (locals,
//! statics, constants, fields, elements), bounds checks on dynamic indexes
//! (omitted where proven), loads, stores and atomic updates, and copying and
//! building aggregates (arrays and structs) in memory.

use kpl_lang::ast::{self, ExprKind};
use kpl_lang::check::{AtomicOp, Res};
use kpl_lang::types::{Ty, round_up};

use crate::ir::*;

use super::{Lower, Place, Proof, Storage, scalar_of};

impl Lower<'_, '_> {
    /// The memory location of a place expression (aggregates, elements,
    /// fields, statics, slices). `None` for scalars held in registers.
    ///
    /// An aggregate value that is not a place (an array, repeat or struct
    /// literal, at any depth under parentheses, fields and indexes) is
    /// evaluated into a fresh temporary, which is then its place: every
    /// postfix on every kind of primary goes through here.
    pub(super) fn place(&mut self, e: &ast::Expr) -> Option<Place> {
        match &e.kind {
            ExprKind::Paren(x) => self.place(x),
            ExprKind::StructLit(..) | ExprKind::ArrayLit(..) | ExprKind::ArrayRepeat(..) => {
                let tmp = self.temp_aggregate(&self.ty(e));
                self.store_aggregate(tmp, e);
                Some(tmp)
            }
            ExprKind::Name(_) => match self.tables.resolutions.get(&e.id).copied()? {
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
                let (_, f) = def.field(&field.name)?;
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
        let Some(Res::Local(i)) = self.tables.resolutions.get(&index.unparen().id).copied() else {
            return false;
        };
        if !matches!(index.unparen().kind, ExprKind::Name(_)) {
            return false;
        }
        self.proven.iter().rev().any(|(l, proof)| {
            *l == i
                && match (proof, base_ty) {
                    (Proof::SliceLen(s), Ty::Slice { .. }) => matches!(
                        self.tables.resolutions.get(&base.unparen().id),
                        Some(Res::Local(b)) if b == s
                    ),
                    (Proof::Below(n), Ty::Array(_, len)) => n <= len,
                    _ => false,
                }
        })
    }

    /// Adds a dynamic index to a place. A second index is folded into a byte
    /// offset (its own check has already run).
    pub(super) fn indexed(&mut self, p: Place, i: V, stride: u32, check: Check) -> Place {
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
    pub(super) fn run_check(&mut self, v: V, check: Check, base: Base, stride: u32) {
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

    /// An atomic built-in on the static place `args[0]`: the place (its
    /// indexes and their bounds checks), then the values left to right,
    /// then the operation. Returns the old value (the value for
    /// `atomic_load`; a dropped old value for `atomic_store`).
    pub(super) fn atomic(&mut self, op: AtomicOp, args: &[ast::Expr]) -> V {
        let Some((place, rest)) = args.split_first() else {
            return self.konst(0);
        };
        let (Ty::Int(t), Some(p)) = (self.ty(place), self.place(place)) else {
            return self.konst(0);
        };
        let ty = Scalar::of_int(t);
        // A single index's check is folded into the access itself; when a
        // value could trap or call, it runs first, as the order says.
        if rest.iter().any(super::expr::may_call_or_trap)
            && let Some((v, stride, check)) = p.index
        {
            self.run_check(v, check, p.base, stride);
        }
        let values: Vec<V> = rest.iter().map(|a| self.expr(a)).collect();
        let addr = self.atomic_access(p, ty.size);
        let dst = self.vreg();
        let (rmw, src, expected) = match (op, values.as_slice()) {
            (AtomicOp::Load, _) => {
                // A naturally aligned `mov` is atomic on x86-64 and, with
                // every atomic write a locked instruction, sequentially
                // consistent (atomics.md).
                self.emit(Inst::Load { dst, addr, ty });
                return dst;
            }
            (AtomicOp::Add, [v]) => (AtomicRmw::Add, *v, None),
            (AtomicOp::Sub, [v]) => (AtomicRmw::Sub, *v, None),
            (AtomicOp::Swap | AtomicOp::Store, [v]) => (AtomicRmw::Swap, *v, None),
            (AtomicOp::Cas, [e, n]) => (AtomicRmw::Cas, *n, Some(*e)),
            _ => return self.konst(0),
        };
        self.emit(Inst::Atomic {
            op: rmw,
            dst,
            addr,
            src,
            expected,
            ty,
        });
        dst
    }

    /// The address of an atomic access: always indexed in units of the
    /// scalar (`scale == size`), so the verifier sees it is naturally
    /// aligned. A nested array's combined byte offset is a multiple of the
    /// scalar's size (every stride is, by natural alignment) and is turned
    /// into units first.
    fn atomic_access(&mut self, p: Place, size: u8) -> Addr {
        match p.index {
            Some((bytes, 1, Check::Combined)) if size > 1 => {
                let units = self.vreg();
                self.emit(Inst::BinImm {
                    op: Op::Shr,
                    dst: units,
                    a: bytes,
                    imm: size.trailing_zeros() as i32,
                });
                self.access(
                    Place {
                        index: Some((units, u32::from(size), Check::Combined)),
                        ..p
                    },
                    size,
                )
            }
            _ => self.access(p, size),
        }
    }

    pub(super) fn load(&mut self, p: Place, s: Scalar) -> V {
        let addr = self.access(p, s.size);
        let dst = self.vreg();
        self.emit(Inst::Load { dst, addr, ty: s });
        dst
    }

    pub(super) fn store(&mut self, p: Place, src: V, s: Scalar) {
        let addr = self.access(p, s.size);
        self.emit(Inst::Store {
            addr,
            src,
            ty: s,
            second_byte: false,
        });
    }

    fn offset(p: Place, by: u32) -> Place {
        Place {
            disp: p.disp + by,
            ..p
        }
    }

    /// Copies `size` bytes between places, in the largest chunks alignment allows.
    pub(super) fn copy(&mut self, dst: Place, src: Place, size: u32) {
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
    pub(super) fn store_aggregate(&mut self, dst: Place, e: &ast::Expr) {
        self.pos = e.span.start;
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Paren(x) => self.store_aggregate(dst, x),
            ExprKind::StructLit(_, inits) => {
                let Ty::Struct(id, _) = ty else { return };
                // Source order of evaluation, each into its field (found by
                // name in the struct's index, not by a walk of its fields).
                for init in inits {
                    let def = &self.prog.structs[id.0 as usize];
                    if let Some((_, f)) = def.field(&init.name.name) {
                        let (offset, ty) = (f.offset as u32, f.ty.clone());
                        self.store_value(Self::offset(dst, offset), &ty, &init.value);
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
                    let check = self.loop_check(|site| Check::Below(n, site));
                    let d = self.indexed(dst, idx, size, check);
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
}
