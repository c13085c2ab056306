//! Rebound's stand-in for `leptos_config`, written for the console's build.
//!
//! `leptos` depends on `leptos_config` for the options its server-side integrations read from a
//! Cargo.toml (`LeptosOptions`) and names those types in its hydration components. The published
//! crate parses that file with the `regex` crate at its default features, and Cargo unifies
//! features per package across a build: that one dependency switched on regex-syntax's Unicode
//! tables and regex-automata's DFA engines in the browser build of `rebound-core`, about 90 KB of
//! the brotli-compressed console. The console is client-side only and never reads a Leptos
//! configuration, so this crate provides just the types `leptos` refers to, as plain data.
//!
//! Replace it with the published crate (drop the `[patch.crates-io]` entry) if the console ever
//! needs server-side rendering, or once `leptos_config` makes `regex` optional.

use std::sync::Arc;

/// The protocol of the development auto-reload websocket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReloadWSProtocol {
    #[default]
    WS,
    WSS,
}

/// The options `leptos`'s hydration components read. Only a server builds one; the console never
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeptosOptions {
    pub output_name: Arc<str>,
    pub site_root: Arc<str>,
    pub site_pkg_dir: Arc<str>,
    pub reload_port: u32,
    pub reload_external_port: Option<u32>,
    pub reload_ws_protocol: ReloadWSProtocol,
    pub hash_file: Arc<str>,
    pub hash_files: bool,
}
