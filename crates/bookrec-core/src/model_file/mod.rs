//! Model files: a fitted model and its [`ModelMeta`] (provenance, training metrics) saved to
//! and loaded from one versioned, checksummed file ([`save_model`], [`load_model`];
//! [`read_meta`] reads the header alone), so a model fitted once serves the CLI, the web app
//! and Python alike; [`spark`] turns the export of a model trained on Apache Spark into the same
//! [`FittedModel`] and metadata, ready to save and serve.
//!
//! # Format (version 1)
//!
//! All integers little-endian.
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `BOOKREC\0` (`42 4F 4F 4B 52 45 43 00`) |
//! | 4 | `u32` format version ([`FORMAT_VERSION`]) |
//! | 8 | `u64` header length H |
//! | H | header: UTF-8 JSON object — the [`ModelMeta`] fields (`format_version`, `bookrec_version`, `engine`, `created_unix`, `data_fingerprint`, `n_train`, `training_metrics`) plus `kind` (model name), `params` (hyper-parameters), `scale` (`{"min","max"}`), `n_users`, `n_items`, `n_seen` (training ratings held) |
//! | 8 | `u64` payload length P |
//! | P | payload: the [`FittedModel`] in bincode 1.3 with `bincode::DefaultOptions` (varint integers, little-endian); `params` inside it is stored as a JSON string, since bincode cannot encode free-form JSON |
//! | 4 | `u32` CRC-32 (IEEE, as `crc32fast`) of the H header bytes followed by the P payload bytes |
//!
//! The file size is therefore exactly 32 + H + P bytes. A reader checks, in order: the magic
//! (else "not a bookrec model file"), the version (a newer one is refused with both version
//! numbers), that the lengths add up to the file size (so a corrupted length never drives an
//! allocation), the CRC, and finally that the decoded model is internally consistent (vector
//! lengths match the vocabularies), so a damaged file fails here rather than panicking later.
//!
//! Files are written atomically: to `<path>.tmp-<pid>` in the same directory, fsynced, then
//! renamed over `path`, so a crash leaves either the old file or the new one, never half of one.

pub mod spark;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::data::{Csr, Interactions, RatingScale};
use crate::models::{FittedModel, ModelKind, Scorer};
use crate::{Error, Result};

/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: [u8; 8] = *b"BOOKREC\0";
/// Magic + version + header length.
const PREFIX_LEN: u64 = 8 + 4 + 8;
/// Prefix + payload length + CRC.
const FIXED_LEN: u64 = PREFIX_LEN + 8 + 4;

/// Provenance and training summary stored in a model file's header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The file format version (set to [`FORMAT_VERSION`] when written).
    pub format_version: u32,
    /// Version of the bookrec that trained the model.
    pub bookrec_version: String,
    /// `native` (this crate) or `spark` (factors imported from a Spark ALS job).
    pub engine: String,
    /// Seconds since the Unix epoch at creation.
    pub created_unix: u64,
    /// [`fingerprint`] of the training data.
    pub data_fingerprint: String,
    /// Number of training ratings.
    pub n_train: usize,
    /// Free-form training figures (e.g. train RMSE, or an evaluation report).
    pub training_metrics: serde_json::Value,
}

