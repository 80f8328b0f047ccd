"""Write the GE2E encoder's inputs and outputs for one real clip, computed by Resemblyzer 0.1.4.

The Rust encoder (src/model/ge2e.rs) is tested against these files. Usage, from the
repository root, with torch and the Resemblyzer 0.1.4 wheel installed
(`pip install --no-deps Resemblyzer-0.1.4-py3-none-any.whl`):

    python3 tools/make_encoder_fixtures.py AUDIO NAME

AUDIO is a recording that resemblyzer.preprocess_wav loads, normalises and trims. The files
in the repository come from fixtures/golden/vctk_p225_003.wav with NAME vctk_p225_003,
using torch 2.15.0, librosa 0.11.0 and numpy 2.4.6.

Outputs, in fixtures/model/ (float32, C order, little endian):
- NAME.partial_mels.npy (P, 160, 40): the power mel windows that VoiceEncoder.embed_utterance
  feeds to the network (rate 1.3 partials per second, minimum coverage 0.75)
- NAME.partial_embeds.npy (P, 256): the network's unit-norm embedding of each window
"""

import sys
from pathlib import Path

import numpy as np
import torch
from resemblyzer import VoiceEncoder, preprocess_wav
from resemblyzer.audio import wav_to_mel_spectrogram

OUT = Path("fixtures/model")
RATE = 1.3
MIN_COVERAGE = 0.75


def partial_mels(encoder, wav):
    """Cut the mel windows exactly as VoiceEncoder.embed_utterance does."""
    wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), RATE, MIN_COVERAGE)
    padded_length = wav_slices[-1].stop
    if padded_length >= len(wav):
        wav = np.pad(wav, (0, padded_length - len(wav)), "constant")
    mel = wav_to_mel_spectrogram(wav)
    return np.array([mel[s] for s in mel_slices])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    wav = preprocess_wav(sys.argv[1])
    name = sys.argv[2]

    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    _, embeds, _ = encoder.embed_utterance(wav, return_partials=True, rate=RATE, min_coverage=MIN_COVERAGE)

    mels = partial_mels(encoder, wav)
    with torch.no_grad():
        recomputed = encoder(torch.from_numpy(mels)).numpy()
    # The windows must be the ones embed_utterance used, or the pair would not match.
    assert np.array_equal(recomputed, embeds), np.abs(recomputed - embeds).max()

    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / f"{name}.partial_mels.npy", np.ascontiguousarray(mels, dtype=np.float32))
    np.save(OUT / f"{name}.partial_embeds.npy", np.ascontiguousarray(embeds, dtype=np.float32))
    print(f"{name}: {mels.shape[0]} partials from {len(wav)} samples", file=sys.stderr)


if __name__ == "__main__":
    main()
