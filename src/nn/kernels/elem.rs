//! The element types the kernels compute in: float32 (every search pass) and float64 (the
//! GraSP Hessian-vector product and the float64 precision mode).

use std::mem::MaybeUninit;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

use burn::tensor::Element;

pub trait Elem:
    Element
    + bytemuck::Pod
    + Copy
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + std::iter::Sum
{
    const ZERO: Self;
    const ONE: Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// Whether a ReLU passes this input (and its gradient) through: positive or NaN, as burn's
    /// `relu` and `relu_backward` decide (NaN propagates, as in PyTorch).
    fn passes_relu(self) -> bool;
    /// burn's `relu`: the value where [`Elem::passes_relu`], else +0.
    fn relu(self) -> Self {
        if self.passes_relu() { self } else { Self::ZERO }
    }
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn passes_relu(self) -> bool {
        self.is_nan() || self > 0.0
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn passes_relu(self) -> bool {
        self.is_nan() || self > 0.0
    }
}

/// A new vector of `len` values that `fill` writes before anything reads them. The kernels'
/// outputs were zeroed first (`vec![0; len]`), and zeroing recycled heap memory was 7 % of a
/// SNIP pass.
///
/// # Safety
/// `fill` must initialise every element of the slice it is given.
pub(super) unsafe fn written<T: Elem>(
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<T>]),
) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller promises that `fill` initialised all `len` elements.
    unsafe { v.set_len(len) };
    v
}

/// A slice whose elements have all been written, as values.
///
/// # Safety
/// Every element of `s` must be initialised.
pub(super) unsafe fn assume_written<T>(s: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: MaybeUninit<T> has T's layout, and the caller promises every element is
    // initialised.
    unsafe { &mut *(s as *mut [MaybeUninit<T>] as *mut [T]) }
}
