//! The bounce mailbox: `rebound serve --smtp-listen ADDR --smtp-domain DOMAIN` receives the
//! out-of-band bounces (DSNs and the ad-hoc notices of real MTAs), feedback-loop reports (ARF) and
//! auto-replies that come back to the senders' return path, and ingests each message as an event
//! like `POST /events` with a bounce email would.
//!
//! `protocol` holds the conversation (which commands, which recipients, which limits), `verp` the
//! decoding of a VERP return path. This module does the I/O: one task per connection, lines read
//! with a length limit and an idle timeout, the message read to its terminating dot (dot-stuffing
//! undone, the size limit enforced while reading), then classified and stored before the `250`:
//! a `250` means the event is on disk, and a store that cannot write answers `451` so the sending
//! MTA tries again. A message sent again after a lost `250` is recognised by its digest (the
//! event's idempotency key) and recorded once. Each client address may start a limited number of
//! messages a minute.

pub mod protocol;
pub mod verp;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rebound_api::v1::EventInput;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use self::protocol::{Envelope, MAX_COMMAND_LINE, Next, Rules, Session};
use crate::AppState;
use crate::auth::Principal;
use crate::service::events::{BadItems, Mode, ingest_checked};

/// A client that says nothing for this long is disconnected (RFC 5321 suggests 5 minutes).
const IDLE: Duration = Duration::from_secs(300);
/// Connections served at once; more wait for a free one.
const MAX_CONNECTIONS: usize = 256;

/// What `rebound serve --smtp-*` configured.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub listen: SocketAddr,
    pub rules: Rules,
    /// Messages one client address may start per minute.
    pub per_minute: u32,
    /// The certificate STARTTLS presents; STARTTLS is offered only with one (`rules.tls`).
    pub tls: Option<Arc<ServerConfig>>,
}

/// A TLS configuration from PEM files: the certificate chain, and its private key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map(Arc::new)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))
}

/// Counts the messages each client address started in the current minute.
#[derive(Debug, Default)]
struct RateLimit {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    fn allow(&self, ip: IpAddr, per_minute: u32) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            (*start, *count) = (now, 0);
        }
        *count += 1;
        *count <= per_minute
    }
}

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, state: AppState, config: SmtpConfig) {
    let rules = Arc::new(config.rules);
    let limit = Arc::new(RateLimit::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "smtp accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = Connection {
            state: state.clone(),
            session: Session::new(rules.clone(), config.tls.is_some()),
            limit: limit.clone(),
            per_minute: config.per_minute,
            tls: config.tls.clone(),
            peer,
        };
        tokio::spawn(async move {
            if let Err(e) = connection.run(stream).await {
                tracing::debug!(%peer, error = %e, "smtp connection ended");
            }
            drop(permit);
        });
    }
}

struct Connection {
    state: AppState,
    session: Session,
    limit: Arc<RateLimit>,
    per_minute: u32,
    tls: Option<Arc<ServerConfig>>,
    peer: SocketAddr,
}

/// How a conversation ended.
enum Ended {
    Closed,
    /// The client asked for TLS and was told to go ahead.
    StartTls,
}

/// How a message's reading ended.
enum Body {
    Complete(Vec<u8>),
    TooBig,
}

