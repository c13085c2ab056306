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
    let trimmed = without_type_prefixes(trimmed);
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

/// Address-type tags that reports and gateways write before an address: RFC 3464's `rfc822;`,
/// Exchange's `SMTP:` proxy addresses, Notes/Domino's `dda:SMTP=`, `mailto:`. They are never part
/// of the mailbox, and an address kept with one would never match the list.
fn without_type_prefixes(mut text: &str) -> &str {
    const TAGS: [&str; 6] = ["rfc822", "smtp", "mailto", "dda", "x-rfc822", "internet"];
    loop {
        let Some(at) = memchr::memchr3(b':', b';', b'=', text.as_bytes()) else { return text };
        let (tag, rest) = (&text[..at], &text[at + 1..]);
        if !TAGS.iter().any(|t| t.eq_ignore_ascii_case(tag.trim())) {
            return text;
        }
        text = rest.trim_start();
    }
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
        for tagged in ["SMTP:a@b.example", "rfc822;a@b.example", "RFC822; a@b.example", "dda:SMTP=a@b.example"] {
            assert_eq!(clean(tagged).as_deref(), Some("a@b.example"), "{tagged}");
        }
        assert_eq!(clean("smtpuser:x@b.example").as_deref(), Some("smtpuser:x@b.example"), "only whole tags");
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
