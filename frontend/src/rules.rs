//! The classifier the console runs: the server's policy (staff rules and the reason → kind table)
//! compiled in the browser, so a pasted bounce gets the verdict the server would give it. The last
//! policy read is kept in localStorage, so classification keeps the server's rules when the
//! network or the server is down.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::Policy;
use rebound_core::Classifier;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::pages::common::when;

const STORAGE_KEY: &str = "rebound.policy";

/// Where the rules in use came from.
#[derive(Debug, Clone, PartialEq)]
pub enum RulesSource {
    /// No policy was ever read: the built-in rules and kind table.
    Builtin,
    /// Read from the server just now.
    Server { read_at: i64 },
    /// The last policy read, because the server could not be asked (`why`).
    Cached { read_at: i64, why: String },
}

impl RulesSource {
    /// A sentence for the page, saying whose rules classify and since when.
    pub fn describe(&self) -> String {
        match self {
            RulesSource::Builtin => "Built-in rules (sign in to use the server's rules).".to_owned(),
            RulesSource::Server { read_at } => format!("The server's rules, read {}.", when(*read_at)),
            RulesSource::Cached { read_at, why } => {
                format!("The server's rules as last read, {} ({why}).", when(*read_at))
            }
        }
    }
}

/// A compiled classifier and where its rules came from.
#[derive(Clone)]
pub struct Rules {
    /// `None`: the built-in classifier.
    custom: Option<Arc<Classifier>>,
    pub source: RulesSource,
}

impl Rules {
    pub fn classifier(&self) -> &Classifier {
        self.custom.as_deref().unwrap_or(Classifier::builtin())
    }
}

/// What localStorage keeps: the policy and when it was read (Unix seconds).
#[derive(Serialize, Deserialize)]
struct Stored {
    policy: Policy,
    read_at: i64,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn load() -> Option<Stored> {
    let text = storage()?.get_item(STORAGE_KEY).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

fn save(stored: &Stored) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(stored)) {
        // A full or disabled storage only costs the offline copy.
        let _ = storage.set_item(STORAGE_KEY, &text);
    }
}

/// The policy's classifier, or the built-in one when the policy does not compile (it was
/// validated when saved, so only a newer console's rule language could cause that).
fn compile(policy: &Policy) -> Option<Arc<Classifier>> {
    policy.classifier().ok().map(Arc::new)
}

/// The rules to classify with: the cached policy at once, then the server's when it answers.
pub fn use_rules() -> RwSignal<Rules> {
    let cached = load();
    let initial = match &cached {
        Some(stored) => Rules {
            custom: compile(&stored.policy),
            source: RulesSource::Cached { read_at: stored.read_at, why: "asking the server…".to_owned() },
        },
        None => Rules { custom: None, source: RulesSource::Builtin },
    };
    let rules = RwSignal::new(initial);
    spawn_local(async move {
        match api::policy().await {
            Ok(policy) => {
                let read_at = (js_sys::Date::now() / 1000.0) as i64;
                rules.try_set(Rules { custom: compile(&policy), source: RulesSource::Server { read_at } });
                save(&Stored { policy, read_at });
            }
            Err(failure) => {
                let source = match cached {
                    Some(stored) => RulesSource::Cached { read_at: stored.read_at, why: failure.message },
                    None => RulesSource::Builtin,
                };
                rules.try_update(|r| r.source = source);
            }
        }
    });
    rules
}
