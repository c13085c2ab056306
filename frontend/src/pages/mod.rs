//! One module per page of the console.

pub mod classify;
pub mod login;
