//! Compressed containers (FLAC, MP3, AAC in ADTS or MP4, Ogg Vorbis) through Symphonia 0.5.

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::audio::{AudioBufferRef, SampleBuffer};
use symphonia::core::codecs::{self, CodecParameters, CodecType, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::default::formats::{
    AdtsReader, FlacReader, IsoMp4Reader, MpaReader, OggReader, WavReader,
};

use super::downmix::Downmixer;
use super::mp4::{self, Mp4Summary};
use super::sniff::Container;
use super::{AudioError, DecodedAudio, Limits};

/// Decodes `bytes`, whose container was sniffed as `container`, into mono samples.
/// `DecodedAudio::format` is the codec's Symphonia name ("flac", "mp3", "aac", "vorbis").
pub(super) fn decode(
    bytes: &[u8],
    container: Container,
    limits: &Limits,
) -> Result<DecodedAudio, AudioError> {
    let mp4_summary = match container {
        Container::Mp4 => mp4::inspect(bytes).map_err(|reason| undecodable(container, reason))?,
        _ => Mp4Summary::default(),
    };

    // Symphonia 0.5.5 has known panics on malformed input (index out of bounds in its AAC
    // and ADPCM decoders, arithmetic overflow in its MP4 tables). Such a panic is a rejected
    // input here, not a crashed request. Its message still goes to the panic hook.
    let mut source = bytes.to_vec();
    mp4_summary.repair_truncation(&mut source);
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
        decode_stream(source, container, &mp4_summary, limits)
    }));
    let mut decoded = decoded.unwrap_or_else(|_| {
        Err(undecodable(
            container,
            "the decoder failed on malformed data",
        ))
    })?;

    mp4_summary.apply_edit(&mut decoded.samples, decoded.sample_rate);
    if decoded.samples.is_empty() {
        return Err(AudioError::Empty);
    }
    Ok(decoded)
}

fn decode_stream(
    source: Vec<u8>,
    container: Container,
    mp4_summary: &Mp4Summary,
    limits: &Limits,
) -> Result<DecodedAudio, AudioError> {
    let mut reader = open_reader(source, container)?;
    let track = first_audio_track(reader.tracks(), container, mp4_summary)?;
    let stated = check_codec_parameters(&track.codec_params, container, limits)?;
    let mut decoder = make_decoder(&track.codec_params, container)?;
    let codec = codec_name(track.codec_params.codec);

    // The downmixer takes the rate of the first decoded buffer, not the stated one: an AAC
    // decoder without SBR support decodes HE-AAC at half the rate an MP4 header states.
    let mut stream = Stream {
        downmixer: None,
        channels: stated.channels,
        sample_buffer: None,
    };
    let mut first_error = None;

    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(error))
                if error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break
            }
            // NOTE: a chained Ogg file (several streams one after another) stops after its
            // first stream; recordings from phones and browsers have one stream.
            Err(SymphoniaError::ResetRequired) => break,
            Err(error) => return Err(symphonia_error(container, error)),
        };
        if packet.track_id() != track.id {
            continue;
        }

        match decoder.decode(&packet) {
            Ok(buffer) => stream.push(buffer, limits, container)?,
            // Symphonia documents both as recoverable: the packet is skipped.
            Err(error @ (SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_))) => {
                first_error.get_or_insert(error);
            }
            Err(error) => return Err(symphonia_error(container, error)),
        }
    }

    stream.finish(codec, first_error, container)
}

/// Values the codec parameters state, checked against the limits.
struct StatedParameters {
    channels: Option<u16>,
}

/// Checks the rate, channel count and length where the container states them, before any
/// packet is decoded.
fn check_codec_parameters(
    params: &CodecParameters,
    container: Container,
    limits: &Limits,
) -> Result<StatedParameters, AudioError> {
    let sample_rate = params
        .sample_rate
        .map(|rate| limits.check_sample_rate(u64::from(rate)))
        .transpose()?;
    let channels = params
        .channels
        .map(|channels| limits.check_channels(channels.count() as u32))
        .transpose()?;

    // Symphonia 0.5 estimates the length of MPEG audio without a Xing or Info header, and of
    // every ADTS stream, from the first frames and the file size. That estimate can be far
    // off for variable bitrates, so these containers are only checked while decoding.
    let exact_length = !matches!(container, Container::MpegAudio | Container::Adts);
    if let (Some(frames), Some(rate), true) = (params.n_frames, sample_rate, exact_length) {
        limits.check_duration(frames, rate)?;
    }
    Ok(StatedParameters { channels })
}

