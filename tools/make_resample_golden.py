"""Writes soxr 'soxr_hq' resampling references for src/audio/resample.rs tests.

Resemblyzer 0.1.4 loads audio with librosa, which resamples with soxr at quality 'soxr_hq'.
The Rust resampler is checked against that output for two kinds of input:

- a linear chirp (50 Hz up to 87.5 % of the lower Nyquist frequency, 1 s, amplitude 0.5,
  20 ms raised-cosine fades) at 8, 44.1, 48, 96 and 192 kHz. The test regenerates the same chirp from
  the formula in `chirp()`, so only the 16 kHz output is stored.
- real speech at 8 kHz: fixtures/audio/aishell_S0150W0001.wav taken to 8 kHz by soxr 'VHQ'
  and stored as 16-bit PCM, plus its soxr_hq output at 16 kHz.

Outputs (float32 little endian, no header) go to fixtures/audio/resample/.
Run from the repository root: python3 tools/make_resample_golden.py
Versions used: Python 3.11.7, numpy 2.x, librosa 0.11.0, soxr 1.1.0, soundfile 0.14.0.
"""

from pathlib import Path

import librosa
import numpy as np
import soundfile
import soxr

MODEL_RATE = 16_000
OUT = Path("fixtures/audio/resample")


def chirp(rate: int) -> np.ndarray:
    """Build the test chirp at `rate`. src/audio/resample.rs builds the same signal."""
    duration = 1.0
    f0 = 50.0
    f1 = 0.875 * min(rate, MODEL_RATE) / 2.0
    n = int(rate * duration)
    t = np.arange(n, dtype=np.float64) / rate
    phase = 2.0 * np.pi * (f0 * t + (f1 - f0) * t * t / (2.0 * duration))
    signal = 0.5 * np.sin(phase)

    fade = int(0.02 * rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade, dtype=np.float64) / fade)
    signal[:fade] *= ramp
    signal[n - fade:] *= ramp[::-1]
    return signal.astype(np.float32)


def resample_like_resemblyzer(signal: np.ndarray, rate: int) -> np.ndarray:
    # librosa.load(..., sr=16000) calls exactly this, which runs soxr at quality 'HQ'.
    return librosa.resample(signal, orig_sr=rate, target_sr=MODEL_RATE, res_type="soxr_hq")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)

    for rate in (8_000, 44_100, 48_000, 96_000, 192_000):
        resampled = resample_like_resemblyzer(chirp(rate), rate).astype("<f4")
        resampled.tofile(OUT / f"chirp_{rate}_to_16000.f32")
        print(f"chirp {rate} Hz: {len(resampled)} samples out")

    speech, rate = soundfile.read("fixtures/audio/aishell_S0150W0001.wav", dtype="float32")
    assert rate == MODEL_RATE
    speech_8k = soxr.resample(speech, MODEL_RATE, 8_000, quality="VHQ")
    soundfile.write(OUT / "aishell_8000.wav", speech_8k, 8_000, subtype="PCM_16")

    # Resample what the 16-bit file contains, so the Rust side starts from identical samples.
    stored_8k, _ = soundfile.read(OUT / "aishell_8000.wav", dtype="float32")
    resampled = resample_like_resemblyzer(stored_8k, 8_000).astype("<f4")
    resampled.tofile(OUT / "aishell_8000_to_16000.f32")
    print(f"speech 8000 Hz: {len(stored_8k)} samples in, {len(resampled)} out")


if __name__ == "__main__":
    main()
