//! The monitoring SQL both backends run (see `sql` for why it is written once): bucket counters
//! added with upserts, alert states and transitions, the webhook outbox, pauses and their MTA
//! mirror. Each backend expands `monitor_sql!` next to `sql_store!`.

/// Expands the monitoring SQL for one backend's store and transaction types.
#[macro_export]
macro_rules! monitor_sql {
    (db: $db:ty, store: $store:ty, tx: $tx:ident) => {
        mod monitor_rows {
            use ::rebound_api::v1::{
                AlertLevel, AlertState, AlertTransition, Counts, DeliveryState, Metric, MtaState, Pause, Webhook,
                WebhookDelivery, WebhookFormat,
            };
            use ::rebound_store::StoreError;
            use ::sqlx::Row;

            pub type DbRow = <$db as ::sqlx::Database>::Row;

            fn get<'r, T: ::sqlx::Decode<'r, $db> + ::sqlx::Type<$db>>(
                row: &'r DbRow,
                column: &'static str,
            ) -> Result<T, StoreError> {
                row.try_get(column).map_err(::rebound_store::rows::backend)
            }

            fn count(row: &DbRow, column: &'static str) -> Result<u64, StoreError> {
                Ok(get::<Option<i64>>(row, column)?.unwrap_or(0).max(0) as u64)
            }

            fn corrupt(what: &'static str, detail: &str) -> StoreError {
                StoreError::Corrupt { what, detail: detail.to_owned() }
            }

            pub const COUNTS: &str = "CAST(SUM(sent) AS BIGINT) AS sent, CAST(SUM(delivered) AS BIGINT) AS delivered, \
                 CAST(SUM(hard) AS BIGINT) AS hard, CAST(SUM(soft) AS BIGINT) AS soft, \
                 CAST(SUM(blocked) AS BIGINT) AS blocked, CAST(SUM(complaint) AS BIGINT) AS complaint, \
                 CAST(SUM(unsubscribe) AS BIGINT) AS unsubscribe, CAST(SUM(soft_started) AS BIGINT) AS soft_started, \
                 CAST(SUM(soft_recovered) AS BIGINT) AS soft_recovered";

            pub fn counts(row: &DbRow) -> Result<Counts, StoreError> {
                Ok(Counts {
                    sent: count(row, "sent")?,
                    delivered: count(row, "delivered")?,
                    hard: count(row, "hard")?,
                    soft: count(row, "soft")?,
                    block: count(row, "blocked")?,
                    complaint: count(row, "complaint")?,
                    unsubscribe: count(row, "unsubscribe")?,
                    soft_started: count(row, "soft_started")?,
                    soft_recovered: count(row, "soft_recovered")?,
                })
            }

            fn metric(name: &str) -> Result<Metric, StoreError> {
                Metric::parse(name).ok_or_else(|| corrupt("alert metric", name))
            }

            fn level(row: &DbRow, column: &'static str) -> Result<AlertLevel, StoreError> {
                let name: String = get(row, column)?;
                AlertLevel::parse(&name).ok_or_else(|| corrupt("alert level", &name))
            }

            pub const STATE: &str = "metric, scope, level, value, volume, since, updated_at";

            pub fn state(row: &DbRow) -> Result<AlertState, StoreError> {
                Ok(AlertState {
                    metric: metric(&get::<String>(row, "metric")?)?,
                    scope: get(row, "scope")?,
                    level: level(row, "level")?,
                    value: get(row, "value")?,
                    volume: count(row, "volume")?,
                    since: get(row, "since")?,
                    updated_at: get(row, "updated_at")?,
                })
            }

            pub const TRANSITION: &str = "id, at, metric, scope, from_level, to_level, value, volume, threshold, pause_id";

            pub fn transition(row: &DbRow) -> Result<AlertTransition, StoreError> {
                Ok(AlertTransition {
                    id: get(row, "id")?,
                    at: get(row, "at")?,
                    metric: metric(&get::<String>(row, "metric")?)?,
                    scope: get(row, "scope")?,
                    from: level(row, "from_level")?,
                    to: level(row, "to_level")?,
                    value: get(row, "value")?,
                    volume: count(row, "volume")?,
                    threshold: get(row, "threshold")?,
                    pause_id: get(row, "pause_id")?,
                })
            }

            pub fn format_name(format: WebhookFormat) -> &'static str {
                match format {
                    WebhookFormat::Json => "json",
                    WebhookFormat::Slack => "slack",
                }
            }

            pub fn format(row: &DbRow) -> Result<WebhookFormat, StoreError> {
                match get::<String>(row, "format")?.as_str() {
                    "json" => Ok(WebhookFormat::Json),
                    "slack" => Ok(WebhookFormat::Slack),
                    other => Err(corrupt("webhook format", other)),
                }
            }

            pub const WEBHOOK: &str = "id, name, url, format, enabled, created_at, created_by";

            pub fn webhook(row: &DbRow) -> Result<Webhook, StoreError> {
                Ok(Webhook {
                    id: get(row, "id")?,
                    name: get(row, "name")?,
                    url: get(row, "url")?,
                    format: format(row)?,
                    enabled: get(row, "enabled")?,
                    created_at: get(row, "created_at")?,
                    created_by: get(row, "created_by")?,
                })
            }

            pub fn delivery_state_name(state: DeliveryState) -> &'static str {
                match state {
                    DeliveryState::Pending => "pending",
                    DeliveryState::Delivered => "delivered",
                    DeliveryState::Failed => "failed",
                }
            }

            pub const DELIVERY: &str = "id, webhook_id, created_at, event, state, attempts, next_attempt_at, \
                 last_status, last_error, delivered_at, body";

            pub fn delivery(row: &DbRow) -> Result<WebhookDelivery, StoreError> {
                let state = match get::<String>(row, "state")?.as_str() {
                    "pending" => DeliveryState::Pending,
                    "delivered" => DeliveryState::Delivered,
                    "failed" => DeliveryState::Failed,
                    other => return Err(corrupt("delivery state", other)),
                };
                Ok(WebhookDelivery {
                    id: get(row, "id")?,
                    webhook_id: get(row, "webhook_id")?,
                    created_at: get(row, "created_at")?,
                    event: get(row, "event")?,
                    state,
                    attempts: count(row, "attempts")? as u32,
                    next_attempt_at: get(row, "next_attempt_at")?,
                    last_status: get::<Option<i64>>(row, "last_status")?.and_then(|s| u16::try_from(s).ok()),
                    last_error: get(row, "last_error")?,
                    delivered_at: get(row, "delivered_at")?,
                    body: get(row, "body")?,
                })
            }

            pub fn mta_state_name(state: MtaState) -> &'static str {
                match state {
                    MtaState::Suspending => "suspending",
                    MtaState::Suspended => "suspended",
                    MtaState::Resuming => "resuming",
                    MtaState::Resumed => "resumed",
                    MtaState::Failed => "failed",
                }
            }

            pub const PAUSE: &str = "id, scope, reason, created_at, created_by, transition_id, resumed_at, resumed_by, \
                 resume_reason, mta_state, mta_error, mta_ids, mta_attempts";

            pub fn pause(row: &DbRow) -> Result<Pause, StoreError> {
                let mta_state = match get::<Option<String>>(row, "mta_state")?.as_deref() {
                    None => None,
                    Some("suspending") => Some(MtaState::Suspending),
                    Some("suspended") => Some(MtaState::Suspended),
                    Some("resuming") => Some(MtaState::Resuming),
                    Some("resumed") => Some(MtaState::Resumed),
                    Some("failed") => Some(MtaState::Failed),
                    Some(other) => return Err(corrupt("MTA state", other)),
                };
                Ok(Pause {
                    id: get(row, "id")?,
                    scope: get(row, "scope")?,
                    reason: get(row, "reason")?,
                    created_at: get(row, "created_at")?,
                    created_by: get(row, "created_by")?,
                    transition_id: get(row, "transition_id")?,
                    resumed_at: get(row, "resumed_at")?,
                    resumed_by: get(row, "resumed_by")?,
                    resume_reason: get(row, "resume_reason")?,
                    mta_state,
                    mta_error: get(row, "mta_error")?,
                })
            }

            pub fn due_mta(row: &DbRow) -> Result<::rebound_store::monitor::DueMta, StoreError> {
                let ids: String = get(row, "mta_ids")?;
                Ok(::rebound_store::monitor::DueMta {
                    pause: pause(row)?,
                    ids: ::rebound_store::json_from_db("MTA suspension ids", &ids)?,
                    attempts: count(row, "mta_attempts")? as u32,
                })
            }
        }

        #[::async_trait::async_trait]
        impl ::rebound_store::monitor::MonitorTx for $tx {
            async fn add_metric_counts(
                &mut self,
                deltas: &[::rebound_store::monitor::MetricDelta],
            ) -> Result<(), ::rebound_store::StoreError> {
                for chunk in deltas.chunks(1_000) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO metric_buckets (dimension, bucket, name, sent, delivered, hard, soft, blocked, \
                         complaint, unsubscribe, soft_started, soft_recovered) ",
                    );
                    b.push_values(chunk, |mut v, d| {
                        let c = &d.counts;
                        v.push_bind(d.dimension).push_bind(d.bucket).push_bind(d.name.as_str());
                        for n in [
                            c.sent, c.delivered, c.hard, c.soft, c.block, c.complaint, c.unsubscribe,
                            c.soft_started, c.soft_recovered,
                        ] {
                            v.push_bind(i64::try_from(n).unwrap_or(i64::MAX));
                        }
                    });
                    b.push(
                        " ON CONFLICT (dimension, bucket, name) DO UPDATE SET \
                         sent = metric_buckets.sent + excluded.sent, \
                         delivered = metric_buckets.delivered + excluded.delivered, \
                         hard = metric_buckets.hard + excluded.hard, soft = metric_buckets.soft + excluded.soft, \
                         blocked = metric_buckets.blocked + excluded.blocked, \
                         complaint = metric_buckets.complaint + excluded.complaint, \
                         unsubscribe = metric_buckets.unsubscribe + excluded.unsubscribe, \
                         soft_started = metric_buckets.soft_started + excluded.soft_started, \
                         soft_recovered = metric_buckets.soft_recovered + excluded.soft_recovered",
                    );
                    b.build().execute(&mut *self.tx).await.map_err(::rebound_store::rows::backend)?;
                }
                Ok(())
            }

            async fn claim_records(&mut self, keys: &[&str], now: i64) -> Result<Vec<bool>, ::rebound_store::StoreError> {
                let mut first: ::std::collections::HashMap<&str, usize> = ::std::collections::HashMap::new();
                for (i, key) in keys.iter().enumerate() {
                    first.entry(key).or_insert(i);
                }
                let unique: Vec<&str> = first.keys().copied().collect();
                let mut new = vec![false; keys.len()];
                for chunk in unique.chunks(5_000) {
                    let mut b = ::sqlx::QueryBuilder::<$db>::new("INSERT INTO counted_records (key, counted_at) ");
                    b.push_values(chunk, |mut v, key| {
                        v.push_bind(*key).push_bind(now);
                    });
                    b.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
                    let rows: Vec<String> = b
                        .build_query_scalar()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(::rebound_store::rows::backend)?;
                    for key in rows {
                        if let Some(&i) = first.get(key.as_str()) {
                            new[i] = true;
                        }
                    }
                }
                Ok(new)
            }

            async fn add_suppression_daily(
                &mut self,
                deltas: &[::rebound_store::monitor::DailyDelta],
            ) -> Result<(), ::rebound_store::StoreError> {
                for chunk in deltas.chunks(1_000) {
                    let mut b =
                        ::sqlx::QueryBuilder::<$db>::new("INSERT INTO suppression_daily (day, reason, added, lifted) ");
                    b.push_values(chunk, |mut v, d| {
                        v.push_bind(d.day)
                            .push_bind(d.reason.as_str())
                            .push_bind(i64::try_from(d.added).unwrap_or(i64::MAX))
                            .push_bind(i64::try_from(d.lifted).unwrap_or(i64::MAX));
                    });
                    b.push(
                        " ON CONFLICT (day, reason) DO UPDATE SET added = suppression_daily.added + excluded.added, \
                         lifted = suppression_daily.lifted + excluded.lifted",
                    );
                    b.build().execute(&mut *self.tx).await.map_err(::rebound_store::rows::backend)?;
                }
                Ok(())
            }

            async fn alert_states(
                &mut self,
            ) -> Result<Vec<::rebound_api::v1::AlertState>, ::rebound_store::StoreError> {
                let sql = format!("SELECT {} FROM alert_states", monitor_rows::STATE);
                let rows = ::sqlx::query(&sql).fetch_all(&mut *self.tx).await.map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::state).collect()
            }

            async fn put_alert_state(
                &mut self,
                s: &::rebound_api::v1::AlertState,
            ) -> Result<(), ::rebound_store::StoreError> {
                ::sqlx::query(
                    "INSERT INTO alert_states (metric, scope, level, value, volume, since, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (metric, scope) DO UPDATE SET \
                     level = excluded.level, value = excluded.value, volume = excluded.volume, \
                     since = excluded.since, updated_at = excluded.updated_at",
                )
                .bind(s.metric.as_str())
                .bind(&s.scope)
                .bind(s.level.as_str())
                .bind(s.value)
                .bind(i64::try_from(s.volume).unwrap_or(i64::MAX))
                .bind(s.since)
                .bind(s.updated_at)
                .execute(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)?;
                Ok(())
            }

            async fn insert_transition(
                &mut self,
                t: &::rebound_api::v1::AlertTransition,
            ) -> Result<i64, ::rebound_store::StoreError> {
                ::sqlx::query_scalar(
                    "INSERT INTO alert_transitions (at, metric, scope, from_level, to_level, value, volume, \
                     threshold, pause_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(t.at)
                .bind(t.metric.as_str())
                .bind(&t.scope)
                .bind(t.from.as_str())
                .bind(t.to.as_str())
                .bind(t.value)
                .bind(i64::try_from(t.volume).unwrap_or(i64::MAX))
                .bind(t.threshold)
                .bind(t.pause_id)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)
            }

            async fn set_transition_pause(&mut self, id: i64, pause_id: i64) -> Result<(), ::rebound_store::StoreError> {
                ::sqlx::query("UPDATE alert_transitions SET pause_id = $2 WHERE id = $1")
                    .bind(id)
                    .bind(pause_id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                Ok(())
            }

            async fn enabled_webhooks(&mut self) -> Result<Vec<i64>, ::rebound_store::StoreError> {
                ::sqlx::query_scalar("SELECT id FROM webhooks WHERE enabled = TRUE ORDER BY id")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)
            }

            async fn insert_delivery(
                &mut self,
                webhook_id: i64,
                at: i64,
                event: &str,
                body: &str,
            ) -> Result<i64, ::rebound_store::StoreError> {
                ::sqlx::query_scalar(
                    "INSERT INTO webhook_deliveries (webhook_id, created_at, event, body, state, attempts, \
                     next_attempt_at) VALUES ($1, $2, $3, $4, 'pending', 0, $2) RETURNING id",
                )
                .bind(webhook_id)
                .bind(at)
                .bind(event)
                .bind(body)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)
            }

            async fn insert_webhook(
                &mut self,
                name: &str,
                url: &str,
                secret: &str,
                format: ::rebound_api::v1::WebhookFormat,
                now: i64,
                by: &str,
            ) -> Result<::rebound_api::v1::Webhook, ::rebound_store::StoreError> {
                let sql = format!(
                    "INSERT INTO webhooks (name, url, secret, format, enabled, created_at, created_by) \
                     VALUES ($1, $2, $3, $4, TRUE, $5, $6) RETURNING {}",
                    monitor_rows::WEBHOOK
                );
                let row = ::sqlx::query(&sql)
                    .bind(name)
                    .bind(url)
                    .bind(secret)
                    .bind(monitor_rows::format_name(format))
                    .bind(now)
                    .bind(by)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(|e| ::rebound_store::rows::write_error(e, "a webhook with this name"))?;
                monitor_rows::webhook(&row)
            }

            async fn set_webhook_enabled(
                &mut self,
                id: i64,
                enabled: bool,
            ) -> Result<Option<::rebound_api::v1::Webhook>, ::rebound_store::StoreError> {
                let sql =
                    format!("UPDATE webhooks SET enabled = $2 WHERE id = $1 RETURNING {}", monitor_rows::WEBHOOK);
                let row = ::sqlx::query(&sql)
                    .bind(id)
                    .bind(enabled)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                row.as_ref().map(monitor_rows::webhook).transpose()
            }

            async fn claim_deliveries(
                &mut self,
                now: i64,
                lease_until: i64,
                limit: u32,
            ) -> Result<Vec<::rebound_store::monitor::DueDelivery>, ::rebound_store::StoreError> {
                let rows = ::sqlx::query(
                    "SELECT d.id, w.url, w.secret, w.format, d.body, d.attempts FROM webhook_deliveries d \
                     JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND w.enabled = TRUE \
                     ORDER BY d.next_attempt_at, d.id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)?;
                let mut due = Vec::with_capacity(rows.len());
                for row in &rows {
                    let get_s = |c: &'static str| -> Result<String, ::rebound_store::StoreError> {
                        ::sqlx::Row::try_get(row, c).map_err(::rebound_store::rows::backend)
                    };
                    let id: i64 = ::sqlx::Row::try_get(row, "id").map_err(::rebound_store::rows::backend)?;
                    let attempts: i64 =
                        ::sqlx::Row::try_get(row, "attempts").map_err(::rebound_store::rows::backend)?;
                    ::sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(lease_until)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(::rebound_store::rows::backend)?;
                    due.push(::rebound_store::monitor::DueDelivery {
                        id,
                        url: get_s("url")?,
                        secret: get_s("secret")?,
                        format: monitor_rows::format(row)?,
                        body: get_s("body")?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    });
                }
                Ok(due)
            }

            async fn finish_delivery(
                &mut self,
                id: i64,
                a: &::rebound_store::monitor::Attempt,
            ) -> Result<(), ::rebound_store::StoreError> {
                ::sqlx::query(
                    "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, \
                     last_status = $5, last_error = $6, delivered_at = $7 WHERE id = $1",
                )
                .bind(id)
                .bind(monitor_rows::delivery_state_name(a.state))
                .bind(i64::from(a.attempts))
                .bind(a.next_attempt_at)
                .bind(a.status.map(i64::from))
                .bind(a.error.as_deref())
                .bind(a.delivered_at)
                .execute(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)?;
                Ok(())
            }

            async fn active_pause(
                &mut self,
                scope: &str,
            ) -> Result<Option<::rebound_api::v1::Pause>, ::rebound_store::StoreError> {
                let sql =
                    format!("SELECT {} FROM pauses WHERE scope = $1 AND resumed_at IS NULL", monitor_rows::PAUSE);
                let row = ::sqlx::query(&sql)
                    .bind(scope)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                row.as_ref().map(monitor_rows::pause).transpose()
            }

            async fn pause_by_id(
                &mut self,
                id: i64,
            ) -> Result<Option<::rebound_api::v1::Pause>, ::rebound_store::StoreError> {
                let sql = format!("SELECT {} FROM pauses WHERE id = $1", monitor_rows::PAUSE);
                let row = ::sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                row.as_ref().map(monitor_rows::pause).transpose()
            }

            async fn insert_pause(
                &mut self,
                new: &::rebound_store::monitor::NewPause<'_>,
            ) -> Result<::rebound_api::v1::Pause, ::rebound_store::StoreError> {
                let sql = format!(
                    "INSERT INTO pauses (scope, reason, created_at, created_by, transition_id, mta_state, \
                     mta_next_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
                    monitor_rows::PAUSE
                );
                let row = ::sqlx::query(&sql)
                    .bind(new.scope)
                    .bind(new.reason)
                    .bind(new.now)
                    .bind(new.by)
                    .bind(new.transition_id)
                    .bind(new.mirror.then_some("suspending"))
                    .bind(new.mirror.then_some(new.now))
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(|e| ::rebound_store::rows::write_error(e, "an active pause of this scope"))?;
                monitor_rows::pause(&row)
            }

            async fn resume_pause(
                &mut self,
                id: i64,
                now: i64,
                by: &str,
                reason: &str,
            ) -> Result<::rebound_api::v1::Pause, ::rebound_store::StoreError> {
                let sql = format!(
                    "UPDATE pauses SET resumed_at = $2, resumed_by = $3, resume_reason = $4, mta_attempts = 0, \
                     mta_state = CASE WHEN mta_state IS NULL THEN NULL ELSE 'resuming' END, \
                     mta_next_at = CASE WHEN mta_state IS NULL THEN NULL ELSE $2 END \
                     WHERE id = $1 RETURNING {}",
                    monitor_rows::PAUSE
                );
                let row = ::sqlx::query(&sql)
                    .bind(id)
                    .bind(now)
                    .bind(by)
                    .bind(reason)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                monitor_rows::pause(&row)
            }

            async fn claim_mta(
                &mut self,
                now: i64,
                lease_until: i64,
                limit: u32,
            ) -> Result<Vec<::rebound_store::monitor::DueMta>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM pauses WHERE mta_next_at IS NOT NULL AND mta_next_at <= $1 \
                     ORDER BY mta_next_at, id LIMIT $2",
                    monitor_rows::PAUSE
                );
                let rows = ::sqlx::query(&sql)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                let due = rows.iter().map(monitor_rows::due_mta).collect::<Result<Vec<_>, _>>()?;
                for d in &due {
                    ::sqlx::query("UPDATE pauses SET mta_next_at = $2 WHERE id = $1")
                        .bind(d.pause.id)
                        .bind(lease_until)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(::rebound_store::rows::backend)?;
                }
                Ok(due)
            }

            async fn update_mta(
                &mut self,
                id: i64,
                u: &::rebound_store::monitor::MtaUpdate,
            ) -> Result<(), ::rebound_store::StoreError> {
                let ids = ::serde_json::to_string(&u.ids).unwrap_or_else(|_| "[]".to_owned());
                ::sqlx::query(
                    "UPDATE pauses SET mta_state = $2, mta_ids = $3, mta_attempts = $4, mta_next_at = $5, \
                     mta_error = $6 WHERE id = $1",
                )
                .bind(id)
                .bind(monitor_rows::mta_state_name(u.state))
                .bind(ids)
                .bind(i64::from(u.attempts))
                .bind(u.next_at)
                .bind(u.error.as_deref())
                .execute(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)?;
                Ok(())
            }

            async fn replace_mta_ids(
                &mut self,
                id: i64,
                expected: &[String],
                ids: &[String],
            ) -> Result<bool, ::rebound_store::StoreError> {
                let json = |ids: &[String]| ::serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
                let done = ::sqlx::query(
                    "UPDATE pauses SET mta_ids = $3 WHERE id = $1 AND mta_ids = $2 AND mta_state = 'suspended' \
                     AND resumed_at IS NULL",
                )
                .bind(id)
                .bind(json(expected))
                .bind(json(ids))
                .execute(&mut *self.tx)
                .await
                .map_err(::rebound_store::rows::backend)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[::async_trait::async_trait]
        impl ::rebound_store::monitor::MonitorStore for $store {
            async fn metric_totals(
                &self,
                dimension: &str,
                from: i64,
                until: i64,
            ) -> Result<Vec<(String, ::rebound_api::v1::Counts)>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT name, {} FROM metric_buckets WHERE dimension = $1 AND bucket >= $2 AND bucket < $3 \
                     GROUP BY name",
                    monitor_rows::COUNTS
                );
                let rows = ::sqlx::query(&sql)
                    .bind(dimension)
                    .bind(from)
                    .bind(until)
                    .fetch_all(&self.reader)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                rows.iter()
                    .map(|row| {
                        let name: String =
                            ::sqlx::Row::try_get(row, "name").map_err(::rebound_store::rows::backend)?;
                        Ok((name, monitor_rows::counts(row)?))
                    })
                    .collect()
            }

            async fn metric_series(
                &self,
                dimension: &str,
                name: Option<&str>,
                from: i64,
                until: i64,
                step: i64,
            ) -> Result<Vec<(i64, ::rebound_api::v1::Counts)>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT $2 + ((bucket - $2) / $4) * $4 AS at, {} FROM metric_buckets \
                     WHERE dimension = $1 AND bucket >= $2 AND bucket < $3 AND ($5 IS NULL OR name = $5) \
                     GROUP BY at ORDER BY at",
                    monitor_rows::COUNTS
                );
                let rows = ::sqlx::query(&sql)
                    .bind(dimension)
                    .bind(from)
                    .bind(until)
                    .bind(step)
                    .bind(name)
                    .fetch_all(&self.reader)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                rows.iter()
                    .map(|row| {
                        let at: i64 = ::sqlx::Row::try_get(row, "at").map_err(::rebound_store::rows::backend)?;
                        Ok((at, monitor_rows::counts(row)?))
                    })
                    .collect()
            }

            async fn suppression_daily(
                &self,
                from_day: i64,
            ) -> Result<Vec<::rebound_store::monitor::DailyRow>, ::rebound_store::StoreError> {
                let rows = ::sqlx::query(
                    "SELECT day, reason, added, lifted FROM suppression_daily WHERE day >= $1 ORDER BY day, reason",
                )
                .bind(from_day)
                .fetch_all(&self.reader)
                .await
                .map_err(::rebound_store::rows::backend)?;
                rows.iter()
                    .map(|row| {
                        let get = |c: &'static str| -> Result<i64, ::rebound_store::StoreError> {
                            ::sqlx::Row::try_get(row, c).map_err(::rebound_store::rows::backend)
                        };
                        Ok(::rebound_store::monitor::DailyRow {
                            day: get("day")?,
                            reason: ::sqlx::Row::try_get(row, "reason").map_err(::rebound_store::rows::backend)?,
                            added: get("added")?.max(0) as u64,
                            lifted: get("lifted")?.max(0) as u64,
                        })
                    })
                    .collect()
            }

            async fn alert_states(
                &self,
            ) -> Result<Vec<::rebound_api::v1::AlertState>, ::rebound_store::StoreError> {
                let sql = format!("SELECT {} FROM alert_states ORDER BY metric, scope", monitor_rows::STATE);
                let rows = ::sqlx::query(&sql).fetch_all(&self.reader).await.map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::state).collect()
            }

            async fn alert_transitions(
                &self,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::AlertTransition>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM alert_transitions WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                    monitor_rows::TRANSITION
                );
                let rows = ::sqlx::query(&sql)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::transition).collect()
            }

            async fn webhooks(&self) -> Result<Vec<::rebound_api::v1::Webhook>, ::rebound_store::StoreError> {
                let sql = format!("SELECT {} FROM webhooks ORDER BY id", monitor_rows::WEBHOOK);
                let rows = ::sqlx::query(&sql).fetch_all(&self.reader).await.map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::webhook).collect()
            }

            async fn webhook_deliveries(
                &self,
                webhook_id: i64,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::WebhookDelivery>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
                    monitor_rows::DELIVERY
                );
                let rows = ::sqlx::query(&sql)
                    .bind(webhook_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::delivery).collect()
            }

            async fn pauses(
                &self,
                active_only: bool,
                limit: u32,
            ) -> Result<Vec<::rebound_api::v1::Pause>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM pauses WHERE (resumed_at IS NULL OR $1 = FALSE) ORDER BY id DESC LIMIT $2",
                    monitor_rows::PAUSE
                );
                let rows = ::sqlx::query(&sql)
                    .bind(active_only)
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::pause).collect()
            }

            async fn mirrored_pauses(
                &self,
            ) -> Result<Vec<::rebound_store::monitor::DueMta>, ::rebound_store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM pauses WHERE resumed_at IS NULL AND mta_state IN ('suspending', 'suspended') \
                     ORDER BY id",
                    monitor_rows::PAUSE
                );
                let rows = ::sqlx::query(&sql).fetch_all(&self.reader).await.map_err(::rebound_store::rows::backend)?;
                rows.iter().map(monitor_rows::due_mta).collect()
            }

            async fn prune_counted_records(&self, before: i64) -> Result<u64, ::rebound_store::StoreError> {
                let done = ::sqlx::query("DELETE FROM counted_records WHERE counted_at < $1")
                    .bind(before)
                    .execute(&self.writer)
                    .await
                    .map_err(::rebound_store::rows::backend)?;
                Ok(done.rows_affected())
            }
        }
    };
}
