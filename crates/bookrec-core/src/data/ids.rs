//! Id normalisation: the one rule applied to every user id and book id, in ratings files and
//! catalogues alike, so that a rating's ISBN finds its catalogue entry.
//!
//! Ids are **strings**, never numbers: `"0002005018"` keeps its leading zeros and `"7"` and
//! `"007"` stay different users. The rule, applied to the field after CSV unquoting:
//!
//! 1. trim ASCII whitespace at both ends;
//! 2. remove stray quote characters (`"`, `'`, `\`) at both ends, repeatedly, trimming
//!    whitespace again (`'9607092910'` and `\"2842053052\"` become `9607092910` and
//!    `2842053052`);
//! 3. an id made of ASCII digits followed by one lowercase `x` (an ISBN-10 with the check
//!    digit X written in lowercase) gets the `X` uppercased: `042512164x` → `042512164X`.
//!
//! Nothing else changes: inner spaces, dots, dashes and letters are kept as written
//! (`0 85550 000 x` stays as it is: guessing which ISBN it meant would be a guess). An id that
//! is empty after the rule is a missing value.

use std::borrow::Cow;

fn is_stray(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'\\') || b.is_ascii_whitespace()
}

/// Normalises one raw id (bytes, before decoding; the rule only touches ASCII so it commutes
/// with decoding). Borrows unless the `x` had to be uppercased.
pub fn normalize_id(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut s = raw;
    while let [first, rest @ ..] = s {
        if is_stray(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_stray(*last) {
            s = rest;
        } else {
            break;
        }
    }
    if let [digits @ .., b'x'] = s {
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
            let mut owned = s.to_vec();
            if let Some(last) = owned.last_mut() {
                *last = b'X';
            }
            return Cow::Owned(owned);
        }
    }
    Cow::Borrowed(s)
}

/// [`normalize_id`] for an already decoded string.
pub fn normalize_id_str(raw: &str) -> Cow<'_, str> {
    match normalize_id(raw.as_bytes()) {
        // The rule only strips ASCII bytes at the ends or rewrites an ASCII byte, so the
        // result is still valid UTF-8 sliced at char boundaries.
        Cow::Borrowed(b) => {
            let start = b.as_ptr() as usize - raw.as_ptr() as usize;
            Cow::Borrowed(&raw[start..start + b.len()])
        }
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> String {
        String::from_utf8(normalize_id(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn rule_examples() {
        assert_eq!(n("0002005018"), "0002005018");
        assert_eq!(n("  276725 "), "276725");
        assert_eq!(n("042512164x"), "042512164X");
        assert_eq!(n("034545104X"), "034545104X");
        assert_eq!(n("'9607092910'"), "9607092910");
        assert_eq!(n("\\\"2842053052\\\""), "2842053052");
        assert_eq!(n("\" 12 \""), "12");
        assert_eq!(n("0 85550 000 x"), "0 85550 000 x");
        assert_eq!(n("alex"), "alex");
        assert_eq!(n("x"), "x");
        assert_eq!(n("B00005PJ9D"), "B00005PJ9D");
        assert_eq!(n("\"\""), "");
        assert_eq!(n("007"), "007");
    }

    #[test]
    fn str_version_matches_bytes() {
        for s in ["  L\u{fc}bbe ", "'x'", "12x", "ü\"", ""] {
            assert_eq!(normalize_id_str(s).as_bytes(), &*normalize_id(s.as_bytes()));
        }
    }

    proptest! {
        #[test]
        fn idempotent(s in ".{0,20}") {
            let once = normalize_id_str(&s).into_owned();
            let twice = normalize_id_str(&once).into_owned();
            prop_assert_eq!(once, twice);
        }
    }
}