impl ModelMeta {
    /// Metadata for a model trained now by `engine` on `train`.
    pub fn new(engine: &str, train: &Interactions, training_metrics: serde_json::Value) -> Self {
        ModelMeta {
            format_version: FORMAT_VERSION,
            bookrec_version: env!("CARGO_PKG_VERSION").to_string(),
            engine: engine.to_string(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            data_fingerprint: fingerprint(train),
            n_train: train.len(),
            training_metrics,
        }
    }
}

/// The JSON header: meta plus what a reader wants to know without decoding the payload.
#[derive(Serialize, Deserialize)]
struct Header {
    #[serde(flatten)]
    meta: ModelMeta,
    kind: ModelKind,
    params: serde_json::Value,
    scale: RatingScale,
    n_users: usize,
    n_items: usize,
    n_seen: usize,
}

/// A 64-bit FNV-1a hash, as 16 hex digits, of the training data: every explicit rating as
/// (raw user id, raw book id, rating bits) in row order, then every implicit (user, book) pair.
/// Raw ids rather than indices, so the same ratings give the same fingerprint however they
/// were loaded; row order counts, because it changes what SGD learns.
pub fn fingerprint(data: &Interactions) -> String {
    let mut h = Fnv1a::new();
    for k in 0..data.len() {
        h.write(data.users.id(data.user[k]).as_bytes());
        h.write(&[0xFF]); // never occurs in UTF-8, so ids cannot run into each other
        h.write(data.items.id(data.item[k]).as_bytes());
        h.write(&[0xFF]);
        h.write(&data.rating[k].to_bits().to_le_bytes());
    }
    h.write(&[0xFE]);
    for (&u, &i) in data.implicit_user.iter().zip(&data.implicit_item) {
        h.write(data.users.id(u).as_bytes());
        h.write(&[0xFF]);
        h.write(data.items.id(i).as_bytes());
        h.write(&[0xFF]);
    }
    format!("{:016x}", h.0)
}

struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}

fn bincode_options() -> impl Options {
    bincode::DefaultOptions::new()
}

