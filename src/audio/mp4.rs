//! A bounded walk over the boxes of an MP4 file (ISO/IEC 14496-12, the ISO base media file
//! format, which M4A, 3GP and QuickTime share), run before Symphonia reads the file.
//!
//! Symphonia 0.5's MP4 reader reserves memory for sample tables from their entry counts
//! before reading them, so a 40-byte table claiming 2^32 entries would make it allocate
//! tens of gigabytes. It also reports tracks whose codec it does not know as the null
//! codec, without their name. This walk rejects boxes that claim more bytes than their parent
//! holds and tables that claim more entries than their box contains. It also collects what
//! Symphonia 0.5 leaves out: the sample entry type (the codec's four-character code) of
//! every sound track, and the edit list that trims an AAC encoder's priming samples.

/// Facts the walk collected from a file that passed it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Mp4Summary {
    /// The tracks whose handler is "soun", in file order.
    pub sound_tracks: Vec<SoundTrack>,
    /// Time units per second of the movie ("mvhd"), in which edit durations are counted.
    pub movie_timescale: Option<u32>,
    /// The top-level box cut off by the end of the file (an interrupted upload), if any.
    pub truncated_box: Option<TruncatedBox>,
}

/// A top-level box that states more bytes than the file has left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TruncatedBox {
    offset: usize,
    header_len: usize,
    present_len: usize,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct SoundTrack {
    /// Sample entry types from "stsd"; one in practice.
    pub sample_entries: Vec<[u8; 4]>,
    /// Time units per second of the track's media ("mdhd"), in which media times are counted.
    pub media_timescale: Option<u32>,
    /// The track's one non-empty edit, if its edit list has exactly one.
    pub edit: Option<Edit>,
}

/// An edit list entry (section 8.6.6): play the media from `media_time` (media timescale)
/// for `segment_duration` (movie timescale; 0 means to the end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edit {
    pub media_time: u64,
    pub segment_duration: u64,
}

impl Mp4Summary {
    /// Rewrites the size of a truncated top-level box in `file` (a copy of the inspected
    /// bytes) to the bytes present. Symphonia 0.5 rejects a file whose last box runs past its
    /// end. With the size repaired, the samples before the cut decode, and the first sample
    /// past it ends the stream.
    pub(super) fn repair_truncation(&self, file: &mut [u8]) {
        let Some(truncated) = self.truncated_box else {
            return;
        };
        let (offset, present_len) = (truncated.offset, truncated.present_len);
        if truncated.header_len == 16 {
            if let Some(large_size) = file.get_mut(offset + 8..offset + 16) {
                large_size.copy_from_slice(&(present_len as u64).to_be_bytes());
            }
        } else if let (Some(size), Ok(present_len)) =
            (file.get_mut(offset..offset + 4), u32::try_from(present_len))
        {
            size.copy_from_slice(&present_len.to_be_bytes());
        }
    }

    /// Applies the edit of the only sound track to `samples` decoded at `sample_rate`:
    /// drops the encoder's priming samples at the start and its padding at the end, as
    /// players honouring the edit list do. Leaves `samples` alone when anything is missing.
    pub(super) fn apply_edit(&self, samples: &mut Vec<f32>, sample_rate: u32) {
        let [track] = self.sound_tracks.as_slice() else {
            return;
        };
        let (Some(edit), Some(media_timescale)) = (track.edit, track.media_timescale) else {
            return;
        };

        let to_samples = |time: u64, timescale: u32| {
            (u128::from(time) * u128::from(sample_rate) / u128::from(timescale.max(1))) as usize
        };
        let skip = to_samples(edit.media_time, media_timescale).min(samples.len());
        samples.drain(..skip);
        if let (Some(movie_timescale), true) = (self.movie_timescale, edit.segment_duration > 0) {
            samples.truncate(to_samples(edit.segment_duration, movie_timescale));
        }
    }
}

/// Boxes nest a few levels deep in real files (moov/trak/mdia/minf/stbl/stsd is six).
const MAX_DEPTH: usize = 16;

/// Boxes whose body is a sequence of boxes (ISO/IEC 14496-12 section 8, and iTunes' "ilst").
const CONTAINER_BOXES: [&[u8; 4]; 14] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex", b"moof",
    b"traf", b"mfra", b"ilst", b"sinf",
];

