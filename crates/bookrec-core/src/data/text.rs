//! Text decoding (UTF-8 / latin-1) and repair of mojibake, in one place.
//!
//! # What happened to BX-Books.csv
//! About 13k fields of the Book-Crossing catalogue hold UTF-8 text that went through one or two
//! wrong latin-1 round trips. With `ü` = UTF-8 `C3 BC` as the example:
//!
//! * **one round** (`Ã¼`): the bytes `C3 BC` were stored and are read back as the latin-1
//!   characters `Ã` `¼`. Lossless: re-encoding the characters to bytes gives valid UTF-8 back.
//!   Repaired for every valid UTF-8 sequence (2–4 bytes, also cp1252 characters such as `â€™`
//!   → `’`).
//! * **two rounds, damaged** (`Ã?Â¼`): the one-round text `Ã¼` was UTF-8 encoded again
//!   (`C3 83 C2 BC`), read as latin-1 (`Ã`, U+0083, `Â`, `¼`), and written to a latin-1/cp1252
//!   file where the C1 control U+0083 has no byte and became `?`. The `?` always stands for
//!   the second byte of the re-encoded *lead* byte, so what was lost is the lead's low bits;
//!   the trailing `Â¼` keeps the continuation byte `BC`. We restore the lead `C3` (the
//!   Latin-1 letters à–ÿ / À–ß): `Ã?Â¼` → `ü`, `Ã?Â¤` → `ä`, `Ã?Â©` → `é`. This is the only
//!   lead attested in the file — of the thousands of intact one-round sequences in
//!   BX-Books.csv every lead byte is `C2` or `C3`, none is `C4`–`DF` — so the restoration is
//!   determined by the file, not guessed per word.
//! * **lost beyond repair**, marked with U+FFFD `�` and counted, never guessed:
//!   `Ã?Â?` (both bytes lost: one of À–ß, in German mostly `ß` or `Ü`), `Ã?` on its own
//!   (one round where the continuation was a C1 byte: one of the capitals À–ß, e.g.
//!   `Ã?ditions` for *Éditions* or *Œditions*), `Â?` (a C1 character, usually a cp1252 quote
//!   that was stored as a control code).
//!
//! HTML entities (`&amp;`, `&lt;`, `&#233;` …), which the catalogue also carries, are
//! decoded and counted separately.

use std::borrow::Cow;

use super::Encoding;

/// cp1252's printable characters for bytes 0x80–0x9F; `None` where cp1252 defines nothing
/// (those bytes decode to the C1 control of the same value, as in ISO-8859-1).
const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

/// One latin-1/cp1252 byte as a character.
#[inline]
pub fn latin1_char(b: u8) -> char {
    if (0x80..0xA0).contains(&b) {
        CP1252_HIGH[(b - 0x80) as usize].unwrap_or(b as char)
    } else {
        b as char
    }
}

/// The latin-1/cp1252 byte a character came from, if it can have come from one.
#[inline]
pub fn latin1_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if u < 0x100 {
        return Some(u as u8);
    }
    CP1252_HIGH
        .iter()
        .position(|&x| x == Some(c))
        .map(|i| 0x80 + i as u8)
}

/// Decodes bytes in `enc`. UTF-8 that is invalid gets U+FFFD for the bad bytes (callers that
/// can fall back to latin-1 check validity first).
pub fn decode(bytes: &[u8], enc: Encoding) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is the same in both encodings.
        return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    }
    match enc {
        Encoding::Utf8 => String::from_utf8_lossy(bytes),
        Encoding::Latin1 => Cow::Owned(bytes.iter().map(|&b| latin1_char(b)).collect()),
    }
}

/// Counts of what [`repair`] did to one text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextFixes {
    /// Mojibake sequences turned back into the intended character.
    pub repaired: u32,
    /// Mojibake sequences whose character is lost, replaced by U+FFFD.
    pub unrepairable: u32,
    /// HTML entities decoded.
    pub entities: u32,
}

impl TextFixes {
    pub fn any(&self) -> bool {
        self.repaired + self.unrepairable + self.entities > 0
    }
}

const MARK: char = '\u{FFFD}';

