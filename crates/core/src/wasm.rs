//! JavaScript bindings for browser (and Node) callers outside the Leptos console:
//! `classify(reply)` and `classifyMessage(bytes)` (an email or provider webhook JSON), returning
//! plain objects. With the `bench` feature, `BenchCorpus` holds a whole corpus inside wasm and
//! classifies it, so that `scripts/bench-wasm.sh` can tell the classifier's own speed from the
//! cost of building a JavaScript object for every verdict.

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

/// The corpus held inside wasm for `scripts/bench-wasm.sh`, as the native bench holds it in memory:
/// copied in once, so that each round measures the classifier alone. (Passing the corpus to every
/// round instead made wasm-bindgen copy 68 KB of replies into wasm, and check it, around each pass
/// of 440 replies: a fifth of the measured time went to the harness.)
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = BenchCorpus)]
pub struct BenchCorpus {
    replies: Vec<String>,
    messages: Vec<Vec<u8>>,
}

#[cfg(feature = "bench")]
#[wasm_bindgen(js_class = BenchCorpus)]
impl BenchCorpus {
    /// The replies packed in `replies` (their byte lengths in `reply_lengths`) and the messages
    /// packed in `messages` (theirs in `message_lengths`), each copied out on its own.
    #[wasm_bindgen(constructor)]
    pub fn new(replies: &str, reply_lengths: &[u32], messages: &[u8], message_lengths: &[u32]) -> BenchCorpus {
        let replies = unpack(replies.as_bytes(), reply_lengths)
            .into_iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        let messages = unpack(messages, message_lengths).into_iter().map(<[u8]>::to_vec).collect();
        BenchCorpus { replies, messages }
    }

    /// Classifies every reply `rounds` times; returns how many verdicts were hard, so that the
    /// work cannot be skipped.
    pub fn replies(&self, rounds: u32) -> u32 {
        let mut hard = 0;
        for _ in 0..rounds {
            for reply in &self.replies {
                hard += u32::from(crate::classify_reply(reply).kind == crate::Kind::Hard);
            }
        }
        hard
    }

    /// Classifies every message `rounds` times; returns the number of verdicts.
    pub fn messages(&self, rounds: u32) -> u32 {
        let mut verdicts = 0;
        for _ in 0..rounds {
            for message in &self.messages {
                verdicts += crate::classify_message(message).len() as u32;
            }
        }
        verdicts
    }
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
