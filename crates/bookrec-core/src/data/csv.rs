//! A streaming CSV record parser over bytes, and the chunked driver that feeds it from any
//! reader with bounded memory.
//!
//! Dialect: a separator of 1–8 bytes (`,` `;` `\t` `::` …), `"` quotes, LF / CRLF / CR line
//! ends. Inside a quoted field, `""` is a quote (RFC 4180) and so is `\"` (the MySQL-dump
//! style of BX-Books.csv; `\\` is a backslash, any other backslash is literal). Quoted fields
//! may span lines. Unquoted fields are taken literally, quotes included.
//!
//! Limits (so that a 2 GB line never becomes a 2 GB allocation): a record may not exceed
//! [`MAX_RECORD`] bytes nor [`MAX_FIELDS`] fields; such a record is a bad line and the parser
//! skips to the next line end without buffering the rest. Memory is one chunk plus one record.

use std::io::Read;
use std::path::Path;

use memchr::{memchr, memchr2};

use super::text;
use crate::progress::Progress;
use crate::{Error, Result};

/// The longest record accepted, in bytes (1 MiB).
pub const MAX_RECORD: usize = 1 << 20;
/// The most fields accepted in one record.
pub const MAX_FIELDS: usize = 4096;
/// Bytes read from the file at a time.
pub(crate) const CHUNK: usize = 4 << 20;

/// Separator and line terminator of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub sep: Vec<u8>,
    /// `\n` (LF and CRLF; a `\r` before it is dropped) or `\r` (old Mac files).
    pub term: u8,
}

/// Why a record was rejected by the CSV layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadRecord {
    UnterminatedQuote,
    TextAfterQuote,
    TooLong,
    TooManyFields,
}