/// The decoded part of the stream.
struct Stream {
    downmixer: Option<Downmixer>,
    channels: Option<u16>,
    sample_buffer: Option<SampleBuffer<f32>>,
}

impl Stream {
    fn push(
        &mut self,
        buffer: AudioBufferRef<'_>,
        limits: &Limits,
        container: Container,
    ) -> Result<(), AudioError> {
        if buffer.frames() == 0 {
            return Ok(());
        }
        let spec = *buffer.spec();
        let rate = limits.check_sample_rate(u64::from(spec.rate))?;
        let channels = limits.check_channels(spec.channels.count() as u32)?;
        self.channels.get_or_insert(channels);

        let downmixer = self
            .downmixer
            .get_or_insert_with(|| Downmixer::new(rate, limits, 0));
        if downmixer.sample_rate() != rate {
            return Err(undecodable(
                container,
                format!(
                    "the sample rate changes from {} Hz to {rate} Hz within the stream",
                    downmixer.sample_rate()
                ),
            ));
        }

        // A decoder's buffer capacity is its largest packet (at most 65535 frames for FLAC),
        // so this allocation is bounded by the codec, not by the input.
        let reusable = self.sample_buffer.as_ref().is_some_and(|sample_buffer| {
            sample_buffer.capacity() >= buffer.capacity() * spec.channels.count()
        });
        if !reusable {
            self.sample_buffer = None;
        }
        let sample_buffer = self
            .sample_buffer
            .get_or_insert_with(|| SampleBuffer::new(buffer.capacity() as u64, spec));
        sample_buffer.copy_interleaved_ref(buffer);
        downmixer.push_interleaved(sample_buffer.samples(), usize::from(channels))
    }

    fn finish(
        self,
        codec: String,
        first_error: Option<SymphoniaError>,
        container: Container,
    ) -> Result<DecodedAudio, AudioError> {
        let decoded_frames = self.downmixer.as_ref().map_or(0, Downmixer::frames);
        match (self.downmixer, first_error) {
            (Some(downmixer), _) if decoded_frames > 0 => Ok(DecodedAudio {
                sample_rate: downmixer.sample_rate(),
                samples: downmixer.into_samples(),
                source_channels: self.channels.unwrap_or(1),
                format: codec,
            }),
            (_, Some(error)) => Err(symphonia_error(container, error)),
            _ => Err(AudioError::Empty),
        }
    }
}

fn open_reader(source: Vec<u8>, container: Container) -> Result<Box<dyn FormatReader>, AudioError> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(source)), Default::default());
    // Gapless mode trims the encoder delay and padding that a LAME header states for MP3
    // and that Ogg granule positions imply, so the samples line up with the original. MP4
    // edit lists, which Symphonia 0.5 ignores, are applied after decoding.
    let options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };

    let reader: Result<Box<dyn FormatReader>, SymphoniaError> = match container {
        Container::Wav => WavReader::try_new(stream, &options).map(|reader| Box::new(reader) as _),
        Container::Flac => {
            FlacReader::try_new(stream, &options).map(|reader| Box::new(reader) as _)
        }
        Container::MpegAudio => {
            MpaReader::try_new(stream, &options).map(|reader| Box::new(reader) as _)
        }
        Container::Adts => {
            AdtsReader::try_new(stream, &options).map(|reader| Box::new(reader) as _)
        }
        Container::Mp4 => {
            IsoMp4Reader::try_new(stream, &options).map(|reader| Box::new(reader) as _)
        }
        Container::Ogg => OggReader::try_new(stream, &options).map(|reader| Box::new(reader) as _),
    };
    reader.map_err(|error| symphonia_error(container, error))
}

