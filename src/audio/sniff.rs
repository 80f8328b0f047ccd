//! Recognition of a container from its first bytes (its magic number), never from a name.

use super::AudioError;

/// The containers this crate decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    /// RIFF/WAVE, including RF64 and BW64.
    Wav,
    Flac,
    /// MPEG-1/2/2.5 audio frames (layer III is decoded; layers I and II are rejected by name).
    MpegAudio,
    /// AAC in ADTS frames, as `.aac` files.
    Adts,
    /// ISO base media: MP4, M4A, 3GP, QuickTime.
    Mp4,
    Ogg,
}

impl Container {
    /// Returns a short name for error messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Container::Wav => "WAV",
            Container::Flac => "FLAC",
            Container::MpegAudio => "MPEG audio",
            Container::Adts => "ADTS AAC",
            Container::Mp4 => "MP4",
            Container::Ogg => "Ogg",
        }
    }
}

/// A recognised container and where its first byte is (after any ID3v2 tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sniffed {
    pub container: Container,
    pub offset: usize,
}

/// Recognises the container of `bytes`, or names what was found instead: a speech codec
/// that no decoder here reads ([`AudioError::UnsupportedCodec`]), or another kind of file
/// ([`AudioError::UnsupportedFormat`]).
pub(super) fn sniff(bytes: &[u8]) -> Result<Sniffed, AudioError> {
    let offset = skip_id3v2_tags(bytes);
    let rest = &bytes[offset..];

    if let Some(container) = audio_container(rest) {
        return Ok(Sniffed { container, offset });
    }
    if offset > 0 && rest.is_empty() {
        return Err(AudioError::UnsupportedFormat {
            found: "ID3 tag without audio data".to_owned(),
        });
    }
    if offset > 0 {
        // MP3 is the only common format with ID3v2 tags in front, and some encoders leave
        // padding between the tag and the first frame that Symphonia's reader skips.
        return Ok(Sniffed {
            container: Container::MpegAudio,
            offset,
        });
    }
    if let Some(codec) = unsupported_codec(rest) {
        return Err(AudioError::UnsupportedCodec {
            codec: codec.to_owned(),
        });
    }
    Err(AudioError::UnsupportedFormat {
        found: describe_other(rest),
    })
}

fn audio_container(bytes: &[u8]) -> Option<Container> {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();

    // A RIFF header is "RIFF", a size and the form type. RF64 and BW64 (EBU Tech 3306)
    // replace the tag so that sizes over 4 GiB can live in a "ds64" chunk.
    let riff = matches!(at(0..4), b"RIFF" | b"RF64" | b"BW64");
    if riff && (bytes.len() < 12 || at(8..12) == b"WAVE") {
        return Some(Container::Wav);
    }
    if at(0..4) == b"fLaC" {
        return Some(Container::Flac);
    }
    if at(0..4) == b"OggS" {
        return Some(Container::Ogg);
    }
    // ISO/IEC 14496-12 boxes start with a 32-bit size and a type. Files open with "ftyp",
    // but older QuickTime files may open with "moov", "mdat" or "wide".
    if matches!(at(4..8), b"ftyp" | b"moov" | b"mdat" | b"wide") {
        return Some(Container::Mp4);
    }
    if is_adts_header(bytes) {
        return Some(Container::Adts);
    }
    if is_mpeg_audio_header(bytes) {
        return Some(Container::MpegAudio);
    }
    None
}

/// Returns the length of the ID3v2 tags at the start of `bytes`. Each tag (ID3v2.4 section
/// 3.1) starts with "ID3", two version bytes, flags, and a 28-bit size in four 7-bit bytes.
/// The size counts the bytes after the 10-byte header, without the optional 10-byte footer.
fn skip_id3v2_tags(bytes: &[u8]) -> usize {
    let mut offset = 0;
    while let Some(header) = bytes.get(offset..offset + 10) {
        let syncsafe = header[6..10].iter().all(|byte| byte & 0x80 == 0);
        if &header[0..3] != b"ID3" || header[3] == 0xFF || header[4] == 0xFF || !syncsafe {
            break;
        }
        let size = header[6..10]
            .iter()
            .fold(0usize, |size, &byte| (size << 7) | usize::from(byte));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        offset = (offset + 10 + size + footer).min(bytes.len());
    }
    offset
}

