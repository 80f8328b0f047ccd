#!/usr/bin/env python3
"""Score a trial list with Resemblyzer 0.1.4, the reference the voiceprint encoder is ported from.

The scores are written as ``label score enroll test`` lines, the score-file layout that
``voiceprint eval --scores FILE`` reads, so Resemblyzer's error rates come from the same metric
code as voiceprint's. The trial list is read as ``voiceprint eval --trials`` reads it: the label
first (VoxCeleb) or last (CN-Celeb), a side may join several files with ``+``, and with
``--enroll-map`` the enrolment column names enrolment ids.

``--join mean`` embeds each file of a side and averages the embeddings, then normalises the
mean to unit length, as ``VoiceEncoder.embed_speaker`` does. ``--join concat`` builds one
recording per side, as ``voiceprint eval --manifest`` does for the prompted protocol: each
file is loaded at its own rate, resampled to 16 kHz by ``librosa.resample`` (the call inside
``preprocess_wav``), and the signals are joined before ``preprocess_wav`` normalises the
volume and trims silence.

Setup and use, from the repository root (CPU only, one thread):

    pip install numpy scipy librosa==0.11.0 soxr webrtcvad==2.0.10 torch "setuptools<81"
    pip install --no-deps Resemblyzer==0.1.4
    python3 tools/resemblyzer_score.py --trials ../shared/data/vctk-sample/trials.txt \\
        --output /tmp/vctk-resemblyzer.txt
    voiceprint eval --scores resemblyzer=/tmp/vctk-resemblyzer.txt
"""

import argparse
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import torch

from resemblyzer import VoiceEncoder, preprocess_wav
from resemblyzer.hparams import sampling_rate

LABELS = {"1": 1, "target": 1, "0": 0, "nontarget": 0}


def read_trials(path):
    """Return (label, enroll, test) tuples, with the label first or last as the first line has it."""
    trials = []
    label_first = None
    for number, line in enumerate(open(path, encoding="utf-8"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            sys.exit(f"{path}, line {number}: expected 3 fields, found {len(fields)}")
        if label_first is None:
            label_first = fields[0] in LABELS
        label, enroll, test = (fields[0], fields[1], fields[2]) if label_first else (fields[2], fields[0], fields[1])
        if label not in LABELS:
            sys.exit(f"{path}, line {number}: invalid label {label!r}")
        trials.append((LABELS[label], enroll, test))
    return trials


def read_enroll_map(path):
    """Return {enrolment id: [files]}; repeated ids add files."""
    enrolments = {}
    for line in open(path, encoding="utf-8"):
        fields = line.split()
        if fields:
            enrolments.setdefault(fields[0], []).extend(fields[1:])
    return enrolments


def load_16k(path):
    """Load a file at its own rate and resample it to 16 kHz as preprocess_wav does."""
    wav, rate = librosa.load(str(path), sr=None)
    if rate != sampling_rate:
        wav = librosa.resample(wav, orig_sr=rate, target_sr=sampling_rate)
    return wav


class SideEmbedder:
    def __init__(self, audio_root, join):
        self.encoder = VoiceEncoder("cpu", verbose=False)
        self.audio_root = Path(audio_root)
        self.join = join
        self.file_embeddings = {}

    def embed_file(self, name):
        if name not in self.file_embeddings:
            wav = preprocess_wav(self.audio_root / name)
            self.file_embeddings[name] = self.encoder.embed_utterance(wav)
        return self.file_embeddings[name]

    def embed_side(self, files):
        if self.join == "mean":
            embeddings = np.array([self.embed_file(f) for f in files])
            mean = embeddings.mean(axis=0)
            return mean / np.linalg.norm(mean)
        signal = np.concatenate([load_16k(self.audio_root / f) for f in files])
        return self.encoder.embed_utterance(preprocess_wav(signal, sampling_rate))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", required=True, help="trial list")
    parser.add_argument("--audio-root", help="folder the trial paths are relative to [default: the trial list's folder]")
    parser.add_argument("--enroll-map", help="enrolment id followed by its files, one enrolment per line")
    parser.add_argument("--join", choices=["mean", "concat"], default="mean", help="how the files of one side are combined")
    parser.add_argument("--output", required=True, help="score file to write")
    args = parser.parse_args()

    torch.set_num_threads(1)
    trials = read_trials(args.trials)
    enroll_map = read_enroll_map(args.enroll_map) if args.enroll_map else None
    embedder = SideEmbedder(args.audio_root or Path(args.trials).parent, args.join)

    side_embeddings = {}

    def side(name, column):
        key = (column, name)
        if key not in side_embeddings:
            files = enroll_map[name] if column == "enroll" and enroll_map is not None else name.split("+")
            side_embeddings[key] = embedder.embed_side(files)
        return side_embeddings[key]

    started = time.time()
    lines = []
    for index, (label, enroll, test) in enumerate(trials, start=1):
        score = float(np.dot(side(enroll, "enroll"), side(test, "test")))
        lines.append(f"{label} {score!r} {enroll} {test}\n")
        if index % 100 == 0:
            print(f"{index}/{len(trials)} trials, {time.time() - started:.0f} s", file=sys.stderr)

    with open(args.output, "w", encoding="utf-8") as output:
        output.writelines(lines)
    print(f"wrote {len(lines)} scores to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
