//! Delivering what monitoring decided: signed webhook notifications and KumoMTA suspensions.
//!
//! KumoMTA keeps suspensions in memory, each kumod its own: a pause is suspended on every node
//! configured, and a restarted kumod has none. Each round, the suspensions each node lists are
//! compared with the pauses in force, and one that is missing is created again on its node, so a
//! pause shown as in force holds mail on KumoMTA too. KumoMTA answers a suspension with the same
//! criteria as one it has with that one's id (a pause resumed and made again before its lift went
//! out); lifting a pause leaves an id alone while another pause in force holds it.
//!
//! Both are claimed from the database (leased, so a crash or another replica never loses or
//! doubles one), attempted, and retried with exponential back-off based on the monitor interval
//! (1×, 2×, 4×, ... up to `MAX_ATTEMPTS` attempts). A webhook request carries
//! `X-Rebound-Timestamp` and `X-Rebound-Signature: sha256=HEX`, the HMAC-SHA256 of
//! `TIMESTAMP.BODY` under the webhook's secret, so receivers can check origin and freshness.

use std::collections::HashSet;

use hmac::{Hmac, Mac};
use rebound_api::v1::{DeliveryState, MtaState, WebhookFormat};
use rebound_store::StoreError;
use rebound_store::monitor::{self as ops, Attempt, DueDelivery, DueMta, MtaUpdate};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::AppState;
use crate::config::KumoConfig;

/// Attempts before a delivery (or an MTA call) is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a claimed item is reserved for the worker that claimed it.
const LEASE_SECONDS: i64 = 60;

/// The signature header's value for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length: creating it cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`.
fn backoff(state: &AppState, attempts: u32) -> i64 {
    let base = state.config.monitor_interval.as_secs().max(1) as i64;
    base.saturating_mul(1_i64 << attempts.saturating_sub(1).min(16))
}

/// Runs every due delivery and MTA call once.
pub async fn drain(state: &AppState) -> Result<(), StoreError> {
    let now = state.clock.now();
    for due in ops::claim_deliveries(state.store.as_ref(), now, LEASE_SECONDS, 50).await? {
        let attempt = deliver(state, &due).await;
        state.monitor.metrics.webhook_attempt(attempt.state == DeliveryState::Delivered);
        ops::finish_delivery(state.store.as_ref(), due.id, &attempt).await?;
    }
    if let Some(kumo) = &state.config.kumo {
        for due in ops::claim_mta(state.store.as_ref(), now, LEASE_SECONDS, 20).await? {
            let update = mirror(state, kumo, &due).await;
            ops::update_mta(state.store.as_ref(), due.pause.id, &update).await?;
        }
        reconcile(state, kumo).await?;
    }
    Ok(())
}

/// The suspension ids one node lists (as Rebound keeps them), or why it could not say.
async fn listed_suspensions(state: &AppState, kumo: &KumoConfig, url: &str) -> Result<HashSet<String>, String> {
    let response = kumo_request(state, kumo, url, reqwest::Method::GET).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("KumoMTA answered {}", response.status()));
    }
    let listed: Vec<Value> = response.json().await.map_err(|e| format!("KumoMTA's list is not JSON: {e}"))?;
    Ok(listed.iter().filter_map(|s| s["id"].as_str().map(|id| node_id(url, id))).collect())
}

/// A suspension id as Rebound keeps it: the node's URL and KumoMTA's id (`URL#ID`), since each
/// kumod has suspensions of its own.
fn node_id(url: &str, id: &str) -> String {
    format!("{url}#{id}")
}

/// The node and KumoMTA's id of a kept suspension id (one kept before nodes were named is the
/// first node's).
fn split_id<'a>(kumo: &'a KumoConfig, kept: &'a str) -> (&'a str, &'a str) {
    match kept.rsplit_once('#') {
        Some((url, id)) => (url, id),
        None => (kumo.urls.first().map_or("", String::as_str), kept),
    }
}