/// Picks the first track with a known codec. When there is none, names the codec of the
/// first sound track, which Symphonia reports as the null codec when it does not know it.
fn first_audio_track(
    tracks: &[Track],
    container: Container,
    mp4_summary: &Mp4Summary,
) -> Result<Track, AudioError> {
    if let Some(track) = tracks
        .iter()
        .find(|track| track.codec_params.codec != codecs::CODEC_TYPE_NULL)
    {
        return Ok(track.clone());
    }
    let sample_entries = mp4_summary
        .sound_tracks
        .iter()
        .flat_map(|track| &track.sample_entries);
    if let Some(sample_entry) = sample_entries.into_iter().next() {
        return Err(AudioError::UnsupportedCodec {
            codec: mp4::codec_name(*sample_entry),
        });
    }
    if tracks.is_empty() {
        return Err(undecodable(container, "the file has no audio track"));
    }
    Err(AudioError::UnsupportedCodec {
        codec: format!("unknown codec in {}", container.name()),
    })
}

fn make_decoder(
    params: &CodecParameters,
    container: Container,
) -> Result<Box<dyn Decoder>, AudioError> {
    symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|error| match error {
            // Without a registered decoder the codec itself is unsupported; with one, the
            // decoder rejected a feature of the stream (such as an AAC profile).
            SymphoniaError::Unsupported(feature) => {
                let name = codec_name(params.codec);
                let registered = symphonia::default::get_codecs().get_codec(params.codec);
                let codec = match registered {
                    Some(_) => format!("{name} ({feature})"),
                    None => name,
                };
                AudioError::UnsupportedCodec { codec }
            }
            error => symphonia_error(container, error),
        })
}

/// Names a Symphonia codec: the decoder's short name when one is registered, otherwise
/// the name of the codec constant.
fn codec_name(codec: CodecType) -> String {
    if let Some(descriptor) = symphonia::default::get_codecs().get_codec(codec) {
        return descriptor.short_name.to_owned();
    }
    let name = match codec {
        codecs::CODEC_TYPE_OPUS => "opus",
        codecs::CODEC_TYPE_SPEEX => "speex",
        codecs::CODEC_TYPE_ALAC => "alac",
        codecs::CODEC_TYPE_WAVPACK => "wavpack",
        codecs::CODEC_TYPE_MONKEYS_AUDIO => "ape",
        codecs::CODEC_TYPE_TTA => "tta",
        codecs::CODEC_TYPE_MUSEPACK => "musepack",
        codecs::CODEC_TYPE_EAC3 => "eac3",
        codecs::CODEC_TYPE_AC4 => "ac4",
        codecs::CODEC_TYPE_DCA => "dts",
        codecs::CODEC_TYPE_WMA => "wma",
        codecs::CODEC_TYPE_ATRAC1
        | codecs::CODEC_TYPE_ATRAC3
        | codecs::CODEC_TYPE_ATRAC3PLUS
        | codecs::CODEC_TYPE_ATRAC9 => "atrac",
        codecs::CODEC_TYPE_ADPCM_G722 => "g722",
        codecs::CODEC_TYPE_ADPCM_G726 | codecs::CODEC_TYPE_ADPCM_G726LE => "g726",
        _ => return format!("codec {codec}"),
    };
    name.to_owned()
}

fn symphonia_error(container: Container, error: SymphoniaError) -> AudioError {
    let reason = match error {
        SymphoniaError::IoError(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the data ends unexpectedly".to_owned()
        }
        SymphoniaError::IoError(error) => error.to_string(),
        SymphoniaError::DecodeError(reason) => format!("malformed data ({reason})"),
        SymphoniaError::Unsupported(feature) => format!("unsupported feature ({feature})"),
        SymphoniaError::LimitError(limit) => format!("a decoder limit was reached ({limit})"),
        SymphoniaError::SeekError(_) | SymphoniaError::ResetRequired => error.to_string(),
    };
    undecodable(container, reason)
}

fn undecodable(container: Container, reason: impl Into<String>) -> AudioError {
    AudioError::Undecodable {
        format: container.name().to_owned(),
        reason: reason.into(),
    }
}
