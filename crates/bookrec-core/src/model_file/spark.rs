//! Importing a model trained on Apache Spark (`python/bookrec/spark/job.py`) into an ordinary
//! [`FittedModel`], which then saves, loads and serves like any native model.
//!
//! # Export directory (format `bookrec-spark-export`, version [`EXPORT_VERSION`])
//!
//! | path | content |
//! |---|---|
//! | `users/part-*` | `index TAB id TAB b_u TAB f_1,…,f_k`, one line per user, indices 0, 1, … in file-name order |
//! | `items/part-*` | the same for books (b_i, q_i) |
//! | `ratings/part-*` | `user_index TAB book_index TAB rating`: the training ratings, sorted by (user, book) |
//! | `metrics.json` | held-out metrics, cleaning counts, timings |
//! | `manifest.json` | written last: format and version, rank, parameters, scale, μ, counts, data fingerprint, and per file its byte size, line count and CRC-32 |
//!
//! Ids are escaped: `\\` for a backslash, `\t`, `\n`, `\r`. The model is
//! r̂(u,i) = μ + b_u + b_i + q_iᵀp_u (ratings in the export's scale), the rule of bookrec's own
//! `als`, so it becomes an [`ModelKind::Als`] model with stride `k` = rank (no padding).
//!
//! # Safety against partial exports
//! Without `manifest.json` the export is unfinished (the job writes it last, atomically) and is
//! refused. Every data file is checked against the manifest: the set of part files, then, while
//! it streams, size, line count and CRC-32; a mismatch rejects the whole import.
//!
//! # Memory
//! Files are parsed line by line straight into the model's final vectors (sized from the
//! manifest's counts), so the factors are never held twice; the training ratings, sorted by
//! user, become the CSR of seen books without an intermediate COO copy.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{Csr, RatingScale, Vocab};
use crate::error::excerpt;
use crate::model_file::ModelMeta;
use crate::models::{FittedModel, ModelKind, Scorer};
use crate::progress::Progress;
use crate::{Error, Result};

/// The `format` value of an export's manifest.
pub const EXPORT_FORMAT: &str = "bookrec-spark-export";
/// The export format version this build reads (the job writes the same).
pub const EXPORT_VERSION: u32 = 1;

/// One data file as listed in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportFile {
    pub name: String,
    pub bytes: u64,
    pub lines: u64,
    pub crc32: u32,
}

/// The files of an export.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportFiles {
    pub users: Vec<ExportFile>,
    pub items: Vec<ExportFile>,
    pub ratings: Vec<ExportFile>,
}

/// The training parameters the job used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportParams {
    pub factors: usize,
    pub iterations: usize,
    /// Weighted-λ of MLlib ALS (λ·n per row).
    pub reg: f32,
    pub seed: u64,
    /// Absolute L2 weights of the user and book biases.
    pub reg_u: f32,
    pub reg_i: f32,
    pub bias_iterations: usize,
    pub test_fraction: f64,
}

/// `manifest.json`: what the import checks and what the model file records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub rank: usize,
    pub params: ExportParams,
    pub scale: RatingScale,
    pub global_mean: f32,
    pub n_users: usize,
    pub n_items: usize,
    pub n_train: usize,
    pub data_fingerprint: String,
    pub files: ExportFiles,
    /// Held-out metrics (`test_rmse`, `test_mae`, `n_test`, …), cleaning report, timings, Spark
    /// details: kept as they are, recorded in the model file.
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub cleaning: serde_json::Value,
    #[serde(default)]
    pub timings: serde_json::Value,
    #[serde(default)]
    pub spark: serde_json::Value,
    #[serde(default)]
    pub source: serde_json::Value,
}