/// Checks for an ADTS header (ISO/IEC 13818-7 section 6.2): a 12-bit sync word, layer 0 and
/// a defined sampling-frequency index.
fn is_adts_header(bytes: &[u8]) -> bool {
    match bytes {
        [0xFF, second, third, ..] => second & 0xF6 == 0xF0 && (third >> 2) & 0x0F < 13,
        _ => false,
    }
}

/// Checks for an MPEG audio frame header (ISO/IEC 11172-3 section 2.4.2.3, extended by
/// MPEG-2 and 2.5): an 11-bit sync word, and no reserved version, layer, bitrate or rate.
fn is_mpeg_audio_header(bytes: &[u8]) -> bool {
    match bytes {
        [0xFF, second, third, ..] => {
            let version = (second >> 3) & 0x03;
            let layer = (second >> 1) & 0x03;
            let bitrate = third >> 4;
            let rate = (third >> 2) & 0x03;
            second & 0xE0 == 0xE0
                && version != 0b01
                && layer != 0b00
                && bitrate != 0x0F
                && rate != 0b11
        }
        _ => false,
    }
}

/// Names the speech codecs of files that phones and chat apps produce and that no decoder
/// here reads.
fn unsupported_codec(bytes: &[u8]) -> Option<&'static str> {
    // Magic numbers of the AMR storage format, RFC 4867 section 5.
    const AMR: [(&[u8], &str); 4] = [
        (b"#!AMR\n", "AMR-NB"),
        (b"#!AMR-WB\n", "AMR-WB"),
        (b"#!AMR_MC1.0\n", "AMR-NB (multichannel)"),
        (b"#!AMR-WB_MC1.0\n", "AMR-WB (multichannel)"),
    ];
    if let Some((_, name)) = AMR.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(name);
    }

    // Skype's SILK files start "#!SILK_V3"; WeChat voice messages put a 0x02 byte before it.
    let silk = bytes.strip_prefix(&[0x02]).unwrap_or(bytes);
    if silk.starts_with(b"#!SILK_V3") {
        return Some("SILK");
    }
    None
}

/// Describes bytes that are no supported container, in a few words for the error message.
fn describe_other(bytes: &[u8]) -> String {
    const KNOWN: [(&[u8], &str); 14] = [
        (b"\x89PNG\r\n\x1a\n", "PNG image"),
        (b"\xFF\xD8\xFF", "JPEG image"),
        (b"GIF87a", "GIF image"),
        (b"GIF89a", "GIF image"),
        (b"%PDF-", "PDF document"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"\x1F\x8B", "gzip data"),
        (b"\x7FELF", "ELF executable"),
        (b"\x1A\x45\xDF\xA3", "Matroska or WebM container"),
        (b"caff", "Core Audio Format (CAF) audio"),
        (b".snd", "Sun/NeXT AU audio"),
        (b"MThd", "MIDI file"),
        (b"wvpk", "WavPack audio"),
        (
            b"\x30\x26\xB2\x75\x8E\x66\xCF\x11",
            "ASF (WMA/WMV) container",
        ),
    ];
    if let Some((_, name)) = KNOWN.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return (*name).to_owned();
    }

    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();
    if at(0..4) == b"FORM" && matches!(at(8..12), b"AIFF" | b"AIFC") {
        return "AIFF audio".to_owned();
    }
    if at(0..4) == b"RIFF" && at(8..12) == b"WEBP" {
        return "WebP image".to_owned();
    }
    if at(0..4) == b"RIFF" {
        return format!("RIFF file of form type {}", printable_fourcc(at(8..12)));
    }
    if looks_like_text(bytes) {
        return "text".to_owned();
    }
    let head: Vec<String> = bytes
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02X}"))
        .collect();
    format!("unknown bytes {}", head.join(" "))
}

/// Checks whether the first 512 bytes are UTF-8 without control characters other than
/// whitespace, allowing a multi-byte character cut off at the end.
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0C'))
}

