//! Numeric precision of the encoder's matrix products, and the CPU instructions each needs.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use thiserror::Error;

/// Arithmetic of the LSTM's matrix products, chosen when the model is loaded.
///
/// The state, the gate nonlinearities and the final linear layer are float32 in every mode.
/// Only the weights and the activations that multiply them change type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 products: embeddings agree with PyTorch's to rounding. The default.
    #[default]
    Fp32,
    /// bfloat16 weights and activations with float32 sums (AVX512-BF16 `vdpbf16ps`).
    Bf16,
    /// int8 weights (one scale per output row) and 8-bit activations with int32 sums
    /// (AVX512-VNNI `vpdpbusd`).
    Int8,
}

impl Precision {
    pub const ALL: [Precision; 3] = [Precision::Fp32, Precision::Bf16, Precision::Int8];

    /// Returns the name used on the command line and in settings.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown precision {found:?}: expected fp32, bf16 or int8")]
pub struct ParsePrecisionError {
    pub found: String,
}

impl FromStr for Precision {
    type Err = ParsePrecisionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Precision::ALL
            .into_iter()
            .find(|precision| precision.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| ParsePrecisionError { found: text.to_owned() })
    }
}

/// The x86 instruction-set extensions that the encoder's kernels use.
///
/// [`CpuFeatures::detect`] reads them from the running CPU; tests build other sets by hand to
/// check the selection logic on machines that have everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    pub avx2: bool,
    pub fma: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    pub avx512vl: bool,
    pub avx512bf16: bool,
    pub avx512vnni: bool,
}

impl CpuFeatures {
    /// Detects the features of the CPU this process runs on (none on other architectures).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            CpuFeatures {
                avx2: is_x86_feature_detected!("avx2"),
                fma: is_x86_feature_detected!("fma"),
                avx512f: is_x86_feature_detected!("avx512f"),
                avx512bw: is_x86_feature_detected!("avx512bw"),
                avx512vl: is_x86_feature_detected!("avx512vl"),
                avx512bf16: is_x86_feature_detected!("avx512bf16"),
                avx512vnni: is_x86_feature_detected!("avx512vnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            CpuFeatures::default()
        }
    }

    /// Returns a set with every extension, as AMD Zen 4 and Intel Sapphire Rapids have.
    pub fn all() -> Self {
        CpuFeatures {
            avx2: true,
            fma: true,
            avx512f: true,
            avx512bw: true,
            avx512vl: true,
            avx512bf16: true,
            avx512vnni: true,
        }
    }

    /// Lists the extensions that kernels of `precision` on `isa` need and this CPU lacks, named
    /// as `is_x86_feature_detected!` spells them.
    pub fn missing(&self, isa: Isa, precision: Precision) -> Vec<&'static str> {
        let present = [
            ("avx2", self.avx2),
            ("fma", self.fma),
            ("avx512f", self.avx512f),
            ("avx512bw", self.avx512bw),
            ("avx512vl", self.avx512vl),
            ("avx512bf16", self.avx512bf16),
            ("avx512vnni", self.avx512vnni),
        ];
        let required = isa.required_features(precision);
        present
            .into_iter()
            .filter(|(name, available)| required.contains(name) && !available)
            .map(|(name, _)| name)
            .collect()
    }
}

/// The instruction set that a network's kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// 512-bit kernels: every precision.
    Avx512,
    /// 256-bit kernels with fused multiply-add: float32 only.
    Avx2Fma,
    /// Plain Rust that runs on any CPU: float32 only.
    Portable,
}

