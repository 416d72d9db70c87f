//! Administrator pages.
