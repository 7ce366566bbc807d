//! Authentication and authorisation: who is calling (`Principal`) and what they may do.

pub mod principal;
