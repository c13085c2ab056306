//! The `rebound` command line: `serve` runs the server; the other commands work on its database
//! (staff accounts, API keys, the list's import and export, the audit check, MTA log files).
//!
//! Every option has an environment fallback (`REBOUND_*`) so the same binary runs from a shell,
//! a systemd unit or a container without wrappers.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rebound_api::v1::{ImportFormat, KeyScope, Role, SuppressionReason};
use rebound_store::{Actor, NewImport, NewUser};

use crate::auth;
use crate::config::{Config, Database, KumoConfig};
use crate::error::StartError;
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(name = "rebound", version, about = "Self-hosted bounce handling: classifier, suppression list, console")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server: the REST API under /api/v1 and the staff console at /.
    Serve(Box<ServeArgs>),
    /// Classify bounce emails (files, or directories of *.eml) or, with --lines, SMTP replies, one
    /// per line. Prints JSON Lines.
    Classify {
        /// A file with one SMTP reply per line (`-` for standard input).
        #[arg(long, conflicts_with = "paths")]
        lines: Option<PathBuf>,
        /// Bounce email files, or directories of *.eml files.
        #[arg(required_unless_present = "lines")]
        paths: Vec<PathBuf>,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import suppressions from a file (text: one address or domain per line, `#` comments; or
    /// CSV with an `address` column and optional reason, scope, note, expires_at).
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// The file to import (`-` for standard input).
        file: PathBuf,
        /// text or csv (default: csv for *.csv files, text otherwise).
        #[arg(long, value_parser = parse_format)]
        format: Option<ImportFormat>,
        /// Scope of lines that don't name one.
        #[arg(long, default_value = "global")]
        scope: String,
        /// Reason of lines that don't name one.
        #[arg(long, default_value = "manual", value_parser = parse_reason)]
        reason: SuppressionReason,
    },
    /// Write the suppression list to standard output.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// text or csv.
        #[arg(long, default_value = "text", value_parser = parse_format)]
        format: ImportFormat,
        /// Only this scope.
        #[arg(long)]
        scope: Option<String>,
        /// Include lifted entries (CSV shows which).
        #[arg(long)]
        include_lifted: bool,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage API keys for integrations.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Read an MTA's log files into the database: one JSON summary line per file.
    Ingest {
        #[command(subcommand)]
        command: IngestCommand,
    },
}

