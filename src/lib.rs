//! voiceprint: speaker verification for community-correction check-ins.
//!
//! The pipeline runs in the order of the modules below: `audio` decodes, bounds, resamples
//! and trims an untrusted recording; `features` turns the signal into mel frames; `model`
//! runs the GE2E speaker encoder; `embed` ties them into one call that the command line, the
//! gRPC service and the evaluation tool share.
//!
//! The service is built on it: `scoring` decides on check-ins and gates enrolments, `store`
//! keeps subjects, voiceprints and check-ins in SQLite, `registry` combines them without
//! knowing about gRPC, `service` exposes the registry over gRPC (`proto` holds the generated
//! code), and `server` assembles and runs it with the settings of `config`. `eval` measures
//! accuracy on public speaker datasets and calibrates the decision threshold.

pub mod audio;
pub mod clock;
pub mod config;
pub mod embed;
pub mod eval;
pub mod features;
pub mod model;
pub mod proto;
pub mod registry;
pub mod scoring;
pub mod server;
pub mod service;
pub mod store;
