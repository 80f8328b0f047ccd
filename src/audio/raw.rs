//! Headerless PCM, as streaming clients send it.

/// The sample encodings accepted without a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEncoding {
    /// Signed 16-bit little-endian integers.
    Linear16,
    /// 32-bit little-endian IEEE floats.
    Float32,
    /// G.711 µ-law, 8 bits per sample.
    Mulaw,
    /// G.711 A-law, 8 bits per sample.
    Alaw,
}

/// How to read headerless PCM: its encoding, rate and interleaved channel count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPcm {
    pub encoding: RawEncoding,
    pub sample_rate: u32,
    pub channels: u16,
}