/// Checks the box structure of `bytes` and collects the sound tracks' sample entry types.
/// The error is a reason for [`super::AudioError::Undecodable`].
pub(super) fn inspect(bytes: &[u8]) -> Result<Mp4Summary, String> {
    let mut walk = Walk {
        file_len: bytes.len(),
        track: TrackState::default(),
        summary: Mp4Summary::default(),
    };
    walk.boxes(bytes, 0, 0)?;
    Ok(walk.summary)
}

/// Names the codec of an MP4 sample entry type for an error message.
pub(super) fn codec_name(sample_entry: [u8; 4]) -> String {
    // Sample entry types from the MP4 registration authority (mp4ra.org), 3GPP TS 26.244
    // (AMR) and 3GPP2 C.S0050 (EVRC, QCELP).
    let name = match &sample_entry {
        b"samr" => "AMR-NB",
        b"sawb" => "AMR-WB",
        b"sawp" => "AMR-WB+",
        b"sevc" => "EVRC",
        b"secb" => "EVRC-B",
        b"sqcp" => "QCELP",
        b"Opus" => "opus",
        b"alac" => "ALAC",
        b"ac-3" => "AC-3",
        b"ec-3" => "E-AC-3",
        b"ac-4" => "AC-4",
        b"mha1" | b"mhm1" => "MPEG-H 3D Audio",
        b"ima4" => "IMA ADPCM",
        _ => {
            return format!(
                "MP4 sample entry {}",
                super::sniff::printable_fourcc(&sample_entry)
            )
        }
    };
    name.to_owned()
}

struct Walk {
    file_len: usize,
    track: TrackState,
    summary: Mp4Summary,
}

/// State of the track being walked. The handler ("mdia/hdlr") comes after the
/// edit list ("edts"), so the track is only classified when its "trak" box ends.
#[derive(Default)]
struct TrackState {
    handler: Option<[u8; 4]>,
    sound: SoundTrack,
}

/// One box as found in the bytes being walked.
struct BoxSpan<'a> {
    box_type: [u8; 4],
    /// Offset of the box header in the file.
    offset: usize,
    /// Bytes the box takes in the walked slice: header and body, clipped at the end of the
    /// file for a truncated top-level box.
    len: usize,
    header_len: usize,
    /// Whether the box states more bytes than the walked slice has left.
    truncated: bool,
    body: &'a [u8],
}

impl BoxSpan<'_> {
    fn body_offset(&self) -> usize {
        self.offset + self.header_len
    }

    fn name(&self) -> String {
        super::sniff::printable_fourcc(&self.box_type)
    }
}

