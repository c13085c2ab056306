//! Finding and cleaning email addresses in bounce text.

/// Trims the punctuation that surrounds addresses in prose and checks that what is left looks like
/// `local@domain.tld` (a dot in the domain, no spaces, no angle brackets).
pub fn clean(raw: &str) -> Option<String> {
    if let Some(quoted) = quoted_local_part(raw) {
        return Some(quoted);
    }
    let trimmed = raw
        .trim()
        .trim_start_matches(['<', '(', '[', '"', '\'', '{'])
        .trim_end_matches(['>', ')', ']', '"', '\'', '}', ':', ';', ',', '.']);
    let trimmed = trimmed.strip_prefix("mailto:").unwrap_or(trimmed);
    let (local, domain) = trimmed.rsplit_once('@')?;
    let plausible = !local.is_empty()
        && local.len() <= 128
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80)
        && !local
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'<' || b == b'>' || b == b'@' || b == b'"' || b == b',');
    plausible.then(|| trimmed.to_owned())
}

/// An address with a quoted local part (`"john..doe"@example.com`), kept as written.
fn quoted_local_part(raw: &str) -> Option<String> {
    let start = memchr::memchr(b'"', raw.as_bytes())?;
    let close = raw[start + 1..].find("\"@")? + start + 1;
    let domain_end = raw[close + 2..]
        .find(|c: char| c.is_whitespace() || matches!(c, '>' | ')' | ']' | ',' | ';'))
        .map_or(raw.len(), |i| close + 2 + i);
    let domain = raw[close + 2..domain_end].trim_end_matches('.');
    let plausible = domain.contains('.') && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (plausible && close > start + 1).then(|| format!("{}@{domain}", &raw[start..=close]))
}

/// The first address in a line, with where it ends.
pub fn first_in(line: &str) -> Option<(String, usize)> {
    let at = memchr::memchr(b'@', line.as_bytes())?;
    let start = line[..at]
        .rfind(|c: char| c.is_whitespace() || matches!(c, '<' | '(' | '[' | '"' | ':' | ',' | ';'))
        .map_or(0, |i| i + 1);
    let end = line[at..]
        .find(|c: char| c.is_whitespace() || matches!(c, '>' | ')' | ']' | '"' | ',' | ';'))
        .map_or(line.len(), |i| at + i);
    clean(&line[start..end]).map(|a| (a, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_addresses_from_prose() {
        assert_eq!(clean("<kijitora@example.jp>:").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(clean("mailto:a@b.example").as_deref(), Some("a@b.example"));
        assert_eq!(clean("not-an-address"), None);
        assert_eq!(clean("a@localhost"), None);
        assert_eq!(clean("<\"john..doe\"@example.com>").as_deref(), Some("\"john..doe\"@example.com"));
    }

    #[test]
    fn finds_the_first_address_in_a_line() {
        assert_eq!(first_in("  <jane@example.com>: host mx said").map(|(a, _)| a).as_deref(), Some("jane@example.com"));
        assert_eq!(first_in("To: Jane <jane@example.com>, x").map(|(a, _)| a).as_deref(), Some("jane@example.com"));
        assert_eq!(first_in("no address here"), None);
    }
}
