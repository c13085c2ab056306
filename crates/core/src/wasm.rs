//! JavaScript bindings: `classify(reply)` for browser callers outside the Leptos console.

use wasm_bindgen::prelude::*;

/// Classifies one SMTP reply and returns the verdict as a plain JavaScript object.
#[wasm_bindgen]
pub fn classify(input: &str) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(&crate::classify_reply(input)).map_err(|e| JsError::new(&e.to_string()))
}
