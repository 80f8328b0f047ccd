//! voiceprint: speaker verification for community-correction check-ins.
//!
//! The pipeline runs in the order of the modules below: `audio` decodes, bounds, resamples
//! and trims an untrusted recording; `features` turns the signal into mel frames; `model`
//! runs the GE2E speaker encoder; `embed` ties them into one call that the command line, the
//! gRPC service and the evaluation tool share.

pub mod audio;
pub mod embed;
pub mod features;
pub mod model;
pub mod separation;
