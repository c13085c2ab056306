//! Test fixtures: databases (a temporary SQLite file; a fresh PostgreSQL database per test) and
//! the real application served on an ephemeral loopback port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use rebound_api::v1::Role;
use rebound_server::AppState;
use rebound_server::config::{Config, Database};
use rebound_store::NewUser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database created for one test, removed when the test is over.
pub struct TestDatabase {
    pub database: Database,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

/// The PostgreSQL server used by tests: `REBOUND_TEST_POSTGRES_URL`, by default the `test`
/// database these machines provide. Tests on it fail, never skip, when it is unreachable, unless
/// `REBOUND_SKIP_POSTGRES=1` says to leave PostgreSQL out on purpose.
fn postgres_admin_url() -> Option<String> {
    if std::env::var("REBOUND_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        return None;
    }
    Some(
        std::env::var("REBOUND_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
    )
}

pub fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}_{:08x}", std::process::id(), nanos, rand::random::<u32>())
}

impl TestDatabase {
    /// Creates a fresh database; `None` only when PostgreSQL was explicitly opted out of.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("rebound-test-{}", unique_suffix()));
                std::fs::create_dir_all(&dir).unwrap();
                Some(Self { database: Database::Sqlite(dir.join("rebound.db")), cleanup: Cleanup::Dir(dir) })
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url()?;
                let name = format!("rebound_t_{}", unique_suffix());
                let mut conn = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is unreachable at {admin_url} ({e}). Start it, point REBOUND_TEST_POSTGRES_URL \
                         at one, or set REBOUND_SKIP_POSTGRES=1 to leave the PostgreSQL tests out"
                    )
                });
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("REBOUND_TEST_POSTGRES_URL must end with /DATABASE: {admin_url}"),
                };
                Some(Self { database: Database::Postgres(url), cleanup: Cleanup::PgDatabase { admin_url, name } })
            }
        }
    }

    /// Removes the database. Called at the end of each test; a failed test leaves its database
    /// behind for inspection.
    pub async fn drop_database(self) {
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let mut conn = PgConnection::connect(&admin_url).await.unwrap();
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
            }
        }
    }
}

/// Runs `test` on a fresh database of `backend`, then removes it (a failed test leaves it for
/// inspection). PostgreSQL tests pass without running when `REBOUND_SKIP_POSTGRES=1`.
pub async fn on_database(backend: Backend, test: impl AsyncFnOnce(&TestDatabase)) {
    let Some(db) = TestDatabase::create(backend).await else {
        eprintln!("PostgreSQL left out: REBOUND_SKIP_POSTGRES=1");
        return;
    };
    test(&db).await;
    db.drop_database().await;
}

/// `on_database` with the server started on that database (and stopped before it is removed).
pub async fn on_server(backend: Backend, test: impl AsyncFnOnce(&TestServer)) {
    on_database(backend, async |db| {
        let server = TestServer::start(db, None).await;
        test(&server).await;
    })
    .await;
}

/// The real application on a real socket.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The bounce mailbox's SMTP listener, when the configuration has one.
    pub smtp: Option<SocketAddr>,
    pub state: AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Serves the app on `127.0.0.1:0` with an admin account (`ADMIN` / `ADMIN_PASSWORD`).
    pub async fn start(db: &TestDatabase, console_dir: Option<PathBuf>) -> Self {
        Self::start_with(db, |config| {
            if let Some(dir) = console_dir {
                config.console_dir = dir;
            }
        })
        .await
    }

    /// `start` with a configuration adjusted by `configure`.
    pub async fn start_with(db: &TestDatabase, configure: impl FnOnce(&mut Config)) -> Self {
        let server = Self::serve(db, configure).await;
        let hash = rebound_server::auth::hash_password(ADMIN_PASSWORD).unwrap();
        let admin = NewUser { username: ADMIN, password_hash: &hash, role: Role::Admin, now: 0 };
        rebound_store::ops::create_user(server.state.store.as_ref(), &admin, &rebound_store::Actor::System)
            .await
            .unwrap();
        server
    }

    /// Another server on the same database (no account created).
    pub async fn replica(db: &TestDatabase, console_dir: Option<PathBuf>) -> Self {
        Self::serve(db, |config| {
            if let Some(dir) = console_dir {
                config.console_dir = dir;
            }
        })
        .await
    }

    async fn serve(db: &TestDatabase, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::defaults(db.database.clone());
        configure(&mut config);
        let state = AppState::open(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = state.clone();
        let mut tasks = vec![tokio::spawn(async move {
            let _ = rebound_server::serve(listener, served, std::future::pending()).await;
        })];
        let mut smtp = None;
        if let Some(config) = state.config.smtp.clone() {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            smtp = Some(listener.local_addr().unwrap());
            tasks.push(tokio::spawn(rebound_server::smtp::serve(listener, state.clone(), config)));
        }
        Self { addr, smtp, state, tasks }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client that keeps cookies, like a browser.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).build().unwrap()
    }

    /// A client signed in as the admin.
    pub async fn admin_client(&self) -> reqwest::Client {
        let client = self.client();
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
        client
    }
}

