//! The pre-send index: every suppression in force, in memory, so that `GET /check` — on the MTA's
//! hot path — answers without touching the database.
//!
//! Entries are keyed by a 128-bit hash of `scope NUL key` (two independently keyed SipHash
//! values), which keeps about 48 bytes per entry: a million suppressions fit in ~60 MB, and the
//! chance that any check meets a false collision is about n / 2^128. The hash keys are random per
//! process, so they cannot be chosen by an attacker.
//!
//! Coherence comes from the change feed (`suppression_changes`), which every write to the list fills
//! in its own transaction: the index records the last sequence it holds. It is loaded in full before
//! the server accepts connections; a write this process commits is taken right after the commit
//! (`publish`, with the entries and the feed rows the transaction wrote, so they are not read back);
//! and a follower task (`follow`) reads the rows after the last one held whenever the store says
//! the feed may have grown (a PostgreSQL notification from another replica, a SQLite poll that
//! finds what `rebound import` wrote). A write published out of order, or not at all, is read from
//! the feed by the follower, so the index cannot miss a change for longer than one wake-up.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, RwLock};

use rebound_api::v1::{CheckHit, Suppression, SuppressionReason};
use rebound_policy::{GLOBAL_SCOPE, Target};
use rebound_store::{FeedSpan, IndexEntry, Store, StoreError};

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
    /// The change feed's sequence up to which the index holds every change; held while changes
    /// are read and applied, so that an older state read from the feed never lands after a newer one.
    applied: tokio::sync::Mutex<i64>,
}

const LOAD_PAGE: u32 = 20_000;
/// Most change-feed rows read at once when catching up.
const CATCH_UP_PAGE: u32 = 10_000;

impl SuppressionIndex {
    /// Loads every active entry from the store. The feed's position is read first: a change
    /// committed during the load is read again by the follower.
    pub async fn load(store: &dyn Store) -> Result<Arc<Self>, StoreError> {
        let index = Self::empty();
        let mut applied = index.applied.lock().await;
        *applied = store.last_change().await?;
        let mut map = Map::default();
        let mut after = 0;
        loop {
            let page = store.active_suppressions(after, LOAD_PAGE).await?;
            for entry in &page {
                map.insert(index.hash(&entry.scope, &entry.key), hit(entry));
                after = entry.id;
            }
            if page.len() < LOAD_PAGE as usize {
                break;
            }
        }
        map.shrink_to_fit();
        *index.write() = map;
        drop(applied);
        Ok(index)
    }

    /// An index holding nothing: for a command that writes to the list and answers no check.
    pub fn empty() -> Arc<Self> {
        Arc::new(Self {
            hashers: (RandomState::new(), RandomState::new()),
            map: RwLock::default(),
            changed: tokio::sync::Notify::new(),
            applied: tokio::sync::Mutex::new(0),
        })
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
    fn apply_entries(&self, entries: &[IndexEntry]) {
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

    /// Takes the entries a transaction of this process just committed, with the change-feed rows
    /// it wrote: when those follow the last row the index holds, they count as held and are not
    /// read back; otherwise (another process wrote in between) the follower reads them.
    pub async fn publish(&self, feed: Option<FeedSpan>, entries: &[IndexEntry]) {
        let mut applied = self.applied.lock().await;
        self.apply_entries(entries);
        if let Some(span) = feed
            && span.after == *applied
        {
            *applied = span.last;
        }
    }

    /// `publish` for entries as the API shows them.
    pub async fn publish_suppressions(&self, feed: Option<FeedSpan>, changed: &[Suppression]) {
        let entries: Vec<IndexEntry> = changed.iter().filter_map(index_entry).collect();
        self.publish(feed, &entries).await;
    }

    /// Reads and applies the change feed's rows after the last one the index holds.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<(), StoreError> {
        let mut applied = self.applied.lock().await;
        loop {
            let rows = store.changed_entries(*applied, CATCH_UP_PAGE).await?;
            let Some(&(last, _)) = rows.last() else { return Ok(()) };
            let full = rows.len() == CATCH_UP_PAGE as usize;
            let entries: Vec<IndexEntry> = rows.into_iter().map(|(_, entry)| entry).collect();
            self.apply_entries(&entries);
            *applied = last;
            if !full {
                return Ok(());
            }
        }
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
    /// made by other processes. Errors are logged and the feed is re-opened after a pause.
    pub async fn follow(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            match store.change_feed().await {
                Ok(None) => return,
                Ok(Some(mut feed)) => loop {
                    if let Err(e) = self.catch_up(store.as_ref()).await {
                        tracing::error!(error = %e, "reading the suppression change feed failed");
                        break;
                    }
                    if let Err(e) = feed.next().await {
                        tracing::error!(error = %e, "the suppression change feed failed");
                        break;
                    }
                },
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

#[cfg(test)]
mod tests {
    use rebound_api::v1::SuppressionReason;
    use rebound_store::{Actor, NewSuppression, ops};
    use rebound_store_sqlite::SqliteStore;

    use super::*;

    async fn add(store: &dyn Store, address: &str) -> (Suppression, Option<FeedSpan>) {
        let target = rebound_policy::normalize(address).expect("a valid address");
        let new = NewSuppression {
            target: &target,
            scope: GLOBAL_SCOPE,
            reason: SuppressionReason::Manual,
            source: "test",
            added_by: "cli",
            rule: None,
            note: None,
            expires_at: None,
            now: 1_800_000_000,
        };
        let (entry, _, feed) = ops::suppress(store, &new, &Actor::Cli).await.expect("suppressed");
        (entry, feed)
    }

    fn listed(index: &SuppressionIndex, address: &str) -> bool {
        let target = rebound_policy::normalize(address).expect("a valid address");
        !index.check(&target, GLOBAL_SCOPE, 1_800_000_001).is_empty()
    }

    /// This process's writes are taken at commit without reading them back; a write by another
    /// process in between leaves a gap that only the feed can fill, and `catch_up` fills it.
    #[tokio::test]
    async fn own_writes_are_held_at_once_and_a_gap_is_read_from_the_feed() {
        let dir = std::env::temp_dir().join(format!(
            "rebound-index-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("rebound.db");
        let _ = std::fs::remove_file(&path);
        let ours = SqliteStore::open(&path).await.expect("the database opens");
        let other = SqliteStore::open(&path).await.expect("a second handle opens");
        let index = SuppressionIndex::load(&ours).await.expect("the index loads");

        let (first, feed) = add(&ours, "first@example.com").await;
        assert_eq!(feed, Some(FeedSpan { after: 0, last: 1 }));
        index.publish_suppressions(feed, &[first]).await;
        assert_eq!(*index.applied.lock().await, 1);

        let _ = add(&other, "elsewhere@example.com").await;
        let (third, feed) = add(&ours, "third@example.com").await;
        assert_eq!(feed, Some(FeedSpan { after: 2, last: 3 }));
        index.publish_suppressions(feed, &[third]).await;
        assert!(listed(&index, "third@example.com"));
        assert!(!listed(&index, "elsewhere@example.com"), "not published, not yet read from the feed");
        assert_eq!(*index.applied.lock().await, 1, "the gap keeps the mark where it was");

        index.catch_up(&ours).await.expect("the feed is read");
        assert!(listed(&index, "elsewhere@example.com"));
        assert_eq!(*index.applied.lock().await, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
