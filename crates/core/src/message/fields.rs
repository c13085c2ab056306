//! Header-style field blocks (`Name: value`, folded continuation lines), as used by RFC 3464
//! delivery-status bodies and RFC 5965 feedback reports.

use crate::ascii::lines;

/// The fields of a block in order, unfolded. Names keep their case; values are trimmed. Lines that
/// are neither fields nor continuations are skipped, so junk between fields does no harm.
pub fn parse(text: &str) -> Vec<(&str, String)> {
    let mut fields: Vec<(&str, String)> = Vec::new();
    for line in lines(text) {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                let more = line.trim();
                if !more.is_empty() {
                    value.push(' ');
                    value.push_str(more);
                }
            }
            continue;
        }
        if let Some((name, value)) = memchr::memchr(b':', line.as_bytes()).map(|at| (&line[..at], &line[at + 1..])) {
            let name = name.trim();
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                fields.push((name, value.trim().to_owned()));
            }
        }
    }
    fields
}

/// The address in a typed field value such as `rfc822; <jane@example.com>`.
pub fn typed_address(value: &str) -> Option<String> {
    let address = value.rsplit_once(';').map_or(value, |(_, a)| a).trim();
    let address = address.trim_start_matches('<').trim_end_matches('>').trim();
    crate::message::address::clean(address)
}

/// A `Diagnostic-Code` without its type (`smtp; 550 ...` → `550 ...`), except a local mailer's
/// exit status (`X-Unix; 255`), which keeps its type so that the number is not read as a reply
/// code.
pub fn diagnostic_value(value: &str) -> &str {
    let value = value.trim();
    if crate::reply::is_exit_status(value) { value } else { typed_value(value) }
}

/// The value after the type in `dns; mx.example.com` or `smtp; 550 ...`.
pub fn typed_value(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') => rest.trim(),
        _ => value.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_skips_junk() {
        let fields =
            parse("Final-Recipient: rfc822; a@example.com\nDiagnostic-Code: smtp; 550 no\n  such user\nnot a field\n");
        assert_eq!(fields[0], ("Final-Recipient", "rfc822; a@example.com".to_owned()));
        assert_eq!(fields[1], ("Diagnostic-Code", "smtp; 550 no such user".to_owned()));
        assert_eq!(fields.len(), 2);
    }

    #[test]
    fn typed_values() {
        assert_eq!(typed_address("rfc822; <Jane@Example.com>").as_deref(), Some("Jane@Example.com"));
        assert_eq!(typed_address("rfc822;"), None);
        assert_eq!(typed_value("dns; mx.example.com"), "mx.example.com");
    }
}
