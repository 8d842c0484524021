//! Options for loading a ratings file ([`LoadOptions`]) and the small enums they use. Every
//! option left at `None` is sniffed from the file; the cleaning report says what was detected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::RatingScale;
use crate::{Error, Result};

/// A column chosen by 0-based position or by header name (case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnRef {
    Index(usize),
    Name(String),
}

impl FromStr for ColumnRef {
    type Err = Error;

    /// `"2"` → `Index(2)`, anything else (e.g. `"ISBN"`) → `Name`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.is_empty() {
            return Err(Error::param("column", s, "empty column name"));
        }
        Ok(match t.parse::<usize>() {
            Ok(i) => ColumnRef::Index(i),
            Err(_) => ColumnRef::Name(t.to_string()),
        })
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::Index(i) => write!(f, "#{i}"),
            ColumnRef::Name(n) => write!(f, "{n:?}"),
        }
    }
}

/// Text encoding of an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    Utf8,
    /// ISO-8859-1 with the Windows-1252 printable characters in 0x80–0x9F (what "latin-1"
    /// files from Windows tools really contain); undefined cp1252 bytes map to U+0080–U+009F.
    Latin1,
}

impl FromStr for Encoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "cp1252" | "windows-1252" => {
                Ok(Encoding::Latin1)
            }
            _ => Err(Error::param(
                "encoding",
                s,
                "expected utf-8, latin-1, iso-8859-1 or cp1252",
            )),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1 (cp1252)",
        })
    }
}

/// What to do when the same (user, book) pair is rated more than once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DuplicatePolicy {
    /// The last occurrence in file order wins (its value, explicit or implicit).
    #[default]
    KeepLast,
    /// The mean of the pair's explicit ratings (implicit if it has none).
    Mean,
    /// Refuse the file, naming the pair and both line numbers.
    Error,
}

impl FromStr for DuplicatePolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "last" | "keep-last" | "keeplast" | "keep_last" => Ok(DuplicatePolicy::KeepLast),
            "mean" | "average" => Ok(DuplicatePolicy::Mean),
            "error" => Ok(DuplicatePolicy::Error),
            _ => Err(Error::param(
                "duplicates",
                s,
                "expected last, mean or error",
            )),
        }
    }
}

impl fmt::Display for DuplicatePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DuplicatePolicy::KeepLast => "keep last",
            DuplicatePolicy::Mean => "mean",
            DuplicatePolicy::Error => "error",
        })
    }
}

/// What to do with a malformed line (wrong column count, unterminated quote, non-numeric or
/// non-finite rating, over-long line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BadLinePolicy {
    /// Skip it; it is counted and the first examples are listed with line numbers.
    #[default]
    Skip,
    /// Stop at the first one with an [`Error::Parse`] naming file, line and value.
    Error,
}

impl FromStr for BadLinePolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "skip" => Ok(BadLinePolicy::Skip),
            "error" => Ok(BadLinePolicy::Error),
            _ => Err(Error::param("bad-lines", s, "expected skip or error")),
        }
    }
}

impl fmt::Display for BadLinePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadLinePolicy::Skip => "skip",
            BadLinePolicy::Error => "error",
        })
    }
}

/// How to read a ratings file. `Default` sniffs everything.
#[derive(Default, Clone, Debug)]
pub struct LoadOptions {
    /// Field separator; `None` = sniff among `,` `;` `\t` `::` `|`. See [`parse_separator`].
    pub sep: Option<String>,
    /// `None` = sniff (a first row naming known columns, or non-numeric where the data is
    /// numeric, is a header).
    pub has_header: Option<bool>,
    /// `None` = UTF-8 if the whole file is valid UTF-8, else latin-1.
    pub encoding: Option<Encoding>,
    /// `None` = by header name (user, user_id, User-ID, userId, ...), else column 0.
    pub user_col: Option<ColumnRef>,
    /// `None` = by header name (item, isbn, book, book_id, itemId, movieId, ...), else column 1.
    pub item_col: Option<ColumnRef>,
    /// `None` = by header name (rating, Book-Rating, score, ...), else column 2.
    pub rating_col: Option<ColumnRef>,
    /// `None` = by header name (timestamp, time, date, datetime, ts); in a file without a
    /// header, column 3 when its sampled values are all numeric.
    pub timestamp_col: Option<ColumnRef>,
    /// `None` = inferred: the narrowest standard scale (1–5, 0.5–5, 0–5, 1–10, 0–10, 1–100,
    /// 0–100, and 0–1 when zeros are explicit) that holds at least 99.9% of the explicit
    /// ratings; the rest are out of scale. If none does, the observed [min, max].
    pub rating_scale: Option<RatingScale>,
    pub duplicates: DuplicatePolicy,
    pub bad_lines: BadLinePolicy,
    /// `None` = zeros are implicit interactions when every other rating is ≥ 1
    /// (Book-Crossing); `Some(false)`: 0 is a rating; `Some(true)`: 0 is always implicit.
    pub implicit_zeros: Option<bool>,
}

