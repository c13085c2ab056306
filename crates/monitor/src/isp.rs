//! Grouping recipient domains into mailbox providers. A block or a hard-bounce spike is usually
//! one provider's doing, and a provider runs many domains (Microsoft: outlook.com, hotmail.co.uk,
//! live.fr, msn.com, ...), so rates are kept per provider, not per domain. Staff can add or
//! re-map domains; a domain no entry names is counted under `other`, which keeps the number of
//! counters bounded however many company domains a list holds.

use std::collections::BTreeMap;

/// The provider name of domains no mapping names.
pub const OTHER_ISP: &str = "other";

/// Built-in mapping. `name.*` matches the name under any suffix (`hotmail.co.uk`, `yahoo.fr`).
const BUILT_IN: &[(&str, &[&str])] = &[
    ("Google", &["gmail.com", "googlemail.com"]),
    ("Microsoft", &["outlook.*", "hotmail.*", "live.*", "msn.com", "windowslive.com"]),
    ("Yahoo", &["yahoo.*", "ymail.com", "rocketmail.com", "aol.*", "aim.com", "verizon.net"]),
    ("Apple", &["icloud.com", "me.com", "mac.com"]),
    ("Comcast", &["comcast.net", "xfinity.com"]),
    ("AT&T", &["att.net", "sbcglobal.net", "bellsouth.net"]),
    ("GMX / WEB.DE", &["gmx.*", "web.de"]),
    ("T-Online", &["t-online.de"]),
    ("Orange", &["orange.fr", "wanadoo.fr"]),
    ("Free", &["free.fr"]),
    ("SFR", &["sfr.fr", "neuf.fr"]),
    ("Libero", &["libero.it"]),
    ("Yandex", &["yandex.*", "ya.ru"]),
    ("Mail.ru", &["mail.ru", "bk.ru", "inbox.ru", "list.ru", "internet.ru"]),
    ("Proton", &["proton.me", "protonmail.com", "protonmail.ch", "pm.me"]),
    ("Zoho", &["zoho.com", "zohomail.com"]),
    ("Fastmail", &["fastmail.com", "fastmail.fm"]),
    ("Seznam", &["seznam.cz"]),
    ("Tencent", &["qq.com", "foxmail.com"]),
    ("NetEase", &["163.com", "126.com", "yeah.net"]),
    ("Naver", &["naver.com"]),
];

/// Domain → provider, the built-in table overlaid with staff entries (which win).
#[derive(Debug, Clone, Default)]
pub struct IspMap {
    exact: BTreeMap<String, String>,
    /// `name.*` entries, by the name before the first dot.
    prefixes: BTreeMap<String, String>,
}

impl IspMap {
    /// The built-in table with `extra` (domain or `name.*` → provider) applied over it.
    pub fn new(extra: &BTreeMap<String, String>) -> Self {
        let mut map = Self::default();
        for (isp, patterns) in BUILT_IN {
            for pattern in *patterns {
                map.insert(pattern, isp);
            }
        }
        for (pattern, isp) in extra {
            map.insert(pattern, isp);
        }
        map
    }

    fn insert(&mut self, pattern: &str, isp: &str) {
        let pattern = pattern.trim().to_ascii_lowercase();
        match pattern.strip_suffix(".*") {
            Some(name) => self.prefixes.insert(name.to_owned(), isp.to_owned()),
            None => self.exact.insert(pattern, isp.to_owned()),
        };
    }

    /// The provider of a (lower-case, IDNA-encoded) domain, or `other`.
    pub fn isp_of<'a>(&'a self, domain: &str) -> &'a str {
        if let Some(isp) = self.exact.get(domain) {
            return isp;
        }
        domain.split_once('.').and_then(|(first, _)| self.prefixes.get(first)).map_or(OTHER_ISP, String::as_str)
    }

    /// The exact domains mapped to a provider (what an MTA can be told to suspend).
    pub fn domains_of(&self, isp: &str) -> Vec<&str> {
        self.exact.iter().filter(|(_, name)| name.as_str() == isp).map(|(d, _)| d.as_str()).collect()
    }

    /// Every provider name the map knows.
    pub fn providers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.exact.values().chain(self.prefixes.values()).map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// Checks a staff mapping entry: a domain, or `name.*`, mapped to a non-empty provider name.
pub fn check_entry(pattern: &str, isp: &str) -> Result<(), String> {
    let domain = pattern.strip_suffix(".*").unwrap_or(pattern);
    let valid_domain = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid_domain {
        return Err(format!("`{pattern}` is not a domain or `name.*`"));
    }
    if isp.trim().is_empty() || isp.len() > 64 {
        return Err("a provider name of 1 to 64 characters is required".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_the_big_providers_and_their_country_domains() {
        let map = IspMap::new(&BTreeMap::new());
        assert_eq!(map.isp_of("gmail.com"), "Google");
        assert_eq!(map.isp_of("googlemail.com"), "Google");
        assert_eq!(map.isp_of("hotmail.co.uk"), "Microsoft");
        assert_eq!(map.isp_of("live.fr"), "Microsoft");
        assert_eq!(map.isp_of("msn.com"), "Microsoft");
        assert_eq!(map.isp_of("yahoo.co.jp"), "Yahoo");
        assert_eq!(map.isp_of("aol.com"), "Yahoo");
        assert_eq!(map.isp_of("me.com"), "Apple");
        assert_eq!(map.isp_of("example.com"), OTHER_ISP);
        assert_eq!(map.isp_of("notgmail.com"), OTHER_ISP);
    }

    #[test]
    fn staff_entries_win_over_the_table() {
        let extra =
            BTreeMap::from([("gmail.com".to_owned(), "Consumer".to_owned()), ("corp.*".to_owned(), "Corp".to_owned())]);
        let map = IspMap::new(&extra);
        assert_eq!(map.isp_of("gmail.com"), "Consumer");
        assert_eq!(map.isp_of("corp.co.uk"), "Corp");
        assert_eq!(map.domains_of("Google"), vec!["googlemail.com"]);
    }

    #[test]
    fn entries_are_checked() {
        assert!(check_entry("example.com", "Example").is_ok());
        assert!(check_entry("corp.*", "Corp").is_ok());
        assert!(check_entry("not a domain", "X").is_err());
        assert!(check_entry("example.com", " ").is_err());
    }
}