#[derive(Debug, Subcommand)]
enum IngestCommand {
    /// PowerMTA accounting files (CSV with a header line): deliveries, bounces, deferrals and
    /// feedback-loop complaints.
    Pmta {
        #[command(flatten)]
        store: StoreArgs,
        /// Follow the directory an accounting file is written to: read every `.csv` file in it
        /// from where it was last read (kept in the database), and on as they grow and rotate,
        /// until stopped.
        #[arg(long)]
        follow: bool,
        /// The accounting files (with --follow, the one directory).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Postfix mail logs (syslog's, or Postfix's own `maillog_file`): sent, bounced, deferred and
    /// expired recipients.
    Postfix {
        #[command(flatten)]
        store: StoreArgs,
        /// Follow one live log: read on as it grows and across rotations, from where the last
        /// follower of the same path stopped (kept in the database), until stopped.
        #[arg(long)]
        follow: bool,
        /// The log files (with --follow, the one live log).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an API key and print its token (shown only now).
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        name: String,
        /// check, events:write, suppressions:read, suppressions:write or admin (repeatable).
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<KeyScope>,
    },
}

fn parse_scope(s: &str) -> Result<KeyScope, String> {
    KeyScope::parse(s).ok_or_else(|| {
        let all: Vec<&str> = KeyScope::ALL.iter().map(|k| k.as_str()).collect();
        format!("`{s}` is not a scope: use one of {}", all.join(", "))
    })
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain; exits with status 1 when it is broken.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_format(s: &str) -> Result<ImportFormat, String> {
    ImportFormat::parse(s).ok_or_else(|| format!("`{s}` is not a format: use text or csv"))
}

fn parse_reason(s: &str) -> Result<SuppressionReason, String> {
    SuppressionReason::parse(s).ok_or_else(|| {
        let all: Vec<&str> = SuppressionReason::ALL.iter().map(|r| r.as_str()).collect();
        format!("`{s}` is not a reason: use one of {}", all.join(", "))
    })
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// Directory for the embedded SQLite database (created if missing).
    #[arg(long, env = "REBOUND_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Use PostgreSQL instead of SQLite: postgres://user[:password]@host[:port]/database.
    #[arg(long, env = "REBOUND_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl StoreArgs {
    fn database(&self) -> Result<Database, StartError> {
        match &self.database_url {
            None => Ok(Database::Sqlite(self.data_dir.join("rebound.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(url.clone()))
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Ok(Database::Sqlite(PathBuf::from(path))),
                _ => Err(StartError::Usage("--database-url must be postgres://... or sqlite://PATH".to_owned())),
            },
        }
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address and port to listen on.
    #[arg(long, env = "REBOUND_LISTEN", default_value = "127.0.0.1:8025")]
    listen: SocketAddr,
    /// The built console (Trunk's output directory).
    #[arg(long, env = "REBOUND_CONSOLE_DIR", default_value = "dist")]
    console_dir: PathBuf,
    /// Mark session cookies Secure; set this when Rebound is reached over HTTPS.
    #[arg(long, env = "REBOUND_SECURE_COOKIES")]
    secure_cookies: bool,
    /// How long a staff session lasts, in hours.
    #[arg(long, env = "REBOUND_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    session_hours: u64,
    /// KumoMTA's HTTP listener (e.g. http://127.0.0.1:8000): pauses are mirrored there as
    /// suspensions. Repeat it (or separate with commas) for each node of a cluster.
    #[arg(long, env = "REBOUND_KUMO_URL", value_delimiter = ',')]
    kumo_url: Vec<String>,
    /// HTTP Basic user for KumoMTA's admin API.
    #[arg(long, env = "REBOUND_KUMO_USER")]
    kumo_user: Option<String>,
    /// HTTP Basic password for KumoMTA's admin API (prefer the environment variable).
    #[arg(long, env = "REBOUND_KUMO_PASSWORD", hide_env_values = true)]
    kumo_password: Option<String>,
    /// How long a KumoMTA suspension lasts if Rebound never lifts it.
    #[arg(long, env = "REBOUND_KUMO_SUSPEND_DURATION", default_value = "7d")]
    kumo_suspend_duration: String,
    /// Seconds between alert evaluations and outbox runs.
    #[arg(long, env = "REBOUND_MONITOR_INTERVAL", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    monitor_interval: u64,
    /// Address and port of the bounce mailbox's SMTP listener (e.g. 0.0.0.0:25): bounces, feedback
    /// reports and auto-replies sent there are ingested as events.
    #[arg(long, env = "REBOUND_SMTP_LISTEN")]
    smtp_listen: Option<SocketAddr>,
    /// A return-path domain the bounce mailbox accepts mail for (repeat for several).
    #[arg(long = "smtp-domain", env = "REBOUND_SMTP_DOMAINS", value_delimiter = ',')]
    smtp_domains: Vec<String>,
    /// The return-path local part: `bounces@DOMAIN`, and `bounces+USER=HOST@DOMAIN` (VERP) for USER@HOST.
    #[arg(long, env = "REBOUND_SMTP_VERP_LOCAL", default_value = "bounces")]
    smtp_verp_local: String,
    /// The name the SMTP listener greets with.
    #[arg(long, env = "REBOUND_SMTP_HOSTNAME", default_value = "localhost")]
    smtp_hostname: String,
    /// Largest message the bounce mailbox accepts, in bytes.
    #[arg(long, env = "REBOUND_SMTP_MAX_SIZE", default_value_t = 10 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=100 * 1024 * 1024))]
    smtp_max_size: u64,
    /// Messages one client address may send the bounce mailbox per minute.
    #[arg(long, env = "REBOUND_SMTP_RATE", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    smtp_rate: u32,
    /// PEM certificate chain for STARTTLS on the bounce mailbox (with --smtp-tls-key).
    #[arg(long, env = "REBOUND_SMTP_TLS_CERT", requires = "smtp_tls_key")]
    smtp_tls_cert: Option<PathBuf>,
    /// PEM private key of --smtp-tls-cert.
    #[arg(long, env = "REBOUND_SMTP_TLS_KEY", requires = "smtp_tls_cert")]
    smtp_tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The bounce mailbox's configuration, when `--smtp-listen` is given (it needs a domain).
    fn smtp(&self) -> Result<Option<crate::smtp::SmtpConfig>, StartError> {
        let Some(listen) = self.smtp_listen else {
            if !self.smtp_domains.is_empty() {
                return Err(StartError::Usage("--smtp-domain goes with --smtp-listen".to_owned()));
            }
            return Ok(None);
        };
        if self.smtp_domains.is_empty() {
            return Err(StartError::Usage("--smtp-listen needs at least one --smtp-domain".to_owned()));
        }
        let mut domains = Vec::new();
        for domain in &self.smtp_domains {
            match rebound_policy::normalize(domain.trim()) {
                Ok(target) if target.is_domain() => domains.push(target.domain().to_owned()),
                _ => return Err(StartError::Usage(format!("--smtp-domain: `{domain}` is not a domain"))),
            }
        }
        let local = self.smtp_verp_local.trim();
        if local.is_empty() || !local.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(StartError::Usage("--smtp-verp-local: letters, digits, - _ . only".to_owned()));
        }
        let tls = match (&self.smtp_tls_cert, &self.smtp_tls_key) {
            (Some(cert), Some(key)) => Some(crate::smtp::tls_config(cert, key).map_err(StartError::Usage)?),
            _ => None,
        };
        let rules = crate::smtp::protocol::Rules {
            hostname: self.smtp_hostname.clone(),
            domains,
            local: local.to_owned(),
            max_message: usize::try_from(self.smtp_max_size).unwrap_or(usize::MAX),
        };
        Ok(Some(crate::smtp::SmtpConfig { listen, rules, per_minute: self.smtp_rate, tls }))
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a staff account. Prints a generated password unless --password-stdin is given.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        username: String,
        /// admin, operator or viewer.
        #[arg(long, default_value = "admin", value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not a role: use admin, operator or viewer"))
}

/// Runs a parsed command to completion.
pub fn run(cli: Cli) -> Result<(), StartError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = || tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match cli.command {
        Command::Classify { lines: Some(source), .. } => crate::classify_cmd::lines(&source),
        Command::Classify { lines: None, paths } => crate::classify_cmd::files(&paths),
        Command::Serve(args) => runtime()?.block_on(serve(*args)),
        Command::User { command: UserCommand::Add { store, username, role, password_stdin } } => {
            runtime()?.block_on(add_user(store, username, role, password_stdin))
        }
        Command::Import { store, file, format, scope, reason } => {
            runtime()?.block_on(import_file(store, file, format, scope, reason))
        }
        Command::Export { store, format, scope, include_lifted } => {
            runtime()?.block_on(export_list(store, format, scope, include_lifted))
        }
        Command::Audit { command: AuditCommand::Verify { store } } => runtime()?.block_on(verify_audit(store)),
        Command::Key { command: KeyCommand::Add { store, name, scopes } } => {
            runtime()?.block_on(add_key(store, name, scopes))
        }
        Command::Ingest { command: IngestCommand::Pmta { store, follow: true, paths } } => match &paths[..] {
            [dir] => runtime()?.block_on(crate::ingest_cmd::follow_pmta(store.database()?, dir)),
            _ => Err(StartError::Usage("--follow follows one directory: name one".to_owned())),
        },
        Command::Ingest { command: IngestCommand::Pmta { store, follow: false, paths } } => {
            runtime()?.block_on(crate::ingest_cmd::run(crate::ingest_cmd::Mta::PowerMta, store.database()?, &paths))
        }
        Command::Ingest { command: IngestCommand::Postfix { store, follow: true, paths } } => match &paths[..] {
            [path] => runtime()?.block_on(crate::ingest_cmd::follow_postfix(store.database()?, path)),
            _ => Err(StartError::Usage("--follow follows one log: name one file".to_owned())),
        },
        Command::Ingest { command: IngestCommand::Postfix { store, follow: false, paths } } => {
            runtime()?.block_on(crate::ingest_cmd::run(crate::ingest_cmd::Mta::Postfix, store.database()?, &paths))
        }
    }
}

async fn import_file(
    store: StoreArgs,
    file: PathBuf,
    format: Option<ImportFormat>,
    scope: String,
    reason: SuppressionReason,
) -> Result<(), StartError> {
    let scope = crate::service::names::label("--scope", &scope).map_err(|e| StartError::Usage(e.to_string()))?;
    let format = format.unwrap_or(if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        ImportFormat::Csv
    } else {
        ImportFormat::Text
    });
    let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if file.as_os_str() == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(tokio::fs::File::open(&file).await?)
    };
    let store = crate::state::open_store(&store.database()?).await?;
    let job = store
        .create_import(&NewImport {
            format,
            scope: &scope,
            reason,
            created_by: &Actor::Cli.to_string(),
            now: crate::clock::system_now(),
        })
        .await?;
    let job = store
        .claim_import(job.id, crate::clock::system_now())
        .await?
        .ok_or_else(|| StartError::Usage("the import job was taken by another process".to_owned()))?;
    let started = std::time::Instant::now();
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match tokio::io::AsyncReadExt::read(&mut reader, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    });
    let job =
        crate::import::run(store.as_ref(), None, &crate::clock::Clock::default(), job, &Actor::Cli, Box::pin(chunks))
            .await?;
    eprintln!(
        "import {}: {} in {:.1} s: {} lines, {} created, {} reopened, {} unchanged, {} rejected",
        job.id,
        job.state,
        started.elapsed().as_secs_f64(),
        job.lines,
        job.created,
        job.reopened,
        job.unchanged,
        job.rejected
    );
    for line in job.rejected_lines.iter().take(20) {
        eprintln!("  line {}: {} ({})", line.line, line.text, line.error);
    }
    match job.error {
        Some(error) => Err(StartError::Usage(error)),
        None => Ok(()),
    }
}

async fn export_list(
    store: StoreArgs,
    format: ImportFormat,
    scope: Option<String>,
    include_lifted: bool,
) -> Result<(), StartError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let store = crate::state::open_store(&store.database()?).await?;
    let filter = crate::export::ExportFilter { scope, reason: None, include_lifted };
    let mut chunks = Box::pin(crate::export::stream(store, format, filter, crate::clock::system_now()));
    let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?).await?;
    }
    out.flush().await?;
    Ok(())
}

