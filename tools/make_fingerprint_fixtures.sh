#!/usr/bin/env bash
# Encodes speech with lossy codecs and decodes it again, for the replay-fingerprint tests.
#
#   tools/make_fingerprint_fixtures.sh
#       Writes the committed fixtures to fixtures/fingerprint/: each source clip encoded with
#       each codec setting in FIXTURE_CODECS, and the decoded 16-bit WAV next to it.
#   tools/make_fingerprint_fixtures.sh --corpus DATA_DIR OUT_DIR
#       Encodes and decodes every file listed in DATA_DIR/MANIFEST.tsv with every setting in
#       CODECS, writing OUT_DIR/SETTING/RELATIVE_PATH.wav, for the evaluation in
#       src/separation/evaluation.rs.
#
# Needs ffmpeg with libmp3lame and its native AAC encoder (Debian: apt-get install ffmpeg;
# the committed fixtures were made with ffmpeg 5.1). Decoded WAVs keep the codec's sample rate;
# the tests resample them to 16 kHz.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Setting name -> file extension and ffmpeg encoder arguments. The input is 16 kHz mono
# speech; "-ar" resamples it before encoding, as a phone (8 kHz) or a desktop (44.1 kHz)
# recording chain would.
declare -A CODECS=(
    [mp3_32k]="mp3 -c:a libmp3lame -b:a 32k"
    [mp3_64k]="mp3 -c:a libmp3lame -b:a 64k"
    [aac_32k]="m4a -c:a aac -b:a 32k"
    [aac_64k]="m4a -c:a aac -b:a 64k"
    [aac_32k_8khz]="m4a -ar 8000 -c:a aac -b:a 32k"
    [mp3_32k_44khz]="mp3 -ar 44100 -c:a libmp3lame -b:a 32k"
)
FIXTURE_CODECS=(mp3_32k aac_32k aac_32k_8khz)

# The committed fixtures: a sentence and a single word, both under MIT or Apache-2.0.
FIXTURE_SOURCES=(
    "fixtures/golden/aishell_S0150W0001.wav"
    "fixtures/fingerprint/dspspeech_16307130307-18-01.wav"
)

ffmpeg_quiet() {
    ffmpeg -nostdin -hide_banner -loglevel error -y "$@"
}

# encode_and_decode SETTING INPUT OUTPUT_STEM: writes OUTPUT_STEM.EXT and OUTPUT_STEM.EXT.wav.
encode_and_decode() {
    local setting="$1" input="$2" stem="$3"
    read -r extension arguments <<<"${CODECS[$setting]}"
    # shellcheck disable=SC2086  # the encoder arguments are meant to split into words
    ffmpeg_quiet -i "$input" -ac 1 $arguments -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$stem.$extension"
    ffmpeg_quiet -i "$stem.$extension" -ac 1 -c:a pcm_s16le -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$stem.$extension.wav"
}

make_fixtures() {
    local out="$repo/fixtures/fingerprint"
    for source in "${FIXTURE_SOURCES[@]}"; do
        local name
        name="$(basename "$source" .wav)"
        for setting in "${FIXTURE_CODECS[@]}"; do
            encode_and_decode "$setting" "$repo/$source" "$out/${name}.${setting}"
        done
    done
}

make_corpus() {
    local data_dir="$1" out_dir="$2"
    export -f encode_and_decode ffmpeg_quiet
    export CODECS_SERIALISED
    CODECS_SERIALISED="$(declare -p CODECS)"

    for setting in "${!CODECS[@]}"; do
        tail -n +2 "$data_dir/MANIFEST.tsv" | cut -f1 | while read -r relative; do
            mkdir -p "$out_dir/$setting/$(dirname "$relative")"
            printf '%s\0%s\0%s\0' "$setting" "$data_dir/$relative" "$out_dir/$setting/$relative"
        done
    done | xargs -0 -n 3 -P "$(nproc)" bash -c '
        eval "$CODECS_SERIALISED"
        encode_and_decode "$0" "$1" "${2%.wav}"
        mv "${2%.wav}.$(cut -d" " -f1 <<<"${CODECS[$0]}").wav" "$2"
        rm "${2%.wav}.$(cut -d" " -f1 <<<"${CODECS[$0]}")"
    '
}

case "${1:-}" in
    "") make_fixtures ;;
    --corpus) make_corpus "$2" "$3" ;;
    *) echo "usage: $0 [--corpus DATA_DIR OUT_DIR]" >&2; exit 2 ;;
esac