fn data_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads and checks an export's manifest (format, version, internal consistency).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.is_dir() {
        return Err(data_error(
            dir,
            "not a directory (expected a Spark export directory)",
        ));
    }
    let path = dir.join("manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(data_error(
                dir,
                "no manifest.json: this is not a finished Spark export (the job writes the \
                 manifest last, so the export is half-written or the job failed); run the job \
                 again",
            ))
        }
        Err(source) => return Err(Error::Io { path, source }),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| data_error(&path, format!("not valid JSON ({e})")))?;
    let format = value.get("format").and_then(|v| v.as_str()).unwrap_or("");
    if format != EXPORT_FORMAT {
        return Err(data_error(
            &path,
            format!(
                "not a bookrec Spark export (format {:?}, expected {EXPORT_FORMAT:?})",
                excerpt(format, 60)
            ),
        ));
    }
    let version = value.get("format_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(EXPORT_VERSION)) {
        let shown = version.map_or_else(|| "missing".to_string(), |v| v.to_string());
        return Err(data_error(
            &path,
            format!(
                "export format version {shown}; this bookrec ({}) reads version \
                 {EXPORT_VERSION}: run the Spark job shipped with this bookrec \
                 (`bookrec train --engine spark`)",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let m: Manifest = serde_json::from_value(value)
        .map_err(|e| data_error(&path, format!("malformed manifest ({e})")))?;
    if m.rank == 0 || m.rank != m.params.factors {
        return Err(data_error(
            &path,
            format!("malformed manifest: rank {}", m.rank),
        ));
    }
    let sane = m.scale.min.is_finite()
        && m.scale.max.is_finite()
        && m.scale.min < m.scale.max
        && m.global_mean.is_finite();
    if !sane {
        return Err(data_error(&path, "malformed manifest: scale or mean"));
    }
    let lines = |files: &[ExportFile]| files.iter().map(|f| f.lines).sum::<u64>();
    if lines(&m.files.users) != m.n_users as u64
        || lines(&m.files.items) != m.n_items as u64
        || lines(&m.files.ratings) != m.n_train as u64
    {
        return Err(data_error(
            &path,
            "malformed manifest: the file line counts do not add up to n_users, n_items, n_train",
        ));
    }
    Ok(m)
}

/// A reader that CRCs and counts what passes through it.
struct Checked<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Streams the lines of one part after another, checking each file against the manifest
/// after its last line. `f(path, line_number, line)` parses one line.
fn for_each_line(
    dir: &Path,
    sub: &str,
    files: &[ExportFile],
    progress: &dyn Progress,
    mut f: impl FnMut(&Path, u64, &str) -> Result<()>,
) -> Result<()> {
    let folder = dir.join(sub);
    check_listing(&folder, files)?;
    let mut line = String::new();
    for entry in files {
        let path = folder.join(&entry.name);
        let file = File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut reader = BufReader::with_capacity(
            1 << 20,
            Checked {
                inner: file,
                hasher: crc32fast::Hasher::new(),
                bytes: 0,
            },
        );
        let mut n = 0u64;
        loop {
            line.clear();
            let got = reader.read_line(&mut line).map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    Error::Parse {
                        path: path.clone(),
                        line: n + 1,
                        message: "not UTF-8 text".into(),
                        value: None,
                    }
                } else {
                    Error::Io {
                        path: path.clone(),
                        source: e,
                    }
                }
            })?;
            if got == 0 {
                break;
            }
            n += 1;
            if n > entry.lines {
                return Err(mismatch(&path, "has more lines than the manifest lists"));
            }
            f(&path, n, line.strip_suffix('\n').unwrap_or(&line))?;
            progress.inc(got as u64);
        }
        let checked = reader.into_inner();
        if checked.bytes != entry.bytes || n != entry.lines {
            return Err(mismatch(
                &path,
                &format!(
                    "has {} bytes in {n} lines, the manifest lists {} bytes in {} lines",
                    checked.bytes, entry.bytes, entry.lines
                ),
            ));
        }
        if checked.hasher.finalize() != entry.crc32 {
            return Err(mismatch(&path, "does not match its checksum"));
        }
    }
    Ok(())
}

fn mismatch(path: &Path, what: &str) -> Error {
    data_error(
        path,
        format!("{what}: the export is damaged, incomplete or was modified; run the job again"),
    )
}

