//! Plain-text aligned tables for terminal output.

/// Renders rows under a header, columns padded to the widest cell; numeric-looking cells are
/// right-aligned.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(n) {
            width[c] = width[c].max(cell.chars().count());
        }
    }
    let numeric = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_digit() || ".-+±,% e".contains(ch))
    };
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut parts = Vec::with_capacity(n);
        for (c, cell) in cells.iter().enumerate() {
            let pad = width[c].saturating_sub(cell.chars().count());
            if numeric(cell) {
                parts.push(format!("{}{}", " ".repeat(pad), cell));
            } else {
                parts.push(format!("{}{}", cell, " ".repeat(pad)));
            }
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// `s` cut to at most `max` characters (≥ 1), ending in "…" when cut: keeps a table of
/// Book-Crossing titles (some over 200 characters) readable; `--json` has the full text.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn clips_long_cells_only() {
        assert_eq!(super::clip("Dune", 10), "Dune");
        assert_eq!(super::clip("0123456789", 10), "0123456789");
        assert_eq!(super::clip("The Lord of the Rings", 8), "The Lor…");
        // No space left before the ellipsis; multi-byte characters count as one.
        assert_eq!(super::clip("Ab cd", 4), "Ab…");
        assert_eq!(super::clip("Érzählungen", 5), "Érzä…");
    }

    #[test]
    fn aligns_columns() {
        let t = super::render(
            &["model", "rmse"],
            &[
                vec!["svd".into(), "1.6400".into()],
                vec!["baseline".into(), "1.65".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "model     rmse");
        assert_eq!(lines[2], "svd       1.6400");
        assert_eq!(lines[3], "baseline    1.65");
    }
}