impl BadRecord {
    pub fn message(self) -> String {
        match self {
            BadRecord::UnterminatedQuote => "unterminated quoted field".into(),
            BadRecord::TextAfterQuote => {
                "text after a closing quote (expected a separator or line end)".into()
            }
            BadRecord::TooLong => format!("line longer than {} MiB", MAX_RECORD >> 20),
            BadRecord::TooManyFields => format!("more than {MAX_FIELDS} fields"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Loc {
    Buf(usize, usize),
    Scratch(usize, usize),
}

/// What [`Parser::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A record starting at 1-based `line`; read its fields with [`Parser::field`].
    Record {
        line: u64,
    },
    /// A malformed record starting at `line`; [`Parser::bad_excerpt`] has its beginning.
    Bad {
        line: u64,
        reason: BadRecord,
    },
    /// The buffer ends inside a record: feed more bytes (only when not at EOF).
    NeedMore,
    End,
}

enum Parsed {
    Ok { end: usize, lines: u64 },
    NeedMore,
    Bad(BadRecord),
}

/// Statistics of what the parser saw, for the report.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen {
    pub quoted_fields: u64,
    pub doubled_quotes: u64,
    pub backslash_escapes: u64,
    pub blank_lines: u64,
}

/// Record parser state; reusable buffers so that parsing allocates nothing per field.
pub(crate) struct Parser {
    pub dialect: Dialect,
    fields: Vec<Loc>,
    scratch: Vec<u8>,
    /// 1-based line number of the next record.
    pub line: u64,
    skipping: bool,
    pub seen: Seen,
    bad_excerpt: String,
    /// Whether any record was cut short by the end of the input (an unterminated quote, a last
    /// line without terminator). A split input whose first part never did this ends exactly at
    /// a record boundary.
    pub eof_hit: bool,
}

impl Parser {
    pub fn new(dialect: Dialect) -> Self {
        Parser {
            dialect,
            fields: Vec::with_capacity(16),
            scratch: Vec::new(),
            line: 1,
            skipping: false,
            seen: Seen::default(),
            bad_excerpt: String::new(),
            eof_hit: false,
        }
    }

    pub fn n_fields(&self) -> usize {
        self.fields.len()
    }

    /// Field `i` of the last record (`buf` must be the buffer passed to [`Parser::next`]).
    #[inline]
    pub fn field<'a>(&'a self, buf: &'a [u8], i: usize) -> Option<&'a [u8]> {
        self.fields.get(i).map(|loc| match *loc {
            Loc::Buf(a, b) => &buf[a..b],
            Loc::Scratch(a, b) => &self.scratch[a..b],
        })
    }

    /// The beginning of the last bad record, for messages.
    pub fn bad_excerpt(&self) -> &str {
        &self.bad_excerpt
    }

    /// Parses the next record of `buf[*pos..]`, advancing `*pos` past it. `eof` tells whether
    /// `buf` ends the input.
    pub fn next(&mut self, buf: &[u8], pos: &mut usize, eof: bool) -> Event {
        let term = self.dialect.term;
        loop {
            if self.skipping {
                match memchr(term, &buf[(*pos).min(buf.len())..]) {
                    Some(i) => {
                        *pos += i + 1;
                        self.line += 1;
                        self.skipping = false;
                    }
                    None => {
                        *pos = buf.len();
                        self.eof_hit |= eof;
                        return if eof { Event::End } else { Event::NeedMore };
                    }
                }
            }
            let start = *pos;
            if start >= buf.len() {
                return if eof { Event::End } else { Event::NeedMore };
            }
            let b = buf[start];
            if b == term {
                *pos += 1;
                self.line += 1;
                self.seen.blank_lines += 1;
                continue;
            }
            if term == b'\n' && b == b'\r' {
                match buf.get(start + 1) {
                    Some(b'\n') => {
                        *pos += 2;
                        self.line += 1;
                        self.seen.blank_lines += 1;
                        continue;
                    }
                    None if !eof => return Event::NeedMore,
                    _ => {}
                }
            }
            match self.record(buf, start, eof) {
                Parsed::Ok { end, lines } => {
                    if eof && end == buf.len() && buf[end - 1] != term {
                        self.eof_hit = true;
                    }
                    *pos = end;
                    let line = self.line;
                    self.line += lines;
                    return Event::Record { line };
                }
                Parsed::NeedMore => return Event::NeedMore,
                Parsed::Bad(reason) => {
                    let line = self.line;
                    let shown = &buf[start..buf.len().min(start + 200)];
                    let shown = &shown[..memchr(term, shown).unwrap_or(shown.len())];
                    self.bad_excerpt = excerpt_bytes(shown);
                    // Resume at the line after the record's first line.
                    self.skipping = true;
                    self.eof_hit |= reason == BadRecord::UnterminatedQuote;
                    *pos = start;
                    return Event::Bad { line, reason };
                }
            }
        }
    }

    #[inline]
    fn at_sep(&self, buf: &[u8], p: usize) -> bool {
        buf[p..].starts_with(&self.dialect.sep)
    }

    /// End of an unquoted field starting at `p`: the index of the separator or terminator.
    #[inline]
    fn unquoted_end(&self, buf: &[u8], mut p: usize, limit: usize) -> Option<usize> {
        let s0 = self.dialect.sep[0];
        loop {
            let i = p + memchr2(s0, self.dialect.term, &buf[p..limit])?;
            if buf[i] == self.dialect.term || self.dialect.sep.len() == 1 || self.at_sep(buf, i) {
                return Some(i);
            }
            p = i + 1;
        }
    }

    fn record(&mut self, buf: &[u8], start: usize, eof: bool) -> Parsed {
        self.fields.clear();
        self.scratch.clear();
        let term = self.dialect.term;
        let limit = buf.len().min(start + MAX_RECORD);
        // When the buffer extends past the cap, running into `limit` means "too long".
        let capped = buf.len() > start + MAX_RECORD;
        let out_of_bytes = |capped: bool| {
            if capped {
                Parsed::Bad(BadRecord::TooLong)
            } else if eof {
                Parsed::Bad(BadRecord::UnterminatedQuote)
            } else {
                Parsed::NeedMore
            }
        };
        let mut p = start;
        let mut lines = 0u64;
        loop {
            if self.fields.len() >= MAX_FIELDS {
                return Parsed::Bad(BadRecord::TooManyFields);
            }
            if p >= limit && capped {
                return Parsed::Bad(BadRecord::TooLong);
            }
            if p < limit && buf[p] == b'"' {
                self.seen.quoted_fields += 1;
                let mut q = p + 1;
                let mut seg = q;
                let mut in_scratch: Option<usize> = None;
                let close = loop {
                    let Some(h) = memchr2(b'"', b'\\', &buf[q..limit]).map(|i| q + i) else {
                        return out_of_bytes(capped);
                    };
                    if h + 1 >= limit && !(eof && h + 1 == buf.len()) {
                        // Cannot tell `""` / `\"` from a closing quote yet.
                        return if capped {
                            Parsed::Bad(BadRecord::TooLong)
                        } else {
                            Parsed::NeedMore
                        };
                    }
                    let next = buf.get(h + 1).copied();
                    let escaped = match (buf[h], next) {
                        (b'\\', Some(n @ (b'"' | b'\\'))) => {
                            self.seen.backslash_escapes += 1;
                            Some(n)
                        }
                        (b'\\', _) => {
                            q = h + 1;
                            continue;
                        }
                        (_, Some(b'"')) => {
                            self.seen.doubled_quotes += 1;
                            Some(b'"')
                        }
                        _ => None,
                    };
                    match escaped {
                        Some(byte) => {
                            in_scratch.get_or_insert(self.scratch.len());
                            self.scratch.extend_from_slice(&buf[seg..h]);
                            self.scratch.push(byte);
                            q = h + 2;
                            seg = q;
                        }
                        None => break h,
                    }
                };
                let content = &buf[p + 1..close];
                if memchr(term, content).is_some() {
                    lines += memchr::memchr_iter(term, content).count() as u64;
                }
                self.fields.push(match in_scratch {
                    Some(s0) => {
                        self.scratch.extend_from_slice(&buf[seg..close]);
                        Loc::Scratch(s0, self.scratch.len())
                    }
                    None => Loc::Buf(p + 1, close),
                });
                p = close + 1;
                while p < limit && (buf[p] == b' ' || buf[p] == b'\t') && !self.at_sep(buf, p) {
                    p += 1;
                }
                if p >= buf.len() {
                    return if eof {
                        Parsed::Ok {
                            end: buf.len(),
                            lines: lines + 1,
                        }
                    } else {
                        Parsed::NeedMore
                    };
                }
                if p >= limit {
                    return Parsed::Bad(BadRecord::TooLong);
                }
                if buf[p] == term {
                    return Parsed::Ok {
                        end: p + 1,
                        lines: lines + 1,
                    };
                }
                if term == b'\n' && buf[p] == b'\r' {
                    match buf.get(p + 1) {
                        Some(b'\n') => {
                            return Parsed::Ok {
                                end: p + 2,
                                lines: lines + 1,
                            }
                        }
                        None if !eof => return Parsed::NeedMore,
                        None => {
                            return Parsed::Ok {
                                end: p + 1,
                                lines: lines + 1,
                            }
                        }
                        _ => return Parsed::Bad(BadRecord::TextAfterQuote),
                    }
                }
                if p + self.dialect.sep.len() > buf.len() && !eof {
                    return Parsed::NeedMore;
                }
                if self.at_sep(buf, p) {
                    p += self.dialect.sep.len();
                    continue;
                }
                return Parsed::Bad(BadRecord::TextAfterQuote);
            }
            match self.unquoted_end(buf, p, limit) {
                Some(e) if buf[e] == term => {
                    let mut fe = e;
                    if term == b'\n' && fe > p && buf[fe - 1] == b'\r' {
                        fe -= 1;
                    }
                    self.fields.push(Loc::Buf(p, fe));
                    return Parsed::Ok {
                        end: e + 1,
                        lines: lines + 1,
                    };
                }
                Some(e) => {
                    self.fields.push(Loc::Buf(p, e));
                    p = e + self.dialect.sep.len();
                }
                None if capped => return Parsed::Bad(BadRecord::TooLong),
                None if !eof => return Parsed::NeedMore,
                None => {
                    let mut fe = buf.len();
                    if term == b'\n' && fe > p && buf[fe - 1] == b'\r' {
                        fe -= 1;
                    }
                    self.fields.push(Loc::Buf(p, fe));
                    return Parsed::Ok {
                        end: buf.len(),
                        lines: lines + 1,
                    };
                }
            }
        }
    }
}

/// A short printable excerpt of raw bytes (UTF-8 if valid, else latin-1).
pub(crate) fn excerpt_bytes(b: &[u8]) -> String {
    let b = &b[..b.len().min(200)];
    let s = match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(e) if e.error_len().is_none() => {
            std::borrow::Cow::Owned(String::from_utf8_lossy(&b[..e.valid_up_to()]).into_owned())
        }
        Err(_) => text::decode(b, super::Encoding::Latin1),
    };
    crate::error::excerpt(s.trim_end_matches('\r'), 80)
}

/// A chunked input: the unconsumed bytes of a reader, refilled on demand.
pub(crate) struct Feed<'r> {
    reader: &'r mut (dyn Read + Send),
    path: &'r Path,
    pub buf: Vec<u8>,
    pub pos: usize,
    pub eof: bool,
    /// Bytes consumed and discarded from the front so far.
    pub consumed: u64,
    /// Whether every consumed byte so far is valid UTF-8.
    pub utf8_valid: bool,
    validated: usize,
    chunk: usize,
    /// At most this many bytes are taken from the reader in total.
    limit: u64,
}

