//! Filled in by the features work.

/// The GE2E front end: 40 Slaney mel bands of the power spectrum, n_fft 400, hop 160,
/// periodic Hann window, 200 zeros of centre padding on each side, no log.
pub struct Ge2eMel {}

impl Ge2eMel {
    pub const N_MELS: usize = 40;

    pub fn new() -> Self {
        unimplemented!("mel")
    }

    /// Returns `1 + samples.len() / 160` frames of 40 values each, frame-major.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let _ = samples;
        unimplemented!("mel")
    }
}