impl TestServer {
    /// Creates a staff account with `role` and returns a client signed in as it.
    pub async fn client_with_role(&self, username: &str, role: Role) -> reqwest::Client {
        let hash = rebound_server::auth::hash_password(ADMIN_PASSWORD).unwrap();
        let user = NewUser { username, password_hash: &hash, role, now: 0 };
        rebound_store::ops::create_user(self.state.store.as_ref(), &user, &rebound_store::Actor::System).await.unwrap();
        let client = self.client();
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        client
    }

    /// Creates an API key with `scopes` (as the admin) and returns its token.
    pub async fn api_key(&self, name: &str, scopes: &[&str]) -> String {
        let admin = self.admin_client().await;
        let response = admin
            .post(self.url("/api/v1/keys"))
            .header("X-Rebound-Csrf", "1")
            .json(&serde_json::json!({ "name": name, "scopes": scopes }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }
}

/// A direct connection to a test's database, to try what the API never does.
pub enum RawDatabase {
    Sqlite(sqlx::SqliteConnection),
    Postgres(PgConnection),
}

impl RawDatabase {
    pub async fn connect(database: &Database) -> Self {
        match database {
            Database::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                RawDatabase::Sqlite(sqlx::SqliteConnection::connect(&url).await.unwrap())
            }
            Database::Postgres(url) => RawDatabase::Postgres(PgConnection::connect(url).await.unwrap()),
        }
    }

    /// Runs a statement; the database's error message on failure.
    pub async fn execute(&mut self, statement: &str) -> Result<(), String> {
        let result = match self {
            RawDatabase::Sqlite(conn) => conn.execute(statement).await.map(drop),
            RawDatabase::Postgres(conn) => conn.execute(statement).await.map(drop),
        };
        result.map_err(|e| e.to_string())
    }

    /// The first column of the one row a query returns, as bytes.
    pub async fn fetch_bytes(&mut self, query: &str) -> Vec<u8> {
        match self {
            RawDatabase::Sqlite(conn) => sqlx::query_scalar(query).fetch_one(conn).await.unwrap(),
            RawDatabase::Postgres(conn) => sqlx::query_scalar(query).fetch_one(conn).await.unwrap(),
        }
    }
}

/// The status and the `error` object of an error response.
pub async fn error_of(response: reqwest::Response) -> (reqwest::StatusCode, serde_json::Value) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("error bodies are JSON");
    (status, body["error"].clone())
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A caller of the API: a bearer token, or a signed-in browser-like client.
pub struct Api<'s> {
    pub server: &'s TestServer,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

impl<'s> Api<'s> {
    pub fn key(server: &'s TestServer, token: String) -> Self {
        Self { server, client: reqwest::Client::new(), token: Some(token) }
    }

    pub async fn admin(server: &'s TestServer) -> Self {
        Self { server, client: server.admin_client().await, token: None }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.server.url(path)).header("X-Rebound-Csrf", "1");
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::PUT, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    /// Posts events and returns the results, asserting success.
    pub async fn events(&self, events: Value) -> Vec<Value> {
        let (status, body) = self.post("/api/v1/events", json!({ "events": events })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"].as_array().unwrap().clone()
    }

    pub async fn suppressed(&self, email: &str, scope: Option<&str>) -> bool {
        let mut path = format!("/api/v1/check?email={}", urlencode(email));
        if let Some(scope) = scope {
            path.push_str(&format!("&scope={scope}"));
        }
        let (status, body) = self.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["suppressed"].as_bool().unwrap()
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