/// The data files of `folder` (names not starting with `.` or `_`) must be exactly the
/// manifest's.
fn check_listing(folder: &Path, files: &[ExportFile]) -> Result<()> {
    let read = std::fs::read_dir(folder).map_err(|source| Error::Io {
        path: folder.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in read {
        let entry = entry.map_err(|source| Error::Io {
            path: folder.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(['.', '_']) {
            found.push(name);
        }
    }
    found.sort();
    let mut listed: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    listed.sort();
    if found != listed {
        let missing: Vec<&String> = listed.iter().filter(|n| !found.contains(n)).collect();
        let extra: Vec<&String> = found.iter().filter(|n| !listed.contains(n)).collect();
        return Err(mismatch(
            folder,
            &format!(
                "files differ from the manifest (missing: {missing:?}, unexpected: {extra:?})"
            ),
        ));
    }
    Ok(())
}

fn parse_err(path: &Path, line: u64, message: impl Into<String>, value: &str) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
        value: Some(excerpt(value, 60)),
    }
}

fn parse_f32(path: &Path, line: u64, what: &str, text: &str) -> Result<f32> {
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(parse_err(
            path,
            line,
            format!("{what} is not a finite number"),
            text,
        )),
    }
}

fn unescape(path: &Path, line: u64, raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => return Err(parse_err(path, line, "bad escape in id", raw)),
        }
    }
    Ok(out)
}

/// One side (users or books): vocabulary, biases and factors, read into vectors of their
/// final size.
fn read_side(
    dir: &Path,
    sub: &str,
    files: &[ExportFile],
    n: usize,
    k: usize,
    progress: &dyn Progress,
) -> Result<(Vocab, Vec<f32>, Vec<f32>)> {
    let mut vocab = Vocab::new();
    let mut bias = Vec::with_capacity(n);
    let mut factors = Vec::with_capacity(n.saturating_mul(k));
    for_each_line(dir, sub, files, progress, |path, line, text| {
        let mut fields = text.split('\t');
        let (Some(idx), Some(id), Some(b), Some(f), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(parse_err(
                path,
                line,
                "expected 4 tab-separated fields",
                text,
            ));
        };
        if idx.parse::<usize>().ok() != Some(vocab.len()) {
            return Err(parse_err(
                path,
                line,
                format!("expected index {} (indices must run 0, 1, …)", vocab.len()),
                idx,
            ));
        }
        let id = unescape(path, line, id)?;
        if id.is_empty() || vocab.get(&id).is_some() {
            return Err(parse_err(path, line, "empty or repeated id", &id));
        }
        vocab.intern(&id);
        bias.push(parse_f32(path, line, "the bias", b)?);
        let before = factors.len();
        for x in f.split(',') {
            factors.push(parse_f32(path, line, "a factor", x)?);
        }
        if factors.len() - before != k {
            return Err(parse_err(
                path,
                line,
                format!("expected {k} factors, found {}", factors.len() - before),
                f,
            ));
        }
        Ok(())
    })?;
    Ok((vocab, bias, factors))
}

