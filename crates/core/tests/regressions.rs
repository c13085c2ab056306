//! Inputs that once made the classifier panic (found by the fuzz targets in `fuzz/`): each must now
//! be classified, with at least one verdict.

#[test]
fn fuzz_findings_no_longer_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the regression directory exists") {
        let raw = std::fs::read(entry.expect("a readable entry").path()).expect("a readable file");
        assert!(!rebound_core::classify_message(&raw).is_empty());
        if let Ok(text) = std::str::from_utf8(&raw) {
            let _ = rebound_core::classify_reply(text);
        }
        seen += 1;
    }
    assert!(seen > 0, "no regression inputs in {}", dir.display());
}
