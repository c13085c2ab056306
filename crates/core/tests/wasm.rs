//! The classifier compiled to wasm32 and run under Node: the same verdicts as natively, and the
//! JavaScript export returns a plain object. Run with `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use rebound_core::{Kind, Reason, classify_reply};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn classifies_the_same_as_natively() {
    let hard = classify_reply("smtp; 550 5.1.1 <jane@example.com>: user unknown");
    assert_eq!((hard.kind, hard.reason), (Kind::Hard, Reason::UserUnknown));
    let block = classify_reply("550 5.7.1 rejected as spam");
    assert_eq!(block.kind, Kind::Block);
}

#[wasm_bindgen_test]
fn the_javascript_export_returns_an_object() {
    let value = rebound_core::classify("452 4.2.2 mailbox full").unwrap_or(wasm_bindgen::JsValue::NULL);
    assert!(value.is_object());
    let verdict: rebound_core::Verdict = serde_wasm_bindgen::from_value(value).expect("a verdict");
    assert_eq!((verdict.kind, verdict.reason), (Kind::Soft, Reason::MailboxFull));
}

#[wasm_bindgen_test]
fn provider_events_are_read_in_the_browser_too() {
    let batch = br#"[{"email": "a@example.com", "event": "bounce", "sg_event_id": "x", "type": "blocked",
        "reason": "550 5.7.1 blocked using zen.spamhaus.org", "status": "5.7.1"},
        {"email": "b@example.com", "event": "spamreport", "sg_event_id": "y"}]"#;
    let kinds: Vec<Kind> = rebound_core::classify_message(batch).iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [Kind::Block, Kind::Complaint]);
}
