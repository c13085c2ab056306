//! VERP (variable envelope return path): the sender writes each recipient into the return path of
//! the copy sent to them, `LOCAL+USER=HOST@bounce.domain` for `USER@HOST`, so a bounce that comes
//! back names the address it is about whatever the report says. `decode` reads one back.

/// The recipient a VERP local part encodes: `bounces+alice=example.com` (with `local` =
/// `bounces`, compared case-insensitively) gives `alice@example.com`. The last `=` separates the
/// user from the host, since a host holds no `=`; a result that is no address gives `None`.
pub fn decode(local_part: &str, local: &str) -> Option<String> {
    let (prefix, encoded) = local_part.split_once('+')?;
    if !prefix.eq_ignore_ascii_case(local) {
        return None;
    }
    let (user, host) = encoded.rsplit_once('=')?;
    let address = format!("{user}@{host}");
    rebound_policy::normalize(&address).ok().filter(|t| !t.is_domain()).map(|t| t.display().to_owned())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn reads_the_encoded_recipient() {
        assert_eq!(decode("bounces+alice=example.com", "bounces").as_deref(), Some("alice@example.com"));
        assert_eq!(decode("Bounces+a.b+tag=Example.COM", "bounces").as_deref(), Some("a.b+tag@example.com"));
        assert_eq!(decode("bounces+x=y=sub.example.org", "bounces").as_deref(), Some("x=y@sub.example.org"));
    }

    #[test]
    fn anything_else_is_not_verp() {
        assert_eq!(decode("bounces", "bounces"), None);
        assert_eq!(decode("other+alice=example.com", "bounces"), None);
        assert_eq!(decode("bounces+alice", "bounces"), None);
        assert_eq!(decode("bounces+=example.com", "bounces"), None);
        assert_eq!(decode("bounces+alice=", "bounces"), None);
        assert_eq!(decode("bounces+alice=nodot", "bounces"), None);
    }
}
