//! JavaScript bindings for browser (and Node) callers outside the Leptos console:
//! `classify(reply)` and `classifyMessage(bytes)` (an email or provider webhook JSON), returning
//! plain objects. With the `bench` feature, `benchReplies` and `benchMessages` classify a whole
//! corpus inside wasm, so that `scripts/bench-wasm.sh` can tell the classifier's own speed from
//! the cost of building a JavaScript object for every verdict.

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

/// Classifies each of the texts packed in `texts` (their byte lengths in `lengths`) `rounds` times
/// and returns how many verdicts were hard, so that the work cannot be skipped.
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = benchReplies)]
pub fn bench_replies(texts: &str, lengths: &[u32], rounds: u32) -> u32 {
    // Each piece is made text once, as the native bench holds its lines as text: checking UTF-8
    // in every round would add to the figure what the classifier never does.
    let replies: Vec<&str> =
        unpack(texts.as_bytes(), lengths).into_iter().map(|r| std::str::from_utf8(r).unwrap_or_default()).collect();
    let mut hard = 0;
    for _ in 0..rounds {
        for reply in &replies {
            hard += u32::from(crate::classify_reply(reply).kind == crate::Kind::Hard);
        }
    }
    hard
}

/// `benchReplies` for whole messages: each of the messages packed in `raw` (their lengths in
/// `lengths`) classified `rounds` times; returns the number of verdicts.
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = benchMessages)]
pub fn bench_messages(raw: &[u8], lengths: &[u32], rounds: u32) -> u32 {
    let messages = unpack(raw, lengths);
    let mut verdicts = 0;
    for _ in 0..rounds {
        for message in &messages {
            verdicts += crate::classify_message(message).len() as u32;
        }
    }
    verdicts
}

/// Splits `packed` into consecutive pieces of the given lengths (a short last piece if they
/// overrun it).
#[cfg(feature = "bench")]
fn unpack<'a>(packed: &'a [u8], lengths: &[u32]) -> Vec<&'a [u8]> {
    let mut at = 0;
    lengths
        .iter()
        .map(|&length| {
            let end = packed.len().min(at + length as usize);
            let piece = packed.get(at..end).unwrap_or_default();
            at = end;
            piece
        })
        .collect()
}
