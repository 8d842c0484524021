//! Format sniffing on the first chunk of a file: binary/empty checks, byte-order mark, line
//! ending, separator, header. Encoding is decided over the whole file by the loaders (UTF-8
//! if every byte is valid UTF-8, else latin-1).

use std::path::Path;

use super::csv::{Dialect, Event, Parser};
use super::options::SNIFF_SEPARATORS;
use crate::{Error, Result};

/// How much of the file sniffing looks at.
const SAMPLE: usize = 64 << 10;
/// Records parsed per candidate separator.
const SAMPLE_RECORDS: usize = 200;

/// What sniffing found.
#[derive(Clone, Debug)]
pub(crate) struct Sniffed {
    pub dialect: Dialect,
    /// Bytes to skip at the start (a UTF-8 byte-order mark).
    pub skip: usize,
    pub line_ending: &'static str,
    pub has_header: bool,
    /// The first records of the sample (header included), fields as raw bytes.
    pub rows: Rows,
}

fn data_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Rejects inputs that are not text: empty, UTF-16/32, NUL bytes, many control bytes.
fn check_text(sample: &[u8], path: &Path) -> Result<usize> {
    let mut skip = 0;
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        skip = 3;
    } else if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return Err(data_err(
            path,
            "the file is UTF-16 (byte-order mark found); re-save it as UTF-8",
        ));
    }
    let body = &sample[skip..];
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(data_err(path, "the file is empty"));
    }
    if let Some(at) = memchr::memchr(0, body) {
        return Err(data_err(
            path,
            format!(
                "binary data, not a CSV text file (NUL byte at offset {}); \
                 UTF-16 files must be re-saved as UTF-8",
                at + skip
            ),
        ));
    }
    let controls = body
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F)
        .count();
    if controls * 100 > body.len() {
        return Err(data_err(
            path,
            format!(
                "binary data, not a CSV text file ({controls} control bytes in the first {} bytes)",
                body.len()
            ),
        ));
    }
    Ok(skip)
}

/// Field counts of the first records under `dialect`, and the records themselves.
fn sample_records(sample: &[u8], eof: bool, dialect: &Dialect) -> (Rows, usize) {
    let mut parser = Parser::new(dialect.clone());
    let mut pos = 0;
    let mut rows = Vec::new();
    let mut bad = 0;
    while rows.len() + bad < SAMPLE_RECORDS {
        match parser.next(sample, &mut pos, eof) {
            Event::Record { .. } => rows.push(
                (0..parser.n_fields())
                    .filter_map(|i| parser.field(sample, i).map(<[u8]>::to_vec))
                    .collect(),
            ),
            Event::Bad { .. } => bad += 1,
            Event::NeedMore | Event::End => break,
        }
    }
    (rows, bad)
}

/// Sampled records, fields as raw bytes.
type Rows = Vec<Vec<Vec<u8>>>;

/// Score of a separator: (share of sampled records having the modal field count, modal count).
fn score(rows: &[Vec<Vec<u8>>], bad: usize) -> (f64, usize) {
    let mut counts: Vec<usize> = rows.iter().map(Vec::len).collect();
    counts.sort_unstable();
    let mut best = (0usize, 0usize); // (frequency, count)
    let mut i = 0;
    while i < counts.len() {
        let j = i + counts[i..].iter().take_while(|&&c| c == counts[i]).count();
        if j - i >= best.0 {
            best = (j - i, counts[i]);
        }
        i = j;
    }
    let total = rows.len() + bad;
    if total == 0 || best.1 < 2 {
        return (0.0, best.1);
    }
    (best.0 as f64 / total as f64, best.1)
}

/// True if a field reads as a number (after trimming spaces and quotes).
pub(crate) fn is_numeric(field: &[u8]) -> bool {
    let t = trim_field(field);
    !t.is_empty()
        && std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
}

/// Trims ASCII whitespace and stray quotes at both ends of a value.
pub(crate) fn trim_field(f: &[u8]) -> &[u8] {
    let is_trim = |b: &u8| b.is_ascii_whitespace() || *b == b'"' || *b == b'\'';
    let start = f.iter().position(|b| !is_trim(b)).unwrap_or(f.len());
    let end = f.iter().rposition(|b| !is_trim(b)).map_or(start, |e| e + 1);
    &f[start..end]
}

