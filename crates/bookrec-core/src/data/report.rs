//! [`CleaningReport`]: what loading a ratings file found and did, for people (`Display`, what
//! `bookrec inspect` prints) and scripts (`Serialize`).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{BadLinePolicy, DuplicatePolicy, Encoding, RatingScale};

/// How many bad lines / out-of-scale values are listed as examples.
pub const MAX_EXAMPLES: usize = 20;

/// The file format as detected (or forced).
#[derive(Serialize, Clone, Debug)]
pub struct DetectedFormat {
    /// The separator as it is in the file (e.g. `";"`, `"\t"`, `"::"`).
    pub separator: String,
    pub encoding: Encoding,
    pub header: bool,
    /// `all fields`, `some fields` or `none`.
    pub quoting: String,
    /// Escapes seen inside quoted fields: `doubled quotes ("")`, `backslash (\")`.
    pub escapes: Vec<String>,
    pub line_ending: String,
    pub byte_order_mark: bool,
    /// Which of separator / header / encoding were sniffed rather than given.
    pub sniffed: Vec<String>,
}

/// Which file columns were used, as `name (#index)`.
#[derive(Serialize, Clone, Debug)]
pub struct ColumnsUsed {
    pub user: String,
    pub item: String,
    pub rating: String,
    pub timestamp: Option<String>,
    /// Fields per record expected (the header's width, or the first row's).
    pub width: usize,
}

/// One rejected line.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct BadLine {
    /// 1-based line number in the file.
    pub line: u64,
    pub reason: String,
    /// The beginning of the line, shortened.
    pub excerpt: String,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct BadLines {
    pub count: u64,
    pub policy: BadLinePolicy,
    /// The first [`MAX_EXAMPLES`].
    pub examples: Vec<BadLine>,
}

/// Rows dropped because a needed value is empty (or `NA`, `null`, … for ratings).
#[derive(Serialize, Clone, Debug, Default)]
pub struct MissingValues {
    /// Rows dropped (a row missing two values counts once here).
    pub rows: u64,
    pub user: u64,
    pub item: u64,
    pub rating: u64,
    pub timestamp: u64,
    /// The first line numbers.
    pub example_lines: Vec<u64>,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct Duplicates {
    /// (user, book) pairs present more than once.
    pub pairs: u64,
    /// Rows removed by merging them (occurrences beyond the first per pair).
    pub rows_removed: u64,
    pub policy: DuplicatePolicy,
}

/// One out-of-scale rating.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct OutOfScaleValue {
    pub line: u64,
    pub value: f32,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct OutOfScale {
    pub count: u64,
    pub examples: Vec<OutOfScaleValue>,
}

/// Distinct ids, before and after [`normalize_id`](super::normalize_id).
#[derive(Serialize, Clone, Debug, Default)]
pub struct IdCounts {
    /// Distinct strings as written in the file.
    pub raw_distinct: usize,
    /// Distinct ids after normalisation, over all kept interactions (explicit + implicit).
    pub distinct: usize,
    /// Of those, how many have at least one explicit rating.
    pub with_explicit: usize,
}

/// A histogram bar: ratings equal to `value`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HistogramBin {
    pub value: f32,
    pub count: u64,
}

/// What loading a ratings file found and did.
///
/// `rows_read = explicit_read + implicit_read + bad_lines.count + missing.rows +
/// out_of_scale.count`, and `rows_kept + implicit = explicit_read + implicit_read -
/// duplicates.rows_removed`.
#[derive(Serialize, Clone, Debug)]
pub struct CleaningReport {
    pub file: PathBuf,
    pub format: DetectedFormat,
    pub columns: ColumnsUsed,
    /// Data records read (header and blank lines excluded; bad lines included).
    pub rows_read: u64,
    /// Rows holding a valid explicit rating, before duplicates are merged.
    pub explicit_read: u64,
    /// Rows holding an implicit interaction, before duplicates are merged.
    pub implicit_read: u64,
    /// Explicit ratings kept (after merging duplicates).
    pub rows_kept: u64,
    /// Implicit interactions kept (e.g. Book-Crossing's 0 = "interacted, no rating").
    pub implicit: u64,
    /// Whether zeros were taken as implicit, and whether that was decided automatically.
    pub implicit_zeros: bool,
    pub implicit_zeros_auto: bool,
    pub blank_lines: u64,
    pub bad_lines: BadLines,
    pub missing: MissingValues,
    pub duplicates: Duplicates,
    pub scale: RatingScale,
    pub scale_inferred: bool,
    pub out_of_scale: OutOfScale,
    pub users: IdCounts,
    pub items: IdCounts,
    /// Explicit ratings / (users with explicit ratings × books with explicit ratings).
    pub density: f64,
    /// Explicit ratings by value (at most 101 distinct values; else by scale tenths).
    pub histogram: Vec<HistogramBin>,
    pub timestamp: bool,
    /// Wall-clock seconds spent reading and cleaning.
    pub seconds: f64,
}