/// The training ratings (sorted by user, then book) as the CSR of seen books, plus the number
/// of ratings per book.
fn read_ratings(
    dir: &Path,
    m: &Manifest,
    scale: RatingScale,
    progress: &dyn Progress,
) -> Result<(Csr, Vec<u32>)> {
    let mut indptr = Vec::with_capacity(m.n_users + 1);
    indptr.push(0usize);
    let mut indices = Vec::with_capacity(m.n_train);
    let mut values = Vec::with_capacity(m.n_train);
    let mut popularity = vec![0u32; m.n_items];
    let mut last: Option<(usize, u32)> = None;
    for_each_line(
        dir,
        "ratings",
        &m.files.ratings,
        progress,
        |path, line, text| {
            let mut fields = text.split('\t');
            let (Some(u), Some(i), Some(r), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(parse_err(
                    path,
                    line,
                    "expected 3 tab-separated fields",
                    text,
                ));
            };
            let u = u
                .parse::<usize>()
                .ok()
                .filter(|&u| u < m.n_users)
                .ok_or_else(|| parse_err(path, line, "user index out of range", u))?;
            let i = i
                .parse::<u32>()
                .ok()
                .filter(|&i| (i as usize) < m.n_items)
                .ok_or_else(|| parse_err(path, line, "book index out of range", i))?;
            let r = parse_f32(path, line, "the rating", r)?;
            if !scale.contains(r) {
                return Err(parse_err(
                    path,
                    line,
                    "rating outside the export's scale",
                    text,
                ));
            }
            if last.is_some_and(|prev| prev >= (u, i)) {
                return Err(parse_err(
                    path,
                    line,
                    "ratings are not sorted by (user, book) without repeats",
                    text,
                ));
            }
            last = Some((u, i));
            while indptr.len() <= u {
                indptr.push(indices.len());
            }
            indices.push(i);
            values.push(r);
            popularity[i as usize] += 1;
            Ok(())
        },
    )?;
    while indptr.len() <= m.n_users {
        indptr.push(indices.len());
    }
    Ok((
        Csr {
            indptr,
            indices,
            values,
        },
        popularity,
    ))
}