impl Connection {
    /// Serves one connection; after STARTTLS, the rest of it over TLS. Whatever the client sent
    /// after its STARTTLS line, before the handshake, is dropped unread (RFC 3207: a command
    /// injected in the clear must not be taken as sent under TLS).
    async fn run(mut self, stream: TcpStream) -> std::io::Result<()> {
        let mut plain = BufReader::new(stream);
        plain.get_mut().write_all(self.session.greeting().as_bytes()).await?;
        if let Ended::StartTls = self.converse(&mut plain).await? {
            let Some(tls) = self.tls.clone() else { return Ok(()) };
            let secure = TlsAcceptor::from(tls).accept(plain.into_inner()).await?;
            self.session.tls_started();
            self.converse(&mut BufReader::new(secure)).await?;
        }
        Ok(())
    }

    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut BufReader<S>,
    ) -> std::io::Result<Ended> {
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            if !read_line(stream, &mut line, MAX_COMMAND_LINE).await? {
                stream.get_mut().write_all(b"500 5.5.2 Line too long\r\n").await?;
                continue;
            }
            if line.is_empty() {
                return Ok(Ended::Closed);
            }
            let command = line.strip_suffix(b"\n").unwrap_or(&line);
            let command = command.strip_suffix(b"\r").unwrap_or(command);
            let (ip, per_minute, limit) = (self.peer.ip(), self.per_minute, &self.limit);
            let next = self.session.command(command, || limit.allow(ip, per_minute));
            match next {
                Next::Reply(text) => stream.get_mut().write_all(text.as_bytes()).await?,
                Next::StartTls(text) => {
                    stream.get_mut().write_all(text.as_bytes()).await?;
                    return Ok(Ended::StartTls);
                }
                Next::Close(text) => {
                    stream.get_mut().write_all(text.as_bytes()).await?;
                    stream.get_mut().shutdown().await?;
                    return Ok(Ended::Closed);
                }
                Next::Data(text, envelope) => {
                    stream.get_mut().write_all(text.as_bytes()).await?;
                    let max = self.session.max_message();
                    let answer = match read_body(stream, max).await? {
                        Body::TooBig => format!("552 5.3.4 Message too big: the limit is {max} bytes\r\n"),
                        Body::Complete(raw) => self.ingest(&envelope, raw).await,
                    };
                    self.session.message_done();
                    stream.get_mut().write_all(answer.as_bytes()).await?;
                }
            }
        }
    }

    /// Classifies and stores one message; the reply says whether it is on disk.
    async fn ingest(&self, envelope: &Envelope, raw: Vec<u8>) -> String {
        // The same message to the same (decoded) recipient is the same event, sent again.
        let recipient = envelope.recipients.iter().find_map(|r| r.decoded.clone());
        let mut hasher = Sha256::new();
        hasher.update(recipient.as_deref().unwrap_or_default());
        hasher.update([0]);
        hasher.update(&raw);
        let digest = hex::encode(hasher.finalize());
        let item = EventInput {
            recipient,
            message_base64: Some(base64::engine::general_purpose::STANDARD.encode(&raw)),
            source: Some("smtp".to_owned()),
            idempotency_key: Some(format!("smtp:{digest}")),
            ..EventInput::default()
        };
        let mode =
            Mode { single: true, bad: BadItems::Refuse, given_recipient_first: true, mark_deliveries: false, limit: 1 };
        match ingest_checked(&self.state, &Principal::Mailbox, std::slice::from_ref(&item), mode).await {
            Ok((response, _)) => {
                let ids: Vec<String> = response.results.iter().map(|r| r.event_id.to_string()).collect();
                tracing::info!(peer = %self.peer, events = ?ids, "bounce mailbox: message stored");
                format!("250 2.0.0 Stored as event {}\r\n", if ids.is_empty() { "-".to_owned() } else { ids.join(",") })
            }
            Err(e) if e.is_client_error() => {
                tracing::info!(peer = %self.peer, error = %e, "bounce mailbox: message refused");
                format!("554 5.6.0 {}\r\n", one_line(&e.to_string()))
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "bounce mailbox: message not stored");
                "451 4.3.0 The message could not be stored: try again later\r\n".to_owned()
            }
        }
    }
}

/// A reply text on one line.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(400).collect()
}

/// Reads one line (through its `\n`) of at most `max` bytes into `line`. `false`: the line was
/// longer, and was read to its end and dropped. An empty `line`: the client closed the connection.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<bool> {
    let mut too_long = false;
    loop {
        let buffer = tokio::time::timeout(IDLE, reader.fill_buf())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if buffer.is_empty() {
            return Ok(!too_long);
        }
        let (chunk, done) = match memchr::memchr(b'\n', buffer) {
            Some(end) => (&buffer[..=end], true),
            None => (buffer, false),
        };
        let taken = chunk.len();
        if !too_long && line.len() + taken <= max {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line.clear();
        }
        reader.consume(taken);
        if done {
            return Ok(!too_long);
        }
    }
}

/// Reads a message up to the line holding a single dot, undoing dot-stuffing (RFC 5321 4.5.2).
/// Past `max` bytes the rest is read and dropped, so the conversation stays in step.
async fn read_body<R: AsyncBufReadExt + Unpin>(reader: &mut R, max: usize) -> std::io::Result<Body> {
    let mut message = Vec::new();
    let mut line = Vec::new();
    let mut too_big = false;
    loop {
        line.clear();
        if !read_line(reader, &mut line, max.saturating_add(2)).await? {
            too_big = true;
            message = Vec::new();
            continue;
        }
        if line.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in DATA"));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(if too_big { Body::TooBig } else { Body::Complete(message) });
        }
        let text = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + text.len() > max {
            too_big = true;
            message = Vec::new();
        }
        if !too_big {
            message.extend_from_slice(text);
        }
    }
}
