//! Untrusted audio in, bounded 16 kHz mono speech out.
//!
//! `decode` reads a container file (WAV through hound; FLAC, MP3, AAC in MP4 and Ogg Vorbis
//! through Symphonia) or raw PCM, enforcing [`Limits`] from the header where the format states
//! the values and otherwise while decoding. `resample` brings any allowed rate to 16 kHz, and
//! `vad` applies Resemblyzer's level normalisation and silence trimming.

mod container;
mod downmix;
mod error;
mod limits;
mod mp4;
mod sniff;
mod wav;
pub mod decode;
pub mod raw;
pub mod resample;
pub mod quality;
pub mod vad;

pub use error::AudioError;

/// The sample rate every model in this crate works at.
pub const MODEL_SAMPLE_RATE: u32 = 16_000;

/// Bounds on untrusted input. Every value is a setting; the defaults suit phone check-ins.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest encoded input accepted, in bytes.
    pub max_bytes: usize,
    /// Longest decoded input accepted, in seconds of audio.
    pub max_seconds: f64,
    /// Most channels accepted before downmixing.
    pub max_channels: u16,
    /// Lowest sample rate accepted, in hertz.
    pub min_sample_rate: u32,
    /// Highest sample rate accepted, in hertz.
    pub max_sample_rate: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 32 * 1024 * 1024,
            max_seconds: 300.0,
            max_channels: 8,
            min_sample_rate: 8_000,
            max_sample_rate: 192_000,
        }
    }
}

/// Mono samples in [-1, 1) at the rate the input was recorded at.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Channels in the input before they were averaged into one.
    pub source_channels: u16,
    /// The container or encoding that was decoded, such as "wav", "flac" or "pcm_s16le".
    pub format: String,
}

impl DecodedAudio {
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}
