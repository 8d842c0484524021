//! `Books` (the catalogue) and the embedded demo files.

use std::path::PathBuf;
use std::sync::Arc;

use bookrec_core::data::{load_catalog, normalize_id_str, Book, Catalog};
use bookrec_core::progress::NoProgress;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPyResult;

/// A book catalogue (titles, authors, years, ...) keyed by normalised book id.
#[pyclass(frozen, module = "bookrec._bookrec")]
pub struct Books {
    pub inner: Arc<Catalog>,
    report: Option<String>,
}

fn book_dict<'py>(py: Python<'py>, b: &Book) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("book_id", &b.id)?;
    d.set_item("title", &b.title)?;
    d.set_item("author", &b.author)?;
    d.set_item("year", b.year)?;
    d.set_item("publisher", &b.publisher)?;
    d.set_item("genre", &b.genre)?;
    d.set_item("image_url", &b.image_url)?;
    Ok(d)
}

#[pymethods]
impl Books {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, id: &str) -> bool {
        self.inner.contains(&normalize_id_str(id))
    }

    /// The book as a dict, or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner
            .get(&normalize_id_str(id))
            .map(|b| book_dict(py, b))
            .transpose()
    }

    /// (titles, authors) of `ids`, None where a book is not in the catalogue.
    #[allow(clippy::type_complexity)]
    fn lookup(&self, ids: Vec<String>) -> (Vec<Option<String>>, Vec<Option<String>>) {
        ids.iter()
            .map(|id| match self.inner.get(&normalize_id_str(id)) {
                Some(b) => (Some(b.title.clone()), Some(b.author.clone())),
                None => (None, None),
            })
            .unzip()
    }

    /// Every book as a dict of equal-length lists (columns for pandas).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let books = self.inner.books();
        let d = PyDict::new(py);
        d.set_item("book_id", books.iter().map(|b| &b.id).collect::<Vec<_>>())?;
        d.set_item("title", books.iter().map(|b| &b.title).collect::<Vec<_>>())?;
        d.set_item(
            "author",
            books.iter().map(|b| &b.author).collect::<Vec<_>>(),
        )?;
        d.set_item("year", books.iter().map(|b| b.year).collect::<Vec<_>>())?;
        d.set_item(
            "publisher",
            books.iter().map(|b| &b.publisher).collect::<Vec<_>>(),
        )?;
        d.set_item("genre", books.iter().map(|b| &b.genre).collect::<Vec<_>>())?;
        d.set_item(
            "image_url",
            books.iter().map(|b| &b.image_url).collect::<Vec<_>>(),
        )?;
        Ok(d)
    }

    fn report_json(&self) -> Option<String> {
        self.report.clone()
    }

    fn __repr__(&self) -> String {
        format!("<bookrec.Books: {} books>", self.inner.len())
    }
}

/// Reads a catalogue CSV (BX-Books.csv, or `book_id,title,author,year,genre`).
#[pyfunction]
pub fn read_books(py: Python<'_>, path: PathBuf) -> PyResult<Books> {
    let (catalog, report) = py.detach(|| load_catalog(&path, &NoProgress)).py_err()?;
    Ok(Books {
        inner: Arc::new(catalog),
        report: serde_json::to_string(&report).ok(),
    })
}

/// Writes the embedded demo data (ratings.csv, books.csv) into `dir`; returns their paths.
#[pyfunction]
pub fn write_demo_files(py: Python<'_>, dir: PathBuf, seed: u64) -> PyResult<(PathBuf, PathBuf)> {
    py.detach(|| bookrec_core::datasets::demo::write_demo_files(&dir, seed))
        .py_err()
}
