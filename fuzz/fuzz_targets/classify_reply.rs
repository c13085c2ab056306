//! Any text as an SMTP reply: the classifier must return a verdict and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let verdict = rebound_core::classify_reply(text);
        assert!(verdict.evidence.len() <= text.len() + 16);
    }
});
