//! Conversion of any allowed rate to the model rate.

use super::AudioError;

/// Resamples mono `samples` from `rate` to 16 kHz; the output has `n * 16000 / rate` samples,
/// within one sample.
pub fn to_model_rate(samples: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    let _ = (samples, rate);
    unimplemented!("resampling")
}