async fn add_key(store: StoreArgs, name: String, scopes: Vec<KeyScope>) -> Result<(), StartError> {
    let store = crate::state::open_store(&store.database()?).await?;
    let (key, token) = auth::create_api_key(store.as_ref(), &name, scopes, &Actor::Cli, crate::clock::system_now())
        .await
        .map_err(|e| StartError::Usage(e.to_string()))?;
    eprintln!("created key {} `{}`; its token is shown only now:", key.id, key.name);
    println!("{token}");
    Ok(())
}

async fn verify_audit(store: StoreArgs) -> Result<(), StartError> {
    let store = crate::state::open_store(&store.database()?).await?;
    let missing = store.missing_guards().await?;
    if !missing.is_empty() {
        println!("database guards MISSING: {}", missing.join(", "));
    }
    let result = rebound_store::audit::verify(store.as_ref()).await?;
    if result.ok && missing.is_empty() {
        println!("audit log intact: {} rows", result.rows);
        Ok(())
    } else if result.ok {
        println!("audit log chain intact ({} rows), but unguarded: it can be rewritten", result.rows);
        std::process::exit(1);
    } else {
        let id = result.first_bad_id.map_or_else(|| "?".to_owned(), |id| id.to_string());
        println!("audit log BROKEN at row {id} (after {} rows)", result.rows);
        std::process::exit(1);
    }
}