/// Every suspension request of a pause, node by node: the order its ids are kept in.
fn requests<'a>(kumo: &'a KumoConfig, bodies: &'a [Value]) -> impl Iterator<Item = (&'a str, &'a Value)> {
    kumo.urls.iter().flat_map(move |url| bodies.iter().map(move |body| (url.as_str(), body)))
}

/// Creates again the suspensions of pauses in force that KumoMTA no longer lists (it restarted).
async fn reconcile(state: &AppState, kumo: &KumoConfig) -> Result<(), StoreError> {
    let pauses: Vec<DueMta> = state
        .store
        .mirrored_pauses()
        .await?
        .into_iter()
        .filter(|p| p.pause.mta_state == Some(MtaState::Suspended) && !p.ids.is_empty())
        .collect();
    if pauses.is_empty() {
        return Ok(());
    }
    // A node that cannot say what it holds is left alone this round.
    let mut listed = HashSet::new();
    let mut unknown = HashSet::new();
    for url in &kumo.urls {
        match listed_suspensions(state, kumo, url).await {
            Ok(ids) => listed.extend(ids),
            Err(error) => {
                tracing::warn!(%error, node = %crate::config::redact_url(url), "cannot list KumoMTA's suspensions to check them");
                unknown.insert(url.as_str());
            }
        }
    }
    let missing = |id: &str| !listed.contains(id) && !unknown.contains(split_id(kumo, id).0);
    let Ok(monitoring) = state.monitoring().await else { return Ok(()) };
    for due in pauses {
        if !due.ids.iter().any(|id| missing(id)) {
            continue;
        }
        let reason = format!("Rebound pause #{}: {}", due.pause.id, due.pause.reason);
        let bodies = suspensions(&monitoring.isps, &due.pause.scope, &reason, &kumo.duration);
        let mut ids = due.ids.clone();
        let mut created = Vec::new();
        for (id, (url, body)) in ids.iter_mut().zip(requests(kumo, &bodies)).filter(|(id, _)| missing(id)) {
            match create_suspension(state, kumo, url, body).await {
                Ok(new) => {
                    created.push(new.clone());
                    *id = new;
                }
                Err(error) => {
                    tracing::warn!(pause = due.pause.id, %error, "re-creating a lost KumoMTA suspension failed");
                    break;
                }
            }
        }
        if created.is_empty() {
            continue;
        }
        if ops::replace_mta_ids(state.store.as_ref(), due.pause.id, &due.ids, &ids).await? {
            tracing::info!(pause = due.pause.id, count = created.len(), "re-created KumoMTA suspensions it had lost");
        } else {
            // The pause was resumed meanwhile: the suspensions just made would hold mail for nothing.
            let held = held_elsewhere(state, due.pause.id).await?;
            let orphans: Vec<String> = created.into_iter().filter(|id| !held.contains(id)).collect();
            if let Err((_, error)) = lift(state, kumo, &orphans).await {
                tracing::warn!(pause = due.pause.id, %error, "deleting a KumoMTA suspension made for a resumed pause failed");
            }
        }
    }
    Ok(())
}

/// The suspension ids that pauses in force other than `pause` hold.
async fn held_elsewhere(state: &AppState, pause: i64) -> Result<HashSet<String>, StoreError> {
    let pauses = state.store.mirrored_pauses().await?;
    Ok(pauses.into_iter().filter(|p| p.pause.id != pause).flat_map(|p| p.ids).collect())
}

/// A Slack-compatible message for a stored JSON notification.
fn slack_body(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let text = match value.get("alert") {
        Some(a) => format!(
            "Rebound alert {}: {} at {} is {:.2}% over {} attempts (threshold {:.2}%)",
            a["to"].as_str().unwrap_or("?"),
            a["metric"].as_str().unwrap_or("?"),
            a["scope"].as_str().unwrap_or("?"),
            a["value"].as_f64().unwrap_or(0.0),
            a["volume"].as_u64().unwrap_or(0),
            a["threshold"].as_f64().unwrap_or(0.0),
        ),
        None => value["message"].as_str().unwrap_or("Rebound notification").to_owned(),
    };
    json!({ "text": text }).to_string()
}

