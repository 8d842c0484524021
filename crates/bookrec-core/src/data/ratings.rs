//! Loading a ratings file: sniff → parse (streaming; files over 8 MiB as two halves in
//! parallel), staging normalised ids → resolve ids ([`intern`](super::intern)) → clean
//! (implicit zeros, scale, duplicates) → [`Interactions`] + [`CleaningReport`].
//!
//! Indices follow the order in which ids first appear in the file (among rows with valid
//! values), so a given file always gives the same indices, whatever the number of threads.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::csv::{for_each_record, Feed, Item, Parser, Seen, CHUNK};
use super::intern::{Interner, Resolved};
use super::report::*;
use super::sniff::{header_key, is_numeric, sniff, trim_field};
use super::{text, BadLinePolicy, ColumnRef, DuplicatePolicy, Encoding, LoadOptions};
use super::{Interactions, RatingScale, Vocab};
use crate::progress::Progress;
use crate::{Error, Result};

const USER_NAMES: &[&str] = &["user", "userid", "uid", "users", "reader", "readerid"];
const ITEM_NAMES: &[&str] = &[
    "item", "itemid", "isbn", "book", "bookid", "books", "movieid", "movie", "iid", "asin",
];
const RATING_NAMES: &[&str] = &["rating", "bookrating", "score", "stars", "rate"];
const TIME_NAMES: &[&str] = &["timestamp", "time", "date", "datetime", "ts"];