async fn serve(args: ServeArgs) -> Result<(), StartError> {
    let smtp = args.smtp()?;
    let config = Config {
        listen: args.listen,
        database: args.store.database()?,
        console_dir: args.console_dir,
        secure_cookies: args.secure_cookies,
        session_ttl: Duration::from_secs(args.session_hours * 3600),
        kumo: (!args.kumo_url.is_empty()).then(|| KumoConfig {
            urls: args.kumo_url.iter().map(|url| url.trim().trim_end_matches('/').to_owned()).collect(),
            username: args.kumo_user,
            password: args.kumo_password,
            duration: args.kumo_suspend_duration,
        }),
        monitor_interval: Duration::from_secs(args.monitor_interval),
        smtp,
    };
    if !config.console_dir.join("index.html").is_file() {
        tracing::warn!(dir = %config.console_dir.display(), "console not built: run scripts/run.sh, or trunk build --release");
    }
    let state = AppState::open(config).await?;
    let first_admin = create_first_admin(&state).await?;
    let listener = tokio::net::TcpListener::bind(state.config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: state.config.listen, source })?;
    let addr = listener.local_addr()?;
    if let Some(smtp) = state.config.smtp.clone() {
        let smtp_listener = tokio::net::TcpListener::bind(smtp.listen)
            .await
            .map_err(|source| StartError::Listen { addr: smtp.listen, source })?;
        tracing::info!(addr = %smtp_listener.local_addr()?, domains = ?smtp.rules.domains, "bounce mailbox listening");
        tokio::spawn(crate::smtp::serve(smtp_listener, state.clone(), smtp));
    }
    print_banner(addr, first_admin.as_deref());
    tracing::info!(%addr, database = ?state.config.database, "serving");
    crate::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// On a database without users, creates `admin` with a generated password and returns the password
