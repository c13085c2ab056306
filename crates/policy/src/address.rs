//! Suppression keys. Every address or domain that enters Rebound (an event's recipient, a manual
//! entry, an imported line, a pre-send check) goes through `normalize`, so that the list, the
//! in-memory index and the check agree on what "the same address" means.
//!
//! - The domain is lower-cased and converted to its IDNA ASCII form (`bücher.de` →
//!   `xn--bcher-kva.de`), so a Unicode and a Punycode spelling are one entry.
//! - The local part is kept as given for display but compared case-insensitively: RFC 5321 lets a
//!   server treat it case-sensitively, yet no mailbox provider does, and treating `Jane@` and
//!   `jane@` as two people would let a suppressed address through.
//! - A bare domain (`example.com` or `@example.com`) is a domain-wide entry; its key is
//!   `@example.com`, which can never collide with an address key.
//! - Strict where a mistake would suppress the wrong thing: an unquoted local part holds only the
//!   characters RFC 5322 allows in an atom, dots and (RFC 6531) non-ASCII letters, so `a@b@c` or
//!   `<a>,b@c` is refused rather than stored as something nobody mailed; a domain has at least two
//!   labels (a bare word on an import line is a mistake, not a top-level domain to suppress); an
//!   address literal is an IPv4 or `IPv6:` address. Dots are not checked for placement: addresses
//!   with leading or doubled dots are deliverable at some Japanese carriers.

/// Longest address accepted (RFC 5321 §4.5.3.1.3 limits a path to 256 octets).
pub const MAX_ADDRESS_LEN: usize = 254;

/// A normalised suppression target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One mailbox.
    Address {
        /// The local part as given, `@`, the normalised domain.
        display: String,
        /// Lower-cased local part, `@`, the normalised domain.
        key: String,
        domain: String,
    },
    /// Every mailbox of a domain.
    Domain { domain: String, key: String },
}

impl Target {
    /// The comparison key: `local@domain` lower-cased, or `@domain` for a domain.
    pub fn key(&self) -> &str {
        match self {
            Target::Address { key, .. } | Target::Domain { key, .. } => key,
        }
    }

    /// The form shown to people: the address as given (domain normalised), or the domain.
    pub fn display(&self) -> &str {
        match self {
            Target::Address { display, .. } => display,
            Target::Domain { domain, .. } => domain,
        }
    }

    pub fn domain(&self) -> &str {
        match self {
            Target::Address { domain, .. } | Target::Domain { domain, .. } => domain,
        }
    }

    pub fn is_domain(&self) -> bool {
        matches!(self, Target::Domain { .. })
    }
}

/// Why a string is not an address or a domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_ADDRESS_LEN} characters")]
    TooLong,
    #[error("has an empty local part")]
    EmptyLocalPart,
    #[error("contains a space or control character")]
    BadCharacter,
    #[error("has an invalid domain `{0}`")]
    BadDomain(String),
    #[error("has a character that needs quoting in its local part (`{0}`)")]
    BadLocalPart(char),
    #[error("has a domain without a dot (`{0}`): name the whole domain")]
    DotlessDomain(String),
    #[error("has an address literal that is not an IP address (`{0}`)")]
    BadLiteral(String),
}

/// The characters of an unquoted local part: RFC 5322's `atext`, the dot, and (RFC 6531) any
/// non-ASCII character that is not a space or a control.
fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~.".contains(c)
        || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
}

/// Normalises an address (`local@domain`, optionally in `<...>`) or a domain (`domain` or
/// `@domain`).
pub fn normalize(input: &str) -> Result<Target, AddressError> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(trimmed).trim();
    if trimmed.is_empty() {
        return Err(AddressError::Empty);
    }
    if trimmed.len() > MAX_ADDRESS_LEN {
        return Err(AddressError::TooLong);
    }
    match trimmed.rsplit_once('@') {
        None => domain_target(trimmed),
        Some(("", domain)) => domain_target(domain),
        Some((local, domain)) => {
            if local.chars().any(|c| c.is_control() || (c.is_whitespace() && !local.starts_with('"'))) {
                return Err(AddressError::BadCharacter);
            }
            let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
            if let Some(c) = local.chars().find(|&c| !quoted && !local_char(c)) {
                return Err(AddressError::BadLocalPart(c));
            }
            let domain = normalize_domain(domain)?;
            let display = format!("{local}@{domain}");
            if display.len() > MAX_ADDRESS_LEN {
                return Err(AddressError::TooLong);
            }
            let key = format!("{}@{domain}", local.to_lowercase());
            Ok(Target::Address { display, key, domain })
        }
    }
    .and_then(|t| if t.key().len() <= MAX_ADDRESS_LEN + 1 { Ok(t) } else { Err(AddressError::TooLong) })
}