/// A separator for people: `tab`, else quoted (`";"`, `"::"`).
pub(crate) fn show_separator(sep: &str) -> String {
    match sep {
        "\t" => "tab".into(),
        s => format!("{s:?}"),
    }
}

pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

impl fmt::Display for CleaningReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fm = &self.format;
        writeln!(f, "Ratings file: {}", self.file.display())?;
        writeln!(
            f,
            "  format: separator {}, {}, header {}, quoting: {}{}, line ending {}{}",
            show_separator(&fm.separator),
            fm.encoding,
            if fm.header { "yes" } else { "no" },
            fm.quoting,
            if fm.escapes.is_empty() {
                String::new()
            } else {
                format!(" (escapes: {})", fm.escapes.join(", "))
            },
            fm.line_ending,
            if fm.byte_order_mark {
                ", UTF-8 BOM"
            } else {
                ""
            },
        )?;
        if !fm.sniffed.is_empty() {
            writeln!(f, "  sniffed: {}", fm.sniffed.join(", "))?;
        }
        let c = &self.columns;
        writeln!(
            f,
            "  columns: user {}, book {}, rating {}{} ({} per line)",
            c.user,
            c.item,
            c.rating,
            c.timestamp
                .as_ref()
                .map(|t| format!(", timestamp {t}"))
                .unwrap_or_default(),
            c.width
        )?;
        let read = self.rows_read;
        writeln!(f, "  rows read:          {:>12}", thousands(read))?;
        writeln!(
            f,
            "  explicit ratings:   {:>12}  ({}), {} kept after merging duplicates",
            thousands(self.explicit_read),
            pct(self.explicit_read, read),
            thousands(self.rows_kept),
        )?;
        writeln!(
            f,
            "  implicit:           {:>12}  ({}), {} kept{}",
            thousands(self.implicit_read),
            pct(self.implicit_read, read),
            thousands(self.implicit),
            if self.implicit_zeros {
                format!(
                    "  zeros = interacted, no rating{}",
                    if self.implicit_zeros_auto {
                        " (auto: all other ratings >= 1)"
                    } else {
                        ""
                    }
                )
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  bad lines:          {:>12}  (policy: {})",
            thousands(self.bad_lines.count),
            self.bad_lines.policy
        )?;
        for b in &self.bad_lines.examples {
            writeln!(f, "      line {}: {}: {:?}", b.line, b.reason, b.excerpt)?;
        }
        if self.bad_lines.count > self.bad_lines.examples.len() as u64 {
            writeln!(
                f,
                "      … and {} more",
                thousands(self.bad_lines.count - self.bad_lines.examples.len() as u64)
            )?;
        }
        let m = &self.missing;
        writeln!(
            f,
            "  missing values:     {:>12}  (user {}, book {}, rating {}, timestamp {}){}",
            thousands(m.rows),
            m.user,
            m.item,
            m.rating,
            m.timestamp,
            if m.example_lines.is_empty() {
                String::new()
            } else {
                format!(
                    " e.g. lines {}",
                    m.example_lines
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )?;
        writeln!(
            f,
            "  duplicate pairs:    {:>12}  ({} rows merged, policy: {})",
            thousands(self.duplicates.pairs),
            thousands(self.duplicates.rows_removed),
            self.duplicates.policy
        )?;
        writeln!(
            f,
            "  out of scale:       {:>12}  (scale {}–{}{}){}",
            thousands(self.out_of_scale.count),
            self.scale.min,
            self.scale.max,
            if self.scale_inferred {
                ", inferred; force with --rating-scale MIN:MAX"
            } else {
                ""
            },
            if self.out_of_scale.examples.is_empty() {
                String::new()
            } else {
                format!(
                    " e.g. {}",
                    self.out_of_scale
                        .examples
                        .iter()
                        .take(5)
                        .map(|e| format!("line {}: {}", e.line, e.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )?;
        for (name, ids) in [("users", &self.users), ("books", &self.items)] {
            writeln!(
                f,
                "  {name}:{:>w$}{:>12}  ({} with explicit ratings; {} distinct as written)",
                "",
                thousands(ids.distinct as u64),
                thousands(ids.with_explicit as u64),
                thousands(ids.raw_distinct as u64),
                w = 19 - name.len(),
            )?;
        }
        writeln!(f, "  density:            {:>12.3e}", self.density)?;
        writeln!(
            f,
            "  timestamp:          {:>12}",
            if self.timestamp { "yes" } else { "no" }
        )?;
        if !self.histogram.is_empty() {
            writeln!(f, "  rating histogram (explicit):")?;
            let max = self.histogram.iter().map(|b| b.count).max().unwrap_or(1);
            for b in &self.histogram {
                let bar = ((b.count as f64 / max as f64) * 40.0).round() as usize;
                writeln!(
                    f,
                    "    {:>6} {:>12}  {}",
                    b.value,
                    thousands(b.count),
                    "█".repeat(bar)
                )?;
            }
        }
        write!(f, "  loaded in {:.3} s", self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1149780), "1,149,780");
    }
}
