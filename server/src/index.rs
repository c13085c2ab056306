//! The pre-send index: every suppression in force, in memory, so that `GET /check` — on the MTA's
//! hot path — answers without touching the database.
//!
//! Entries are keyed by a 128-bit hash of `scope NUL key` (two independently keyed SipHash
//! values), which keeps about 48 bytes per entry: a million suppressions fit in ~60 MB, and the
//! chance that any check meets a false collision is about n / 2^128. The hash keys are random per
//! process, so they cannot be chosen by an attacker.
//!
//! Coherence: the index is loaded in full before the server accepts connections, every write this
//! process commits is applied to it right after the commit (`apply`), and on PostgreSQL a listener
//! task applies the changes other replicas announce (`follow`); when notifications may have been
//! missed, the index is rebuilt from the database.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, RwLock};

use rebound_api::v1::{CheckHit, Suppression, SuppressionReason};
use rebound_policy::{GLOBAL_SCOPE, Target};
use rebound_store::{IndexEntry, Store, StoreError};

/// What the index keeps of one entry.
#[derive(Debug, Clone, Copy)]
struct Hit {
    id: i64,
    since: i64,
    /// 0 when it never expires.
    expires_at: i64,
    reason: SuppressionReason,
}

/// u128 keys are already uniformly random: use their low bits as the table hash.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type Map = HashMap<u128, Hit, BuildHasherDefault<PassThrough>>;

/// The shared index.
pub struct SuppressionIndex {
    hashers: (RandomState, RandomState),
    map: RwLock<Map>,
    /// Woken whenever the index takes changes (this process's commits, or other replicas' as
    /// their notifications arrive): what a long poll of the change feed waits for.
    changed: tokio::sync::Notify,
}

const LOAD_PAGE: u32 = 20_000;

impl SuppressionIndex {
    /// Loads every active entry from the store.
    pub async fn load(store: &dyn Store) -> Result<Arc<Self>, StoreError> {
        let index = Self::empty();
        index.reload(store).await?;
        Ok(index)
    }

    /// An index holding nothing: for a command that writes to the list and answers no check.
    pub fn empty() -> Arc<Self> {
        Arc::new(Self {
            hashers: (RandomState::new(), RandomState::new()),
            map: RwLock::default(),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// Rebuilds the whole index from the store, then swaps it in.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let mut map = Map::default();
        let mut after = 0;
        loop {
            let page = store.active_suppressions(after, LOAD_PAGE).await?;
            for entry in &page {
                map.insert(self.hash(&entry.scope, &entry.key), hit(entry));
                after = entry.id;
            }
            if page.len() < LOAD_PAGE as usize {
                break;
            }
        }
        map.shrink_to_fit();
        *self.write() = map;
        self.changed.notify_waiters();
        Ok(())
    }

    /// A wait for the next change the index takes. Create it before looking at the store, so
    /// that a change committed in between is not missed.
    pub fn next_change(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    fn hash(&self, scope: &str, key: &str) -> u128 {
        self.hash_parts(scope, &[key])
    }

    /// The hash of `scope NUL` followed by the concatenated `key` parts, so `@domain` can be
    /// probed without building the string.
    fn hash_parts(&self, scope: &str, key: &[&str]) -> u128 {
        let one = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(scope.as_bytes());
            h.write_u8(0);
            for part in key {
                h.write(part.as_bytes());
            }
            h.finish()
        };
        (u128::from(one(&self.hashers.0)) << 64) | u128::from(one(&self.hashers.1))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies entries whose state changed (active ones are added, lifted ones removed).
    pub fn apply_entries(&self, entries: &[IndexEntry]) {
        let mut map = self.write();
        for entry in entries {
            let key = self.hash(&entry.scope, &entry.key);
            if entry.active {
                map.insert(key, hit(entry));
            } else {
                map.remove(&key);
            }
        }
        drop(map);
        self.changed.notify_waiters();
    }

    /// Entries in force (all scopes).
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies suppressions this process just committed.
    pub fn apply(&self, changed: &[Suppression]) {
        let entries: Vec<IndexEntry> = changed.iter().filter_map(index_entry).collect();
        self.apply_entries(&entries);
    }

    /// The entries in force for `target` in `scope` (the global list always applies), at `now`.
    pub fn check(&self, target: &Target, scope: &str, now: i64) -> Vec<CheckHit> {
        let domain_key: [&str; 2] = ["@", target.domain()];
        let address_key = [target.key()];
        let keys: &[(&[&str], bool)] =
            if target.is_domain() { &[(&domain_key, true)] } else { &[(&address_key, false), (&domain_key, true)] };
        let scopes: &[&str] = if scope == GLOBAL_SCOPE { &[GLOBAL_SCOPE] } else { &[GLOBAL_SCOPE, scope] };
        let map = self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut hits = Vec::new();
        for &scope in scopes {
            for &(key, domain_wide) in keys {
                if let Some(hit) = map.get(&self.hash_parts(scope, key))
                    && (hit.expires_at == 0 || hit.expires_at > now)
                {
                    hits.push(CheckHit {
                        suppression_id: hit.id,
                        scope: scope.to_owned(),
                        reason: hit.reason,
                        domain_wide,
                        since: hit.since,
                    });
                }
            }
        }
        hits
    }

    /// Follows the store's change feed until it ends, keeping the index coherent with changes
    /// made by other replicas. Errors are logged and the feed is re-opened after a pause.
    pub async fn follow(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            match store.change_feed().await {
                Ok(None) => return,
                Ok(Some(mut feed)) => {
                    if let Err(e) = self.reload(store.as_ref()).await {
                        tracing::error!(error = %e, "reloading the suppression index failed");
                    }
                    loop {
                        match feed.next().await {
                            Ok(Some(ids)) => match store.suppressions_by_ids(&ids).await {
                                Ok(entries) => self.apply_entries(&entries),
                                Err(e) => {
                                    tracing::error!(error = %e, "refreshing changed suppressions failed");
                                    break;
                                }
                            },
                            Ok(None) => {
                                if let Err(e) = self.reload(store.as_ref()).await {
                                    tracing::error!(error = %e, "reloading the suppression index failed");
                                    break;
                                }
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "the suppression change feed failed");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot open the suppression change feed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

fn hit(entry: &IndexEntry) -> Hit {
    Hit { id: entry.id, since: entry.created_at, expires_at: entry.expires_at.unwrap_or(0), reason: entry.reason }
}

/// The index's view of a stored entry (its key recomputed by the one normalisation).
pub fn index_entry(s: &Suppression) -> Option<IndexEntry> {
    let target = rebound_policy::normalize(&s.address).ok()?;
    let key = if s.domain_wide { format!("@{}", target.domain()) } else { target.key().to_owned() };
    Some(IndexEntry {
        id: s.id,
        key,
        scope: s.scope.clone(),
        reason: s.reason,
        active: s.active,
        created_at: s.created_at,
        expires_at: s.expires_at,
    })
}