impl<'r> Feed<'r> {
    /// Wraps a reader and reads the first chunk.
    pub fn new(reader: &'r mut (dyn Read + Send), path: &'r Path) -> Result<Self> {
        Self::with_chunk(reader, path, CHUNK)
    }

    /// [`Feed::new`] with a given read size (small sizes test chunk boundaries).
    pub fn with_chunk(
        reader: &'r mut (dyn Read + Send),
        path: &'r Path,
        chunk: usize,
    ) -> Result<Self> {
        let mut f = Feed {
            reader,
            path,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            consumed: 0,
            utf8_valid: true,
            validated: 0,
            chunk: chunk.max(1),
            limit: u64::MAX,
        };
        f.refill()?;
        Ok(f)
    }

    /// Checks UTF-8 validity of the bytes consumed since the last check.
    pub fn validate(&mut self) {
        if !self.utf8_valid || self.pos <= self.validated {
            return;
        }
        match std::str::from_utf8(&self.buf[self.validated..self.pos]) {
            Ok(_) => self.validated = self.pos,
            // A character cut by the end of the consumed part is checked next time.
            Err(e) if e.error_len().is_none() => self.validated += e.valid_up_to(),
            Err(_) => self.utf8_valid = false,
        }
    }

    /// Stops the feed after `limit` bytes in total (those already read included); returns
    /// false if more than that was read already.
    pub fn set_limit(&mut self, limit: u64) -> bool {
        self.limit = limit;
        let taken = self.consumed + self.buf.len() as u64;
        if taken >= limit {
            self.eof = true;
        }
        taken <= limit
    }