/// The separators tried when sniffing, in tie-break order.
pub(crate) const SNIFF_SEPARATORS: [&str; 5] = [",", ";", "\t", "::", "|"];

/// Parses a separator as a user spells it: a literal string (`;`, `::`), `\t`, `tab`,
/// `comma`, `semicolon`, `pipe`, `space`.
pub fn parse_separator(s: &str) -> Result<String> {
    let sep = match s {
        "\\t" | "tab" | "TAB" | "\t" => "\t".to_string(),
        "comma" => ",".to_string(),
        "semicolon" => ";".to_string(),
        "pipe" => "|".to_string(),
        "space" => " ".to_string(),
        _ => s.to_string(),
    };
    if sep.is_empty() {
        return Err(Error::param("sep", s, "the separator cannot be empty"));
    }
    if sep.len() > 8 {
        return Err(Error::param("sep", s, "separators are at most 8 bytes"));
    }
    if sep.bytes().any(|b| b == b'"' || b == b'\n' || b == b'\r') {
        return Err(Error::param(
            "sep",
            s.escape_debug(),
            "a separator cannot contain a quote or a line break",
        ));
    }
    Ok(sep)
}

/// Parses `MIN:MAX` (e.g. `1:10`, `0.5:5`) into a [`RatingScale`].
pub fn parse_rating_scale(s: &str) -> Result<RatingScale> {
    let bad = |why: &str| Error::param("rating-scale", s, why.to_string());
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| bad("expected MIN:MAX, e.g. 1:10"))?;
    let min: f32 = a.trim().parse().map_err(|_| bad("MIN is not a number"))?;
    let max: f32 = b.trim().parse().map_err(|_| bad("MAX is not a number"))?;
    if !min.is_finite() || !max.is_finite() || min >= max {
        return Err(bad("need finite MIN < MAX"));
    }
    Ok(RatingScale::new(min, max))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn column_refs() {
        assert_eq!("2".parse::<ColumnRef>().unwrap(), ColumnRef::Index(2));
        assert_eq!(
            " ISBN ".parse::<ColumnRef>().unwrap(),
            ColumnRef::Name("ISBN".into())
        );
        assert!("".parse::<ColumnRef>().is_err());
    }

    #[test]
    fn enums_from_str() {
        assert_eq!("UTF8".parse::<Encoding>().unwrap(), Encoding::Utf8);
        assert_eq!("cp1252".parse::<Encoding>().unwrap(), Encoding::Latin1);
        assert_eq!("iso-8859-1".parse::<Encoding>().unwrap(), Encoding::Latin1);
        assert!("utf-16".parse::<Encoding>().is_err());
        assert_eq!(
            "mean".parse::<DuplicatePolicy>().unwrap(),
            DuplicatePolicy::Mean
        );
        assert_eq!(DuplicatePolicy::default(), DuplicatePolicy::KeepLast);
        assert_eq!(
            "error".parse::<BadLinePolicy>().unwrap(),
            BadLinePolicy::Error
        );
        assert!("sometimes".parse::<BadLinePolicy>().is_err());
    }

    #[test]
    fn separators() {
        assert_eq!(parse_separator("\\t").unwrap(), "\t");
        assert_eq!(parse_separator("tab").unwrap(), "\t");
        assert_eq!(parse_separator("::").unwrap(), "::");
        assert_eq!(parse_separator(";").unwrap(), ";");
        assert!(parse_separator("").is_err());
        assert!(parse_separator("\"").is_err());
    }

    #[test]
    fn scales() {
        assert_eq!(
            parse_rating_scale("1:10").unwrap(),
            RatingScale::new(1.0, 10.0)
        );
        assert_eq!(
            parse_rating_scale("0.5:5").unwrap(),
            RatingScale::new(0.5, 5.0)
        );
        assert!(parse_rating_scale("5:1").is_err());
        assert!(parse_rating_scale("1-5").is_err());
        assert!(parse_rating_scale("a:5").is_err());
    }
}