fn domain_target(domain: &str) -> Result<Target, AddressError> {
    let domain = normalize_domain(domain)?;
    let key = format!("@{domain}");
    Ok(Target::Domain { domain, key })
}

/// Lower-cases and IDNA-encodes a domain; refuses anything that is not a plausible host name
/// (an address literal such as `[192.0.2.1]` is kept as written).
fn normalize_domain(domain: &str) -> Result<String, AddressError> {
    let domain = domain.trim_end_matches('.');
    let bad = || AddressError::BadDomain(domain.to_owned());
    if domain.is_empty() {
        return Err(bad());
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ip = match literal.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("ipv6:") => literal[5..].parse::<std::net::Ipv6Addr>().is_ok(),
            _ => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        };
        return if ip { Ok(domain.to_ascii_lowercase()) } else { Err(AddressError::BadLiteral(domain.to_owned())) };
    }
    if domain.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@') {
        return Err(AddressError::BadCharacter);
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| bad())?;
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !labels_ok || ascii.len() > 253 {
        return Err(bad());
    }
    if !ascii.contains('.') {
        return Err(AddressError::DotlessDomain(domain.to_owned()));
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_their_local_part_and_compare_without_case() {
        let t = normalize(" <Jane.Doe@Example.COM> ").unwrap();
        assert_eq!(t.display(), "Jane.Doe@example.com");
        assert_eq!(t.key(), "jane.doe@example.com");
        assert_eq!(t.domain(), "example.com");
        assert!(!t.is_domain());
    }

    #[test]
    fn unicode_domains_become_punycode() {
        let t = normalize("anna@Bücher.de").unwrap();
        assert_eq!(t.key(), "anna@xn--bcher-kva.de");
        assert_eq!(normalize("anna@xn--bcher-kva.de").unwrap().key(), t.key());
    }

    #[test]
    fn bare_domains_are_domain_entries() {
        for input in ["Example.org", "@example.org", "example.org."] {
            let t = normalize(input).unwrap();
            assert!(t.is_domain(), "{input}");
            assert_eq!(t.key(), "@example.org");
            assert_eq!(t.display(), "example.org");
        }
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert_eq!(normalize("  "), Err(AddressError::Empty));
        assert_eq!(normalize("@"), Err(AddressError::BadDomain(String::new())));
        assert_eq!(normalize("a b@example.com"), Err(AddressError::BadCharacter));
        assert!(matches!(normalize("jane@exa mple.com"), Err(AddressError::BadCharacter)));
        assert!(matches!(normalize("jane@-bad-.com"), Err(AddressError::BadDomain(_))));
        assert!(matches!(normalize("jane@a..b"), Err(AddressError::BadDomain(_))));
        assert_eq!(normalize(&format!("{}@example.com", "x".repeat(300))), Err(AddressError::TooLong));
    }

    #[test]
    fn quoted_local_parts_and_literals_are_kept() {
        assert_eq!(normalize("\"john smith\"@example.com").unwrap().key(), "\"john smith\"@example.com");
        assert_eq!(normalize("\"a@b\"@example.com").unwrap().key(), "\"a@b\"@example.com");
        assert_eq!(normalize("root@[192.0.2.1]").unwrap().domain(), "[192.0.2.1]");
        assert_eq!(normalize("root@[IPv6:2001:db8::1]").unwrap().domain(), "[ipv6:2001:db8::1]");
    }

    #[test]
    fn what_nobody_could_have_mailed_is_refused() {
        assert_eq!(normalize("a@b@example.com"), Err(AddressError::BadLocalPart('@')));
        assert_eq!(normalize("<a>,b@example.com"), Err(AddressError::BadLocalPart('<')));
        assert_eq!(normalize("user@[not an ip]"), Err(AddressError::BadLiteral("[not an ip]".into())));
        assert_eq!(normalize("user@[300.1.1.1]"), Err(AddressError::BadLiteral("[300.1.1.1]".into())));
        assert_eq!(normalize("user@localhost"), Err(AddressError::DotlessDomain("localhost".into())));
        assert_eq!(normalize("john"), Err(AddressError::DotlessDomain("john".into())));
        // Deliverable although RFC 5322 would not have them: leading and doubled dots, non-ASCII.
        assert!(normalize("taro..yamada.@docomo.ne.jp").is_ok());
        assert!(normalize("用户@例子.广告").is_ok());
        assert!(normalize("o'brien+news@example.ie").is_ok());
    }
}
