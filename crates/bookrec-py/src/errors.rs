//! Core errors → the exception classes of `bookrec.errors`.
//!
//! The classes are defined in Python (not with `create_exception!`) because several of them
//! have two bases (`ParamError` is a `ValueError`, `UnknownUserError` a `KeyError`, ...), which
//! single-base Rust exception types cannot express. The message is the core's `Display` text;
//! the structured parts (file, line, offending value, parameter name) are attributes.

use bookrec_core::Error;
use pyo3::call::PyCallArgs;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Converts a core error into the matching `bookrec` exception.
pub fn to_py(err: Error) -> PyErr {
    Python::attach(|py| match build(py, &err) {
        Ok(e) => e,
        // Only if `bookrec.errors` cannot be imported (a broken install): keep the message.
        Err(_) => PyRuntimeError::new_err(err.to_string()),
    })
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let class_name = match err {
        Error::Io { .. } => "FileError",
        Error::Parse { .. } | Error::Data { .. } | Error::Invalid(_) => "DataError",
        Error::Param { .. } => "ParamError",
        Error::ModelFile { .. } => "ModelFileError",
        Error::UnknownUser(_) => "UnknownUserError",
        Error::UnknownItem(_) => "UnknownBookError",
        _ => "BookrecError",
    };
    let message = err.to_string();
    let instance = match err {
        // OSError(errno, strerror, filename) fills `.errno`, `.strerror` and `.filename`, so
        // `except FileNotFoundError`-style code can inspect it.
        Error::Io { path, source } => new_instance(
            py,
            class_name,
            (
                source.raw_os_error().unwrap_or(0),
                message,
                path.display().to_string(),
            ),
        )?,
        _ => new_instance(py, class_name, (message,))?,
    };
    match err {
        Error::Parse {
            path, line, value, ..
        } => {
            instance.setattr("path", path.display().to_string())?;
            instance.setattr("line", *line)?;
            instance.setattr("value", value.clone())?;
        }
        Error::Data { path, .. } => instance.setattr("path", path.display().to_string())?,
        Error::ModelFile { path, .. } => instance.setattr("path", path.display().to_string())?,
        Error::Param { name, value, .. } => {
            instance.setattr("name", *name)?;
            instance.setattr("value", value.clone())?;
        }
        Error::UnknownUser(id) | Error::UnknownItem(id) => instance.setattr("id", id.clone())?,
        _ => {}
    }
    Ok(PyErr::from_value(instance))
}

fn new_instance<'py, A>(py: Python<'py>, class_name: &str, args: A) -> PyResult<Bound<'py, PyAny>>
where
    A: PyCallArgs<'py>,
{
    py.import("bookrec.errors")?
        .getattr(class_name)?
        .call1(args)
}

/// An error raised from this crate's own argument checks, as the core would raise it.
pub fn param(name: &'static str, value: impl std::fmt::Display, reason: &str) -> PyErr {
    to_py(Error::param(name, value, reason))
}

/// Shorthand: `core_result.map_err(to_py)`.
pub trait IntoPyResult<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for bookrec_core::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
