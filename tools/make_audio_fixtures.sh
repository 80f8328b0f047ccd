#!/usr/bin/env bash
# Writes the audio format fixtures under fixtures/audio/ from one real speech clip
# (AISHELL-1 S0150 W0001, 16 kHz 16-bit mono, 2.43 s). Run from the repository root.
#
# Needs ffmpeg (Debian 12: ffmpeg 5.1, `apt-get install ffmpeg`), and for AMR the
# opencore-amrnb encoder library (`apt-get install libopencore-amrnb0`), which Python calls
# through ctypes because Debian's ffmpeg has no AMR encoder. Python also needs soundfile.
set -euo pipefail

src=fixtures/audio/aishell_S0150W0001.wav
out=fixtures/audio
# -bitexact keeps encoder version strings out of the files, so reruns give the same bytes.
ff=(ffmpeg -hide_banner -loglevel error -y -bitexact -i "$src" -map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# Compressed versions of the clip, as phones and web clients upload them.
"${ff[@]}" -c:a flac -compression_level 8 "$out/aishell.flac"
"${ff[@]}" -c:a libmp3lame -b:a 64k "$out/aishell.mp3"
"${ff[@]}" -c:a aac -b:a 64k -movflags +faststart "$out/aishell.m4a"
"${ff[@]}" -c:a aac -b:a 64k -f adts "$out/aishell.aac"
"${ff[@]}" -c:a libvorbis -q:a 4 "$out/aishell.ogg"
# Ogg Opus (voice messages of chat apps): Symphonia 0.5 parses it but has no Opus decoder.
"${ff[@]}" -c:a libopus -b:a 24k "$out/aishell.opus"

# WAVE_FORMAT_EXTENSIBLE: ffmpeg writes it for samples wider than 16 bits. The 64-bit file
# keeps 2 s so that it stays small.
"${ff[@]}" -c:a pcm_s24le "$out/aishell_extensible_s24.wav"
"${ff[@]}" -c:a pcm_f32le "$out/aishell_extensible_f32.wav"
"${ff[@]}" -t 2 -c:a pcm_f64le "$out/aishell_extensible_f64_2s.wav"

# WAV codecs that hound does not read: G.711 (telephony, at 8 kHz) and the two ADPCMs.
ff8=(ffmpeg -hide_banner -loglevel error -y -bitexact -i "$out/resample/aishell_8000.wav"
     -map_metadata -1 -fflags +bitexact -flags:a +bitexact)
"${ff8[@]}" -c:a pcm_mulaw "$out/aishell_8k_mulaw.wav"
"${ff8[@]}" -c:a pcm_alaw "$out/aishell_8k_alaw.wav"
"${ff[@]}" -c:a adpcm_ms "$out/aishell_adpcm_ms.wav"
"${ff[@]}" -c:a adpcm_ima_wav "$out/aishell_adpcm_ima.wav"

# A WAV written to a pipe: ffmpeg cannot seek back, so the RIFF and data sizes stay 0xFFFFFFFF.
"${ff[@]}" -c:a pcm_s16le -f wav - | cat > "$out/aishell_streamed.wav"

# 30 minutes of 8 kHz silence as FLAC: once with the length in STREAMINFO (written to a
# file) and once without (written to a pipe, so the total sample count stays 0). Blocks
# of 4608 samples, the largest the FLAC subset allows at 8 kHz, keep the files small.
long=(ffmpeg -hide_banner -loglevel error -y -bitexact -f lavfi -i anullsrc=r=8000:cl=mono
      -t 1800 -fflags +bitexact -flags:a +bitexact -c:a flac -frame_size 4608)
"${long[@]}" "$out/silence_30min.flac"
"${long[@]}" -f flac - | cat > "$out/silence_30min_streamed.flac"

# AMR-NB at 12.2 kbit/s from the clip taken to 8 kHz, in the "#!AMR\n" storage format of
# RFC 4867 section 5, then the same frames in a 3GP file (Android voice recorders).
python3 - "$out/resample/aishell_8000.wav" "$out/aishell.amr" <<'EOF'
import ctypes, sys
import numpy as np
import soundfile

speech, rate = soundfile.read(sys.argv[1], dtype="int16")
assert rate == 8000
amr = ctypes.CDLL("libopencore-amrnb.so.0")
amr.Encoder_Interface_init.restype = ctypes.c_void_p
amr.Encoder_Interface_Encode.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_short),
                                         ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
MR122 = 7  # enum Mode in opencore-amr's interf_enc.h
state = amr.Encoder_Interface_init(0)
frame_out = (ctypes.c_ubyte * 64)()
data = bytearray(b"#!AMR\n")
for start in range(0, len(speech) - 159, 160):
    frame = np.ascontiguousarray(speech[start:start + 160])
    size = amr.Encoder_Interface_Encode(
        state, MR122, frame.ctypes.data_as(ctypes.POINTER(ctypes.c_short)), frame_out, 0)
    data += bytes(frame_out[:size])
amr.Encoder_Interface_exit(ctypes.c_void_p(state))
open(sys.argv[2], "wb").write(data)
EOF
ffmpeg -hide_banner -loglevel error -y -bitexact -i "$out/aishell.amr" -c:a copy \
    -fflags +bitexact "$out/aishell_amr.3gp"

ls -l "$out"
