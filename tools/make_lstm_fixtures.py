"""Write the final states of Resemblyzer's three-layer LSTM for a few real mel windows.

The LSTM kernels (src/model/lstm/) are tested against these files. They come from
torch.nn.LSTM itself, loaded with the weights of Resemblyzer 0.1.4's pretrained.pt, so they
check the gate order, the two biases and the cell update independently of the Rust code.
Usage, from the repository root, with torch and the Resemblyzer 0.1.4 wheel installed
(`pip install --no-deps Resemblyzer-0.1.4-py3-none-any.whl`):

    python3 tools/make_lstm_fixtures.py

The input is fixtures/golden/librispeech_1688-142285-0000.flac (LibriSpeech test-other,
CC BY 4.0). The committed files were made with torch 2.15.0, librosa 0.11.0 and
numpy 2.4.6.

Outputs, in fixtures/lstm/ (float32, C order, little endian):
- librispeech_1688-142285-0000.partial_mels.npy (P, 160, 40): the first P power mel windows
  that VoiceEncoder.embed_utterance feeds to the network
- librispeech_1688-142285-0000.h_n.npy (3, P, 256): the final hidden state of each layer
- librispeech_1688-142285-0000.c_n.npy (3, P, 256): the final cell state of each layer

It also prints how far torch's float32 states are from a float64 run of the same network:
that distance is the rounding noise any float32 implementation should expect.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from resemblyzer import VoiceEncoder, preprocess_wav
from resemblyzer.audio import wav_to_mel_spectrogram

CLIP = Path("fixtures/golden/librispeech_1688-142285-0000.flac")
OUT = Path("fixtures/lstm")
NAME = "librispeech_1688-142285-0000"
# Three windows keep the file small and still exercise a batch of more than one row.
WINDOWS = 3
RATE = 1.3
MIN_COVERAGE = 0.75


def partial_mels(encoder, wav):
    """Cut the mel windows exactly as VoiceEncoder.embed_utterance does."""
    wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), RATE, MIN_COVERAGE)
    padded_length = wav_slices[-1].stop
    if padded_length >= len(wav):
        wav = np.pad(wav, (0, padded_length - len(wav)), "constant")
    mel = wav_to_mel_spectrogram(wav)
    return np.array([mel[s] for s in mel_slices], dtype=np.float32)


def main():
    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    mels = partial_mels(encoder, preprocess_wav(CLIP))[:WINDOWS]
    if mels.shape[0] < WINDOWS:
        sys.exit(f"{CLIP} gives only {mels.shape[0]} windows, {WINDOWS} needed")

    with torch.no_grad():
        _, (h_n, c_n) = encoder.lstm(torch.from_numpy(mels))
        _, (h_64, c_64) = encoder.lstm.double()(torch.from_numpy(mels).double())

    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / f"{NAME}.partial_mels.npy", np.ascontiguousarray(mels))
    np.save(OUT / f"{NAME}.h_n.npy", np.ascontiguousarray(h_n.numpy(), dtype=np.float32))
    np.save(OUT / f"{NAME}.c_n.npy", np.ascontiguousarray(c_n.numpy(), dtype=np.float32))

    h_noise = np.abs(h_n.double().numpy() - h_64.numpy()).max()
    c_noise = np.abs(c_n.double().numpy() - c_64.numpy()).max()
    print(f"{NAME}: {WINDOWS} windows; float32 against float64: max |dh| {h_noise:.2e}, "
          f"max |dc| {c_noise:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
