//! JavaScript bindings for browser (and Node) callers outside the Leptos console:
//! `classify(reply)` and `classifyMessage(bytes)` (an email or provider webhook JSON), returning
//! plain objects.

use wasm_bindgen::prelude::*;

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| JsError::new(&e.to_string()))
}

/// Classifies one SMTP reply and returns the verdict as a plain JavaScript object.
#[wasm_bindgen]
pub fn classify(input: &str) -> Result<JsValue, JsError> {
    to_js(&crate::classify_reply(input))
}

/// Classifies a whole bounce email or provider webhook JSON (SendGrid, Mailgun, Postmark,
/// SparkPost, SES; one event or a batch) from its raw bytes and returns an array of verdicts, one
/// per recipient or event.
#[wasm_bindgen(js_name = classifyMessage)]
pub fn classify_message(raw: &[u8]) -> Result<JsValue, JsError> {
    to_js(&crate::classify_message(raw))
}
