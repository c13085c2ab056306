//! Rebound's classifier: reads what a mail system said about a delivery and decides what it means.
//!
//! Everything here is a pure function of its input: no I/O, no clock, no global state beyond
//! lazily compiled matchers, so the same crate runs in the server, in the CLI and (compiled to
//! wasm32) in the browser console, and gives the same verdict everywhere. Nothing in this crate
//! panics on any input; an input it cannot read yields a verdict of kind `unknown` with the
//! evidence it had.

mod ascii;
mod classifier;
mod command;
mod events;
mod kinds;
mod literals;
mod message;
mod notice;
mod reply;
mod report;
pub mod rules;
pub mod shape;
mod status;
mod taxonomy;
mod verdict;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use classifier::{Classifier, ClassifierConfig, builtin_rules, classify_reply};
pub use command::SmtpCommand;
pub use kinds::KindTable;
pub use message::classify_message;
pub use reply::SmtpReply;
pub use report::{DsnAction, Hint, Notice, Report};
pub use status::{EnhancedStatus, derived_status, reason_for_status};
pub use taxonomy::{Action, Confidence, Kind, Reason, UnknownName};
pub use verdict::Verdict;
#[cfg(target_arch = "wasm32")]
pub use wasm::classify;
