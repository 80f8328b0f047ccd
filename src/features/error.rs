/// A feature extractor configured with values it cannot work with.
///
/// Only construction fails. Once built, an extractor accepts any number of samples,
/// including none.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    #[error("invalid {name}: {value} (expected {expected})")]
    InvalidOption {
        name: &'static str,
        value: String,
        expected: String,
    },

    #[error(
        "mel bin {bin} of {num_bins} covers no FFT bin of a {fft_len}-point FFT; \
         use fewer mel bins or a longer FFT"
    )]
    EmptyMelBin {
        bin: usize,
        num_bins: usize,
        fft_len: usize,
    },
}

impl FeatureError {
    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        expected: impl ToString,
    ) -> Self {
        FeatureError::InvalidOption {
            name,
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}
