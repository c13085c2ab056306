//! The SQL both backends run. SQLite and PostgreSQL accept the same statements here (`$N`
//! parameters, `RETURNING`, `ON CONFLICT`, `TRUE`/`FALSE`, row-value comparisons), so the
//! statements are written once, in this macro, and each backend crate expands it for its own
//! sqlx types, adding only what truly differs: how a write transaction starts, how a commit is
//! announced to other replicas, and the change feed.
//!
//! The expansion expects a store struct with `reader` and `writer` pools, and adds the `Tx` type
//! and the `Store` impl (whose backend-specific methods are passed in).

/// Expands the shared SQL for one backend. See the module documentation.
#[macro_export]
macro_rules! sql_store {
    (
        db: $db:ty,
        store: $store:ty,
        tx: $tx:ident,
        announce: $announce:path,
        feed_lock: $feed_lock:path,
        specific: { $($specific:tt)* }
    ) => {
        /// A write transaction; suppressions it changes are announced on commit, and the entries it
        /// creates get their `added` row in the change feed then (changes to existing entries get
        /// theirs from triggers).
        pub struct $tx {
            tx: ::sqlx::Transaction<'static, $db>,
            added: Vec<i64>,
            /// The change feed's last sequence before the transaction's first write to the list
            /// (read under the write lock); `None` while it has written none.
            feed_base: Option<i64>,
        }

        impl $tx {
            fn new(tx: ::sqlx::Transaction<'static, $db>) -> Self {
                Self { tx, added: Vec::new(), feed_base: None }
            }

            async fn feed_last(&mut self) -> Result<i64, $crate::StoreError> {
                ::sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) FROM suppression_changes")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)
            }

            /// Notes where the change feed stands, before the transaction's first write to the
            /// list; a transaction that writes none pays nothing.
            async fn before_list_write(&mut self) -> Result<(), $crate::StoreError> {
                if self.feed_base.is_none() {
                    self.feed_base = Some(self.feed_last().await?);
                }
                Ok(())
            }

            /// The change feed's rows for the entries this transaction created, in bulk: a
            /// million-row import pays one statement per thousand entries, not a trigger per row.
            async fn feed_added(&mut self) -> Result<(), $crate::StoreError> {
                if self.added.is_empty() {
                    return Ok(());
                }
                $feed_lock(&mut self.tx).await?;
                for chunk in self.added.chunks(1_000) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at) \
                         SELECT id, 'added', reason, COALESCE(added_by, source), created_at, expires_at FROM suppressions \
                         WHERE id IN (",
                    );
                    $crate::rows::push_list(&mut b, chunk);
                    b.push(" ORDER BY id");
                    b.build().execute(&mut *self.tx).await.map_err($crate::rows::backend)?;
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Tx for $tx {
            async fn commit(mut self: Box<Self>) -> Result<$crate::Committed, $crate::StoreError> {
                self.feed_added().await?;
                // PostgreSQL's trigger numbers the rows of changed entries at commit, after this read:
                // the span leaves them out, and the announcement makes every follower read them.
                let span = match self.feed_base {
                    Some(after) => {
                        $announce(&mut self.tx).await?;
                        let last = self.feed_last().await?;
                        (last > after).then_some($crate::FeedSpan { after, last })
                    }
                    None => None,
                };
                self.tx.commit().await.map_err($crate::rows::backend)?;
                Ok($crate::Committed::new(self.feed_base.is_some(), span))
            }

            async fn events_by_idempotency_keys(
                &mut self,
                keys: &[&str],
            ) -> Result<Vec<$crate::KeyedEvent>, $crate::StoreError> {
                let mut out = Vec::new();
                for chunk in keys.chunks(500) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT idempotency_key, payload_digest, ", $crate::columns!(event),
                        " FROM events WHERE idempotency_key IN ("
                    ));
                    $crate::rows::push_list(&mut b, chunk);
                    for row in &b.build().fetch_all(&mut *self.tx).await.map_err($crate::rows::backend)? {
                        out.push($crate::rows::keyed_event(row)?);
                    }
                }
                Ok(out)
            }

            async fn soft_history(
                &mut self,
                recipient_keys: &[&str],
                since: i64,
            ) -> Result<Vec<$crate::HistoryMark>, $crate::StoreError> {
                let mut out = Vec::new();
                for chunk in recipient_keys.chunks(500) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "SELECT recipient_key, at, id, kind = 'delivered' AS delivered, kind = 'unknown' AS unexplained \
                         FROM events WHERE kind IN ('soft', 'delivered', 'unknown') AND (kind <> 'unknown' OR permanent) \
                         AND at >= ",
                    );
                    b.push_bind(since).push(" AND recipient_key IN (");
                    $crate::rows::push_list(&mut b, chunk);
                    b.push(
                        " UNION ALL SELECT recipient_key, at, 9223372036854775807 AS id, TRUE AS delivered, \
                         FALSE AS unexplained FROM last_deliveries WHERE at >= ",
                    );
                    b.push_bind(since).push(" AND recipient_key IN (");
                    $crate::rows::push_list(&mut b, chunk);
                    for row in &b.build().fetch_all(&mut *self.tx).await.map_err($crate::rows::backend)? {
                        out.push($crate::rows::history_mark(row)?);
                    }
                }
                Ok(out)
            }

            async fn mark_deliveries(&mut self, marks: &[(&str, i64)]) -> Result<(), $crate::StoreError> {
                for chunk in marks.chunks(5_000) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new("INSERT INTO last_deliveries (recipient_key, at) ");
                    b.push_values(chunk, |mut v, (key, at)| {
                        v.push_bind(*key).push_bind(*at);
                    });
                    b.push(
                        " ON CONFLICT (recipient_key) DO UPDATE SET at = excluded.at \
                         WHERE last_deliveries.at < excluded.at",
                    );
                    b.build().execute(&mut *self.tx).await.map_err($crate::rows::backend)?;
                }
                Ok(())
            }

            async fn set_event_verdict(
                &mut self,
                id: i64,
                verdict: &::rebound_api::v1::Verdict,
                verdict_json: &str,
                suppression_id: Option<i64>,
            ) -> Result<(), $crate::StoreError> {
                ::sqlx::query(
                    "UPDATE events SET verdict = $2, kind = $3, reason = $4, rule = $5, \
                     suppression_id = COALESCE($6, suppression_id) WHERE id = $1",
                )
                .bind(id)
                .bind(verdict_json)
                .bind(verdict.kind.as_str())
                .bind(verdict.reason.as_str())
                .bind(&verdict.rule)
                .bind(suppression_id)
                .execute(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn insert_events(&mut self, rows: &[$crate::EventRow<'_>]) -> Result<Vec<i64>, $crate::StoreError> {
                let mut ids = Vec::with_capacity(rows.len());
                // 20 parameters a row (SQLite allows 32,766 per statement).
                for chunk in rows.chunks(1_500) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO events (at, received_at, source, idempotency_key, recipient, recipient_key, kind, \
                         reason, rule, campaign, stream, sending_ip, isp, raw, verdict, outcome, suppression_id, input, \
                         payload_digest, permanent) ",
                    );
                    b.push_values(chunk, |mut v, row| {
                        let e = row.event;
                        v.push_bind(e.at)
                            .push_bind(e.received_at)
                            .push_bind(e.source.as_str())
                            .push_bind(e.idempotency_key.as_deref())
                            .push_bind(e.recipient.as_ref().map(|t| t.display()))
                            .push_bind(e.recipient.as_ref().map(|t| t.key()))
                            .push_bind(e.verdict.kind.as_str())
                            .push_bind(e.verdict.reason.as_str())
                            .push_bind(e.verdict.rule.as_ref())
                            .push_bind(e.campaign.as_deref())
                            .push_bind(e.stream.as_deref())
                            .push_bind(e.sending_ip.as_deref())
                            .push_bind(e.isp.as_deref())
                            .push_bind(e.raw.as_deref())
                            .push_bind(row.verdict_json)
                            .push_bind(row.outcome_json)
                            .push_bind(row.suppression_id)
                            .push_bind(e.input)
                            .push_bind(e.payload_digest.as_ref().map(<[u8; 32]>::as_slice))
                            .push_bind(e.verdict.is_permanent_failure());
                    });
                    b.push(" RETURNING id");
                    let mut chunk_ids: Vec<i64> = b
                        .build_query_scalar()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(|e| $crate::rows::write_error(e, "event"))?;
                    // Ids are assigned in the order of the VALUES rows (writes are serialised).
                    chunk_ids.sort_unstable();
                    ids.extend(chunk_ids);
                }
                Ok(ids)
            }

            async fn suppressions_by_keys(
                &mut self,
                keys: &[&str],
            ) -> Result<Vec<(String, ::rebound_api::v1::Suppression)>, $crate::StoreError> {
                let mut out = Vec::new();
                for chunk in keys.chunks(500) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT ", $crate::columns!(suppression), " FROM suppressions WHERE key IN ("
                    ));
                    $crate::rows::push_list(&mut b, chunk);
                    for row in &b.build().fetch_all(&mut *self.tx).await.map_err($crate::rows::backend)? {
                        let key: String = ::sqlx::Row::try_get(row, "key").map_err($crate::rows::backend)?;
                        out.push((key, $crate::rows::suppression(row)?));
                    }
                }
                Ok(out)
            }

            async fn insert_suppressions(
                &mut self,
                new: &[$crate::NewSuppression<'_>],
            ) -> Result<Vec<::rebound_api::v1::Suppression>, $crate::StoreError> {
                self.before_list_write().await?;
                let mut out = Vec::with_capacity(new.len());
                // 12 parameters a row.
                for chunk in new.chunks(2_500) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO suppressions (key, address, domain, domain_wide, scope, reason, source, added_by, rule, \
                         note, active, created_at, updated_at, expires_at) ",
                    );
                    b.push_values(chunk, |mut v, n| {
                        v.push_bind(n.target.key())
                            .push_bind(n.target.display())
                            .push_bind(n.target.domain())
                            .push_bind(n.target.is_domain())
                            .push_bind(n.scope)
                            .push_bind(n.reason.as_str())
                            .push_bind(n.source)
                            .push_bind(n.added_by)
                            .push_bind(n.rule)
                            .push_bind(n.note)
                            .push("TRUE")
                            .push_bind(n.now)
                            .push_bind(n.now)
                            .push_bind(n.expires_at);
                    });
                    b.push(concat!(" RETURNING ", $crate::columns!(suppression)));
                    let rows = b
                        .build()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(|e| $crate::rows::write_error(e, "suppression"))?;
                    let mut entries = rows.iter().map($crate::rows::suppression).collect::<Result<Vec<_>, _>>()?;
                    entries.sort_unstable_by_key(|e| e.id);
                    self.added.extend(entries.iter().map(|e| e.id));
                    out.extend(entries);
                }
                Ok(out)
            }

            async fn suppression_by_key(
                &mut self,
                scope: &str,
                key: &str,
            ) -> Result<Option<::rebound_api::v1::Suppression>, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(suppression), " FROM suppressions WHERE scope = $1 AND key = $2"
                ))
                .bind(scope)
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::suppression).transpose()
            }

            async fn suppression_by_id(
                &mut self,
                id: i64,
            ) -> Result<Option<::rebound_api::v1::Suppression>, $crate::StoreError> {
                let row = ::sqlx::query(concat!("SELECT ", $crate::columns!(suppression), " FROM suppressions WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::suppression).transpose()
            }

            async fn insert_suppression(
                &mut self,
                new: &$crate::NewSuppression<'_>,
            ) -> Result<::rebound_api::v1::Suppression, $crate::StoreError> {
                self.before_list_write().await?;
                let row = ::sqlx::query(concat!(
                    "INSERT INTO suppressions (key, address, domain, domain_wide, scope, reason, source, rule, note, \
                     active, created_at, updated_at, expires_at, added_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10, $10, $11, $12) RETURNING ",
                    $crate::columns!(suppression)
                ))
                .bind(new.target.key())
                .bind(new.target.display())
                .bind(new.target.domain())
                .bind(new.target.is_domain())
                .bind(new.scope)
                .bind(new.reason.as_str())
                .bind(new.source)
                .bind(new.rule)
                .bind(new.note)
                .bind(new.now)
                .bind(new.expires_at)
                .bind(new.added_by)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(|e| $crate::rows::write_error(e, "suppression"))?;
                let entry = $crate::rows::suppression(&row)?;
                self.added.push(entry.id);
                Ok(entry)
            }

            async fn reopen_suppression(
                &mut self,
                id: i64,
                new: &$crate::NewSuppression<'_>,
            ) -> Result<::rebound_api::v1::Suppression, $crate::StoreError> {
                self.before_list_write().await?;
                let row = ::sqlx::query(concat!(
                    "UPDATE suppressions SET reason = $2, source = $3, rule = $4, note = $5, active = TRUE, \
                     updated_at = $6, expires_at = $7, added_by = $8, lifted_at = NULL, lifted_by = NULL, \
                     lift_reason = NULL WHERE id = $1 RETURNING ",
                    $crate::columns!(suppression)
                ))
                .bind(id)
                .bind(new.reason.as_str())
                .bind(new.source)
                .bind(new.rule)
                .bind(new.note)
                .bind(new.now)
                .bind(new.expires_at)
                .bind(new.added_by)
                .fetch_one(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                $crate::rows::suppression(&row)
            }

            async fn lift_suppression(
                &mut self,
                id: i64,
                lift: &$crate::Lift<'_>,
            ) -> Result<::rebound_api::v1::Suppression, $crate::StoreError> {
                self.before_list_write().await?;
                let row = ::sqlx::query(concat!(
                    "UPDATE suppressions SET active = FALSE, updated_at = $2, lifted_at = $2, lifted_by = $3, \
                     lift_reason = $4 WHERE id = $1 RETURNING ",
                    $crate::columns!(suppression)
                ))
                .bind(id)
                .bind(lift.now)
                .bind(lift.by)
                .bind(lift.reason)
                .fetch_one(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                $crate::rows::suppression(&row)
            }

            async fn import_suppressions(
                &mut self,
                rows: &[$crate::ImportRow],
                source: &str,
                now: i64,
                want_entries: bool,
            ) -> Result<$crate::ImportCounts, $crate::StoreError> {
                self.before_list_write().await?;
                let mut out = $crate::ImportCounts::default();
                // 11 parameters a row; SQLite allows 32,766 per statement, PostgreSQL 65,535.
                for chunk in rows.chunks(2_500) {
                    let newest: i64 = ::sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM suppressions")
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err($crate::rows::backend)?;
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO suppressions (key, address, domain, domain_wide, scope, reason, source, note, \
                         active, created_at, updated_at, expires_at) ",
                    );
                    b.push_values(chunk, |mut v, row| {
                        v.push_bind(row.target.key())
                            .push_bind(row.target.display())
                            .push_bind(row.target.domain())
                            .push_bind(row.target.is_domain())
                            .push_bind(row.scope.as_str())
                            .push_bind(row.reason.as_str())
                            .push_bind(source)
                            .push_bind(row.note.as_deref())
                            .push("TRUE")
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(row.expires_at);
                    });
                    b.push(concat!(
                        " ON CONFLICT (key, scope) DO UPDATE SET active = TRUE, reason = excluded.reason, ",
                        "source = excluded.source, added_by = NULL, rule = NULL, note = excluded.note, updated_at = excluded.updated_at, ",
                        "expires_at = excluded.expires_at, lifted_at = NULL, lifted_by = NULL, lift_reason = NULL ",
                        "WHERE suppressions.active = FALSE RETURNING id > "
                    ));
                    // Entries are never deleted, so a row this statement inserted has an id above
                    // every id before it; a reopened one has not (its times may be equal to the
                    // second when it was created and reopened in the same second).
                    b.push_bind(newest).push(" AS fresh, ");
                    b.push(if want_entries { $crate::columns!(index) } else { "id" });
                    let returned = b.build().fetch_all(&mut *self.tx).await.map_err($crate::rows::backend)?;
                    for row in &returned {
                        let fresh: bool = ::sqlx::Row::try_get(row, "fresh").map_err($crate::rows::backend)?;
                        if want_entries {
                            out.entries.push($crate::rows::index_entry(row)?);
                        }
                        if fresh {
                            out.created += 1;
                        } else {
                            out.reopened += 1;
                        }
                    }
                    // The new entries' rows in the change feed, in one range read of what this
                    // statement inserted (ids above `newest`, this source, this second): cheaper
                    // than listing a large import's ids. The feed's lock is held from here to the
                    // commit, so the numbers stay in commit order.
                    if returned.iter().any(|row| ::sqlx::Row::try_get::<bool, _>(row, "fresh").unwrap_or(true)) {
                        $feed_lock(&mut self.tx).await?;
                        ::sqlx::query(
                            "INSERT INTO suppression_changes (suppression_id, change, reason, actor, at, expires_at) \
                             SELECT id, 'added', reason, source, created_at, expires_at FROM suppressions \
                             WHERE id > $1 AND source = $2 AND created_at = $3 ORDER BY id",
                        )
                        .bind(newest)
                        .bind(source)
                        .bind(now)
                        .execute(&mut *self.tx)
                        .await
                        .map_err($crate::rows::backend)?;
                    }
                }
                Ok(out)
            }

            async fn update_import(&mut self, job: &::rebound_api::v1::ImportJob) -> Result<(), $crate::StoreError> {
                let rejected = $crate::rows::rejected_json(job)?;
                ::sqlx::query(
                    "UPDATE import_jobs SET updated_at = $2, state = $3, bytes_total = $4, bytes_read = $5, lines = $6, \
                     created = $7, reopened = $8, unchanged = $9, rejected = $10, rejected_lines = $11, error = $12 \
                     WHERE id = $1",
                )
                .bind(job.id)
                .bind(job.updated_at)
                .bind(&job.state)
                .bind(job.bytes_total)
                .bind(job.bytes_read)
                .bind(job.lines)
                .bind(job.created)
                .bind(job.reopened)
                .bind(job.unchanged)
                .bind(job.rejected)
                .bind(rejected)
                .bind(job.error.as_deref())
                .execute(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn last_audit_hash(&mut self) -> Result<[u8; 32], $crate::StoreError> {
                let hash: Option<Vec<u8>> = ::sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)?;
                match hash {
                    None => Ok([0; 32]),
                    Some(bytes) => bytes.try_into().map_err(|_| $crate::StoreError::Corrupt {
                        what: "audit hash",
                        detail: "not 32 bytes".to_owned(),
                    }),
                }
            }

            async fn insert_audit(&mut self, row: &$crate::audit::AuditRow) -> Result<i64, $crate::StoreError> {
                ::sqlx::query_scalar(
                    "INSERT INTO audit_log (at, actor, action, target, before, after, reason, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(row.at)
                .bind(&row.actor)
                .bind(&row.action)
                .bind(&row.target)
                .bind(row.before.as_deref())
                .bind(row.after.as_deref())
                .bind(row.reason.as_deref())
                .bind(&row.prev_hash[..])
                .bind(&row.hash[..])
                .fetch_one(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)
            }

            async fn insert_audits(&mut self, rows: &[$crate::audit::AuditRow]) -> Result<(), $crate::StoreError> {
                // 9 parameters a row.
                for chunk in rows.chunks(3_000) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_log (at, actor, action, target, before, after, reason, prev_hash, hash) ",
                    );
                    b.push_values(chunk, |mut v, row| {
                        v.push_bind(row.at)
                            .push_bind(row.actor.as_str())
                            .push_bind(row.action.as_str())
                            .push_bind(row.target.as_str())
                            .push_bind(row.before.as_deref())
                            .push_bind(row.after.as_deref())
                            .push_bind(row.reason.as_deref())
                            .push_bind(&row.prev_hash[..])
                            .push_bind(&row.hash[..]);
                    });
                    b.build().execute(&mut *self.tx).await.map_err($crate::rows::backend)?;
                }
                Ok(())
            }

            async fn setting(&mut self, name: &str) -> Result<Option<String>, $crate::StoreError> {
                ::sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)
            }

            async fn put_setting(&mut self, name: &str, value: &str, now: i64) -> Result<(), $crate::StoreError> {
                ::sqlx::query(
                    "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn insert_user(&mut self, user: &$crate::NewUser<'_>) -> Result<$crate::User, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
                    $crate::columns!(user)
                ))
                .bind(user.username)
                .bind(user.password_hash)
                .bind(user.role.as_str())
                .bind(user.now)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(|e| $crate::rows::write_error(e, "user"))?;
                $crate::rows::user(&row)
            }

            async fn user_by_id(&mut self, id: i64) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = ::sqlx::query(concat!("SELECT ", $crate::columns!(user), " FROM users WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::user).transpose()
            }

            async fn other_active_admins(&mut self, except: i64) -> Result<u64, $crate::StoreError> {
                let n: i64 = ::sqlx::query_scalar(
                    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1",
                )
                .bind(except)
                .fetch_one(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                Ok(n.unsigned_abs())
            }

            async fn update_user(
                &mut self,
                id: i64,
                role: ::rebound_api::v1::Role,
                disabled: bool,
            ) -> Result<$crate::User, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "UPDATE users SET role = $2, disabled = $3 WHERE id = $1 RETURNING ",
                    $crate::columns!(user)
                ))
                .bind(id)
                .bind(role.as_str())
                .bind(disabled)
                .fetch_one(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                if disabled {
                    ::sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await
                        .map_err($crate::rows::backend)?;
                }
                $crate::rows::user(&row)
            }

            async fn set_password(&mut self, id: i64, password_hash: &str) -> Result<(), $crate::StoreError> {
                ::sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(password_hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)?;
                ::sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn insert_api_key(
                &mut self,
                key: &$crate::NewApiKey<'_>,
            ) -> Result<::rebound_api::v1::ApiKey, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "INSERT INTO api_keys (name, prefix, token_digest, scopes, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
                    $crate::columns!(api_key)
                ))
                .bind(key.name)
                .bind(key.prefix)
                .bind(key.token_digest)
                .bind($crate::scopes_to_db(key.scopes))
                .bind(key.created_by)
                .bind(key.now)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(|e| $crate::rows::write_error(e, "api key"))?;
                $crate::rows::api_key(&row)
            }

            async fn revoke_api_key(
                &mut self,
                id: i64,
                now: i64,
            ) -> Result<Option<::rebound_api::v1::ApiKey>, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ",
                    $crate::columns!(api_key)
                ))
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::api_key).transpose()
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Store for $store {
            $($specific)*

            async fn count_users(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = ::sqlx::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::rows::backend)?;
                Ok(n.unsigned_abs())
            }

            async fn users(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<$crate::User>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(user), " FROM users WHERE id < $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::user).collect()
            }

            async fn user_by_name(&self, username: &str) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(user), " FROM users WHERE lower(username) = lower($1)"
                ))
                .bind(username)
                .fetch_optional(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::user).transpose()
            }

            async fn create_session(&self, session: $crate::NewSession<'_>) -> Result<(), $crate::StoreError> {
                ::sqlx::query(
                    "INSERT INTO sessions (token_digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.token_digest)
                .bind(session.user_id)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::rows::write_error(e, "session"))?;
                Ok(())
            }

            async fn session_user(
                &self,
                token_digest: &[u8],
                now: i64,
            ) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "SELECT ",
                    $crate::columns!(user),
                    " FROM sessions JOIN users ON users.id = sessions.user_id \
                     WHERE sessions.token_digest = $1 AND sessions.expires_at > $2"
                ))
                .bind(token_digest)
                .bind(now)
                .fetch_optional(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::user).transpose()
            }

            async fn delete_session(&self, token_digest: &[u8]) -> Result<(), $crate::StoreError> {
                ::sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
                    .bind(token_digest)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn api_key_by_digest(
                &self,
                digest: &[u8],
            ) -> Result<Option<::rebound_api::v1::ApiKey>, $crate::StoreError> {
                let row = ::sqlx::query(concat!("SELECT ", $crate::columns!(api_key), " FROM api_keys WHERE token_digest = $1"))
                    .bind(digest)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::api_key).transpose()
            }

            async fn api_keys(
                &self,
                before_id: Option<i64>,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::ApiKey>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(api_key), " FROM api_keys WHERE id < $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::api_key).collect()
            }

            async fn suppression(&self, id: i64) -> Result<Option<::rebound_api::v1::Suppression>, $crate::StoreError> {
                let row = ::sqlx::query(concat!("SELECT ", $crate::columns!(suppression), " FROM suppressions WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::suppression).transpose()
            }

            async fn suppressions(
                &self,
                q: &$crate::SuppressionQuery,
            ) -> Result<Vec<::rebound_api::v1::Suppression>, $crate::StoreError> {
                let mut b = ::sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ", $crate::columns!(suppression), " FROM suppressions WHERE TRUE"
                ));
                if let Some(prefix) = &q.key_prefix {
                    b.push(" AND key >= ").push_bind(prefix.clone());
                    b.push(" AND key < ").push_bind(format!("{prefix}\u{10FFFF}"));
                }
                if let Some(domain) = &q.domain {
                    b.push(" AND domain = ").push_bind(domain.clone());
                }
                if let Some(reason) = q.reason {
                    b.push(" AND reason = ").push_bind(reason.as_str());
                }
                if let Some(scope) = &q.scope {
                    b.push(" AND scope = ").push_bind(scope.clone());
                }
                if let Some(source) = &q.source {
                    b.push(" AND source = ").push_bind(source.clone());
                }
                if let Some(rule) = &q.rule {
                    b.push(" AND rule = ").push_bind(rule.clone());
                }
                match q.active {
                    Some(true) => {
                        b.push(" AND active = TRUE AND (expires_at IS NULL OR expires_at > ").push_bind(q.now).push(")");
                    }
                    Some(false) => {
                        b.push(" AND (active = FALSE OR expires_at <= ").push_bind(q.now).push(")");
                    }
                    None => {}
                }
                if let Some(from) = q.created_from {
                    b.push(" AND created_at >= ").push_bind(from);
                }
                if let Some(until) = q.created_until {
                    b.push(" AND created_at < ").push_bind(until);
                }
                if let Some(from) = q.changed_from {
                    b.push(" AND updated_at >= ").push_bind(from);
                }
                if let Some(until) = q.changed_until {
                    b.push(" AND updated_at < ").push_bind(until);
                }
                match &q.cursor {
                    Some($crate::SuppressionCursor::BeforeId(id)) => {
                        b.push(" AND id < ").push_bind(*id);
                    }
                    Some($crate::SuppressionCursor::AfterKey(key, scope)) => {
                        b.push(" AND (key, scope) > (").push_bind(key.clone()).push(", ").push_bind(scope.clone()).push(")");
                    }
                    None => {}
                }
                b.push(if q.key_prefix.is_some() { " ORDER BY key, scope" } else { " ORDER BY id DESC" });
                b.push(" LIMIT ").push_bind(i64::from(q.limit));
                let rows = b.build().fetch_all(&self.reader).await.map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::suppression).collect()
            }

            async fn active_suppressions(
                &self,
                after_id: i64,
                limit: u32,
            ) -> Result<Vec<$crate::IndexEntry>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(index), " FROM suppressions WHERE active = TRUE AND id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::index_entry).collect()
            }

            async fn changed_entries(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<(i64, $crate::IndexEntry)>, $crate::StoreError> {
                let rows = ::sqlx::query(
                    "SELECT c.sequence, s.id, s.key, s.scope, s.reason, s.active, s.created_at, s.expires_at \
                     FROM suppression_changes c JOIN suppressions s ON s.id = c.suppression_id \
                     WHERE c.sequence > $1 ORDER BY c.sequence LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter()
                    .map(|row| {
                        let sequence: i64 = ::sqlx::Row::try_get(row, "sequence").map_err($crate::rows::backend)?;
                        Ok((sequence, $crate::rows::index_entry(row)?))
                    })
                    .collect()
            }

            async fn suppression_events(
                &self,
                id: i64,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::Event>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(event), " FROM events WHERE suppression_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::event).collect()
            }

            async fn unknown_events(
                &self,
                since: i64,
                limit: u32,
            ) -> Result<Vec<$crate::UnknownEvent>, $crate::StoreError> {
                let rows = ::sqlx::query(
                    "SELECT id, received_at, recipient, verdict FROM events \
                     WHERE kind = 'unknown' AND received_at >= $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::unknown_event).collect()
            }

            async fn reclassifiable_events(
                &self,
                from: Option<i64>,
                until: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::StoredInput>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(event),
                    " FROM events WHERE input <> 'event' AND raw IS NOT NULL AND received_at >= $1 AND received_at < $2 \
                     ORDER BY id DESC LIMIT $3"
                ))
                .bind(from.unwrap_or(i64::MIN))
                .bind(until.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::stored_input).collect()
            }

            async fn audit(
                &self,
                q: &$crate::AuditQuery,
            ) -> Result<Vec<::rebound_api::v1::AuditEntry>, $crate::StoreError> {
                let mut b = ::sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ", $crate::columns!(audit), " FROM audit_log WHERE TRUE"
                ));
                if let Some(actor) = &q.actor {
                    b.push(" AND actor = ").push_bind(actor.clone());
                }
                if let Some(action) = &q.action {
                    b.push(" AND (action = ").push_bind(action.clone());
                    b.push(" OR action LIKE ").push_bind(format!("{}.%", action.replace(['%', '_'], ""))).push(")");
                }
                if let Some(target) = &q.target {
                    b.push(" AND target = ").push_bind(target.clone());
                }
                if let Some(from) = q.from {
                    b.push(" AND at >= ").push_bind(from);
                }
                if let Some(until) = q.until {
                    b.push(" AND at < ").push_bind(until);
                }
                if let Some(before) = q.before_id {
                    b.push(" AND id < ").push_bind(before);
                }
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(q.limit));
                let rows = b.build().fetch_all(&self.reader).await.map_err($crate::rows::backend)?;
                rows.iter().map(|row| $crate::rows::chain_row(row)?.into_entry()).collect()
            }

            async fn audit_chain(
                &self,
                after_id: i64,
                limit: u32,
            ) -> Result<Vec<$crate::audit::ChainRow>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(audit), " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::chain_row).collect()
            }

            async fn setting(&self, name: &str) -> Result<Option<String>, $crate::StoreError> {
                ::sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::rows::backend)
            }

            async fn create_import(
                &self,
                job: &$crate::NewImport<'_>,
            ) -> Result<::rebound_api::v1::ImportJob, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "INSERT INTO import_jobs (format, scope, reason, created_by, created_at, updated_at, state) \
                     VALUES ($1, $2, $3, $4, $5, $5, 'waiting') RETURNING ",
                    $crate::columns!(import)
                ))
                .bind(job.format.as_str())
                .bind(job.scope)
                .bind(job.reason.as_str())
                .bind(job.created_by)
                .bind(job.now)
                .fetch_one(&self.writer)
                .await
                .map_err($crate::rows::backend)?;
                $crate::rows::import_job(&row)
            }

            async fn import_job(&self, id: i64) -> Result<Option<::rebound_api::v1::ImportJob>, $crate::StoreError> {
                let row = ::sqlx::query(concat!("SELECT ", $crate::columns!(import), " FROM import_jobs WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::import_job).transpose()
            }

            async fn claim_import(
                &self,
                id: i64,
                now: i64,
            ) -> Result<Option<::rebound_api::v1::ImportJob>, $crate::StoreError> {
                let row = ::sqlx::query(concat!(
                    "UPDATE import_jobs SET state = 'running', updated_at = $2, bytes_read = 0, error = NULL \
                     WHERE id = $1 AND state IN ('waiting', 'interrupted') RETURNING ",
                    $crate::columns!(import)
                ))
                .bind(id)
                .bind(now)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::rows::backend)?;
                row.as_ref().map($crate::rows::import_job).transpose()
            }

            async fn list_changes(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::ListChange>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(change), " FROM suppression_changes c JOIN suppressions s ON s.id = c.suppression_id \
                     WHERE c.sequence > $1 ORDER BY c.sequence LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::list_change).collect()
            }

            async fn interrupt_stale_imports(&self, stale_before: i64, now: i64) -> Result<u64, $crate::StoreError> {
                let done = ::sqlx::query(
                    "UPDATE import_jobs SET state = 'interrupted', updated_at = $2, \
                     error = 'the import stopped (its process ended); committed batches are kept: upload the same file again to resume it' \
                     WHERE state = 'running' AND updated_at < $1",
                )
                .bind(stale_before)
                .bind(now)
                .execute(&self.writer)
                .await
                .map_err($crate::rows::backend)?;
                Ok(done.rows_affected())
            }

            async fn ingest_offset(&self, source: &str) -> Result<Option<(String, i64)>, $crate::StoreError> {
                let row = ::sqlx::query("SELECT file_id, position FROM ingest_offsets WHERE source = $1")
                    .bind(source)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::rows::backend)?;
                let Some(row) = row else { return Ok(None) };
                let file_id: String = ::sqlx::Row::try_get(&row, 0).map_err($crate::rows::backend)?;
                let position: i64 = ::sqlx::Row::try_get(&row, 1).map_err($crate::rows::backend)?;
                Ok(Some((file_id, position)))
            }

            async fn save_ingest_offset(
                &self,
                source: &str,
                file_id: &str,
                position: i64,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                ::sqlx::query(
                    "INSERT INTO ingest_offsets (source, file_id, position, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (source) DO UPDATE SET file_id = excluded.file_id, position = excluded.position, \
                     updated_at = excluded.updated_at",
                )
                .bind(source)
                .bind(file_id)
                .bind(position)
                .bind(now)
                .execute(&self.writer)
                .await
                .map_err($crate::rows::backend)?;
                Ok(())
            }

            async fn last_change(&self) -> Result<i64, $crate::StoreError> {
                let row = ::sqlx::query("SELECT COALESCE(MAX(sequence), 0) FROM suppression_changes")
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::rows::backend)?;
                ::sqlx::Row::try_get::<i64, _>(&row, 0).map_err($crate::rows::backend)
            }

            async fn import_jobs(&self, limit: u32) -> Result<Vec<::rebound_api::v1::ImportJob>, $crate::StoreError> {
                let rows = ::sqlx::query(concat!(
                    "SELECT ", $crate::columns!(import), " FROM import_jobs ORDER BY id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::rows::backend)?;
                rows.iter().map($crate::rows::import_job).collect()
            }
        }
    };
}