/// Reads a finished Spark export into a model (kind `als`, engine `spark`) and the metadata to
/// save it with: data fingerprint, training-set size, and the job's metrics, cleaning report,
/// timings and parameters under `training_metrics`. Progress counts bytes read.
pub fn import_spark(dir: &Path, progress: &dyn Progress) -> Result<(FittedModel, ModelMeta)> {
    let m = read_manifest(dir)?;
    let k = m.rank;
    let total: u64 = [&m.files.users, &m.files.items, &m.files.ratings]
        .iter()
        .flat_map(|f| f.iter())
        .map(|f| f.bytes)
        .sum();
    progress.start("importing the Spark export", total);
    let (users, user_bias, user_factors) =
        read_side(dir, "users", &m.files.users, m.n_users, k, progress)?;
    let (items, item_bias, item_factors) =
        read_side(dir, "items", &m.files.items, m.n_items, k, progress)?;
    let (seen, item_popularity) = read_ratings(dir, &m, m.scale, progress)?;
    progress.finish("done");
    let params = serde_json::json!({
        "model": "als",
        "factors": m.params.factors,
        "iterations": m.params.iterations,
        "reg": m.params.reg,
        "reg_u": m.params.reg_u,
        "reg_i": m.params.reg_i,
        "bias_iterations": m.params.bias_iterations,
        "seed": m.params.seed,
    });
    let model = FittedModel {
        kind: ModelKind::Als,
        params,
        users: Arc::new(users),
        items: Arc::new(items),
        scale: m.scale,
        global_mean: m.global_mean,
        seen,
        item_popularity,
        scorer: Scorer::Factors(crate::models::Factors {
            k,
            user_bias,
            item_bias,
            user_factors,
            item_factors,
            // MLlib's explicit ALS regularises each row by reg × its number of ratings, the
            // same weighted-λ as native `als`, on the residuals of biases fitted first with
            // reg_u/reg_i: fold-in (two-stage, from `reg_u` in the params) does the same.
            fold_in_reg: 0.0,
            fold_in_reg_per_rating: m.params.reg,
            user_rows: Vec::new(),
            item_rows: Vec::new(),
        }),
        cache: Default::default(),
    };
    let mut metrics = match &m.metrics {
        serde_json::Value::Object(o) => o.clone(),
        _ => serde_json::Map::new(),
    };
    for (key, value) in [
        ("cleaning", m.cleaning.clone()),
        ("timings", m.timings.clone()),
        ("spark", m.spark.clone()),
        ("source", m.source.clone()),
        (
            "spark_params",
            serde_json::to_value(&m.params).unwrap_or_default(),
        ),
        (
            "export_dir",
            serde_json::Value::String(dir.display().to_string()),
        ),
    ] {
        metrics.insert(key.to_string(), value);
    }
    if let Some(t) = m.timings.get("total_seconds") {
        metrics.insert("fit_seconds".into(), t.clone());
    }
    let meta = ModelMeta {
        format_version: crate::model_file::FORMAT_VERSION,
        bookrec_version: env!("CARGO_PKG_VERSION").to_string(),
        engine: "spark".to_string(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        data_fingerprint: m.data_fingerprint.clone(),
        n_train: m.n_train,
        training_metrics: serde_json::Value::Object(metrics),
    };
    Ok((model, meta))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    /// Writes an export like the job's: 3 users, 2 books, rank 2, 4 training ratings.
    fn write_export(dir: &Path) {
        let users = "0\tu\\t1\t0.5\t0.1,0.2\n1\t42\t-0.25\t1,-1\n2\tx\\\\y\t0\t0,0\n";
        let items = "0\t0451x\t0.25\t2,0\n1\tb2\t-0.5\t0.5,0.5\n";
        let ratings = "0\t0\t8\n0\t1\t6\n1\t0\t9\n2\t1\t3\n";
        let mut files = serde_json::Map::new();
        for (sub, text) in [("users", users), ("items", items), ("ratings", ratings)] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            // Spark leaves these beside the data; they are not part of it.
            std::fs::write(dir.join(sub).join("_SUCCESS"), "").unwrap();
            std::fs::write(dir.join(sub).join("part-00000.txt"), text).unwrap();
            files.insert(
                sub.into(),
                serde_json::json!([{
                    "name": "part-00000.txt",
                    "bytes": text.len(),
                    "lines": text.lines().count(),
                    "crc32": crc32fast::hash(text.as_bytes()),
                }]),
            );
        }
        let manifest = serde_json::json!({
            "format": EXPORT_FORMAT, "format_version": 1, "model": "als", "rank": 2,
            "params": {"factors": 2, "iterations": 5, "reg": 0.1, "seed": 1, "reg_u": 15.0,
                       "reg_i": 10.0, "bias_iterations": 3, "test_fraction": 0.2},
            "scale": {"min": 1.0, "max": 10.0}, "global_mean": 6.5,
            "n_users": 3, "n_items": 2, "n_train": 4, "data_fingerprint": "spark-xxh64sum:4:00ff",
            "metrics": {"test_rmse": 1.5, "n_test": 1}, "cleaning": {}, "timings": {"total_seconds": 3.0},
            "files": files,
        });
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    }

    fn import_err(dir: &Path) -> String {
        import_spark(dir, &NoProgress).unwrap_err().to_string()
    }

    #[test]
    fn imports_and_predicts_the_exported_rule() {
        let tmp = tempfile::tempdir().unwrap();
        write_export(tmp.path());
        let (model, meta) = import_spark(tmp.path(), &NoProgress).unwrap();
        assert_eq!(meta.engine, "spark");
        assert_eq!(meta.n_train, 4);
        assert_eq!(meta.data_fingerprint, "spark-xxh64sum:4:00ff");
        assert_eq!(meta.training_metrics["test_rmse"], 1.5);
        assert_eq!(model.users.get("u\t1"), Some(0));
        assert_eq!(model.users.get("x\\y"), Some(2));
        assert_eq!(model.items.get("0451x"), Some(0));
        assert_eq!(model.item_popularity, vec![2, 2]);
        assert_eq!(model.seen.row(0).0, &[0, 1]);
        // μ + b_u + b_i + q·p = 6.5 + 0.5 + 0.25 + (0.1·2 + 0.2·0)
        let p = model.predict("u\t1", "0451x");
        assert!((p.value - 7.45).abs() < 1e-5, "{p:?}");
        // user "42" has seen book 0 only: book 1 is the one to recommend.
        let recs = model.recommend(
            model.users.get("42").unwrap(),
            5,
            &crate::models::RecommendOptions {
                min_support: 1,
                exclude_seen: true,
            },
        );
        assert_eq!(recs.iter().map(|r| r.item).collect::<Vec<_>>(), vec![1]);
        // The imported model survives the model file.
        let path = tmp.path().join("m.bkr");
        crate::model_file::save_model(&model, &meta, &path).unwrap();
        let (back, back_meta) = crate::model_file::load_model(&path).unwrap();
        assert_eq!(back_meta.engine, "spark");
        assert_eq!(back.predict("u\t1", "0451x").value, p.value);
    }

    #[test]
    fn refuses_a_half_written_export() {
        let tmp = tempfile::tempdir().unwrap();
        write_export(tmp.path());
        std::fs::remove_file(tmp.path().join("manifest.json")).unwrap();
        let msg = import_err(tmp.path());
        assert!(
            msg.contains("no manifest.json") && msg.contains("half-written"),
            "{msg}"
        );
    }

    #[test]
    fn refuses_another_version_or_format() {
        let tmp = tempfile::tempdir().unwrap();
        write_export(tmp.path());
        let path = tmp.path().join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("\"format_version\":1", "\"format_version\":2"),
        )
        .unwrap();
        let msg = import_err(tmp.path());
        assert!(
            msg.contains("export format version 2") && msg.contains("reads version 1"),
            "{msg}"
        );
        std::fs::write(&path, text.replace(EXPORT_FORMAT, "something-else")).unwrap();
        assert!(import_err(tmp.path()).contains("not a bookrec Spark export"));
        std::fs::write(&path, "{not json").unwrap();
        assert!(import_err(tmp.path()).contains("not valid JSON"));
    }

    #[test]
    fn refuses_damaged_or_changed_files() {
        let tmp = tempfile::tempdir().unwrap();
        write_export(tmp.path());
        let part = tmp.path().join("items/part-00000.txt");
        // Same length, one digit changed: only the checksum can tell.
        let text = std::fs::read_to_string(&part).unwrap();
        std::fs::write(&part, text.replace("0.25", "0.26")).unwrap();
        assert!(import_err(tmp.path()).contains("does not match its checksum"));
        std::fs::write(&part, &text[..text.len() - 3]).unwrap();
        assert!(import_err(tmp.path()).contains("the manifest lists"));
        std::fs::write(&part, &text).unwrap();
        std::fs::write(tmp.path().join("items/part-00001.txt"), "").unwrap();
        let msg = import_err(tmp.path());
        assert!(msg.contains("unexpected: [\"part-00001.txt\"]"), "{msg}");
        std::fs::remove_file(tmp.path().join("items/part-00001.txt")).unwrap();
        std::fs::remove_file(&part).unwrap();
        assert!(import_err(tmp.path()).contains("missing: [\"part-00000.txt\"]"));
    }

    /// A line that is wrong but consistent with its manifest still fails, with file and line.
    #[test]
    fn malformed_lines_name_file_and_line() {
        let cases = [
            (
                "users",
                "0\tu\\t1\t0.5\t0.1,0.2\n",
                "0\tu\\t1\t0.5\t0.1\n",
                "expected 2 factors",
            ),
            ("users", "1\t42\t-0.25", "7\t42\t-0.25", "expected index 1"),
            (
                "ratings",
                "0\t1\t6\n1\t0",
                "0\t1\tsix\n1\t0",
                "the rating is not a finite number",
            ),
            ("ratings", "1\t0\t9\n", "0\t0\t9\n", "not sorted"),
        ];
        for (sub, from, to, expected) in cases {
            let tmp = tempfile::tempdir().unwrap();
            write_export(tmp.path());
            let part = tmp.path().join(sub).join("part-00000.txt");
            let text = std::fs::read_to_string(&part).unwrap().replace(from, to);
            std::fs::write(&part, &text).unwrap();
            // Re-seal the manifest so that only the content is wrong.
            let mpath = tmp.path().join("manifest.json");
            let mut m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
            m["files"][sub][0]["bytes"] = text.len().into();
            m["files"][sub][0]["crc32"] = crc32fast::hash(text.as_bytes()).into();
            std::fs::write(&mpath, m.to_string()).unwrap();
            let msg = import_err(tmp.path());
            assert!(
                msg.contains(expected) && msg.contains("part-00000.txt:"),
                "{msg}"
            );
        }
    }
}