impl Walk {
    /// Walks the boxes that fill `bytes`, which start at file offset `base`.
    fn boxes(&mut self, bytes: &[u8], base: usize, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "boxes nest deeper than {MAX_DEPTH} levels at offset {base}"
            ));
        }

        let mut position = 0;
        while let Some(span) = next_box(bytes, position, base, depth == 0)? {
            position += span.len;
            if span.truncated {
                let (offset, header_len, present_len) = (span.offset, span.header_len, span.len);
                self.summary.truncated_box = Some(TruncatedBox {
                    offset,
                    header_len,
                    present_len,
                });
            }
            self.visit(&span, depth)?;
        }
        Ok(())
    }

    fn visit(&mut self, span: &BoxSpan<'_>, depth: usize) -> Result<(), String> {
        match &span.box_type {
            b"trak" => {
                self.track = TrackState::default();
                self.boxes(span.body, span.body_offset(), depth + 1)?;
                if self.track.handler == Some(*b"soun") {
                    self.summary
                        .sound_tracks
                        .push(std::mem::take(&mut self.track.sound));
                }
                Ok(())
            }
            b"mvhd" => {
                self.summary.movie_timescale = Some(timescale(span)?);
                Ok(())
            }
            b"mdhd" => {
                self.track.sound.media_timescale = Some(timescale(span)?);
                Ok(())
            }
            b"elst" => self.edit_list(span),
            // ISO "meta" is a full box (4 bytes of version and flags before its children);
            // QuickTime's is a plain container whose first child is "hdlr".
            b"meta" if span.body.get(4..8) == Some(b"hdlr") => {
                self.boxes(span.body, span.body_offset(), depth + 1)
            }
            b"meta" => {
                let children = span.body.get(4..).unwrap_or_default();
                self.boxes(children, span.body_offset() + 4, depth + 1)
            }
            b"hdlr" => self.handler(span),
            b"stsd" => self.sample_descriptions(span),
            b"stts" | b"ctts" => check_table(span, 4, 8),
            b"stsc" => check_table(span, 4, 12),
            b"stco" | b"stss" => check_table(span, 4, 4),
            b"co64" => check_table(span, 4, 8),
            b"stsz" => self.sample_sizes(span),
            box_type if CONTAINER_BOXES.contains(&box_type) => {
                self.boxes(span.body, span.body_offset(), depth + 1)
            }
            _ => Ok(()),
        }
    }

    /// Reads the handler type (section 8.4.3): version and flags, pre_defined, then the type.
    /// Symphonia reads a 24-byte fixed part before the name, so shorter bodies are rejected.
    fn handler(&mut self, span: &BoxSpan<'_>) -> Result<(), String> {
        if span.body.len() < 24 {
            return Err(too_short(span, 24));
        }
        self.track.handler = Some(fourcc(&span.body[8..12]));
        Ok(())
    }

    /// Checks the sample entries (section 8.5.2): version and flags, an entry count, then
    /// one box per entry, and records their types.
    fn sample_descriptions(&mut self, span: &BoxSpan<'_>) -> Result<(), String> {
        if span.body.len() < 8 {
            return Err(too_short(span, 8));
        }
        let entry_count = read_u32(&span.body[4..8]);

        let entries = &span.body[8..];
        let mut position = 0;
        for _ in 0..entry_count {
            let Some(entry) = next_box(entries, position, span.body_offset() + 8, false)? else {
                break;
            };
            position += entry.len;
            self.track.sound.sample_entries.push(entry.box_type);
        }
        Ok(())
    }

    /// Checks the edit list (section 8.6.6): version and flags, an entry count, then entries
    /// of segment duration, media time and rate (12 bytes in version 0, 20 in version 1).
    /// Keeps the one non-empty edit (media time other than -1) when there is exactly one.
    fn edit_list(&mut self, span: &BoxSpan<'_>) -> Result<(), String> {
        let version_1 = span.body.first() == Some(&1);
        let entry_len = if version_1 { 20 } else { 12 };
        check_table(span, 4, entry_len)?;

        let count = read_u32(&span.body[4..8]) as usize;
        let entries = span.body[8..8 + count * entry_len].chunks_exact(entry_len);
        let edits: Vec<Edit> = entries
            .filter_map(|entry| {
                let (segment_duration, media_time) = match version_1 {
                    true => (
                        u64::from_be_bytes(eight(&entry[0..8])),
                        i64::from_be_bytes(eight(&entry[8..16])),
                    ),
                    false => (
                        u64::from(read_u32(&entry[0..4])),
                        i64::from(read_u32(&entry[4..8]) as i32),
                    ),
                };
                let media_time = u64::try_from(media_time).ok()?;
                Some(Edit {
                    media_time,
                    segment_duration,
                })
            })
            .collect();
        self.track.sound.edit = match edits.as_slice() {
            [edit] => Some(*edit),
            // NOTE: several edits (a cut recording) are not applied, so the decoded track
            // then keeps its priming samples and every part that the edits cut out.
            _ => None,
        };
        Ok(())
    }

    /// Checks the sample size table (section 8.7.3.2): version and flags, a constant size,
    /// a count, then one 32-bit size per sample when the constant size is 0. No sample can
    /// be larger than the file.
    fn sample_sizes(&mut self, span: &BoxSpan<'_>) -> Result<(), String> {
        if span.body.len() < 12 {
            return Err(too_short(span, 12));
        }
        let constant_size = read_u32(&span.body[4..8]);
        if constant_size != 0 {
            return self.check_sample_size(span, constant_size);
        }

        check_table(span, 8, 4)?;
        let count = read_u32(&span.body[8..12]) as usize;
        for size in span.body[12..12 + 4 * count].chunks_exact(4) {
            self.check_sample_size(span, read_u32(size))?;
        }
        Ok(())
    }

    fn check_sample_size(&self, span: &BoxSpan<'_>, size: u32) -> Result<(), String> {
        if size as usize > self.file_len {
            return Err(format!(
                "box {} at offset {} lists a sample of {size} bytes in a file of {} bytes",
                span.name(),
                span.offset,
                self.file_len
            ));
        }
        Ok(())
    }
}

