//! `GET /api/v1/unclassified`: the verdicts no rule explained, grouped by the shape of their text
//! (`rebound_core::shape`: addresses, IP addresses, numbers and ids replaced by placeholders), with
//! counts, first and last seen, distinct recipients, examples and a drafted rule pattern, largest
//! group first. It is where staff find the bounces the classifier does not know yet and write the
//! rules for them (the policy page tests and previews a rule before it is saved).

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use rebound_api::v1::{Unclassified, UnclassifiedExample, UnclassifiedGroup};
use rebound_core::shape::{draft_pattern, shape};
use rebound_store::UnknownEvent;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::extract::ApiQuery;

/// Most unknown events one answer reads (the newest of the window).
const MAX_EVENTS: u32 = 20_000;
/// Most groups one answer lists.
const MAX_GROUPS: usize = 100;
/// Examples kept per group.
const EXAMPLES: usize = 5;
/// The longest window, in hours (90 days).
const MAX_HOURS: u32 = 90 * 24;

pub fn router() -> Router<AppState> {
    Router::new().route("/unclassified", get(list))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The window, in hours back from now (default 7 days).
    #[serde(default)]
    hours: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<Unclassified>, ApiError> {
    principal.require(Permission::Read)?;
    let hours = params.hours.unwrap_or(7 * 24);
    if hours == 0 || hours > MAX_HOURS {
        return Err(ApiError::invalid_field("hours", format!("must be between 1 and {MAX_HOURS}")));
    }
    let since = state.clock.now() - i64::from(hours) * 3600;
    let events = state.store.unknown_events(since, MAX_EVENTS).await?;
    Ok(Json(group(&events)))
}

/// The groups of `events` (newest first), largest first, then most recent.
fn group(events: &[UnknownEvent]) -> Unclassified {
    struct Acc {
        group: UnclassifiedGroup,
        recipients: BTreeSet<String>,
    }
    let mut groups: HashMap<String, Acc> = HashMap::new();
    for event in events {
        let text = event.verdict.evidence.trim();
        let key = if text.is_empty() { format!("({})", event.verdict.rule) } else { shape(text) };
        let acc = groups.entry(key.clone()).or_insert_with(|| Acc {
            group: UnclassifiedGroup {
                draft_pattern: if text.is_empty() { String::new() } else { draft_pattern(&key) },
                shape: key,
                count: 0,
                recipients: 0,
                first_seen: event.received_at,
                last_seen: event.received_at,
                examples: Vec::new(),
            },
            recipients: BTreeSet::new(),
        });
        let group = &mut acc.group;
        group.count += 1;
        group.first_seen = group.first_seen.min(event.received_at);
        group.last_seen = group.last_seen.max(event.received_at);
        if let Some(recipient) = &event.recipient {
            acc.recipients.insert(recipient.to_ascii_lowercase());
        }
        if group.examples.len() < EXAMPLES {
            group.examples.push(UnclassifiedExample {
                event_id: event.id,
                recipient: event.recipient.clone(),
                text: text.to_owned(),
            });
        }
    }
    let mut out: Vec<UnclassifiedGroup> = groups
        .into_values()
        .map(|acc| UnclassifiedGroup { recipients: acc.recipients.len() as u64, ..acc.group })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)).then(a.shape.cmp(&b.shape)));
    out.truncate(MAX_GROUPS);
    Unclassified { events_read: events.len() as u64, groups: out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rebound_core::classify_reply;

    fn event(id: i64, at: i64, recipient: &str, reply: &str) -> UnknownEvent {
        UnknownEvent { id, received_at: at, recipient: Some(recipient.to_owned()), verdict: classify_reply(reply) }
    }

    #[test]
    fn texts_of_one_shape_are_one_group_largest_first() {
        let events = [
            event(4, 40, "c@example.com", "550 Frobnicated by the gateway, ticket 4711"),
            event(3, 30, "b@example.com", "550 Something odd happened here"),
            event(2, 20, "a@example.com", "550 Frobnicated by the gateway, ticket 815"),
            event(1, 10, "a@example.com", "550 Frobnicated by the gateway, ticket 9"),
        ];
        let found = group(&events);
        assert_eq!(found.events_read, 4);
        let first = &found.groups[0];
        assert_eq!(first.shape, "550 Frobnicated by the gateway, ticket <n>");
        assert_eq!((first.count, first.recipients, first.first_seen, first.last_seen), (3, 2, 10, 40));
        assert_eq!(first.examples[0].event_id, 4, "newest first");
        assert_eq!(found.groups[1].count, 1);
    }
}
