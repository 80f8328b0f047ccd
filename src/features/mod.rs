//! Spectral features, all from one rustfft-based STFT.
//!
//! - [`mel::Ge2eMel`]: the 40-band Slaney power mel that the GE2E encoder reads, identical to
//!   `librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)`.
//! - [`fbank::KaldiFbank`]: Kaldi-compatible log-mel filterbank for WeSpeaker and 3D-Speaker
//!   style models.
//! - [`mfcc::Mfcc`]: librosa-compatible MFCC.
//!
//! Every extractor is built once and then shared: `compute` takes `&self`, accepts any
//! number of samples (none included) and returns frame-major values. Only construction
//! can fail, with a [`FeatureError`].

mod error;
pub mod fbank;
pub mod mel;
pub mod mfcc;
pub mod stft;

pub use error::FeatureError;