/// Reads the box header at `position` of `bytes` (section 4.2): a 32-bit size and a type.
/// A size of 1 means a 64-bit size follows, and 0 means the box runs to the end of the file.
/// A top-level box may run past the end of a truncated file, but a nested one must fit its
/// parent. Returns `None` at the end of `bytes`, and at the top level also when fewer than
/// 8 bytes (trailing padding) are left.
fn next_box(
    bytes: &[u8],
    position: usize,
    base: usize,
    top_level: bool,
) -> Result<Option<BoxSpan<'_>>, String> {
    let offset = base + position;
    let remaining = bytes.len() - position;
    if remaining == 0 {
        return Ok(None);
    }
    let Some(header) = bytes.get(position..position + 8) else {
        return match top_level {
            true => Ok(None),
            false => Err(format!("box header at offset {offset} is cut off")),
        };
    };
    let box_type = fourcc(&header[4..8]);
    let name = super::sniff::printable_fourcc(&box_type);

    let (header_len, size) = match read_u32(&header[0..4]) {
        0 => (8, remaining as u64),
        1 => match bytes.get(position + 8..position + 16) {
            Some(large) => (16, u64::from_be_bytes(eight(large))),
            None => {
                return Err(format!(
                    "64-bit size of box {name} at offset {offset} is cut off"
                ))
            }
        },
        size => (8, u64::from(size)),
    };
    if size < header_len as u64 {
        return Err(format!(
            "box {name} at offset {offset} has size {size}, smaller than its header"
        ));
    }
    if size > remaining as u64 && !top_level {
        return Err(format!(
            "box {name} at offset {offset} claims {size} bytes but its parent has {remaining} left"
        ));
    }

    // Clipped to the bytes present, so a truncated top-level box ends the walk.
    let truncated = size > remaining as u64;
    let len = usize::try_from(size).map_or(remaining, |size| size.min(remaining));
    let body = bytes
        .get(position + header_len..position + len)
        .unwrap_or_default();
    Ok(Some(BoxSpan {
        box_type,
        offset,
        len,
        header_len,
        truncated,
        body,
    }))
}

/// Reads the timescale of "mvhd" or "mdhd" (sections 8.2.2 and 8.4.2): after version and
/// flags come creation and modification times of 4 bytes each in version 0, 8 in version 1.
fn timescale(span: &BoxSpan<'_>) -> Result<u32, String> {
    let at = if span.body.first() == Some(&1) {
        20
    } else {
        12
    };
    match span.body.get(at..at + 4) {
        Some(bytes) => Ok(read_u32(bytes)),
        None => Err(too_short(span, at + 4)),
    }
}

/// Checks that a full box's table fits in its body: `count_at` is where the 32-bit entry
/// count is, and the entries of `entry_len` bytes follow it.
fn check_table(span: &BoxSpan<'_>, count_at: usize, entry_len: usize) -> Result<(), String> {
    let Some(count) = span.body.get(count_at..count_at + 4) else {
        return Err(too_short(span, count_at + 4));
    };
    let count = read_u32(count) as usize;
    let needed = count.saturating_mul(entry_len).saturating_add(count_at + 4);
    if needed > span.body.len() {
        return Err(format!(
            "box {} at offset {} claims {count} entries of {entry_len} bytes but has {} bytes",
            span.name(),
            span.offset,
            span.body.len()
        ));
    }
    Ok(())
}