async fn deliver(state: &AppState, due: &DueDelivery) -> Attempt {
    let now = state.clock.now();
    let body = match due.format {
        WebhookFormat::Json => due.body.clone(),
        WebhookFormat::Slack => slack_body(&due.body),
    };
    let request = state
        .monitor
        .http
        .post(&due.url)
        .header("Content-Type", "application/json")
        .header("X-Rebound-Delivery", due.id.to_string())
        .header("X-Rebound-Timestamp", now.to_string())
        .header("X-Rebound-Signature", signature(&due.secret, now, &body))
        .body(body);
    let attempts = due.attempts + 1;
    let (status, error) = match request.send().await {
        Ok(response) if response.status().is_success() => {
            return Attempt {
                state: DeliveryState::Delivered,
                attempts,
                next_attempt_at: None,
                status: Some(response.status().as_u16()),
                error: None,
                delivered_at: Some(state.clock.now()),
            };
        }
        Ok(response) => (Some(response.status().as_u16()), format!("the receiver answered {}", response.status())),
        Err(e) => (None, format!("request failed: {e}")),
    };
    let failed = attempts >= MAX_ATTEMPTS;
    Attempt {
        state: if failed { DeliveryState::Failed } else { DeliveryState::Pending },
        attempts,
        next_attempt_at: (!failed).then(|| now + backoff(state, attempts)),
        status,
        error: Some(error),
        delivered_at: None,
    }
}

/// The suspension requests a paused scope needs: one for everything, one per domain of a
/// provider, or one for a campaign.
fn suspensions(state_isps: &rebound_monitor::IspMap, scope: &str, reason: &str, duration: &str) -> Vec<Value> {
    let base = |extra: Option<(&str, &str)>| {
        let mut body = json!({ "reason": reason, "duration": duration });
        if let Some((key, value)) = extra {
            body[key] = json!(value);
        }
        body
    };
    if let Some(isp) = scope.strip_prefix("isp:") {
        state_isps.domains_of(isp).into_iter().map(|d| base(Some(("domain", d)))).collect()
    } else if let Some(campaign) = scope.strip_prefix("campaign:") {
        vec![base(Some(("campaign", campaign)))]
    } else {
        vec![base(None)]
    }
}

fn kumo_request(state: &AppState, kumo: &KumoConfig, url: &str, method: reqwest::Method) -> reqwest::RequestBuilder {
    let request = state.monitor.http.request(method, format!("{url}/api/admin/suspend/v1"));
    match &kumo.username {
        Some(user) => request.basic_auth(user, kumo.password.as_deref()),
        None => request,
    }
}

/// Suspends or lifts a pause's scope on KumoMTA.
async fn mirror(state: &AppState, kumo: &KumoConfig, due: &DueMta) -> MtaUpdate {
    let attempts = due.attempts + 1;
    let resuming = due.pause.resumed_at.is_some();
    let result = if resuming {
        // An id another pause in force holds (KumoMTA gave both the same suspension) stays.
        match held_elsewhere(state, due.pause.id).await {
            Ok(held) => {
                let own: Vec<String> = due.ids.iter().filter(|id| !held.contains(*id)).cloned().collect();
                lift(state, kumo, &own).await
            }
            Err(e) => Err((due.ids.clone(), e.to_string())),
        }
    } else {
        suspend(state, kumo, due).await
    };
    match result {
        Ok(ids) => MtaUpdate {
            state: if resuming { MtaState::Resumed } else { MtaState::Suspended },
            ids,
            attempts,
            next_at: None,
            error: None,
        },
        Err((ids, error)) => {
            let failed = attempts >= MAX_ATTEMPTS;
            let pending = if resuming { MtaState::Resuming } else { MtaState::Suspending };
            MtaUpdate {
                state: if failed { MtaState::Failed } else { pending },
                ids,
                attempts,
                next_at: (!failed).then(|| state.clock.now() + backoff(state, attempts)),
                error: Some(error),
            }
        }
    }
}

type MtaResult = Result<Vec<String>, (Vec<String>, String)>;