/// Lowercase alphanumerics of a header name: `User-ID` → `userid`, `book_id` → `bookid`.
pub(crate) fn header_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Sniffs the format from the first chunk of the input. `known_names` are header keys (see
/// [`header_key`]) whose presence in the first row marks it as a header.
pub(crate) fn sniff(
    chunk: &[u8],
    eof: bool,
    path: &Path,
    sep: Option<&str>,
    has_header: Option<bool>,
    known_names: &[&str],
) -> Result<Sniffed> {
    let take = chunk.len().min(SAMPLE);
    let sample = &chunk[..take];
    let eof = eof && take == chunk.len();
    let skip = check_text(sample, path)?;
    let sample = &sample[skip..];

    let (term, line_ending) = match memchr::memchr(b'\n', sample) {
        Some(i) if i > 0 && sample[i - 1] == b'\r' => (b'\n', "CRLF"),
        Some(_) => (b'\n', "LF"),
        None if memchr::memchr(b'\r', sample).is_some() => (b'\r', "CR"),
        None => (b'\n', "none (single line)"),
    };

    let (dialect, rows) = match sep {
        Some(s) => {
            let d = Dialect {
                sep: s.as_bytes().to_vec(),
                term,
            };
            let (rows, _) = sample_records(sample, eof, &d);
            (d, rows)
        }
        None => {
            let mut best: Option<((f64, usize), Dialect, Rows)> = None;
            for cand in SNIFF_SEPARATORS {
                let d = Dialect {
                    sep: cand.as_bytes().to_vec(),
                    term,
                };
                let (rows, bad) = sample_records(sample, eof, &d);
                let s = score(&rows, bad);
                if s.0 > 0.0 && best.as_ref().is_none_or(|(b, _, _)| s.0 > b.0) {
                    best = Some((s, d, rows));
                }
            }
            match best {
                Some((_, d, rows)) => (d, rows),
                None => {
                    return Err(data_err(
                        path,
                        "could not detect the column separator (tried , ; tab :: |): \
                         every line has a single column; pass the separator with --sep",
                    ))
                }
            }
        }
    };
    if rows.is_empty() {
        return Err(data_err(
            path,
            "no complete record in the first 64 KiB (is the first line unterminated or huge?)",
        ));
    }

    let has_header = has_header.unwrap_or_else(|| {
        let first = &rows[0];
        let names_match = first.iter().any(|f| {
            let key = header_key(&String::from_utf8_lossy(trim_field(f)));
            known_names.contains(&key.as_str())
        });
        // Or: a column that is numeric in every later row but not in the first.
        let numeric_below = rows.len() > 1
            && (0..first.len()).any(|j| {
                !is_numeric(&first[j])
                    && rows[1..]
                        .iter()
                        .all(|r| r.get(j).is_some_and(|f| is_numeric(f)))
            });
        names_match || numeric_below
    });

    Ok(Sniffed {
        dialect,
        skip,
        line_ending,
        has_header,
        rows,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sn(input: &[u8]) -> Result<Sniffed> {
        sniff(
            input,
            true,
            Path::new("t.csv"),
            None,
            None,
            &["user", "rating"],
        )
    }

    #[test]
    fn separators_and_headers() {
        let s = sn(b"user,item,rating\n1,a,5\n2,b,3\n").unwrap();
        assert_eq!((s.dialect.sep.as_slice(), s.has_header), (&b","[..], true));
        let s = sn(b"\"1\";\"a, b\";\"5\"\r\n\"2\";\"c\";\"3\"\r\n").unwrap();
        assert_eq!(s.dialect.sep, b";");
        assert_eq!(s.line_ending, "CRLF");
        assert!(!s.has_header);
        let s = sn(b"1::10::5::978300760\n2::20::3::978300761\n").unwrap();
        assert_eq!(s.dialect.sep, b"::");
        let s = sn(b"u\ti\tr\n1\t2\t3\n").unwrap();
        assert_eq!(s.dialect.sep, b"\t");
        // Unknown names, but "stars" is not numeric where the data is.
        let s = sn(b"who|what|stars\n1|2|3\n4|5|1\n").unwrap();
        assert_eq!((s.dialect.sep.as_slice(), s.has_header), (&b"|"[..], true));
        let s = sn(b"\xEF\xBB\xBFuser,item\r1,2\r").unwrap();
        assert_eq!((s.skip, s.dialect.term), (3, b'\r'));
    }

    #[test]
    fn rejects_non_text() {
        for (input, needle) in [
            (&b""[..], "empty"),
            (b"  \r\n\n", "empty"),
            (b"\xFF\xFEu\0s\0", "UTF-16"),
            (b"a,b\n1,\0\n", "NUL"),
            (b"\x01\x02\x03\x04abc", "control"),
            (b"just one column\nanother\n", "separator"),
        ] {
            let e = sn(input).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("t.csv"), "{e}");
        }
    }

    #[test]
    fn trims() {
        assert_eq!(trim_field(b" \"12\" "), b"12");
        assert!(is_numeric(b"\"3.5\""));
        assert!(!is_numeric(b"NaN"));
        assert!(!is_numeric(b""));
        assert_eq!(header_key("User-ID"), "userid");
    }
}
