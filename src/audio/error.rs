use thiserror::Error;

/// Why an input recording was rejected. Each variant carries the value that was found and,
/// for limits, the limit it broke, so a caller can tell the user exactly what to change.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    #[error("the audio input is empty")]
    Empty,

    #[error("unsupported audio format: {found}")]
    UnsupportedFormat { found: String },

    #[error("unsupported audio codec: {codec}")]
    UnsupportedCodec { codec: String },

    #[error("cannot decode {format} audio: {reason}")]
    Undecodable { format: String, reason: String },

    #[error("audio input is {bytes} bytes, over the limit of {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },

    #[error("audio is {seconds:.2} s long, over the limit of {limit:.2} s")]
    TooLong { seconds: f64, limit: f64 },

    #[error("audio has {channels} channels, over the limit of {limit}")]
    TooManyChannels { channels: u32, limit: u16 },

    #[error("sample rate {rate} Hz is outside the allowed range {min}..={max} Hz")]
    SampleRateOutOfRange { rate: u64, min: u32, max: u32 },

    #[error("sample {index} is not a finite number")]
    NonFinite { index: usize },

    #[error("no speech found: {speech_seconds:.2} s of speech after silence trimming, at least {min_seconds:.2} s needed")]
    NoSpeech { speech_seconds: f64, min_seconds: f64 },
}

impl AudioError {
    /// A stable, upper-case reason code that clients translate; never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::Empty => "AUDIO_EMPTY",
            AudioError::UnsupportedFormat { .. } => "AUDIO_UNSUPPORTED",
            AudioError::UnsupportedCodec { .. } => "AUDIO_UNSUPPORTED",
            AudioError::Undecodable { .. } => "AUDIO_UNDECODABLE",
            AudioError::TooLarge { .. } => "AUDIO_TOO_LARGE",
            AudioError::TooLong { .. } => "AUDIO_TOO_LONG",
            AudioError::TooManyChannels { .. } => "AUDIO_TOO_MANY_CHANNELS",
            AudioError::SampleRateOutOfRange { .. } => "AUDIO_SAMPLE_RATE",
            AudioError::NonFinite { .. } => "AUDIO_NON_FINITE",
            AudioError::NoSpeech { .. } => "NO_SPEECH",
        }
    }
}