async fn suspend(state: &AppState, kumo: &KumoConfig, due: &DueMta) -> MtaResult {
    let isps = match state.monitoring().await {
        Ok(m) => m,
        Err(e) => return Err((due.ids.clone(), e.to_string())),
    };
    let reason = format!("Rebound pause #{}: {}", due.pause.id, due.pause.reason);
    let bodies = suspensions(&isps.isps, &due.pause.scope, &reason, &kumo.duration);
    if bodies.is_empty() {
        return Err((due.ids.clone(), format!("no domains are known for {}", due.pause.scope)));
    }
    // Suspension ids are kept in request order (node by node), so a retry after a partial failure
    // carries on with the first request that has none.
    let mut ids = due.ids.clone();
    for (url, body) in requests(kumo, &bodies).skip(due.ids.len()) {
        match create_suspension(state, kumo, url, body).await {
            Ok(id) => ids.push(id),
            Err(error) => return Err((ids, error)),
        }
    }
    Ok(ids)
}

/// Creates one suspension on the node at `url`; its id, as kept.
async fn create_suspension(state: &AppState, kumo: &KumoConfig, url: &str, body: &Value) -> Result<String, String> {
    let response = kumo_request(state, kumo, url, reqwest::Method::POST).json(body).send().await;
    let id = match response {
        Ok(r) if r.status().is_success() => {
            r.json::<Value>().await.ok().and_then(|v| v["id"].as_str().map(|id| node_id(url, id)))
        }
        Ok(r) => return Err(format!("KumoMTA answered {}", r.status())),
        Err(e) => return Err(format!("KumoMTA unreachable: {e}")),
    };
    id.ok_or_else(|| "KumoMTA's answer had no suspension id".to_owned())
}

async fn lift(state: &AppState, kumo: &KumoConfig, ids: &[String]) -> MtaResult {
    for (i, kept) in ids.iter().enumerate() {
        let (url, id) = split_id(kumo, kept);
        let response = kumo_request(state, kumo, url, reqwest::Method::DELETE).json(&json!({ "id": id })).send().await;
        match response {
            Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND => {}
            Ok(r) => return Err((ids[i..].to_vec(), format!("KumoMTA answered {}", r.status()))),
            Err(e) => return Err((ids[i..].to_vec(), format!("KumoMTA unreachable: {e}"))),
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = signature("secret", 1_700_000_000, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature("secret", 1_700_000_001, "{}"));
        assert_ne!(a, signature("other", 1_700_000_000, "{}"));
        assert_ne!(a, signature("secret", 1_700_000_000, "{ }"));
    }

    #[test]
    fn slack_messages_summarise_the_alert() {
        let body = json!({
            "event": "alert.critical", "at": 1,
            "alert": { "to": "critical", "metric": "bounce_rate", "scope": "isp:Google", "value": 3.456,
                       "volume": 1200, "threshold": 3.0 }
        });
        let slack: Value = serde_json::from_str(&slack_body(&body.to_string())).unwrap_or(Value::Null);
        assert_eq!(
            slack["text"],
            "Rebound alert critical: bounce_rate at isp:Google is 3.46% over 1200 attempts (threshold 3.00%)"
        );
        let test: Value =
            serde_json::from_str(&slack_body(r#"{"event":"test","message":"hello"}"#)).unwrap_or(Value::Null);
        assert_eq!(test["text"], "hello");
    }

    #[test]
    fn a_provider_pause_suspends_each_of_its_domains() {
        let isps = rebound_monitor::IspMap::new(&Default::default());
        let bodies = suspensions(&isps, "isp:Google", "why", "7d");
        let domains: Vec<&str> = bodies.iter().filter_map(|b| b["domain"].as_str()).collect();
        assert_eq!(domains, vec!["gmail.com", "googlemail.com"]);
        assert_eq!(suspensions(&isps, "campaign:spring", "why", "7d")[0]["campaign"], "spring");
        assert!(suspensions(&isps, "all", "why", "7d")[0].get("domain").is_none());
    }
}