impl Isa {
    /// Lists the extensions that kernels of `precision` on this instruction set execute.
    fn required_features(self, precision: Precision) -> &'static [&'static str] {
        match (self, precision) {
            (Isa::Avx512, Precision::Fp32) => &["avx512f"],
            // The bfloat16 and int8 kernels also convert and quantise 256-bit halves of the
            // state, which needs the VL and BW subsets.
            (Isa::Avx512, Precision::Bf16) => &["avx512f", "avx512bw", "avx512vl", "avx512bf16"],
            (Isa::Avx512, Precision::Int8) => &["avx512f", "avx512bw", "avx512vl", "avx512vnni"],
            (Isa::Avx2Fma, _) => &["avx2", "fma"],
            (Isa::Portable, _) => &[],
        }
    }

    fn supports(self, precision: Precision) -> bool {
        self == Isa::Avx512 || precision == Precision::Fp32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrecisionError {
    #[error("{}", describe_unsupported(*.precision, .required, .missing))]
    Unsupported { precision: Precision, required: Vec<&'static str>, missing: Vec<&'static str> },
    #[error("the {isa:?} kernels have no {precision} mode")]
    NoKernel { precision: Precision, isa: Isa },
    #[error("the {isa:?} kernels need the CPU extensions {missing}, which this CPU lacks", missing = .missing.join(", "))]
    MissingFeatures { isa: Isa, missing: Vec<&'static str> },
}

fn describe_unsupported(precision: Precision, required: &[&str], missing: &[&str]) -> String {
    let required_list = required.join(", ");
    let lacking = if missing == required {
        "which this CPU lacks".to_owned()
    } else {
        format!("but this CPU lacks {}", missing.join(", "))
    };
    format!("precision {precision} needs the CPU extensions {required_list}, {lacking}; choose precision fp32, which runs on any CPU")
}

/// Chooses the fastest kernels for `precision` on a CPU with `features`.
///
/// float32 runs everywhere: on AVX-512, else on AVX2 with FMA, else in portable code. The
/// reduced precisions exist only as AVX-512 kernels, so they are rejected, with the missing
/// extensions named, on CPUs without them.
pub fn select_isa(precision: Precision, features: CpuFeatures) -> Result<Isa, PrecisionError> {
    match precision {
        Precision::Fp32 => {
            let isa = [Isa::Avx512, Isa::Avx2Fma]
                .into_iter()
                .find(|isa| features.missing(*isa, precision).is_empty())
                .unwrap_or(Isa::Portable);
            Ok(isa)
        }
        Precision::Bf16 | Precision::Int8 => {
            let missing = features.missing(Isa::Avx512, precision);
            if missing.is_empty() {
                Ok(Isa::Avx512)
            } else {
                let required = Isa::Avx512.required_features(precision).to_vec();
                Err(PrecisionError::Unsupported { precision, required, missing })
            }
        }
    }
}

/// Checks that kernels of `precision` exist on `isa` and that a CPU with `features` can run
/// them: the gate for choosing an instruction set by hand, as tests and benchmarks do.
pub fn check_isa(precision: Precision, isa: Isa, features: CpuFeatures) -> Result<(), PrecisionError> {
    if !isa.supports(precision) {
        return Err(PrecisionError::NoKernel { precision, isa });
    }
    let missing = features.missing(isa, precision);
    if !missing.is_empty() {
        return Err(PrecisionError::MissingFeatures { isa, missing });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp32_falls_back_without_avx512() {
        let mut features = CpuFeatures::all();
        assert_eq!(select_isa(Precision::Fp32, features), Ok(Isa::Avx512));

        features.avx512f = false;
        assert_eq!(select_isa(Precision::Fp32, features), Ok(Isa::Avx2Fma));

        features.fma = false;
        assert_eq!(select_isa(Precision::Fp32, features), Ok(Isa::Portable));
        assert_eq!(select_isa(Precision::Fp32, CpuFeatures::default()), Ok(Isa::Portable));
    }

    #[test]
    fn bf16_without_extension_names_it() {
        let features = CpuFeatures { avx512bf16: false, ..CpuFeatures::all() };
        let error = select_isa(Precision::Bf16, features).unwrap_err();

        assert_eq!(
            error,
            PrecisionError::Unsupported {
                precision: Precision::Bf16,
                required: vec!["avx512f", "avx512bw", "avx512vl", "avx512bf16"],
                missing: vec!["avx512bf16"],
            }
        );
        let message = error.to_string();
        assert!(message.contains("precision bf16"), "{message}");
        assert!(message.contains("lacks avx512bf16"), "{message}");
        assert!(message.contains("choose precision fp32"), "{message}");
    }

    #[test]
    fn int8_without_avx512_lists_all_missing() {
        let features = CpuFeatures { avx2: true, fma: true, ..CpuFeatures::default() };
        let error = select_isa(Precision::Int8, features).unwrap_err();

        let PrecisionError::Unsupported { missing, .. } = &error else { panic!("{error:?}") };
        assert_eq!(missing, &["avx512f", "avx512bw", "avx512vl", "avx512vnni"]);
        assert_eq!(
            error.to_string(),
            "precision int8 needs the CPU extensions avx512f, avx512bw, avx512vl, avx512vnni, which this CPU lacks; \
             choose precision fp32, which runs on any CPU"
        );
    }

    #[test]
    fn int8_needs_vnni_not_bf16() {
        let features = CpuFeatures { avx512bf16: false, ..CpuFeatures::all() };
        assert_eq!(select_isa(Precision::Int8, features), Ok(Isa::Avx512));

        let features = CpuFeatures { avx512vnni: false, ..CpuFeatures::all() };
        assert!(select_isa(Precision::Int8, features).is_err());
    }

    #[test]
    fn reduced_precision_has_no_avx2_kernel() {
        let error = check_isa(Precision::Bf16, Isa::Avx2Fma, CpuFeatures::all()).unwrap_err();
        assert_eq!(error, PrecisionError::NoKernel { precision: Precision::Bf16, isa: Isa::Avx2Fma });
    }

    #[test]
    fn forced_isa_checks_features() {
        let features = CpuFeatures { avx2: true, ..CpuFeatures::default() };
        let error = check_isa(Precision::Fp32, Isa::Avx2Fma, features).unwrap_err();
        assert_eq!(error, PrecisionError::MissingFeatures { isa: Isa::Avx2Fma, missing: vec!["fma"] });
        assert_eq!(check_isa(Precision::Fp32, Isa::Portable, CpuFeatures::default()), Ok(()));
    }

    #[test]
    fn precision_parses_its_names() {
        for precision in Precision::ALL {
            assert_eq!(precision.name().parse(), Ok(precision));
        }
        assert_eq!("BF16".parse(), Ok(Precision::Bf16));
        assert_eq!("fp16".parse::<Precision>(), Err(ParsePrecisionError { found: "fp16".into() }));
    }
}
