//! Accuracy evaluation on speaker verification trials, with the embedding and enrolment code
//! the service uses.
//!
//! The steps follow the modules. `trials`, `manifest` and `prompted` read or draw the trials,
//! and `protocol` resolves them into sides made of recordings. `embedding` embeds each
//! recording once, through the on-disk `cache`. `evaluate` scores the trials, with AS-norm
//! against a `cohort` if requested. `metrics` turns scores into error rates, `report` and
//! `plot` present them, and `calibrate` writes the threshold for a false-accept target into
//! the service's settings.

pub mod cache;
pub mod calibrate;
pub mod cohort;
pub mod embedding;
mod error;
pub mod evaluate;
pub mod files;
pub mod manifest;
pub mod metrics;
pub mod plot;
pub mod prompted;
pub mod protocol;
pub mod report;
pub mod rng;
pub mod scores;
pub mod trials;

pub use error::EvalError;
