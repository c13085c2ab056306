//! Header-style field blocks (`Name: value`, folded continuation lines), as used by RFC 3464
//! delivery-status bodies and RFC 5965 feedback reports.

use crate::ascii::{contains_ignore_case, lines};

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
        if let Some((name, value)) = field(line) {
            fields.push((name, value.trim().to_owned()));
        }
    }
    fields
}

/// The value of the first field called `name` (given in lower case, matched in any case),
/// unfolded as `parse` does, without building the others: one header of an attached original's
/// many. A text that does not contain the name at all is ruled out by one vectorised search.
pub fn value(text: &str, name: &str) -> Option<String> {
    if !contains_ignore_case(text, name) {
        return None;
    }
    let mut found: Option<String> = None;
    for line in lines(text) {
        if line.starts_with([' ', '\t']) {
            let more = line.trim();
            if let Some(value) = found.as_mut().filter(|_| !more.is_empty()) {
                value.push(' ');
                value.push_str(more);
            }
            continue;
        }
        match field(line) {
            Some(_) if found.is_some() => break,
            Some((n, value)) if n.eq_ignore_ascii_case(name) => found = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    found
}

/// Every field of a header block whose name is one of `names` (lower case, matched in any case),
/// in order, unfolded, with the index of its name: the few fields a caller needs, in one pass.
pub fn select(text: &str, names: &[&str]) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for line in lines(text) {
        if line.starts_with([' ', '\t']) {
            let more = line.trim();
            if let Some((_, value)) = found.last_mut().filter(|_| open && !more.is_empty()) {
                value.push(' ');
                value.push_str(more);
            }
            continue;
        }
        open = false;
        if let Some((name, value)) = field(line)
            && let Some(index) = names.iter().position(|n| name.eq_ignore_ascii_case(n))
        {
            found.push((index, value.trim().to_owned()));
            open = true;
        }
    }
    found
}

/// A line's field name (trimmed) and raw value, when it is a `Name: value` line.
fn field(line: &str) -> Option<(&str, &str)> {
    let at = memchr::memchr(b':', line.as_bytes())?;
    let name = line[..at].trim();
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| (name, &line[at + 1..]))
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
    fn one_value_is_read_as_parse_reads_it() {
        let block = "Received: x\nTo: Jane\n <jane@example.com>\njunk\n  more\nto: second@example.com\n";
        let parsed = parse(block).into_iter().find(|(n, _)| n.eq_ignore_ascii_case("to")).map(|(_, v)| v);
        assert_eq!(value(block, "to"), parsed);
        assert_eq!(value(block, "to").as_deref(), Some("Jane <jane@example.com> more"));
        assert_eq!(value(block, "cc"), None);
    }

    #[test]
    fn typed_values() {
        assert_eq!(typed_address("rfc822; <Jane@Example.com>").as_deref(), Some("Jane@Example.com"));
        assert_eq!(typed_address("rfc822;"), None);
        assert_eq!(typed_value("dns; mx.example.com"), "mx.example.com");
    }
}
