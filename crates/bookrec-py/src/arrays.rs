//! numpy views of a fitted model's parameters, without copying.

use numpy::ndarray::{ArrayView1, ArrayView2, ShapeBuilder};
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::model::Model;

/// A read-only `(rows, cols)` numpy array over `data` (row stride `stride` ≥ `cols` elements,
/// so padding columns are left out of the view), whose base object is `owner`.
///
/// `data` must point into the `FittedModel` held by `owner` (checked by the callers, which
/// take it from `owner.get().model`).
pub fn borrowed_2d<'py>(
    owner: &Bound<'py, Model>,
    data: &[f32],
    rows: usize,
    cols: usize,
    stride: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let fits = cols <= stride && (rows == 0 || (rows - 1) * stride + cols <= data.len());
    if !fits {
        return Err(PyRuntimeError::new_err(format!(
            "model parameters have an unexpected shape: {} values for {rows} rows × {cols} \
             columns with stride {stride}",
            data.len()
        )));
    }
    let view = ArrayView2::from_shape((rows, cols).strides((stride, 1)), data)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    #[allow(unsafe_code)]
    // SAFETY: `data` lives in the `FittedModel` behind the `Arc` of `owner`, a frozen pyclass:
    // the `Arc` is never replaced and the model never mutated, so the buffer neither moves nor
    // changes while `owner` lives, and numpy holds a reference to `owner` as the array's base.
    // The array is made read-only below, so Python cannot write into the model either.
    let array = unsafe { PyArray2::borrow_from_array(&view, owner.clone().into_any()) };
    read_only(array)
}

/// A read-only 1-d numpy array over `data`, whose base object is `owner` (see [`borrowed_2d`]).
pub fn borrowed_1d<'py>(
    owner: &Bound<'py, Model>,
    data: &[f32],
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let view = ArrayView1::from(data);
    #[allow(unsafe_code)]
    // SAFETY: as in `borrowed_2d`.
    let array = unsafe { PyArray1::borrow_from_array(&view, owner.clone().into_any()) };
    read_only(array)
}

fn read_only<'py, D: numpy::ndarray::Dimension>(
    array: Bound<'py, numpy::PyArray<f32, D>>,
) -> PyResult<Bound<'py, numpy::PyArray<f32, D>>> {
    array
        .try_readwrite()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .make_nonwriteable();
    Ok(array)
}