    /// Drops consumed bytes and reads up to [`CHUNK`] more. Returns the number read.
    pub fn refill(&mut self) -> Result<usize> {
        self.validate();
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.consumed += self.pos as u64;
            self.validated = self.validated.saturating_sub(self.pos);
            self.pos = 0;
        }
        let before = self.buf.len();
        let room = self.limit.saturating_sub(self.consumed + before as u64);
        let want = usize::try_from(room).unwrap_or(usize::MAX).min(self.chunk);
        if want == 0 {
            self.eof = true;
            return Ok(0);
        }
        // `read_to_end` on a `Take` grows the buffer only as far as bytes arrive (a small
        // input never costs a full chunk) and does not zero-fill it first.
        let got = (&mut *self.reader)
            .take(want as u64)
            .read_to_end(&mut self.buf)
            .map_err(|source| Error::Io {
                path: self.path.to_path_buf(),
                source,
            })?;
        if got < want || self.consumed + self.buf.len() as u64 >= self.limit {
            self.eof = true;
        }
        Ok(got)
    }
}

/// One parsed item handed to a [`for_each_record`] callback.
pub(crate) enum Item<'a> {
    Record {
        line: u64,
        parser: &'a Parser,
        buf: &'a [u8],
    },
    Bad {
        line: u64,
        reason: BadRecord,
        excerpt: &'a str,
    },
}

