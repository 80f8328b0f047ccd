#!/usr/bin/env python3
"""Write the golden arrays that the tests of `src/features` compare against.

The references are librosa 0.11 (mel spectrogram, Slaney filterbank, MFCC) and
kaldi-native-fbank 1.23 (Kaldi filterbank). All arrays are float32, little endian,
C order. Feature arrays are frame-major, shape (frames, values per frame), and the
filterbank is (mel bins, FFT bins).

Usage: tools/make_feature_fixtures.py SOURCE_WAV [OUT_DIR]

SOURCE_WAV is VCTK p225_003 (16 kHz, 16-bit mono). The script keeps the 3 s
excerpt from 1.5 s to 4.5 s, writes it as OUT_DIR/vctk_p225_003.wav, and computes
every array from that excerpt as the Rust tests read it: int16 / 32768.
"""

import sys
import wave
from pathlib import Path

import kaldi_native_fbank as knf
import librosa
import numpy as np

SAMPLE_RATE = 16000
EXCERPT_START = 24_000
EXCERPT_END = 72_000
# The Kaldi variants with reflected edges and with an energy column use only the
# first 0.5 s of the excerpt, which has both edges and keeps the fixtures small.
SHORT_EXCERPT = 8_000


def read_pcm16(path):
    with wave.open(str(path), "rb") as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise SystemExit(f"{path}: unsupported format, expected 16-bit mono PCM")
        if reader.getframerate() != SAMPLE_RATE:
            raise SystemExit(f"{path}: unsupported sample rate, expected {SAMPLE_RATE} Hz")
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")


def write_pcm16(path, pcm):
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm.astype("<i2").tobytes())


def save(out_dir, name, array):
    array = np.ascontiguousarray(array, dtype="<f4")
    np.save(out_dir / name, array)
    print(f"{name}: shape {array.shape}")


def kaldi_fbank(samples, **changes):
    """Kaldi fbank with the options of KaldiFbankOptions::default(), plus `changes`."""
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.dither = 0.0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.snip_edges = changes.pop("snip_edges", True)
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = changes.pop("use_energy", False)
    opts.raw_energy = True
    opts.energy_floor = 0.0
    opts.htk_compat = False
    opts.use_log_fbank = True
    opts.use_power = True
    if changes:
        raise ValueError(f"unknown fbank options: {changes}")

    fbank = knf.OnlineFbank(opts)
    # Kaldi reads WAV files as int16 values, and callers of kaldi-native-fbank
    # scale [-1, 1] floats by 32768 to match.
    fbank.accept_waveform(SAMPLE_RATE, (samples * 32768.0).tolist())
    fbank.input_finished()
    frames = [fbank.get_frame(i) for i in range(fbank.num_frames_ready)]
    width = opts.mel_opts.num_bins + int(opts.use_energy)
    return np.array(frames, dtype=np.float32).reshape(-1, width)


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    source = Path(sys.argv[1])
    out_dir = Path(sys.argv[2]) if len(sys.argv) == 3 else Path("fixtures/features")
    out_dir.mkdir(parents=True, exist_ok=True)

    pcm = read_pcm16(source)[EXCERPT_START:EXCERPT_END]
    write_pcm16(out_dir / "vctk_p225_003.wav", pcm)
    samples = pcm.astype(np.float32) / 32768.0

    # Resemblyzer's call: librosa.feature.melspectrogram with its hyperparameters.
    mel = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=40
    )
    save(out_dir, "ge2e_mel.npy", mel.T)
    save(out_dir, "slaney_filterbank_16k_400_40.npy",
         librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=40))

    mfcc = librosa.feature.mfcc(y=samples, sr=SAMPLE_RATE, n_mfcc=20)
    save(out_dir, "mfcc_20.npy", mfcc.T)

    save(out_dir, "kaldi_fbank_80.npy", kaldi_fbank(samples))
    short = samples[:SHORT_EXCERPT]
    save(out_dir, "kaldi_fbank_80_reflected_edges.npy",
         kaldi_fbank(short, snip_edges=False))
    save(out_dir, "kaldi_fbank_80_with_energy.npy",
         kaldi_fbank(short, use_energy=True))


if __name__ == "__main__":
    main()