/// A writer/reader adapter that feeds every byte through a CRC-32 and counts them.
struct Crc<T> {
    inner: T,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<T> Crc<T> {
    fn new(inner: T) -> Self {
        Crc {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn model_file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::ModelFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `model` with `meta` to `path` atomically (see the module doc for the format).
/// `meta.format_version` is set to [`FORMAT_VERSION`] whatever it held.
pub fn save_model(model: &FittedModel, meta: &ModelMeta, path: &Path) -> Result<()> {
    let header = Header {
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            ..meta.clone()
        },
        kind: model.kind,
        params: model.params.clone(),
        scale: model.scale,
        n_users: model.users.len(),
        n_items: model.items.len(),
        n_seen: model.seen.nnz(),
    };
    let header_bytes = serde_json::to_vec(&header)
        .map_err(|e| model_file_error(path, format!("cannot encode the header: {e}")))?;
    let payload_len = bincode_options()
        .serialized_size(model)
        .map_err(|e| model_file_error(path, format!("cannot encode the model: {e}")))?;

    let tmp = temp_path(path)?;
    let result = write_file(&tmp, &header_bytes, model, payload_len)
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    sync_parent_dir(path);
    Ok(())
}

/// `<path>.tmp-<pid>`, next to `path` so the final rename stays within one file system.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| model_file_error(path, "not a file path"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

fn write_file(
    tmp: &Path,
    header: &[u8],
    model: &FittedModel,
    payload_len: u64,
) -> std::io::Result<()> {
    let mut file = File::create(tmp)?;
    let mut prefix = Vec::with_capacity(PREFIX_LEN as usize + header.len() + 8);
    prefix.extend_from_slice(&MAGIC);
    prefix.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    prefix.extend_from_slice(&(header.len() as u64).to_le_bytes());
    prefix.extend_from_slice(header);
    prefix.extend_from_slice(&payload_len.to_le_bytes());
    file.write_all(&prefix)?;
    // Buffer outside the checksum, so the CRC runs over large blocks rather than the many
    // few-byte writes of the encoder.
    let mut crc = Crc::new(&mut file);
    crc.hasher.update(header);
    let mut w = BufWriter::with_capacity(1 << 20, crc);
    bincode_options()
        .serialize_into(&mut w, model)
        .map_err(std::io::Error::other)?;
    let crc = w.into_inner().map_err(|e| e.into_error())?;
    if crc.bytes != payload_len {
        return Err(std::io::Error::other(format!(
            "model encoded to {} bytes, expected {payload_len}",
            crc.bytes
        )));
    }
    let checksum = crc.hasher.finalize();
    file.write_all(&checksum.to_le_bytes())?;
    file.sync_all()
}

/// Makes the rename durable. Not all platforms can open a directory; the data itself is
/// already synced, so failure here is ignored.
fn sync_parent_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// An open model file whose prefix and lengths have been checked against its size.
struct Opened {
    /// Positioned at the first payload byte.
    file: File,
    header: Vec<u8>,
    payload_len: u64,
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn truncated(path: &Path, size: u64, expected: u64) -> Error {
    model_file_error(
        path,
        format!(
            "corrupted (checksum mismatch): the file has {size} bytes where its header \
             announces {expected}; it was truncated or damaged"
        ),
    )
}

/// Checks magic, version and lengths, reads the header bytes; leaves the reader at the payload.
fn open(path: &Path) -> Result<Opened> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let metadata = file.metadata().map_err(|e| io_error(path, e))?;
    if !metadata.is_file() {
        return Err(model_file_error(path, "not a file"));
    }
    let size = metadata.len();
    // Unbuffered: the prefix is a handful of reads, and the payload reader must start exactly
    // at the payload.
    let mut reader = file;
    let io = |e| io_error(path, e);

    let mut magic = [0u8; 8];
    let got = read_up_to(&mut reader, &mut magic).map_err(io)?;
    if got < MAGIC.len() {
        return Err(if got > 0 && magic[..got] == MAGIC[..got] {
            truncated(path, size, FIXED_LEN)
        } else {
            model_file_error(path, "not a bookrec model file")
        });
    }
    if magic != MAGIC {
        return Err(model_file_error(path, "not a bookrec model file"));
    }
    if size < PREFIX_LEN {
        return Err(truncated(path, size, FIXED_LEN));
    }
    let version = read_u32(&mut reader).map_err(io)?;
    if version > FORMAT_VERSION {
        return Err(model_file_error(
            path,
            format!(
                "written by a newer bookrec (format {version}), this is format \
                 {FORMAT_VERSION} (bookrec {}); upgrade bookrec to read it",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    if version == 0 {
        return Err(model_file_error(path, "unsupported format version 0"));
    }
    let header_len = read_u64(&mut reader).map_err(io)?;
    // Compare before allocating: a damaged length must not trigger a huge allocation.
    let min_size = FIXED_LEN.saturating_add(header_len);
    if size < min_size {
        return Err(truncated(path, size, min_size));
    }
    let mut header = vec![0u8; header_len as usize];
    reader.read_exact(&mut header).map_err(io)?;
    let payload_len = read_u64(&mut reader).map_err(io)?;
    let expected = min_size.saturating_add(payload_len);
    if size != expected {
        return Err(truncated(path, size, expected));
    }
    Ok(Opened {
        file: reader,
        header,
        payload_len,
    })
}

/// Like `read_exact` but returns how many bytes were read before end of file.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    serde_json::from_slice(bytes)
        .map_err(|e| model_file_error(path, format!("corrupted: the header does not parse ({e})")))
}

/// Reads only the header of a model file (cheap: the payload is not read, and so not
/// checksummed; [`load_model`] verifies everything).
pub fn read_meta(path: &Path) -> Result<ModelMeta> {
    let opened = open(path)?;
    Ok(parse_header(path, &opened.header)?.meta)
}

/// Reads and verifies a model file written by [`save_model`]. The payload is decoded while it
/// streams through the checksum, so peak memory is the model itself, not model + file.
pub fn load_model(path: &Path) -> Result<(FittedModel, ModelMeta)> {
    let Opened {
        file,
        header,
        payload_len,
    } = open(path)?;
    let mut crc = Crc::new(file.take(payload_len));
    crc.hasher.update(&header);
    // Buffer outside the checksum (see `write_file`).
    let mut reader = BufReader::with_capacity(1 << 20, crc);
    let decoded: std::result::Result<FittedModel, _> = bincode_options()
        .with_limit(payload_len)
        .deserialize_from(&mut reader);
    // Hash whatever the decoder did not consume, so the checksum covers the whole payload.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| io_error(path, e))?;
    let crc = reader.into_inner();
    let computed = crc.hasher.finalize();
    let mut file = crc.inner.into_inner();
    let stored = read_u32(&mut file).map_err(|e| io_error(path, e))?;
    if computed != stored {
        return Err(model_file_error(path, "corrupted (checksum mismatch)"));
    }
    let model = decoded.map_err(|e| {
        model_file_error(
            path,
            format!("corrupted: the payload does not decode ({e})"),
        )
    })?;
    let header = parse_header(path, &header)?;
    check_consistency(&model, &header)
        .map_err(|m| model_file_error(path, format!("corrupted: {m}")))?;
    Ok((model, header.meta))
}

/// Rejects a decoded model whose parts disagree, so that no later index can go out of bounds.
fn check_consistency(model: &FittedModel, header: &Header) -> std::result::Result<(), String> {
    let (n_users, n_items) = (model.users.len(), model.items.len());
    if (header.kind, header.n_users, header.n_items, header.n_seen)
        != (model.kind, n_users, n_items, model.seen.nnz())
    {
        return Err("the header does not describe the stored model".to_string());
    }
    if !csr_fits(&model.seen, n_users, n_items) {
        return Err("the training-ratings matrix does not match the vocabularies".to_string());
    }
    if model.item_popularity.len() != n_items {
        return Err("item popularity does not match the book vocabulary".to_string());
    }
    let ok = match &model.scorer {
        // Empty bias vectors are legitimate: the mean model has no per-user or per-book terms.
        Scorer::Factors(f) => {
            empty_or(f.user_bias.len(), n_users)
                && empty_or(f.item_bias.len(), n_items)
                && factor_rows_fit(f.k, &f.user_factors, &f.user_rows, n_users)
                && factor_rows_fit(f.k, &f.item_factors, &f.item_rows, n_items)
        }
        Scorer::Knn(knn) => {
            empty_or(knn.user_bias.len(), n_users)
                && empty_or(knn.item_bias.len(), n_items)
                && csr_fits(&knn.neighbours, n_items, n_items)
                && csr_fits(&knn.reverse, n_items, n_items)
        }
        Scorer::Ncf(n) => {
            n.shapes_fit()
                && n.user_bias.len() == n_users
                && n.item_bias.len() == n_items
                && factor_rows_fit(2 * n.factors, &n.user_emb, &n.user_rows, n_users)
                && factor_rows_fit(2 * n.factors, &n.item_emb, &n.item_rows, n_items)
                && !n.user_rows.is_empty()
        }
    };
    if !ok {
        return Err("the model parameters do not match the vocabularies".to_string());
    }
    Ok(())
}

/// A factor matrix of stride `k` and its optional row map (see [`crate::models::Factors`]):
/// whole rows only; without a map, one row per index (or none at all); with one, an entry per
/// index pointing at an existing row or `u32::MAX`.
fn factor_rows_fit(k: usize, factors: &[f32], rows: &[u32], n: usize) -> bool {
    if k == 0 {
        return factors.is_empty();
    }
    if factors.len() % k != 0 {
        return false;
    }
    let n_rows = factors.len() / k;
    if rows.is_empty() {
        return n_rows == n || n_rows == 0;
    }
    rows.len() == n && rows.iter().all(|&r| r == u32::MAX || (r as usize) < n_rows)
}

/// `csr` has `n_rows` rows, monotone row pointers covering all entries, and columns < `n_cols`.
fn csr_fits(csr: &Csr, n_rows: usize, n_cols: usize) -> bool {
    csr.indptr.len() == n_rows + 1
        && csr.indptr.first() == Some(&0)
        && csr.indptr.windows(2).all(|w| w[0] <= w[1])
        && csr.indptr.last() == Some(&csr.indices.len())
        && csr.values.len() == csr.indices.len()
        && csr.indices.iter().all(|&c| (c as usize) < n_cols)
}

fn empty_or(len: usize, n: usize) -> bool {
    len == 0 || len == n
}
