//! Statistics, exactly as STATISTICS.md defines them. Pure: no database, no
//! HTTP. Checked against SciPy in `tests/fixtures/`.

pub mod correlation;
pub mod effect;
pub mod scores;
