//! One module per page of the console, and the small pieces several pages share.

pub mod audit;
pub mod classify;
pub mod common;
pub mod import;
pub mod login;
pub mod suppression_detail;
pub mod suppressions;