/// Runs `parser` over the whole feed, calling `f` for every record and bad record, reporting
/// consumed bytes to `progress`.
pub(crate) fn for_each_record(
    feed: &mut Feed<'_>,
    parser: &mut Parser,
    progress: &dyn Progress,
    mut f: impl FnMut(Item<'_>) -> Result<()>,
) -> Result<()> {
    loop {
        match parser.next(&feed.buf, &mut feed.pos, feed.eof) {
            Event::Record { line } => f(Item::Record {
                line,
                parser,
                buf: &feed.buf,
            })?,
            Event::Bad { line, reason } => f(Item::Bad {
                line,
                reason,
                excerpt: parser.bad_excerpt(),
            })?,
            Event::NeedMore => {
                let pos = feed.pos as u64;
                feed.refill()?;
                progress.inc(pos);
            }
            Event::End => {
                feed.validate();
                progress.inc(feed.pos as u64);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Parsed = Result<(u64, Vec<String>), (u64, BadRecord)>;

    fn parse_all(input: &[u8], sep: &str) -> Vec<Parsed> {
        let mut p = Parser::new(Dialect {
            sep: sep.as_bytes().to_vec(),
            term: b'\n',
        });
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match p.next(input, &mut pos, true) {
                Event::Record { line } => out.push(Ok((
                    line,
                    (0..p.n_fields())
                        .map(|i| String::from_utf8_lossy(p.field(input, i).unwrap()).into_owned())
                        .collect(),
                ))),
                Event::Bad { line, reason } => out.push(Err((line, reason))),
                Event::End => return out,
                Event::NeedMore => panic!("NeedMore at eof"),
            }
        }
    }

    fn rec(line: u64, f: &[&str]) -> Parsed {
        Ok((line, f.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn plain_and_quoted() {
        let r = parse_all(b"a,b,c\n\"x\",\"y,z\",3\r\n\r\nlast,,\"\"", ",");
        assert_eq!(
            r,
            vec![
                rec(1, &["a", "b", "c"]),
                rec(2, &["x", "y,z", "3"]),
                rec(4, &["last", "", ""])
            ]
        );
    }

    #[test]
    fn escapes_and_multiline() {
        let r = parse_all(
            b"\"He said \"\"hi\"\"\";\"The \\\"Word\\\"\";\"a\\b\"\n\"two\nlines\";x\nz;y",
            ";",
        );
        assert_eq!(
            r,
            vec![
                rec(1, &["He said \"hi\"", "The \"Word\"", "a\\b"]),
                rec(2, &["two\nlines", "x"]),
                rec(4, &["z", "y"])
            ]
        );
    }

    #[test]
    fn multibyte_separator() {
        let r = parse_all(b"1::2::5\n3:4::x::y\n", "::");
        assert_eq!(
            r,
            vec![rec(1, &["1", "2", "5"]), rec(2, &["3:4", "x", "y"])]
        );
    }

    #[test]
    fn bad_records_resume_on_next_line() {
        let r = parse_all(b"\"a\"x,1\nok,2\n\"open,3\n", ",");
        assert_eq!(
            r,
            vec![
                Err((1, BadRecord::TextAfterQuote)),
                rec(2, &["ok", "2"]),
                Err((3, BadRecord::UnterminatedQuote)),
            ]
        );
    }

    #[test]
    fn huge_line_is_bad_without_buffering_it_whole() {
        let mut input = b"a,1\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD + 10));
        input.extend_from_slice(b"\nb,2\n");
        let r = parse_all(&input, ",");
        assert_eq!(
            r,
            vec![
                rec(1, &["a", "1"]),
                Err((2, BadRecord::TooLong)),
                rec(3, &["b", "2"])
            ]
        );
    }

    #[test]
    fn chunked_feed_equals_whole() {
        // Small reads through the Feed must give the same records as one buffer.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = out.len().min(self.0.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = "u;i;r\r\n\"1\";\"a\\\"b\";\"5\"\r\n2;\"multi\r\nl\u{fc}ne\";3\r\n3;\"\"\"\";4"
            .as_bytes();
        for chunk in 1..input.len() + 2 {
            let mut t = Trickle(input);
            let path = Path::new("x.csv");
            let mut feed = Feed::with_chunk(&mut t, path, chunk).unwrap();
            let mut parser = Parser::new(Dialect {
                sep: b";".to_vec(),
                term: b'\n',
            });
            let mut got = Vec::new();
            for_each_record(
                &mut feed,
                &mut parser,
                &crate::progress::NoProgress,
                |item| {
                    if let Item::Record { line, parser, buf } = item {
                        got.push((line, parser.field(buf, 1).unwrap().to_vec()));
                    }
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(
                got,
                vec![
                    (1, b"i".to_vec()),
                    (2, b"a\"b".to_vec()),
                    (3, "multi\r\nl\u{fc}ne".as_bytes().to_vec()),
                    (5, b"\"".to_vec()),
                ],
                "chunk {chunk}"
            );
            assert!(feed.utf8_valid, "chunk {chunk}");
        }
    }

    /// Every event (records with fields and lines, bad records with reasons) of a parse.
    fn events_streamed(input: &[u8], sep: &[u8], chunk: usize) -> Vec<String> {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = out.len().min(self.0.len()).min(5);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut t = Trickle(input);
        let path = Path::new("p.csv");
        let mut feed = Feed::with_chunk(&mut t, path, chunk).unwrap();
        let mut parser = Parser::new(Dialect {
            sep: sep.to_vec(),
            term: b'\n',
        });
        let mut out = Vec::new();
        for_each_record(
            &mut feed,
            &mut parser,
            &crate::progress::NoProgress,
            |item| {
                out.push(match item {
                    Item::Record { line, parser, buf } => format!(
                        "{line}:{:?}",
                        (0..parser.n_fields())
                            .map(|i| parser.field(buf, i).unwrap().to_vec())
                            .collect::<Vec<_>>()
                    ),
                    Item::Bad { line, reason, .. } => format!("{line}!{reason:?}"),
                });
                Ok(())
            },
        )
        .unwrap();
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Streaming through tiny chunks gives exactly the events of one whole buffer.
        #[test]
        fn chunking_is_invisible(
            input in proptest::collection::vec(
                proptest::sample::select(b"ab;,:\"\\\r\n ".to_vec()), 0..120),
            multi in proptest::bool::ANY,
            chunk in 1usize..40,
        ) {
            let sep: &[u8] = if multi { b"::" } else { b";" };
            let whole = events_streamed(&input, sep, input.len() + 1);
            let streamed = events_streamed(&input, sep, chunk);
            proptest::prop_assert_eq!(whole, streamed);
        }
    }
}
