#!/usr/bin/env bash
# Writes the person-device separation fixtures under fixtures/separation/. Run from the
# repository root:
#
#   tools/make_separation_fixtures.sh DSPSPEECH_DIR
#
# DSPSPEECH_DIR is a copy of DSPSpeech-20 (zhongyuchen/DSPSpeech-20, MIT) with
# speech_data/SPEAKER/SPEAKER-WORD-TAKE.wav files. Needs ffmpeg with libmp3lame and its
# native AAC encoder (Debian 12: ffmpeg 5.1, `apt-get install ffmpeg`).
#
# Replays: the VCTK check-in clip fixtures/service/p225_019.wav encoded as MP3 and as AAC
# at 32 kb/s, and resampled to 8 kHz with soxr, as a recording played back through a
# phone's codec or a telephone line would arrive.
#
# Fresh recordings: DSPSpeech-20 speaker 15307110252 saying twenty isolated words twice
# (takes 01 and 02). Words 00 to 05 of each take, joined in order, are two recordings of the
# same prompted words; words 06 to 19 of both takes, joined in three clips, enrol the
# speaker.
set -euo pipefail

dsp="${1:?usage: tools/make_separation_fixtures.sh DSPSPEECH_DIR}"
out=fixtures/separation
speaker=15307110252
mkdir -p "$out"

# -bitexact keeps encoder version strings out of the files, so reruns give the same bytes.
ff=(ffmpeg -nostdin -hide_banner -loglevel error -y -bitexact)
clean=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

vctk=fixtures/service/p225_019.wav
"${ff[@]}" -i "$vctk" "${clean[@]}" -c:a libmp3lame -b:a 32k "$out/p225_019.mp3"
"${ff[@]}" -i "$vctk" "${clean[@]}" -c:a aac -b:a 32k -movflags +faststart "$out/p225_019.m4a"
"${ff[@]}" -i "$vctk" "${clean[@]}" -af aresample=resampler=soxr -ar 8000 -c:a pcm_s16le "$out/p225_019_8k.wav"

# join OUTPUT TAKE... WORD...: concatenates the speaker's word files, for each take in turn,
# into one FLAC file.
join() {
    local output="$1" takes="$2" words="$3" list
    list="$(mktemp)"
    for take in $takes; do
        for word in $words; do
            printf "file '%s'\n" "$(realpath "$dsp/speech_data/$speaker/$speaker-$word-$take.wav")" >>"$list"
        done
    done
    "${ff[@]}" -f concat -safe 0 -i "$list" "${clean[@]}" -c:a flac -compression_level 8 "$output"
    rm "$list"
}

join "$out/dspspeech_${speaker}_words_00-05_take_01.flac" "01" "00 01 02 03 04 05"
join "$out/dspspeech_${speaker}_words_00-05_take_02.flac" "02" "00 01 02 03 04 05"
join "$out/dspspeech_${speaker}_enroll_1.flac" "01 02" "06 07 08 09 10"
join "$out/dspspeech_${speaker}_enroll_2.flac" "01 02" "11 12 13 14 15"
join "$out/dspspeech_${speaker}_enroll_3.flac" "01 02" "16 17 18 19"
