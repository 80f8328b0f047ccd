//! Filled in by the features work.
