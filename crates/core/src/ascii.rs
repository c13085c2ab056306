//! Byte-level text helpers for the hot paths: ASCII case-insensitive search and prefix tests,
//! without the lower-cased copy of the text that `to_ascii_lowercase().contains(..)` makes on every
//! call, and line splitting with a vectorised search instead of `str`'s per-line character
//! searcher, which costs more than the short lines of a bounce notice take to scan.

use std::borrow::Cow;

/// Whether `text` contains `needle` (lower-case ASCII), ignoring ASCII case. Candidates are the
/// places where the needle's least common byte occurs in either case, which a vectorised
/// `memchr2` finds (`x` in "retry timeout exceeded" rules out far more text than its `r` would);
/// each is then compared whole. For a needle known at compile time, `Needle` picks that byte once.
pub(crate) fn contains_ignore_case(text: &str, needle: &str) -> bool {
    contains_at(text.as_bytes(), needle.as_bytes(), rarest(needle.as_bytes()))
}

/// A lower-case ASCII needle with its least common byte chosen once: at compile time for a
/// needle written in the code, when a rule set is built for a rule's literal.
#[derive(Debug)]
pub(crate) struct Needle {
    bytes: Cow<'static, [u8]>,
    anchor: usize,
}

impl Needle {
    pub(crate) const fn new(needle: &'static str) -> Self {
        Self { bytes: Cow::Borrowed(needle.as_bytes()), anchor: rarest(needle.as_bytes()) }
    }

    /// A needle made at run time.
    pub(crate) fn owned(needle: Vec<u8>) -> Self {
        let anchor = rarest(&needle);
        Self { bytes: Cow::Owned(needle), anchor }
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether `text` contains the needle, ignoring ASCII case.
    pub(crate) fn is_in(&self, text: &str) -> bool {
        self.is_in_bytes(text.as_bytes())
    }

    /// `is_in` for a window of a text, which need not fall on character boundaries.
    pub(crate) fn is_in_bytes(&self, hay: &[u8]) -> bool {
        contains_at(hay, &self.bytes, self.anchor)
    }
}

/// Where the needle's least common byte is (the first of equals; 0 for an empty needle).
const fn rarest(needle: &[u8]) -> usize {
    let (mut anchor, mut i) = (0, 1);
    while i < needle.len() {
        if COMMONNESS[needle[i] as usize] < COMMONNESS[needle[anchor] as usize] {
            anchor = i;
        }
        i += 1;
    }
    anchor
}

/// The search behind both: candidates where `needle[anchor]` occurs, compared whole.
fn contains_at(hay: &[u8], needle: &[u8], anchor: usize) -> bool {
    let Some(&byte) = needle.get(anchor) else { return true };
    memchr::memchr2_iter(byte, byte.to_ascii_uppercase(), &hay[anchor.min(hay.len())..])
        .any(|at| hay.get(at..at + needle.len()).is_some_and(|window| window.eq_ignore_ascii_case(needle)))
}

/// How common each byte is in English bounce texts, roughly: spaces most, then letters by their
/// frequency in English, then digits and punctuation. Only the order matters.
const COMMONNESS: [u8; 256] = commonness();

const fn commonness() -> [u8; 256] {
    let mut table = [40u8; 256];
    let letters = b"etaoinsrhldcumfpgwybvkxjqz";
    let mut i = 0;
    while i < letters.len() {
        table[letters[i] as usize] = 220 - 6 * i as u8;
        table[letters[i].to_ascii_uppercase() as usize] = 220 - 6 * i as u8;
        i += 1;
    }
    let mut digit = b'0';
    while digit <= b'9' {
        table[digit as usize] = 90;
        digit += 1;
    }
    table[b' ' as usize] = 255;
    table[b'.' as usize] = 120;
    table
}

/// Whether `text` starts with `prefix` (lower-case ASCII), ignoring ASCII case.
pub(crate) fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `text` starts with one of `prefixes` (lower-case ASCII), ignoring ASCII case. The first
/// byte rules out nearly every line and prefix before a whole prefix is compared.
pub(crate) fn starts_with_any(text: &str, prefixes: &[&str]) -> bool {
    let Some(first) = text.as_bytes().first().map(u8::to_ascii_lowercase) else { return false };
    prefixes.iter().any(|p| p.as_bytes().first() == Some(&first) && starts_with_ignore_case(text, p))
}

/// `text.split_inclusive('\n')`: each line with its line end.
pub(crate) fn lines_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |at| at + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// `text.lines()`: each line without its `\n` or `\r\n`.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    lines_inclusive(text).map(|line| match line.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_str_does() {
        for text in ["", "a", "a\n", "a\r\nb", "a\n\nb\r", "\r\n\r\n", "x\ry\n", "\n"] {
            assert_eq!(lines(text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>(), "{text:?}");
            let inclusive: Vec<_> = text.split_inclusive('\n').collect();
            assert_eq!(lines_inclusive(text).collect::<Vec<_>>(), inclusive, "{text:?}");
        }
    }

    #[test]
    fn finds_needles_in_any_case() {
        assert!(contains_ignore_case("Retry Timeout EXCEEDED for host", "retry timeout exceeded"));
        assert!(contains_ignore_case("x", ""));
        assert!(!contains_ignore_case("retry timeout exceede", "retry timeout exceeded"));
        assert!(!contains_ignore_case("r\u{e9}try", "retry"));
        assert!(
            contains_ignore_case("xa", "xa") && contains_ignore_case("ax", "ax") && !contains_ignore_case("x", "ax")
        );
        assert!(contains_ignore_case("deferred", "deferred") && !contains_ignore_case("deferre", "deferred"));
        const RETRY: Needle = Needle::new("retry timeout exceeded");
        assert_eq!(RETRY.bytes[RETRY.anchor], b'x');
        assert!(RETRY.is_in("Retry timeout EXCEEDED") && !RETRY.is_in("retry timeout"));
        assert!(Needle::new("").is_in("anything"));
    }
}
