//! What the follow-up keeps about the organisation besides the HR files:
//! the unit tree as one piece ([`org`]), absence targets ([`targets`]), the
//! national reference ([`national`]) and the register of measures
//! ([`measures`]). Storage and checks only: the importers of
//! `targets.csv`, `measures.csv` and SSB's files and the pages use these;
//! [`crate::followup`] computes with them.

pub mod measures;
pub mod national;
pub mod org;
pub mod targets;
