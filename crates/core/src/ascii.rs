//! ASCII case-insensitive search in text, without the lower-cased copy of the text that
//! `to_ascii_lowercase().contains(..)` makes on every call.

/// Whether `text` contains `needle` (lower-case ASCII), ignoring ASCII case. Candidates are the
/// places where the needle's first byte occurs in either case, which a vectorised `memchr2` finds;
/// the needle's last byte rules out most of them before the whole needle is compared.
pub(crate) fn contains_ignore_case(text: &str, needle: &str) -> bool {
    let (hay, needle) = (text.as_bytes(), needle.as_bytes());
    let (Some(&first), Some(last)) = (needle.first(), needle.last()) else { return true };
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).any(|at| {
        hay.get(at + needle.len() - 1).is_some_and(|b| b.eq_ignore_ascii_case(last))
            && hay.get(at..at + needle.len()).is_some_and(|window| window.eq_ignore_ascii_case(needle))
    })
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
