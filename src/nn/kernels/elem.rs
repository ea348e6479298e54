//! The element types the kernels compute in: float32 (every search pass) and float64 (the
//! GraSP Hessian-vector product and the float64 precision mode).

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ops::{Add, AddAssign, Div, Mul, Sub};
use std::thread::LocalKey;

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
    /// This thread's scratch vector of this type, for [`with_scratch`].
    fn scratch() -> &'static LocalKey<Cell<Vec<Self>>>;
}

thread_local! {
    static SCRATCH_F32: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static SCRATCH_F64: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch vector, of whatever length and contents the last user
/// left (so `f` writes every element it reads), and keeps it for the next call. The
/// convolutions unfold their input and their input gradient in it: a fresh buffer for every
/// convolution (and, at batch 64, for every piece of the batch that rayon hands a thread)
/// cost an allocation and a zeroing pass each, 4 % of a batch-1 SynFlow search. The vector is
/// taken out while `f` runs, so a call nested on the same thread (rayon runs stolen work
/// while a thread waits) gets an empty one of its own, not the one in use; the larger of the
/// two is kept.
pub(super) fn with_scratch<T: Elem, R>(f: impl FnOnce(&mut Vec<T>) -> R) -> R {
    let mut buf = T::scratch().take();
    let r = f(&mut buf);
    T::scratch().with(|kept| {
        let other = kept.take();
        kept.set(if other.capacity() > buf.capacity() {
            other
        } else {
            buf
        });
    });
    r
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
    fn scratch() -> &'static LocalKey<Cell<Vec<Self>>> {
        &SCRATCH_F32
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
    fn scratch() -> &'static LocalKey<Cell<Vec<Self>>> {
        &SCRATCH_F64
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A call nested on the same thread never sees the outer call's vector, and the larger of
    /// the two is what the next call gets.
    #[test]
    fn nested_scratch_is_separate_and_the_larger_is_kept() {
        std::thread::spawn(|| {
            with_scratch(|outer: &mut Vec<f64>| {
                outer.resize(10, 1.0);
                let outer_ptr = outer.as_ptr();
                with_scratch(|inner: &mut Vec<f64>| {
                    assert!(inner.is_empty());
                    inner.resize(1000, 2.0);
                    assert_ne!(inner.as_ptr(), outer_ptr);
                });
                assert_eq!(outer, &vec![1.0; 10]);
            });
            with_scratch(|next: &mut Vec<f64>| {
                assert_eq!(next.len(), 1000);
                assert!(next.iter().all(|&v| v == 2.0));
            });
            // The float32 vector is another one.
            with_scratch(|other: &mut Vec<f32>| assert!(other.is_empty()));
        })
        .join()
        .expect("the checks pass");
    }
}
