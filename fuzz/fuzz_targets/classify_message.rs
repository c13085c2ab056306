//! Any bytes as a bounce email: the classifier must return at least one verdict and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verdicts = rebound_core::classify_message(data);
    assert!(!verdicts.is_empty());
});