fn too_short(span: &BoxSpan<'_>, needed: usize) -> String {
    format!(
        "box {} at offset {} has {} bytes, at least {needed} needed",
        span.name(),
        span.offset,
        span.body.len()
    )
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn fourcc(bytes: &[u8]) -> [u8; 4] {
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}

fn eight(bytes: &[u8]) -> [u8; 8] {
    let mut array = [0; 8];
    array.copy_from_slice(&bytes[..8]);
    array
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(box_type: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut bytes = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(box_type);
        bytes.extend_from_slice(body);
        bytes
    }

    fn full_box(box_type: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut versioned = vec![0; 4];
        versioned.extend_from_slice(body);
        mp4_box(box_type, &versioned)
    }

    /// Builds a file with one track of the given handler and sample entry, and `extra`
    /// boxes in its sample table.
    fn one_track_file(handler: &[u8; 4], sample_entry: &[u8; 4], extra: &[u8]) -> Vec<u8> {
        let mut hdlr_body = vec![0; 4];
        hdlr_body.extend_from_slice(handler);
        hdlr_body.extend_from_slice(&[0; 13]);
        let hdlr = full_box(b"hdlr", &hdlr_body);

        let mut stsd_body = 1u32.to_be_bytes().to_vec();
        stsd_body.extend(mp4_box(sample_entry, &[0; 28]));
        let mut stbl_body = full_box(b"stsd", &stsd_body);
        stbl_body.extend_from_slice(extra);

        let minf = mp4_box(b"minf", &mp4_box(b"stbl", &stbl_body));
        let mdia = mp4_box(b"mdia", &[hdlr, minf].concat());
        let moov = mp4_box(b"moov", &mp4_box(b"trak", &mdia));

        let mut file = mp4_box(b"ftyp", b"3gp4\0\0\0\0");
        file.extend(moov);
        file
    }

    #[test]
    fn sound_sample_entry_is_found() {
        let file = one_track_file(b"soun", b"samr", &[]);

        let summary = inspect(&file).unwrap();

        assert_eq!(summary.sound_tracks.len(), 1);
        assert_eq!(summary.sound_tracks[0].sample_entries, vec![*b"samr"]);
    }

    #[test]
    fn other_tracks_are_not_listed() {
        let file = one_track_file(b"vide", b"avc1", &[]);

        assert_eq!(inspect(&file).unwrap(), Mp4Summary::default());
    }

    #[test]
    fn huge_table_count_is_rejected() {
        let mut stco_body = u32::MAX.to_be_bytes().to_vec();
        stco_body.extend_from_slice(&[0; 8]);
        let file = one_track_file(b"soun", b"mp4a", &full_box(b"stco", &stco_body));

        let error = inspect(&file).unwrap_err();

        assert!(error.contains("\"stco\""), "{error}");
        assert!(error.contains("4294967295 entries"), "{error}");
    }

    #[test]
    fn oversized_sample_is_rejected() {
        let mut stsz_body = 0u32.to_be_bytes().to_vec();
        stsz_body.extend_from_slice(&1u32.to_be_bytes());
        stsz_body.extend_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
        let file = one_track_file(b"soun", b"mp4a", &full_box(b"stsz", &stsz_body));

        let error = inspect(&file).unwrap_err();

        assert!(error.contains("sample of 2147483647 bytes"), "{error}");
    }

    #[test]
    fn nested_box_past_parent_is_rejected() {
        let mut moov = mp4_box(b"moov", &mp4_box(b"trak", &[]));
        moov[8..12].copy_from_slice(&1000u32.to_be_bytes());

        let error = inspect(&moov).unwrap_err();

        assert!(
            error.contains("\"trak\" at offset 8 claims 1000 bytes"),
            "{error}"
        );
    }

    #[test]
    fn truncated_top_level_box_is_repaired() {
        let mut file = one_track_file(b"soun", b"mp4a", &[]);
        let mdat_offset = file.len();
        file.extend(mp4_box(b"mdat", &[0; 100]));
        file.truncate(file.len() - 50);

        let summary = inspect(&file).unwrap();
        summary.repair_truncation(&mut file);

        assert_eq!(summary.sound_tracks[0].sample_entries, vec![*b"mp4a"]);
        assert_eq!(read_u32(&file[mdat_offset..mdat_offset + 4]), 58);
        assert_eq!(inspect(&file).unwrap().truncated_box, None);
    }

    #[test]
    fn box_smaller_than_header_is_rejected() {
        let file = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];

        assert!(inspect(&file)
            .unwrap_err()
            .contains("smaller than its header"));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let mut nested = Vec::new();
        for _ in 0..40 {
            nested = mp4_box(b"moov", &nested);
        }

        assert!(inspect(&nested).unwrap_err().contains("deeper than"));
    }

    #[test]
    fn codec_names_are_readable() {
        assert_eq!(codec_name(*b"samr"), "AMR-NB");
        assert_eq!(codec_name(*b"sawb"), "AMR-WB");
        assert_eq!(codec_name(*b"xyz\x01"), "MP4 sample entry \"xyz\\x01\"");
    }
}
