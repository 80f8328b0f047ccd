//! Speaker models. The default is the GE2E encoder of Resemblyzer 0.1.4, ported to candle.

pub mod ge2e;
pub mod import;

pub use ge2e::{Ge2eEncoder, ModelError, ModelInfo};