/// Reads and cleans a ratings file (see [`LoadOptions`] for what is sniffed). Streams the
/// file: memory is the parsed ratings plus a 4 MiB chunk per reader. Files over 8 MiB are
/// read as two halves in parallel (split at a line end; results are merged in file order, so
/// they are identical to a sequential read, which is used whenever the split lands inside a
/// quoted field or a bad line).
pub fn load_ratings(
    path: &Path,
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<(Interactions, CleaningReport)> {
    read_ratings(Source::File(path), path, opts, progress)
}

/// [`load_ratings`] over bytes already in memory; `source` names them in messages.
pub fn parse_ratings(
    bytes: &[u8],
    source: &Path,
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<(Interactions, CleaningReport)> {
    read_ratings(Source::Bytes(bytes), source, opts, progress)
}

/// Where the bytes come from; a file can be opened again for a second reader.
#[derive(Clone, Copy)]
enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    fn io_err(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Total length, if known (0 for pipes and the like).
    fn len(&self) -> Result<u64> {
        match self {
            Source::File(p) => Ok(std::fs::metadata(p).map_err(|e| Self::io_err(p, e))?.len()),
            Source::Bytes(b) => Ok(b.len() as u64),
        }
    }

    /// A reader from byte `start` on.
    fn reader(&self, start: u64) -> Result<Box<dyn Read + Send + 'a>> {
        match *self {
            Source::File(p) => {
                let mut f = File::open(p).map_err(|e| Self::io_err(p, e))?;
                if start > 0 {
                    use std::io::{Seek, SeekFrom};
                    f.seek(SeekFrom::Start(start))
                        .map_err(|e| Self::io_err(p, e))?;
                }
                Ok(Box::new(f))
            }
            Source::Bytes(b) => {
                let start = usize::try_from(start).unwrap_or(b.len()).min(b.len());
                Ok(Box::new(&b[start..]))
            }
        }
    }

    /// A split point near the middle, just after a line terminator, for inputs large enough
    /// to be worth two readers.
    fn split_point(&self, total: u64, term: u8) -> Result<Option<u64>> {
        if total < 2 * CHUNK as u64 {
            return Ok(None);
        }
        let mid = total / 2;
        let mut window = vec![0u8; 64 << 10];
        let mut r = self.reader(mid)?;
        let mut n = 0;
        while n < window.len() {
            match r.read(&mut window[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(None),
            }
        }
        Ok(memchr::memchr(term, &window[..n])
            .map(|i| mid + i as u64 + 1)
            .filter(|&s| s < total))
    }
}

/// All resolved ids, decoded, in index order.
fn to_vocab(ids: &Resolved, encoding: Encoding) -> Vocab {
    let mut v = Vocab::with_capacity(ids.len(), ids.bytes());
    for i in 0..ids.len() {
        v.intern(&text::decode(ids.id(i), encoding));
    }
    v
}

/// Parsed rows before cleaning.
#[derive(Default)]
struct RawRows {
    user: Vec<u32>,
    item: Vec<u32>,
    rating: Vec<f32>,
    timestamp: Vec<i64>,
    line: Vec<u64>,
}

struct Columns {
    user: usize,
    item: usize,
    rating: usize,
    timestamp: Option<usize>,
    used: ColumnsUsed,
}

fn param_err(name: &'static str, value: impl std::fmt::Display, why: String) -> Error {
    Error::param(name, value, why)
}

/// Resolves the four columns: explicit choices first, then header names, then positions.
fn resolve_columns(
    opts: &LoadOptions,
    header: Option<&[String]>,
    width: usize,
    data_rows: &[Vec<Vec<u8>>],
) -> Result<Columns> {
    let keys: Vec<String> = header
        .map(|h| h.iter().map(|n| header_key(n)).collect())
        .unwrap_or_default();
    let available = || match header {
        Some(h) => format!("columns are {h:?}"),
        None => format!("{width} columns, no header"),
    };
    let explicit = |c: &Option<ColumnRef>, name: &'static str| -> Result<Option<usize>> {
        match c {
            None => Ok(None),
            Some(ColumnRef::Index(i)) if *i < width => Ok(Some(*i)),
            Some(ColumnRef::Index(i)) => Err(param_err(
                name,
                i,
                format!("column index out of range ({})", available()),
            )),
            Some(ColumnRef::Name(n)) => {
                if header.is_none() {
                    return Err(param_err(
                        name,
                        n,
                        "the file has no header; give the column by 0-based index".into(),
                    ));
                }
                let k = header_key(n);
                header
                    .and_then(|h| h.iter().position(|x| x == n))
                    .or_else(|| keys.iter().position(|x| *x == k))
                    .map(Some)
                    .ok_or_else(|| param_err(name, n, format!("no such column ({})", available())))
            }
        }
    };
    let user = explicit(&opts.user_col, "user-col")?;
    let item = explicit(&opts.item_col, "item-col")?;
    let rating = explicit(&opts.rating_col, "rating-col")?;
    let mut timestamp = explicit(&opts.timestamp_col, "timestamp-col")?;
    let by_name = |names: &[&str], taken: &[Option<usize>]| {
        keys.iter()
            .enumerate()
            .position(|(j, k)| names.contains(&k.as_str()) && !taken.contains(&Some(j)))
    };
    let user = user.or_else(|| by_name(USER_NAMES, &[item, rating, timestamp]));
    let item = item.or_else(|| by_name(ITEM_NAMES, &[user, rating, timestamp]));
    let rating = rating.or_else(|| by_name(RATING_NAMES, &[user, item, timestamp]));
    if timestamp.is_none() && opts.timestamp_col.is_none() {
        timestamp = by_name(TIME_NAMES, &[user, item, rating]);
    }
    // Positions for what names did not settle: the first free columns in order.
    let mut chosen = [user, item, rating];
    for s in 0..3 {
        if chosen[s].is_none() {
            let taken = [chosen[0], chosen[1], chosen[2], timestamp];
            chosen[s] = (0..width).find(|j| !taken.contains(&Some(*j)));
        }
    }
    let [user, item, rating] = chosen;
    let (Some(user), Some(item), Some(rating)) = (user, item, rating) else {
        return Err(Error::Invalid(format!(
            "a ratings file needs at least 3 columns (user, book, rating); found {}",
            available()
        )));
    };
    if user == item || user == rating || item == rating {
        return Err(Error::Invalid(format!(
            "user, book and rating columns must differ (got #{user}, #{item}, #{rating})"
        )));
    }
    if timestamp.is_none() && header.is_none() && width > 3 && ![user, item, rating].contains(&3) {
        // Positional timestamp: column 3 when every sampled value is a number.
        let numeric = !data_rows.is_empty()
            && data_rows
                .iter()
                .all(|r| r.get(3).is_some_and(|f| is_numeric(f)));
        if numeric {
            timestamp = Some(3);
        }
    }
    let label = |j: usize| match header {
        Some(h) => format!("{:?} (#{j})", h.get(j).map(String::as_str).unwrap_or("")),
        None => format!("#{j}"),
    };
    Ok(Columns {
        user,
        item,
        rating,
        timestamp,
        used: ColumnsUsed {
            user: label(user),
            item: label(item),
            rating: label(rating),
            timestamp: timestamp.map(label),
            width,
        },
    })
}

/// Missing-value spellings of a rating (after trimming).
fn is_missing_rating(t: &[u8]) -> bool {
    t.is_empty()
        || t.eq_ignore_ascii_case(b"na")
        || t.eq_ignore_ascii_case(b"n/a")
        || t.eq_ignore_ascii_case(b"null")
        || t.eq_ignore_ascii_case(b"none")
        || t == b"?"
}

enum Value {
    Ok(f32),
    Bad(&'static str),
}

/// Parses a rating. A decimal comma (`3,5`) is accepted when `,` is not the separator.
#[inline]
fn parse_rating(t: &[u8], comma_ok: bool) -> Value {
    match t {
        [d @ b'0'..=b'9'] => return Value::Ok(f32::from(d - b'0')),
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => {
            return Value::Ok(f32::from((a - b'0') * 10 + (b - b'0')))
        }
        _ => {}
    }
    let parsed = std::str::from_utf8(t).ok().and_then(|s| {
        s.parse::<f32>().ok().or_else(|| {
            (comma_ok && s.bytes().filter(|&b| b == b',').count() == 1)
                .then(|| s.replace(',', "."))
                .and_then(|s| s.parse::<f32>().ok())
        })
    });
    match parsed {
        Some(v) if v.is_finite() => Value::Ok(v),
        Some(_) => Value::Bad("rating is not a finite number"),
        None => Value::Bad("non-numeric rating"),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parses a timestamp: integer or decimal seconds since the epoch, or an ISO-8601 date /
/// date-time in UTC (`2004-03-01`, `2004-03-01T12:30:00Z`, `2004-03-01 12:30`).
pub(crate) fn parse_timestamp(t: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(t).ok()?;
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    if let Ok(v) = s.parse::<f64>() {
        return (v.is_finite() && v.abs() < 9.0e18).then_some(v.floor() as i64);
    }
    let num = |a: usize, b: usize| -> Option<i64> {
        let part = s.get(a..b)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if s.len() < 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86400;
    let rest = s[10..].trim_end_matches('Z');
    if !rest.is_empty() {
        let rest = rest.strip_prefix(['T', ' '])?;
        let h = rest.get(0..2)?.parse::<i64>().ok()?;
        if rest.as_bytes().get(2) != Some(&b':') {
            return None;
        }
        let mi = rest.get(3..5)?.parse::<i64>().ok()?;
        let sec = match rest.get(5..) {
            None | Some("") => 0,
            Some(x) => x.strip_prefix(':')?.get(0..2)?.parse::<i64>().ok()?,
        };
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + sec;
    }
    Some(secs)
}

/// The inferred scale (see [`LoadOptions::rating_scale`]).
fn infer_scale(explicit: &[f32], zeros_explicit: bool) -> RatingScale {
    let mut candidates = vec![
        RatingScale::new(1.0, 5.0),
        RatingScale::new(0.5, 5.0),
        RatingScale::new(0.0, 5.0),
        RatingScale::new(1.0, 10.0),
        RatingScale::new(0.0, 10.0),
        RatingScale::new(1.0, 100.0),
        RatingScale::new(0.0, 100.0),
    ];
    if zeros_explicit {
        candidates.insert(0, RatingScale::new(0.0, 1.0));
    }
    let n = explicit.len();
    candidates.sort_by(|a, b| (a.max - a.min).total_cmp(&(b.max - b.min)));
    // One pass counts, per candidate, the ratings inside it.
    let mut inside = vec![0usize; candidates.len()];
    for &r in explicit {
        for (count, s) in inside.iter_mut().zip(&candidates) {
            *count += usize::from(s.contains(r));
        }
    }
    candidates
        .iter()
        .zip(&inside)
        .find(|(_, &k)| k as f64 >= 0.999 * n as f64)
        .map(|(s, _)| *s)
        .unwrap_or_else(|| RatingScale::covering(explicit))
}

/// Settings shared by the readers of one file.
struct Ctx<'a> {
    path: &'a Path,
    opts: &'a LoadOptions,
    cols: &'a Columns,
    width: usize,
    needed: usize,
    comma_ok: bool,
    progress: &'a dyn Progress,
}

/// What one reader parsed (a whole file, or one half of it).
#[derive(Default)]
struct Part {
    users: Interner,
    items: Interner,
    rows: RawRows,
    bad: BadLines,
    missing: MissingValues,
    rows_read: u64,
    seen: Seen,
    /// Physical lines consumed.
    lines: u64,
    utf8_valid: bool,
    /// False if the input ended in a bad record (so a split there is not a record boundary).
    ended_clean: bool,
}

impl Part {
    /// Appends `b` (the part that follows in the file), re-expressing its ids and lines.
    fn append(&mut self, b: Part) {
        let offset = self.lines;
        self.users.append(b.users);
        self.items.append(b.items);
        let r = &mut self.rows;
        r.rating.extend_from_slice(&b.rows.rating);
        r.timestamp.extend_from_slice(&b.rows.timestamp);
        r.line.extend(b.rows.line.iter().map(|&l| l + offset));
        self.bad.count += b.bad.count;
        for mut e in b.bad.examples {
            if self.bad.examples.len() < MAX_EXAMPLES {
                e.line += offset;
                self.bad.examples.push(e);
            }
        }
        let (m, n) = (&mut self.missing, b.missing);
        m.rows += n.rows;
        m.user += n.user;
        m.item += n.item;
        m.rating += n.rating;
        m.timestamp += n.timestamp;
        for l in n.example_lines {
            if m.example_lines.len() < MAX_EXAMPLES {
                m.example_lines.push(l + offset);
            }
        }
        self.rows_read += b.rows_read;
        self.seen.quoted_fields += b.seen.quoted_fields;
        self.seen.doubled_quotes += b.seen.doubled_quotes;
        self.seen.backslash_escapes += b.seen.backslash_escapes;
        self.seen.blank_lines += b.seen.blank_lines;
        self.lines += b.lines;
        self.utf8_valid &= b.utf8_valid;
        self.ended_clean = b.ended_clean;
    }
}

/// Parses every record of `feed` into a [`Part`].
fn parse_part(
    feed: &mut Feed<'_>,
    mut parser: Parser,
    ctx: &Ctx<'_>,
    mut skip_header: bool,
    capacity: usize,
) -> Result<Part> {
    let (path, opts, cols, width) = (ctx.path, ctx.opts, ctx.cols, ctx.width);
    let mut part = Part {
        users: Interner::with_capacity(capacity),
        items: Interner::with_capacity(capacity),
        bad: BadLines {
            policy: opts.bad_lines,
            ..Default::default()
        },
        rows: RawRows {
            user: Vec::new(),
            item: Vec::new(),
            rating: Vec::with_capacity(capacity),
            timestamp: Vec::new(),
            line: Vec::with_capacity(capacity),
        },
        ..Default::default()
    };
    let Part {
        users,
        items,
        rows,
        bad,
        missing,
        rows_read,
        ..
    } = &mut part;
    for_each_record(feed, &mut parser, ctx.progress, |item| {
        let mut reject = |line: u64, reason: String, excerpt: &str| -> Result<()> {
            if opts.bad_lines == BadLinePolicy::Error {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line,
                    message: reason,
                    value: Some(excerpt.to_string()),
                });
            }
            bad.count += 1;
            if bad.examples.len() < MAX_EXAMPLES {
                bad.examples.push(BadLine {
                    line,
                    reason,
                    excerpt: excerpt.to_string(),
                });
            }
            Ok(())
        };
        match item {
            Item::Bad {
                line,
                reason,
                excerpt,
            } => {
                if std::mem::take(&mut skip_header) {
                    return Err(Error::Parse {
                        path: path.to_path_buf(),
                        line,
                        message: format!("malformed header: {}", reason.message()),
                        value: Some(excerpt.to_string()),
                    });
                }
                *rows_read += 1;
                reject(line, reason.message(), excerpt)
            }
            Item::Record { line, parser, buf } => {
                if std::mem::take(&mut skip_header) {
                    return Ok(());
                }
                *rows_read += 1;
                let n = parser.n_fields();
                let extra_empty =
                    || (width..n).all(|j| parser.field(buf, j).is_some_and(|f| f.is_empty()));
                if n < ctx.needed || (n != width && !(n > width && extra_empty())) {
                    let ex = record_excerpt(parser, buf);
                    return reject(line, format!("expected {width} fields, found {n}"), &ex);
                }
                let field = |j: usize| parser.field(buf, j).unwrap_or_default();
                let (user_raw, item_raw) = (field(cols.user), field(cols.item));
                let u = users.key(user_raw);
                let i = items.key(item_raw);
                let rt = trim_field(field(cols.rating));
                let r = if is_missing_rating(rt) {
                    None
                } else {
                    match parse_rating(rt, ctx.comma_ok) {
                        Value::Ok(v) => Some(v),
                        Value::Bad(why) => {
                            return reject(line, why.to_string(), &super::csv::excerpt_bytes(rt))
                        }
                    }
                };
                let ts = match cols.timestamp {
                    None => Some(0),
                    Some(j) => {
                        let t = trim_field(field(j));
                        if t.is_empty() {
                            None
                        } else {
                            match parse_timestamp(t) {
                                Some(v) => Some(v),
                                None => {
                                    return reject(
                                        line,
                                        "bad timestamp (expected seconds or an ISO date)".into(),
                                        &super::csv::excerpt_bytes(t),
                                    )
                                }
                            }
                        }
                    }
                };
                match (u, i, r, ts) {
                    (Some(u), Some(i), Some(r), Some(ts)) => {
                        users.push(u, user_raw);
                        items.push(i, item_raw);
                        rows.rating.push(r);
                        if cols.timestamp.is_some() {
                            rows.timestamp.push(ts);
                        }
                        rows.line.push(line);
                    }
                    _ => {
                        missing.rows += 1;
                        missing.user += u64::from(u.is_none());
                        missing.item += u64::from(i.is_none());
                        missing.rating += u64::from(r.is_none());
                        missing.timestamp += u64::from(ts.is_none());
                        if missing.example_lines.len() < MAX_EXAMPLES {
                            missing.example_lines.push(line);
                        }
                    }
                }
                Ok(())
            }
        }
    })?;
    part.seen = parser.seen;
    part.lines = parser.line - 1;
    part.utf8_valid = feed.utf8_valid;
    part.ended_clean = !parser.eof_hit;
    Ok(part)
}

fn read_ratings(
    src: Source<'_>,
    path: &Path,
    opts: &LoadOptions,
    progress: &dyn Progress,
) -> Result<(Interactions, CleaningReport)> {
    let t0 = Instant::now();
    let total_bytes = src.len()?;
    progress.start("reading ratings", total_bytes);
    let mut reader = src.reader(0)?;
    let mut feed = Feed::new(&mut *reader, path)?;
    let known: Vec<&str> = [USER_NAMES, ITEM_NAMES, RATING_NAMES, TIME_NAMES].concat();
    let sep = opts.sep.as_deref();
    let sniffed = sniff(&feed.buf, feed.eof, path, sep, opts.has_header, &known)?;
    feed.pos = sniffed.skip;

    let header: Option<Vec<String>> = sniffed.has_header.then(|| {
        sniffed.rows[0]
            .iter()
            .map(|f| {
                let enc = opts.encoding.unwrap_or(Encoding::Latin1);
                let s = match std::str::from_utf8(f) {
                    Ok(s) => s.to_string(),
                    Err(_) => text::decode(f, enc).into_owned(),
                };
                s.trim().trim_matches('"').to_string()
            })
            .collect()
    });
    let width = sniffed.rows[0].len();
    let data_rows = &sniffed.rows[usize::from(sniffed.has_header)..];
    let cols = resolve_columns(opts, header.as_deref(), width, data_rows)?;
    let needed = [cols.user, cols.item, cols.rating]
        .into_iter()
        .chain(cols.timestamp)
        .max()
        .unwrap_or(0)
        + 1;
    let ctx = Ctx {
        path,
        opts,
        cols: &cols,
        width,
        needed,
        comma_ok: sniffed.dialect.sep != b",",
        progress,
    };
    // Pre-size from the file size (~25 bytes a row in typical files) to avoid regrowth copies.
    let rows_guess = usize::try_from(total_bytes / 25).unwrap_or(0).min(1 << 26);
    let new_parser = || Parser::new(sniffed.dialect.clone());

    // Two readers when the file is large and a bad line cannot abort half-way (an error must
    // name the first bad line of the file, which only a sequential pass knows for sure).
    let split = if opts.bad_lines == BadLinePolicy::Skip {
        src.split_point(total_bytes, sniffed.dialect.term)?
    } else {
        None
    };
    let split = split.filter(|&s| feed.set_limit(s));
    let part = match split {
        None => parse_part(
            &mut feed,
            new_parser(),
            &ctx,
            sniffed.has_header,
            rows_guess,
        )?,
        Some(s) => {
            let (first, second) = rayon::join(
                || {
                    parse_part(
                        &mut feed,
                        new_parser(),
                        &ctx,
                        sniffed.has_header,
                        rows_guess / 2,
                    )
                },
                || -> Result<Part> {
                    let mut r2 = src.reader(s)?;
                    let mut feed2 = Feed::new(&mut *r2, path)?;
                    parse_part(&mut feed2, new_parser(), &ctx, false, rows_guess / 2)
                },
            );
            let mut first = first?;
            if first.ended_clean {
                first.append(second?);
                first
            } else {
                // The split fell inside a record: read the file again in one pass.
                let mut r = src.reader(0)?;
                let mut f = Feed::new(&mut *r, path)?;
                f.pos = sniffed.skip;
                parse_part(&mut f, new_parser(), &ctx, sniffed.has_header, rows_guess)?
            }
        }
    };
    if part.rows_read == 0 {
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: if sniffed.has_header {
                "the file has a header but no data rows".into()
            } else {
                "the file has no data rows".into()
            },
        });
    }

    let encoding = opts.encoding.unwrap_or(if part.utf8_valid {
        Encoding::Utf8
    } else {
        Encoding::Latin1
    });
    let seen = part.seen;
    let mut sniffed_what = Vec::new();
    if opts.sep.is_none() {
        sniffed_what.push("separator".to_string());
    }
    if opts.has_header.is_none() {
        sniffed_what.push("header".to_string());
    }
    if opts.encoding.is_none() {
        sniffed_what.push("encoding".to_string());
    }
    let fields_total = (part.rows_read + u64::from(sniffed.has_header)) * width as u64;
    let format = DetectedFormat {
        separator: String::from_utf8_lossy(&sniffed.dialect.sep).into_owned(),
        encoding,
        header: sniffed.has_header,
        quoting: if seen.quoted_fields == 0 {
            "none".into()
        } else if seen.quoted_fields >= fields_total {
            "all fields".into()
        } else {
            "some fields".into()
        },
        escapes: [
            (seen.doubled_quotes > 0).then(|| "doubled quotes (\"\")".to_string()),
            (seen.backslash_escapes > 0).then(|| "backslash (\\\")".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect(),
        line_ending: sniffed.line_ending.to_string(),
        byte_order_mark: sniffed.skip > 0,
        sniffed: sniffed_what,
    };

    let Part {
        users,
        items,
        mut rows,
        bad,
        missing,
        rows_read,
        ..
    } = part;
    // One after the other: each needs ~40 bytes a row of scratch, which bounds peak memory.
    let mut users = users.resolve();
    let mut items = items.resolve();
    rows.user = std::mem::take(&mut users.rows);
    rows.item = std::mem::take(&mut items.rows);
    // Cleaning and decoding the vocabularies are independent: run them side by side.
    let (cleaned, (user_vocab, item_vocab)) = rayon::join(
        || clean(rows, opts, path),
        || rayon::join(|| to_vocab(&users, encoding), || to_vocab(&items, encoding)),
    );
    let base = (format, cols.used, rows_read, seen.blank_lines, bad, missing);
    let mut counts = (users.raw_distinct, items.raw_distinct);
    let (inter, mut report) = build(
        cleaned?,
        (user_vocab, item_vocab),
        &mut counts,
        cols.timestamp.is_some(),
        path,
        base,
    )?;
    report.seconds = t0.elapsed().as_secs_f64();
    progress.finish(&format!(
        "{} ratings, {} implicit, {} bad lines",
        report.rows_kept, report.implicit, report.bad_lines.count
    ));
    Ok((inter, report))
}

fn record_excerpt(parser: &Parser, buf: &[u8]) -> String {
    let mut joined = Vec::new();
    for j in 0..parser.n_fields().min(8) {
        if j > 0 {
            joined.extend_from_slice(&parser.dialect.sep);
        }
        joined.extend_from_slice(parser.field(buf, j).unwrap_or_default());
        if joined.len() > 200 {
            break;
        }
    }
    super::csv::excerpt_bytes(&joined)
}

/// Rows after implicit separation, scale filtering and duplicate resolution, in file order.
struct Cleaned {
    rows: RawRows,
    /// Per kept row: an explicit rating (else implicit).
    explicit: Vec<bool>,
    scale: RatingScale,
    scale_inferred: bool,
    implicit_zeros: bool,
    implicit_zeros_auto: bool,
    out_of_scale: OutOfScale,
    duplicates: Duplicates,
    explicit_read: u64,
    implicit_read: u64,
}

fn clean(rows: RawRows, opts: &LoadOptions, path: &Path) -> Result<Cleaned> {
    let n = rows.rating.len();
    let has_zero = rows.rating.contains(&0.0);
    let implicit_zeros = match opts.implicit_zeros {
        Some(v) => v,
        None => has_zero && rows.rating.iter().all(|&r| r == 0.0 || r >= 1.0),
    };
    let is_implicit = |r: f32| implicit_zeros && r == 0.0;
    let (scale, scale_inferred) = match opts.rating_scale {
        Some(s) => (s, false),
        None => {
            let explicit: Vec<f32> = rows
                .rating
                .iter()
                .copied()
                .filter(|&r| !is_implicit(r))
                .collect();
            (infer_scale(&explicit, !implicit_zeros && has_zero), true)
        }
    };
    let mut out_of_scale = OutOfScale::default();
    let mut keep: Vec<bool> = Vec::with_capacity(n);
    let (mut explicit_read, mut implicit_read) = (0u64, 0u64);
    for k in 0..n {
        let r = rows.rating[k];
        let ok = is_implicit(r) || scale.contains(r);
        if is_implicit(r) {
            implicit_read += 1;
        } else if ok {
            explicit_read += 1;
        }
        if !ok {
            out_of_scale.count += 1;
            if out_of_scale.examples.len() < MAX_EXAMPLES {
                out_of_scale.examples.push(OutOfScaleValue {
                    line: rows.line[k],
                    value: r,
                });
            }
        }
        keep.push(ok);
    }

    // Duplicates: group row indices by user (counting sort, file order within a user), then
    // sort each user's (item, row) pairs.
    let n_users = rows.user.iter().max().map_or(0, |&u| u as usize + 1);
    let mut start = vec![0u32; n_users + 1];
    for (&u, _) in rows.user.iter().zip(&keep).filter(|(_, &k)| k) {
        start[u as usize + 1] += 1;
    }
    for u in 0..n_users {
        start[u + 1] += start[u];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; start[n_users] as usize];
    for (k, &u) in rows.user.iter().enumerate().filter(|&(k, _)| keep[k]) {
        let u = u as usize;
        order[next[u] as usize] = k as u32;
        next[u] += 1;
    }
    let mut duplicates = Duplicates {
        policy: opts.duplicates,
        ..Default::default()
    };
    let mut rating = rows.rating.clone();
    let mut explicit: Vec<bool> = rows.rating.iter().map(|&r| !is_implicit(r)).collect();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for u in 0..n_users {
        let group = &order[start[u] as usize..start[u + 1] as usize];
        if group.len() < 2 {
            continue;
        }
        pairs.clear();
        pairs.extend(group.iter().map(|&k| (rows.item[k as usize], k)));
        pairs.sort_unstable();
        let mut a = 0;
        while a < pairs.len() {
            let b = a + pairs[a..].iter().take_while(|p| p.0 == pairs[a].0).count();
            if b - a > 1 {
                let dup = &pairs[a..b];
                duplicates.pairs += 1;
                duplicates.rows_removed += (b - a - 1) as u64;
                let last = dup[dup.len() - 1].1 as usize;
                match opts.duplicates {
                    DuplicatePolicy::Error => {
                        return Err(Error::Data {
                            path: path.to_path_buf(),
                            message: format!(
                                "duplicate rating of the same (user, book) pair on lines {} and {} \
                                 (choose a policy: --duplicates last|mean)",
                                rows.line[dup[0].1 as usize], rows.line[last]
                            ),
                        });
                    }
                    DuplicatePolicy::KeepLast => {}
                    DuplicatePolicy::Mean => {
                        let vals: Vec<f32> = dup
                            .iter()
                            .map(|p| rows.rating[p.1 as usize])
                            .filter(|&r| !is_implicit(r))
                            .collect();
                        if !vals.is_empty() {
                            rating[last] = (vals.iter().map(|&v| f64::from(v)).sum::<f64>()
                                / vals.len() as f64)
                                as f32;
                            explicit[last] = true;
                        }
                    }
                }
                for p in &dup[..dup.len() - 1] {
                    keep[p.1 as usize] = false;
                }
            }
            a = b;
        }
    }
    let kept: Vec<usize> = (0..n).filter(|&k| keep[k]).collect();
    let pick = |v: &[u32]| kept.iter().map(|&k| v[k]).collect::<Vec<u32>>();
    let out = RawRows {
        user: pick(&rows.user),
        item: pick(&rows.item),
        rating: kept.iter().map(|&k| rating[k]).collect(),
        timestamp: if rows.timestamp.is_empty() {
            Vec::new()
        } else {
            kept.iter().map(|&k| rows.timestamp[k]).collect()
        },
        line: Vec::new(),
    };
    Ok(Cleaned {
        explicit: kept.iter().map(|&k| explicit[k]).collect(),
        rows: out,
        scale,
        scale_inferred,
        implicit_zeros,
        implicit_zeros_auto: implicit_zeros && opts.implicit_zeros.is_none(),
        out_of_scale,
        duplicates,
        explicit_read,
        implicit_read,
    })
}

/// Keeps only the ids used by kept rows (order unchanged), and assembles [`Interactions`]
/// and the report.
#[allow(clippy::type_complexity)]
fn build(
    c: Cleaned,
    vocabs: (Vocab, Vocab),
    raw_distinct: &mut (usize, usize),
    ts_present: bool,
    path: &Path,
    base: (
        DetectedFormat,
        ColumnsUsed,
        u64,
        u64,
        BadLines,
        MissingValues,
    ),
) -> Result<(Interactions, CleaningReport)> {
    let (format, columns, rows_read, blank_lines, bad_lines, missing) = base;
    let n = c.rows.rating.len();
    if n == 0 {
        let first = bad_lines
            .examples
            .first()
            .map(|b| {
                format!(
                    "; first bad line {}: {} ({:?})",
                    b.line, b.reason, b.excerpt
                )
            })
            .unwrap_or_default();
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: format!(
                "no usable ratings: {rows_read} rows read, {} bad lines, {} with missing values, \
                 {} out of scale{first}",
                bad_lines.count, missing.rows, c.out_of_scale.count
            ),
        });
    }
    let compact = |vocab: Vocab, idx: &[u32]| -> (Vocab, Vec<u32>) {
        let mut used = vec![false; vocab.len()];
        idx.iter().for_each(|&i| used[i as usize] = true);
        if used.iter().all(|&u| u) {
            return (vocab, idx.to_vec());
        }
        // Some ids occur only in dropped rows: renumber the rest, keeping their order.
        let (kept, remap) = vocab.subset(&used);
        (kept, idx.iter().map(|&i| remap[i as usize]).collect())
    };
    let ((user_vocab, user_idx), (item_vocab, item_idx)) = rayon::join(
        || compact(vocabs.0, &c.rows.user),
        || compact(vocabs.1, &c.rows.item),
    );

    let mut inter = Interactions {
        users: Arc::new(user_vocab),
        items: Arc::new(item_vocab),
        user: Vec::new(),
        item: Vec::new(),
        rating: Vec::new(),
        timestamp: ts_present.then(Vec::new),
        implicit_user: Vec::new(),
        implicit_item: Vec::new(),
        scale: c.scale,
        item_groups: None,
    };
    // Small integer ratings (the usual case) are counted in an array, others in a map.
    let mut small = [0u64; 256];
    let mut hist: FxHashMap<u32, u64> = FxHashMap::default();
    for k in 0..n {
        if c.explicit[k] {
            inter.user.push(user_idx[k]);
            inter.item.push(item_idx[k]);
            inter.rating.push(c.rows.rating[k]);
            if let Some(ts) = inter.timestamp.as_mut() {
                ts.push(c.rows.timestamp[k]);
            }
            let r = c.rows.rating[k];
            if (0.0..256.0).contains(&r) && r.fract() == 0.0 {
                small[r as usize] += 1;
            } else {
                *hist.entry(r.to_bits()).or_default() += 1;
            }
        } else {
            inter.implicit_user.push(user_idx[k]);
            inter.implicit_item.push(item_idx[k]);
        }
    }
    let mut histogram: Vec<HistogramBin> = hist
        .into_iter()
        .map(|(bits, count)| HistogramBin {
            value: f32::from_bits(bits),
            count,
        })
        .chain(
            small
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(v, &count)| HistogramBin {
                    value: v as f32,
                    count,
                }),
        )
        .collect();
    histogram.sort_by(|a, b| a.value.total_cmp(&b.value));
    if histogram.len() > 101 {
        // Continuous ratings: bars at tenths of the scale (value = bar's lower edge).
        let width = (c.scale.max - c.scale.min) / 10.0;
        let mut bars = vec![0u64; 11];
        for b in &histogram {
            let j = (((b.value - c.scale.min) / width).floor().max(0.0) as usize).min(10);
            bars[j] += b.count;
        }
        histogram = bars
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(j, count)| HistogramBin {
                value: c.scale.min + j as f32 * width,
                count,
            })
            .collect();
    }
    let distinct = |v: &[u32], len: usize| {
        let mut seen = vec![false; len];
        v.iter().for_each(|&x| seen[x as usize] = true);
        seen.iter().filter(|&&b| b).count()
    };
    let users_explicit = distinct(&inter.user, inter.n_users());
    let items_explicit = distinct(&inter.item, inter.n_items());
    let density = if users_explicit * items_explicit == 0 {
        0.0
    } else {
        inter.len() as f64 / (users_explicit as f64 * items_explicit as f64)
    };
    let report = CleaningReport {
        file: path.to_path_buf(),
        format,
        columns,
        rows_read,
        explicit_read: c.explicit_read,
        implicit_read: c.implicit_read,
        rows_kept: inter.len() as u64,
        implicit: inter.n_implicit() as u64,
        implicit_zeros: c.implicit_zeros,
        implicit_zeros_auto: c.implicit_zeros_auto,
        blank_lines,
        bad_lines,
        missing,
        duplicates: c.duplicates,
        scale: c.scale,
        scale_inferred: c.scale_inferred,
        out_of_scale: c.out_of_scale,
        users: IdCounts {
            raw_distinct: raw_distinct.0,
            distinct: inter.n_users(),
            with_explicit: users_explicit,
        },
        items: IdCounts {
            raw_distinct: raw_distinct.1,
            distinct: inter.n_items(),
            with_explicit: items_explicit,
        },
        density,
        histogram,
        timestamp: ts_present,
        seconds: 0.0,
    };
    Ok((inter, report))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ratings_parse() {
        assert!(matches!(parse_rating(b"7", false), Value::Ok(v) if v == 7.0));
        assert!(matches!(parse_rating(b"10", false), Value::Ok(v) if v == 10.0));
        assert!(matches!(parse_rating(b"3.5", false), Value::Ok(v) if v == 3.5));
        assert!(matches!(parse_rating(b"3,5", true), Value::Ok(v) if v == 3.5));
        assert!(matches!(parse_rating(b"3,5", false), Value::Bad(_)));
        assert!(matches!(parse_rating(b"NaN", false), Value::Bad(m) if m.contains("finite")));
        assert!(matches!(parse_rating(b"inf", false), Value::Bad(m) if m.contains("finite")));
        assert!(matches!(parse_rating(b"good", false), Value::Bad(m) if m.contains("non-numeric")));
        assert!(is_missing_rating(b"NA") && is_missing_rating(b"") && !is_missing_rating(b"0"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp(b"978300760"), Some(978300760));
        assert_eq!(parse_timestamp(b"1.5"), Some(1));
        assert_eq!(parse_timestamp(b"1970-01-02"), Some(86400));
        assert_eq!(parse_timestamp(b"2000-03-01"), Some(951868800));
        assert_eq!(
            parse_timestamp(b"2000-03-01T01:02:03Z"),
            Some(951868800 + 3723)
        );
        assert_eq!(parse_timestamp(b"2000-03-01 01:02"), Some(951868800 + 3720));
        assert_eq!(parse_timestamp(b"2000-13-01"), None);
        assert_eq!(parse_timestamp(b"yesterday"), None);
        assert_eq!(parse_timestamp(b"2000-03-01X"), None);
    }

    proptest::proptest! {
        /// Value parsers never panic, whatever the text (multi-byte characters included).
        #[test]
        fn value_parsers_total(s in "\\PC{0,24}", digits in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]?\\PC{0,8}") {
            let _ = parse_timestamp(s.as_bytes());
            let _ = parse_timestamp(digits.as_bytes());
            let _ = parse_rating(s.as_bytes(), true);
        }
    }

    #[test]
    fn scale_inference() {
        let s = |v: &[f32], z| infer_scale(v, z);
        assert_eq!(s(&[1.0, 2.0, 5.0], false), RatingScale::new(1.0, 5.0));
        assert_eq!(s(&[0.5, 2.0, 5.0], false), RatingScale::new(0.5, 5.0));
        assert_eq!(s(&[1.0, 7.0, 10.0], false), RatingScale::new(1.0, 10.0));
        assert_eq!(s(&[0.0, 1.0, 1.0], true), RatingScale::new(0.0, 1.0));
        assert_eq!(s(&[-10.0, 3.0, 10.0], false), RatingScale::new(-10.0, 10.0));
        // One typo among 2000 ratings on a 1–5 scale is out of scale, not a new scale.
        let mut v = vec![3.0f32; 2000];
        v[7] = 55.0;
        assert_eq!(s(&v, false), RatingScale::new(1.0, 5.0));
    }
}