/// Repairs mojibake and HTML entities in one text (see the module doc for the patterns).
/// Returns the text unchanged (borrowed) when there is nothing to do.
pub fn repair(s: &str) -> (Cow<'_, str>, TextFixes) {
    let mut fixes = TextFixes::default();
    let mut text: Cow<'_, str> = Cow::Borrowed(s);
    // A second pass undoes a second intact round (`Ã\u{83}Â¼` → `Ã¼` → `ü`).
    for _ in 0..3 {
        if text.is_ascii() {
            break;
        }
        match repair_pass(&text, &mut fixes) {
            Some(fixed) => text = Cow::Owned(fixed),
            None => break,
        }
    }
    if text.contains('&') {
        if let Some(decoded) = decode_entities(&text, &mut fixes) {
            text = Cow::Owned(decoded);
        }
    }
    (text, fixes)
}

/// Byte length of a UTF-8 sequence starting with lead byte `b` (0 if `b` cannot lead one).
fn utf8_len(b: u8) -> usize {
    match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

fn is_continuation(c: Option<&char>) -> Option<u8> {
    c.and_then(|&c| latin1_byte(c))
        .filter(|b| (0x80..0xC0).contains(b))
}

/// One left-to-right pass; `None` if nothing matched.
fn repair_pass(s: &str, fixes: &mut TextFixes) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == 'Ã' && next == Some('?') {
            changed = true;
            if chars.get(i + 2) == Some(&'Â') {
                if let Some(t) = is_continuation(chars.get(i + 3)) {
                    // Lead C3 restored (see module doc), continuation kept.
                    out.push(char::from_u32(0xC0 + u32::from(t - 0x80)).unwrap_or(MARK));
                    fixes.repaired += 1;
                    i += 4;
                    continue;
                }
                if chars.get(i + 3) == Some(&'?') {
                    out.push(MARK);
                    fixes.unrepairable += 1;
                    i += 4;
                    continue;
                }
            }
            out.push(MARK);
            fixes.unrepairable += 1;
            i += 2;
            continue;
        }
        if c == 'Â' && next == Some('?') {
            changed = true;
            out.push(MARK);
            fixes.unrepairable += 1;
            i += 2;
            continue;
        }
        if let Some(lead) = latin1_byte(c) {
            let n = utf8_len(lead);
            if n > 0 && i + n <= chars.len() {
                let mut bytes = [lead, 0, 0, 0];
                let mut ok = true;
                for (slot, c) in bytes[1..n].iter_mut().zip(&chars[i + 1..i + n]) {
                    match is_continuation(Some(c)) {
                        Some(b) => *slot = b,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    if let Ok(decoded) = std::str::from_utf8(&bytes[..n]) {
                        out.push_str(decoded);
                        fixes.repaired += 1;
                        changed = true;
                        i += n;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// Decodes `&amp; &lt; &gt; &quot; &apos; &#NNN; &#xHH;`; `None` if there were none.
fn decode_entities(s: &str, fixes: &mut TextFixes) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        // `;` is ASCII, so a byte search is char-boundary safe (a `str` slice at 12 is not).
        let semi = tail.as_bytes()[..tail.len().min(12)]
            .iter()
            .position(|&b| b == b';');
        let decoded = semi.and_then(|semi| {
            let name = &tail[1..semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32).filter(|c| *c != '\0')
                }),
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                fixes.entities += 1;
                changed = true;
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the latin-1 file bytes look like once decoded.
    fn l1(bytes: &[u8]) -> String {
        decode(bytes, Encoding::Latin1).into_owned()
    }

    fn fix(s: &str) -> (String, TextFixes) {
        let (t, f) = repair(s);
        (t.into_owned(), f)
    }

    #[test]
    fn latin1_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(latin1_byte(latin1_char(b)), Some(b));
        }
        assert_eq!(latin1_char(0x92), '’');
        assert_eq!(latin1_char(0x81), '\u{81}');
        assert_eq!(latin1_byte('€'), Some(0x80));
        assert_eq!(latin1_byte('ő'), None);
    }

    #[test]
    fn decodes_both_encodings() {
        assert_eq!(decode(b"abc", Encoding::Latin1), "abc");
        assert_eq!(decode(b"M\xfcller", Encoding::Latin1), "Müller");
        assert_eq!(decode("Müller".as_bytes(), Encoding::Utf8), "Müller");
        assert_eq!(decode(b"M\xfcller", Encoding::Utf8), "M\u{FFFD}ller");
    }

    #[test]
    fn damaged_double_encoding_repaired() {
        // The exact byte patterns of BX-Books.csv.
        let (t, f) = fix(&l1(b"L\xc3?\xc2\xbcbbe"));
        assert_eq!(t, "Lübbe");
        assert_eq!(f.repaired, 1);
        assert_eq!(fix(&l1(b"Erz\xc3?\xc2\xa4hlungen")).0, "Erzählungen");
        assert_eq!(fix(&l1(b"Fr\xc3?\xc2\xa9d\xc3?\xc2\xa9ric")).0, "Frédéric");
        assert_eq!(fix(&l1(b"K\xc3?\xc2\xb6nig")).0, "König");
        assert_eq!(fix(&l1(b"\xc3?\xc2\xa0 l'")).0, "à l'");
    }

    #[test]
    fn plain_double_encoding_repaired() {
        let (t, f) = fix(&l1(b"Barnab\xc3\xa9"));
        assert_eq!((t.as_str(), f.repaired), ("Barnabé", 1));
        assert_eq!(fix(&l1(b"peregrina\xc3\xa7\xc3\xa3o")).0, "peregrinação");
        assert_eq!(fix(&l1(b"Gu\xc3\xada")).0, "Guía");
        assert_eq!(fix(&l1(b"\xc2\xbfQu\xc3\xa9?")).0, "¿Qué?");
        // Three-byte sequence through cp1252: ’ = E2 80 99 read as "â€™".
        assert_eq!(fix("Isn\u{e2}\u{20ac}\u{2122}t").0, "Isn’t");
        // Intact two rounds: C3 83 C2 BC read as latin-1.
        assert_eq!(fix("L\u{c3}\u{83}\u{c2}\u{bc}bbe").0, "Lübbe");
    }

    #[test]
    fn lost_characters_marked_not_guessed() {
        let (t, f) = fix(&l1(b"gro\xc3?\xc2?e"));
        assert_eq!(t, "gro\u{FFFD}e");
        assert_eq!((f.repaired, f.unrepairable), (0, 1));
        let (t, f) = fix(&l1(b"\xc3?ditions du Seuil"));
        assert_eq!(t, "\u{FFFD}ditions du Seuil");
        assert_eq!(f.unrepairable, 1);
        let (t, f) = fix(&l1(b"Isn\xc2?t"));
        assert_eq!(t, "Isn\u{FFFD}t");
        assert_eq!(f.unrepairable, 1);
        let (t, f) = fix(&l1(b"F\xc3?\xc2\xbc\xc3?\xc2?en"));
        assert_eq!(t, "Fü\u{FFFD}en");
        assert_eq!((f.repaired, f.unrepairable), (1, 1));
    }

    #[test]
    fn genuine_text_untouched() {
        for s in [
            "Müller",
            "Ça va?",
            "Ã",
            "Smith & Sons",
            "100% & more;",
            "Ärger",
            "naïve café",
        ] {
            let (t, f) = repair(s);
            assert_eq!(t, s);
            assert!(!f.any(), "{s}");
            assert!(matches!(t, Cow::Borrowed(_)));
        }
    }

    #[test]
    fn entities() {
        let (t, f) = fix("Henry Holt &amp; Company &lt;1&gt; &#233;t&#xE9; &bogus; &");
        assert_eq!(t, "Henry Holt & Company <1> été &bogus; &");
        assert_eq!(f.entities, 5);
    }

    /// Regression (found by proptest): the entity scan sliced the text at a byte offset that
    /// fell inside a multi-byte character.
    #[test]
    fn regression_entity_scan_char_boundary() {
        let (t, f) = fix("&® 00 \u{1cf50}¡");
        assert_eq!(t, "&® 00 \u{1cf50}¡");
        assert!(!f.any());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_and_ascii_is_stable(s in "\\PC{0,40}") {
            let (t, _) = repair(&s);
            let _ = t.len();
        }

        #[test]
        fn one_round_mojibake_is_undone(s in "[a-zA-Z0-9à-ÿ .,]{0,20}") {
            // Encode to UTF-8, read as latin-1/cp1252: the classic one-round damage. (Text
            // that itself contains a lead-like letter followed by a continuation-like symbol,
            // e.g. "Ä€", is ambiguous by nature and not generated.)
            let garbled = l1(s.as_bytes());
            let (t, f) = repair(&garbled);
            prop_assert_eq!(t.as_ref(), s.as_str());
            prop_assert_eq!(f.repaired as usize, s.chars().filter(|c| !c.is_ascii()).count());
        }
    }
}
