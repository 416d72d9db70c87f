//! Results of closed rounds. So far: the anonymity engine that decides which
//! groups may be shown ([`anonymity`]); the frozen snapshot itself follows.

pub mod anonymity;
