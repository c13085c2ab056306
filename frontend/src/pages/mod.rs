//! One module per page of the console, and the small pieces several pages share.

pub mod audit;
pub mod chart;
pub mod classify;
pub mod classify_result;
pub mod common;
pub mod dashboard;
pub mod dashboard_alerts;
pub mod import;
pub mod keys;
pub mod login;
pub mod policy;
pub mod policy_alerts;
pub mod policy_rules;
pub mod record_event;
pub mod suppression_detail;
pub mod suppressions;
pub mod unclassified;
pub mod users;
