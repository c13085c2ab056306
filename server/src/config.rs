//! The server's resolved configuration: what `rebound serve` runs with, after the command line and
//! environment have been parsed and checked. Secrets are redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where Rebound keeps its data.
#[derive(Clone)]
pub enum Database {
    /// One SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (may hold a password).
    Postgres(String),
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Everything the HTTP server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: Database,
    /// The built console (Trunk's `dist/`), served at `/`.
    pub console_dir: PathBuf,
    /// Mark session cookies `Secure` (set when Rebound is served over HTTPS).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// The KumoMTA that pauses are mirrored on, if any.
    pub kumo: Option<KumoConfig>,
    /// How often alerts are evaluated and the outbox (webhooks, MTA calls) is drained.
    pub monitor_interval: Duration,
    /// The bounce mailbox's SMTP listener, if one is configured.
    pub smtp: Option<crate::smtp::SmtpConfig>,
}

/// KumoMTA's admin HTTP API (`POST /api/admin/suspend/v1`) on each node of a deployment, reached
/// with optional HTTP Basic credentials (the same for every node).
#[derive(Clone)]
pub struct KumoConfig {
    /// Each node's listener base URL, e.g. `http://127.0.0.1:8000`: a suspension lives in one
    /// kumod's memory, so a pause is mirrored on every node.
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// How long a suspension lasts on the MTA if Rebound never lifts it (KumoMTA duration syntax).
    pub duration: String,
}

impl fmt::Debug for KumoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KumoConfig")
            .field("urls", &self.urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("duration", &self.duration)
            .finish()
    }
}

impl Config {
    /// The defaults on `database`: an ephemeral port, no console, no KumoMTA (for tests, and for
    /// commands that write through the application state without serving).
    pub fn defaults(database: Database) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            console_dir: PathBuf::from("dist"),
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            kumo: None,
            monitor_interval: Duration::from_secs(60),
            smtp: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_passwords_are_redacted() {
        let db = Database::Postgres("postgres://rebound:s3cret@db:5432/rebound".into());
        let shown = format!("{db:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("rebound:***@db:5432"), "{shown}");
    }

    #[test]
    fn mta_passwords_are_redacted() {
        let kumo = KumoConfig {
            urls: vec!["http://kumo:8000".into()],
            username: Some("rebound".into()),
            password: Some("s3cret".into()),
            duration: "7d".into(),
        };
        assert!(!format!("{kumo:?}").contains("s3cret"));
    }
}
