//! Rebound's integration tests live in `integration/`, built as one test binary; this library is
//! empty and exists only because a package needs a target.
