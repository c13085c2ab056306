//! What the server does, apart from HTTP: routes parse and authorize a request, then call these;
//! the CLI (`rebound ingest`, `rebound user`) and the MTA log readers call the same functions, so
//! no code outside `routes/` depends on a route.
//!
//! - `events`: events checked, classified, stored under the policy and published.
//! - `log_ingest`: a stretch of MTA log records stored (bad records left out and named).
//! - `powermta`: PowerMTA accounting records into events and attempts.
//! - `sends`: bulk send counts into the counters.
//! - `names`: the checks of labels, texts and addresses that requests and commands carry.
//! - `accounts`: rules of staff accounts.

pub mod accounts;
pub mod events;
pub mod log_ingest;
pub mod names;
pub mod powermta;
pub mod sends;
