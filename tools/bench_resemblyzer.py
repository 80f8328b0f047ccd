"""Time Resemblyzer 0.1.4 on one CPU thread, for comparison with voiceprint's benchmarks.

Usage, from the repository root, with torch and the Resemblyzer 0.1.4 wheel installed
(`pip install --no-deps Resemblyzer-0.1.4-py3-none-any.whl`; webrtcvad needs
`setuptools<81` for pkg_resources):

    python3 tools/bench_resemblyzer.py FOLDER [--clip FILE] [--rounds N] [--json OUT]

It measures, on one thread (OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(1), set
before numpy and torch load):

- per file: `preprocess_wav(path)` followed by `VoiceEncoder.embed_utterance(wav)` for every
  FLAC file under FOLDER, in one process, after a warm-up pass. Each file's time is the
  median of N rounds. The report gives the mean over files, as the Rust benchmark
  `benches/per_file.rs` does for the same folder.
- 3 s and 10 s clips of `--clip` (default: the LibriSpeech fixture that the criterion
  benchmarks use): `preprocess_wav` of its first 3 s and 10 s, and `embed_utterance` of 3 s
  and 10 s of speech (the start of the whole clip after `preprocess_wav`, 3 and 12 partial
  windows) and the network alone on those windows, each the median of 20 runs.
- the steps that benches/front_end.rs times, on the same inputs: decoding the 15 s FLAC
  clip, resampling 10 s from 8 kHz and from 48 kHz (the VCTK fixtures, repeated), level
  normalisation with silence trimming, and the mel spectrogram of 10 s.
"""

import os

# The thread pools read these when numpy and torch load.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import torch
from resemblyzer import VoiceEncoder, audio, preprocess_wav
import resemblyzer

DEFAULT_CLIP = Path("fixtures/golden/librispeech_1688-142285-0000.flac")
RESAMPLE_CLIPS = {
    "resample_8k_10s": Path("fixtures/golden/vctk_p225_003_8k.wav"),
    "resample_48k_10s": Path("fixtures/golden/vctk_p225_003_48k_stereo.wav"),
}
RATE = 1.3
MIN_COVERAGE = 0.75
SAMPLE_RATE = 16000
CLIP_RUNS = 20


def timed(function, *arguments, **keywords):
    start = time.perf_counter()
    result = function(*arguments, **keywords)
    return result, time.perf_counter() - start


def time_files(encoder, files, rounds):
    """Median time per file over `rounds` rounds, split into preprocessing and embedding."""
    preprocess = {path: [] for path in files}
    embed = {path: [] for path in files}
    for _ in range(rounds):
        for path in files:
            wav, seconds = timed(preprocess_wav, path)
            preprocess[path].append(seconds)
            _, seconds = timed(encoder.embed_utterance, wav)
            embed[path].append(seconds)

    per_file = [statistics.median(p) + statistics.median(e) for p, e in zip(preprocess.values(), embed.values())]
    return {
        "files": len(files),
        "rounds": rounds,
        "mean_preprocess_ms": 1e3 * statistics.mean(statistics.median(v) for v in preprocess.values()),
        "mean_embed_ms": 1e3 * statistics.mean(statistics.median(v) for v in embed.values()),
        "mean_total_ms": 1e3 * statistics.mean(per_file),
    }


def median_ms(function, *arguments, **keywords):
    return 1e3 * statistics.median(timed(function, *arguments, **keywords)[1] for _ in range(CLIP_RUNS))


def network_ms(encoder, wav):
    """Time the network alone on the partial windows of a preprocessed signal."""
    wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), RATE, MIN_COVERAGE)
    windows = len(mel_slices)
    mels = torch.full((windows, 160, 40), 0.01)

    def forward():
        with torch.no_grad():
            encoder(mels)

    return windows, median_ms(forward)


def time_clips(encoder, clip):
    raw, _ = librosa.load(str(clip), sr=SAMPLE_RATE)
    speech = preprocess_wav(clip)
    results = {}
    for seconds in (3, 10):
        wav = speech[: seconds * SAMPLE_RATE]
        windows, network = network_ms(encoder, wav)
        results[f"{seconds}s"] = {
            "windows": windows,
            "preprocess_ms": median_ms(preprocess_wav, raw[: seconds * SAMPLE_RATE], SAMPLE_RATE),
            "embed_utterance_ms": median_ms(encoder.embed_utterance, wav),
            "network_ms": network,
        }
    return results


def time_steps(clip):
    """Time the preprocessing steps one by one, as benches/front_end.rs times them."""
    results = {"decode_flac_15s_ms": median_ms(librosa.load, str(clip), sr=None)}
    for name, path in RESAMPLE_CLIPS.items():
        wav, rate = librosa.load(str(path), sr=None)
        tiled = np.resize(wav, 10 * rate)
        results[f"{name}_ms"] = median_ms(librosa.resample, tiled, orig_sr=rate, target_sr=SAMPLE_RATE)

    raw, _ = librosa.load(str(clip), sr=SAMPLE_RATE)
    ten_seconds = raw[: 10 * SAMPLE_RATE]
    trim = lambda wav: audio.trim_long_silences(audio.normalize_volume(wav, -30, increase_only=True))
    results["normalize_trim_10s_ms"] = median_ms(trim, ten_seconds)
    results["mel_10s_ms"] = median_ms(audio.wav_to_mel_spectrogram, ten_seconds)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    files = sorted(args.folder.rglob("*.flac"))
    if not files:
        sys.exit(f"no .flac files under {args.folder}")

    # Warm-up: the first calls load librosa's resampler and allocate torch's buffers.
    for path in files[:5]:
        encoder.embed_utterance(preprocess_wav(path))

    report = {
        "versions": {
            "resemblyzer": getattr(resemblyzer, "__version__", "0.1.4"),
            "torch": torch.__version__,
            "librosa": librosa.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "threads": torch.get_num_threads(),
        "per_file": time_files(encoder, files, args.rounds),
        "clips": time_clips(encoder, args.clip),
        "steps": time_steps(args.clip),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
