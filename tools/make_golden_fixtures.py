"""Write Resemblyzer 0.1.4's own outputs for the clips in fixtures/golden/.

The Rust port is checked against these files, so they must come from the reference package,
never from voiceprint. Run from the repository root:

    pip install numpy scipy librosa==0.11.0 soxr webrtcvad==2.0.10 torch "setuptools<81"
    pip install --no-deps Resemblyzer==0.1.4
    python3 tools/make_golden_fixtures.py

Besides the copied clips, it derives three inputs from them: an 8 kHz copy (resampled by
soxr), a 48 kHz stereo copy whose channels differ, and a signal cut to 0.002 s past a whole
number of partial-window steps.
"""
import json
from pathlib import Path

import librosa
import numpy as np
import soxr
import torch
from scipy.io import wavfile

import resemblyzer
from resemblyzer import VoiceEncoder, preprocess_wav

GOLDEN = Path("fixtures/golden")
CLIPS = [
    "aishell_S0150W0001.wav",
    "aishell_S0150W0001_24bit.wav",
    "dspspeech_15307110189-00-01.wav",
    "librispeech_1688-142285-0000.flac",
    "vctk_p225_003.wav",
    "vctk_p225_003_44k_float.wav",
]


def derive_clips():
    """Writes the derived WAV files and returns their names."""
    source, rate = librosa.load(GOLDEN / "vctk_p225_003.wav", sr=None)
    assert rate == 16000

    low = soxr.resample(source, 16000, 8000, quality="HQ")
    wavfile.write(GOLDEN / "vctk_p225_003_8k.wav", 8000, np.round(low * 32767).astype(np.int16))

    # The right channel is the left one delayed by 2 ms and at half level, so the mean of the
    # two differs from either channel.
    high = soxr.resample(source, 16000, 48000, quality="HQ")
    right = 0.5 * np.concatenate([np.zeros(96, dtype=np.float32), high[:-96]])
    stereo = np.stack([high, right], axis=1)
    wavfile.write(GOLDEN / "vctk_p225_003_48k_stereo.wav", 48000, np.round(stereo * 32767).astype(np.int16))
    return ["vctk_p225_003_8k.wav", "vctk_p225_003_48k_stereo.wav"]


def main():
    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    summary = {"resemblyzer": resemblyzer.__version__ if hasattr(resemblyzer, "__version__") else "0.1.4",
               "librosa": librosa.__version__, "torch": torch.__version__, "clips": {}}

    for name in CLIPS + derive_clips():
        wav = preprocess_wav(GOLDEN / name)
        embed = encoder.embed_utterance(wav)
        stem = Path(name).stem
        np.save(GOLDEN / f"{stem}.embed.npy", embed.astype(np.float32))
        summary["clips"][name] = {"preprocessed_samples": int(len(wav))}

    # 0.002 s (32 samples) past three partial-window steps of 77 frames of 160 samples.
    wav = preprocess_wav(GOLDEN / "vctk_p225_003.wav")
    cut = wav[: 3 * 77 * 160 + 32]
    np.save(GOLDEN / "vctk_p225_003_cut.preprocessed_wav.npy", cut.astype(np.float32))
    np.save(GOLDEN / "vctk_p225_003_cut.embed.npy", encoder.embed_utterance(cut).astype(np.float32))
    summary["clips"]["vctk_p225_003_cut"] = {"preprocessed_samples": int(len(cut))}

    with open(GOLDEN / "golden.json", "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
