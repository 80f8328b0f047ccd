//! The embedding pipeline; filled in next.
