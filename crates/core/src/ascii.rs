//! ASCII case-insensitive search in text, without the lower-cased copy of the text that
//! `to_ascii_lowercase().contains(..)` makes on every call.

/// Whether `text` contains `needle` (lower-case ASCII), ignoring ASCII case. Candidates are the
/// places where the needle's first byte occurs in either case, which a vectorised `memchr2` finds.
pub(crate) fn contains_ignore_case(text: &str, needle: &str) -> bool {
    let (hay, needle) = (text.as_bytes(), needle.as_bytes());
    let Some(&first) = needle.first() else { return true };
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay)
        .any(|at| hay.get(at..at + needle.len()).is_some_and(|window| window.eq_ignore_ascii_case(needle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_needles_in_any_case() {
        assert!(contains_ignore_case("Retry Timeout EXCEEDED for host", "retry timeout exceeded"));
        assert!(contains_ignore_case("x", ""));
        assert!(!contains_ignore_case("retry timeout exceede", "retry timeout exceeded"));
        assert!(!contains_ignore_case("r\u{e9}try", "retry"));
    }
}