/// so it can be shown once.
async fn create_first_admin(state: &AppState) -> Result<Option<String>, StartError> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let password = auth::generate_password();
    let hash = auth::hash_password(&password).map_err(|e| StartError::Usage(e.to_string()))?;
    let admin = NewUser { username: "admin", password_hash: &hash, role: Role::Admin, now: crate::clock::system_now() };
    rebound_store::ops::create_user(state.store.as_ref(), &admin, &Actor::System).await?;
    Ok(Some(password))
}

fn print_banner(addr: SocketAddr, first_admin_password: Option<&str>) {
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    let url = if addr.is_ipv6() {
        format!("http://[{host}]:{}/", addr.port())
    } else {
        format!("http://{host}:{}/", addr.port())
    };
    println!("\nRebound is running at {url}");
    match first_admin_password {
        Some(password) => println!(
            "First login: user `admin`, password `{password}`\n\
             (generated for this new database and shown only now; add more accounts with `rebound user add`)\n"
        ),
        None => println!("Sign in with your staff account (create one with `rebound user add`).\n"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn add_user(store: StoreArgs, username: String, role: Role, password_stdin: bool) -> Result<(), StartError> {
    let username = username.trim().to_owned();
    if username.is_empty() || username.len() > 64 {
        return Err(StartError::Usage("--username must be 1 to 64 characters".to_owned()));
    }
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (auth::generate_password(), true)
    };
    if password.chars().count() < crate::service::accounts::MIN_PASSWORD {
        return Err(StartError::Usage(format!(
            "passwords must have at least {} characters",
            crate::service::accounts::MIN_PASSWORD
        )));
    }
    let hash = auth::hash_password(&password).map_err(|e| StartError::Usage(e.to_string()))?;
    let store = crate::state::open_store(&store.database()?).await?;
    let new = NewUser { username: &username, password_hash: &hash, role, now: crate::clock::system_now() };
    rebound_store::ops::create_user(store.as_ref(), &new, &Actor::Cli).await?;
    println!("created {} `{username}`", role.as_str());
    if generated {
        println!("password: {password}");
    }
    Ok(())
}
