//! The dependency invariants of ARCHITECTURE.md, checked on the real dependency graph
//! (`cargo metadata`), and the migration sets of the two databases kept in step.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use cargo_metadata::{DependencyKind, MetadataCommand, Node, PackageId};

/// Crates that mean I/O, an async runtime, HTTP serving or SQL.
const SERVER_ONLY: &[&str] = &["tokio", "sqlx", "sqlx-core", "axum", "axum-core", "hyper", "mio", "tower-http"];

struct Graph {
    names: HashMap<PackageId, String>,
    nodes: HashMap<PackageId, Node>,
}

impl Graph {
    /// The graph as resolved for one target platform, so that platform-specific dependencies count
    /// only where they are built.
    fn load(platform: &str) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let metadata = MetadataCommand::new()
            .current_dir(root)
            .other_options(vec!["--filter-platform".to_owned(), platform.to_owned()])
            .exec()
            .expect("cargo metadata runs");
        let names = metadata.packages.iter().map(|p| (p.id.clone(), p.name.to_string())).collect();
        let resolve = metadata.resolve.expect("metadata has a resolved graph");
        let nodes = resolve.nodes.into_iter().map(|n| (n.id.clone(), n)).collect();
        Self { names, nodes }
    }

    fn id_of(&self, name: &str) -> PackageId {
        self.names
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no package {name}"))
    }

    /// Every package a package pulls in when built (normal and build dependencies, all targets).
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id_of(name)];
        while let Some(id) = stack.pop() {
            for dep in &self.nodes[&id].deps {
                let builds_with = dep.dep_kinds.iter().any(|k| k.kind != DependencyKind::Development);
                if builds_with && seen.insert(self.names[&dep.pkg].clone()) {
                    stack.push(dep.pkg.clone());
                }
            }
        }
        seen
    }

    /// Workspace packages that depend directly on `name` (tests excluded).
    fn direct_dependents(&self, name: &str) -> BTreeSet<String> {
        let target = self.id_of(name);
        self.nodes
            .values()
            .filter(|n| {
                n.deps.iter().any(|d| d.pkg == target && d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
            })
            .map(|n| self.names[&n.id].clone())
            .collect()
    }
}

const WASM: &str = "wasm32-unknown-unknown";

/// The triple of the machine running the tests, as rustc reports it.
fn host() -> String {
    let out = std::process::Command::new("rustc").arg("-vV").output().expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host")
}

fn assert_no_server_machinery(graph: &Graph, package: &str, platform: &str) {
    let bad: Vec<_> = graph
        .closure(package)
        .into_iter()
        .filter(|dep| {
            SERVER_ONLY.contains(&dep.as_str()) || dep.starts_with("rebound-store") || dep == "rebound-server"
        })
        .collect();
    assert!(bad.is_empty(), "{package} depends on {bad:?} when built for {platform}");
}

#[test]
fn browser_crates_pull_in_no_server_machinery() {
    let wasm = Graph::load(WASM);
    for package in ["rebound-core", "rebound-api", "rebound-console"] {
        assert_no_server_machinery(&wasm, package, WASM);
    }
    let triple = host();
    let host = Graph::load(&triple);
    for package in ["rebound-core", "rebound-api", "rebound-policy", "rebound-monitor"] {
        assert_no_server_machinery(&host, package, &triple);
    }
    assert!(
        host.closure("rebound-core").iter().all(|d| !d.starts_with("rebound-")),
        "core depends on no other rebound crate"
    );
}

#[test]
fn only_the_server_depends_on_the_stores() {
    let graph = Graph::load(&host());
    for store in ["rebound-store-sqlite", "rebound-store-postgres"] {
        assert_eq!(graph.direct_dependents(store), BTreeSet::from(["rebound-server".to_owned()]), "{store}");
    }
    let trait_users = graph.direct_dependents("rebound-store");
    let allowed = ["rebound-server", "rebound-store-sqlite", "rebound-store-postgres"];
    assert!(trait_users.iter().all(|p| allowed.contains(&p.as_str())), "{trait_users:?}");
}

/// Routes parse and authorize, then call `service`; nothing but the router (`lib.rs`) and the
/// routes themselves uses a route, so the CLI and the log readers run the same code as the API.
#[test]
fn no_code_outside_the_routes_depends_on_a_route() {
    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "{} files", files.len());
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("routes")) && f.as_path() != src.join("lib.rs"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|line| !line.trim_start().starts_with("//") && line.contains("routes::"))
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert_eq!(offenders, Vec::<String>::new(), "modules that use a route");
}

#[test]
fn both_databases_have_the_same_migration_versions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let versions = |db: &str| -> BTreeSet<String> {
        std::fs::read_dir(root.join(db))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect()
    };
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("postgres"));
}
