//! Rust types for KPL values: scalars, bound slices, parameter tuples and
//! results, checked against an export's or an import's declared signature
//! once, when a typed handle is made, so a call needs no check but the
//! value ranges the types already guarantee.

use std::marker::PhantomData;

use kpl_host::{Bound, BoundArg, Caller, HostFn, ScalarType, ValType};

/// A Rust type that is a KPL scalar (`bool` and the integer types).
pub trait Scalar: Copy + 'static {
    const TYPE: ScalarType;
    /// The canonical 64-bit form the ABI passes (sign-extended for signed
    /// types).
    fn to_raw(self) -> u64;
    /// The value from a canonical register.
    fn from_raw(raw: u64) -> Self;
}

macro_rules! scalars {
    ($($t:ty => $k:ident, $via:ty;)*) => {$(
        impl Scalar for $t {
            const TYPE: ScalarType = ScalarType::$k;
            fn to_raw(self) -> u64 {
                self as $via as u64
            }
            fn from_raw(raw: u64) -> Self {
                raw as $t
            }
        }
        impl Elem for $t {
            const TYPE: ScalarType = ScalarType::$k;
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

/// A Rust type that can be a slice element (the integer types).
pub trait Elem: Copy + 'static {
    const TYPE: ScalarType;
    /// Appends the little-endian bytes of `self`.
    fn put_le(self, out: &mut Vec<u8>);
}

scalars! {
    u8 => U8, u64; u16 => U16, u64; u32 => U32, u64; u64 => U64, u64;
    i8 => I8, i64; i16 => I16, i64; i32 => I32, i64; i64 => I64, i64;
}

impl Scalar for bool {
    const TYPE: ScalarType = ScalarType::Bool;
    fn to_raw(self) -> u64 {
        u64::from(self)
    }
    fn from_raw(raw: u64) -> Self {
        raw & 1 != 0
    }
}

/// A buffer bound read-only to one instance
/// ([`Instance::bind_slice`](crate::Instance::bind_slice)), passed to a
/// `[]T` parameter. A handle: copying it does not copy the buffer.
#[derive(Debug)]
pub struct Slice<T> {
    pub(crate) bound: Bound,
    _elem: PhantomData<fn() -> T>,
}

/// A buffer bound writable to one instance
/// ([`Instance::bind_slice_mut`](crate::Instance::bind_slice_mut)), passed
/// to a `[]mut T` (or a `[]T`) parameter.
#[derive(Debug)]
pub struct SliceMut<T> {
    pub(crate) bound: Bound,
    _elem: PhantomData<fn() -> T>,
}

macro_rules! handle_impls {
    ($($s:ident),*) => {$(
        impl<T> Clone for $s<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $s<T> {}
        impl<T> $s<T> {
            pub(crate) fn new(bound: Bound) -> Self {
                $s { bound, _elem: PhantomData }
            }
        }
        impl<T> BoundSlice for $s<T> {
            fn bound(&self) -> Bound {
                self.bound
            }
        }
    )*};
}
handle_impls!(Slice, SliceMut);

/// A bound slice of either kind.
pub trait BoundSlice {
    fn bound(&self) -> Bound;
}

/// One parameter of a typed export.
pub trait Param {
    fn val_type() -> ValType;
    fn arg(&self) -> BoundArg;
}

impl<T: Scalar> Param for T {
    fn val_type() -> ValType {
        ValType::Scalar(T::TYPE)
    }
    fn arg(&self) -> BoundArg {
        BoundArg::Int(self.to_raw())
    }
}

impl<T: Elem> Param for Slice<T> {
    fn val_type() -> ValType {
        ValType::Slice {
            elem: T::TYPE,
            writable: false,
        }
    }
    fn arg(&self) -> BoundArg {
        BoundArg::Slice(self.bound)
    }
}

impl<T: Elem> Param for SliceMut<T> {
    fn val_type() -> ValType {
        ValType::Slice {
            elem: T::TYPE,
            writable: true,
        }
    }
    fn arg(&self) -> BoundArg {
        BoundArg::Slice(self.bound)
    }
}

/// The parameters of a typed export: a tuple of [`Param`]s (up to six).
pub trait Params {
    fn types() -> Vec<ValType>;
    /// The arguments, in order, into `out`; returns how many.
    fn args(&self, out: &mut [BoundArg; 6]) -> usize;
}

/// What a typed export or host function returns: `()` or a [`Scalar`].
pub trait Results: Sized {
    fn ret() -> Option<ScalarType>;
    fn from_raw(raw: u64) -> Self;
    fn to_raw(self) -> u64;
}

impl Results for () {
    fn ret() -> Option<ScalarType> {
        None
    }
    fn from_raw(_: u64) -> Self {}
    fn to_raw(self) -> u64 {
        0
    }
}

impl<T: Scalar> Results for T {
    fn ret() -> Option<ScalarType> {
        Some(T::TYPE)
    }
    fn from_raw(raw: u64) -> Self {
        T::from_raw(raw)
    }
    fn to_raw(self) -> u64 {
        Scalar::to_raw(self)
    }
}

/// A Rust closure usable as a typed host function: `Fn(A1, …, An) -> R`
/// with scalar arguments (at most five) and `()` or a scalar result.
pub trait IntoHostFunc<P, R> {
    fn params() -> Vec<ScalarType>;
    fn ret() -> Option<ScalarType>;
    fn into_host_fn(self) -> HostFn;
}

macro_rules! tuples {
    ($( ($($p:ident $i:tt),*) ;)*) => {$(
        impl<$($p: Param),*> Params for ($($p,)*) {
            fn types() -> Vec<ValType> {
                vec![$($p::val_type()),*]
            }
            fn args(&self, out: &mut [BoundArg; 6]) -> usize {
                let args: &[BoundArg] = &[$(self.$i.arg()),*];
                out[..args.len()].copy_from_slice(args);
                args.len()
            }
        }
    )*};
}

tuples! {
    ();
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
}

macro_rules! host_fns {
    ($( ($($p:ident $i:tt),*) ;)*) => {$(
        impl<Func, R, $($p),*> IntoHostFunc<($($p,)*), R> for Func
        where
            Func: Fn($($p),*) -> R + 'static,
            R: Results + 'static,
            $($p: Scalar,)*
        {
            fn params() -> Vec<ScalarType> {
                vec![$($p::TYPE),*]
            }
            fn ret() -> Option<ScalarType> {
                R::ret()
            }
            #[allow(unused_variables)]
            fn into_host_fn(self) -> HostFn {
                std::rc::Rc::new(move |_: &mut Caller<'_>, regs: [u64; 5]| {
                    self($(<$p as Scalar>::from_raw(regs[$i])),*).to_raw()
                })
            }
        }
    )*};
}

host_fns! {
    ();
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
}