/// Formats a four-character code for a message, escaping bytes that are not printable ASCII.
pub(super) fn printable_fourcc(code: &[u8]) -> String {
    let text: String = code
        .iter()
        .flat_map(|byte| std::ascii::escape_default(*byte))
        .map(char::from)
        .collect();
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_of(bytes: &[u8]) -> Container {
        sniff(bytes).unwrap().container
    }

    fn format_error(bytes: &[u8]) -> String {
        match sniff(bytes) {
            Err(AudioError::UnsupportedFormat { found }) => found,
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }

    fn codec_error(bytes: &[u8]) -> String {
        match sniff(bytes) {
            Err(AudioError::UnsupportedCodec { codec }) => codec,
            other => panic!("expected UnsupportedCodec, got {other:?}"),
        }
    }

    #[test]
    fn containers_are_recognised() {
        assert_eq!(container_of(b"RIFF\x24\0\0\0WAVEfmt "), Container::Wav);
        assert_eq!(
            container_of(b"RF64\xFF\xFF\xFF\xFFWAVEds64"),
            Container::Wav
        );
        assert_eq!(container_of(b"fLaC\0\0\0\x22"), Container::Flac);
        assert_eq!(container_of(b"OggS\0\x02"), Container::Ogg);
        assert_eq!(container_of(b"\0\0\0\x20ftypM4A "), Container::Mp4);
        assert_eq!(container_of(b"\0\0\0\x14ftyp3gp4"), Container::Mp4);
        assert_eq!(container_of(&[0xFF, 0xF1, 0x50, 0x80]), Container::Adts);
        assert_eq!(
            container_of(&[0xFF, 0xFB, 0x90, 0x64]),
            Container::MpegAudio
        );
        assert_eq!(
            container_of(&[0xFF, 0xF3, 0x84, 0xC4]),
            Container::MpegAudio
        );
    }

    #[test]
    fn id3v2_tags_are_skipped() {
        let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        bytes.extend_from_slice(b"fLaC\0\0\0\x22");

        let sniffed = sniff(&bytes).unwrap();

        assert_eq!(
            sniffed,
            Sniffed {
                container: Container::Flac,
                offset: 15
            }
        );
    }

    #[test]
    fn id3v2_tag_before_unknown_bytes_is_mpeg_audio() {
        let bytes = b"ID3\x03\0\0\0\0\0\x02\0\0\0\0\0\xFF\xFB";

        assert_eq!(
            sniff(bytes).unwrap(),
            Sniffed {
                container: Container::MpegAudio,
                offset: 12
            }
        );
    }

    #[test]
    fn id3v2_tag_without_audio_is_rejected() {
        let bytes = b"ID3\x03\0\0\x7F\x7F\x7F\x7Fsome tag bytes";

        assert_eq!(format_error(bytes), "ID3 tag without audio data");
    }

    #[test]
    fn amr_and_silk_are_named() {
        assert_eq!(codec_error(b"#!AMR\n\x3c\x48"), "AMR-NB");
        assert_eq!(codec_error(b"#!AMR-WB\n\x04"), "AMR-WB");
        assert_eq!(codec_error(b"\x02#!SILK_V3\x0c\0"), "SILK");
    }

    #[test]
    fn other_files_are_described() {
        assert_eq!(format_error(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "PNG image");
        assert_eq!(format_error(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), "JPEG image");
        assert_eq!(
            format_error(b"\x1A\x45\xDF\xA3\x9f\x42\x86\x81"),
            "Matroska or WebM container"
        );
        assert_eq!(format_error(b"FORM\0\0\0\x20AIFFCOMM"), "AIFF audio");
        assert_eq!(
            format_error(b"RIFF\0\0\0\0AVI LIST"),
            "RIFF file of form type \"AVI \""
        );
        assert_eq!(
            format_error(b"RIFF\0\0\0\0\x01\x02\x03\x04"),
            "RIFF file of form type \"\\x01\\x02\\x03\\x04\""
        );
    }

    #[test]
    fn text_is_described_as_text() {
        assert_eq!(format_error(b"hello, this is not audio\n"), "text");
        assert_eq!(format_error("语音打卡\r\n".as_bytes()), "text");
        assert_eq!(format_error(&"语".as_bytes()[..2]), "unknown bytes E8 AF");
    }

    #[test]
    fn unknown_bytes_are_shown_in_hex() {
        assert_eq!(format_error(&[0x00, 0x01, 0x02]), "unknown bytes 00 01 02");
        assert_eq!(
            format_error(&[0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90]),
            "unknown bytes 10 20 30 40 50 60 70 80"
        );
    }
}
