//! Reading client-streaming uploads into whole requests, within the same limits as unary
//! calls: a clip over the size limit is rejected as soon as its chunks pass the limit, before
//! the rest is read.

use prost::bytes::{Bytes, BytesMut};
use tonic::{Status, Streaming};

use super::convert::{raw_format, Violations};
use super::observe::RpcCall;
use crate::audio::AudioError;
use crate::config::InputLimits;
use crate::proto::v1 as pb;
use crate::registry::{AudioInput, EnrollmentRequest, FieldViolation, Identifier, RegistryError, VerificationRequest};

/// A clip being received.
struct OpenClip {
    field: String,
    content: BytesMut,
    raw_format: Option<crate::audio::raw::RawPcm>,
}

impl OpenClip {
    fn new(field: String, format: Option<&pb::AudioFormat>) -> Result<Self, RegistryError> {
        let mut violations = Violations::default();
        let raw_format = raw_format(format, &format!("{field}.format"), &mut violations);
        let raw_format = violations.finish(|| raw_format)?;
        Ok(OpenClip { field, content: BytesMut::new(), raw_format })
    }

    fn append(&mut self, chunk: &[u8], max_bytes: usize) -> Result<(), RegistryError> {
        let bytes = self.content.len() + chunk.len();
        if bytes > max_bytes {
            let error = AudioError::TooLarge { bytes, limit: max_bytes };
            return Err(RegistryError::Audio { field: self.field.clone(), error });
        }
        self.content.extend_from_slice(chunk);
        Ok(())
    }

    fn close(self) -> Result<AudioInput, RegistryError> {
        if self.content.is_empty() {
            return Err(FieldViolation::new(self.field.clone(), format!("{} has no audio chunks", self.field)).into());
        }
        Ok(AudioInput { content: Bytes::from(self.content), raw_format: self.raw_format })
    }
}

/// Reads StreamEnroll: the subject id, then each clip's chunks closed by an end-of-clip marker.
pub(crate) async fn read_enrollment(
    stream: &mut Streaming<pb::StreamEnrollRequest>,
    limits: &InputLimits,
    call: &mut RpcCall,
) -> Result<EnrollmentRequest, Status> {
    use pb::stream_enroll_request::Message;

    let subject_id = match stream.message().await?.and_then(|m| m.message) {
        Some(Message::SubjectId(subject_id)) => {
            call.subject(&subject_id);
            Identifier::parse("subject_id", &subject_id).map_err(RegistryError::from)?
        }
        _ => return Err(violation("subject_id", "the first message must carry subject_id")),
    };

    let mut clips = Vec::new();
    let mut open: Option<OpenClip> = None;
    while let Some(message) = stream.message().await? {
        let field = format!("clips[{}]", clips.len());
        match message.message {
            Some(Message::Chunk(chunk)) => {
                let clip = match open.as_mut() {
                    Some(clip) if chunk.format.is_some() => {
                        return Err(violation(&format!("{}.format", clip.field), "format may be set only on the first chunk of a clip"));
                    }
                    Some(clip) => clip,
                    None => {
                        if clips.len() == limits.max_enrollment_clips {
                            return Err(too_many_clips(limits.max_enrollment_clips));
                        }
                        open.insert(OpenClip::new(field, chunk.format.as_ref())?)
                    }
                };
                clip.append(&chunk.content, limits.audio.max_bytes)?;
            }
            Some(Message::EndOfClip(_)) => match open.take() {
                Some(clip) => clips.push(clip.close()?),
                None => return Err(violation(&field, "end_of_clip arrived before any chunk of this clip")),
            },
            Some(Message::SubjectId(_)) => return Err(violation("subject_id", "subject_id may be sent only in the first message")),
            None => return Err(violation("message", "a message carries none of subject_id, chunk or end_of_clip")),
        }
    }

    if let Some(clip) = open {
        return Err(violation(&clip.field, "the stream ended before the end_of_clip of this clip"));
    }
    if clips.is_empty() {
        return Err(violation("clips", "the stream carried no clip"));
    }
    Ok(EnrollmentRequest { subject_id, clips })
}

/// Reads StreamVerify: the start message, then the recording's chunks until the stream ends.
pub(crate) async fn read_verification(
    stream: &mut Streaming<pb::StreamVerifyRequest>,
    limits: &InputLimits,
    call: &mut RpcCall,
) -> Result<VerificationRequest, Status> {
    use pb::stream_verify_request::Message;

    let Some(Message::Start(start)) = stream.message().await?.and_then(|m| m.message) else {
        return Err(violation("start", "the first message must be start"));
    };
    call.subject(&start.subject_id);
    call.device(&start.device_id);

    let mut violations = Violations::default();
    let subject_id = violations.check(Identifier::parse("subject_id", &start.subject_id));
    let device_id = violations.check(Identifier::parse("device_id", &start.device_id));
    let raw_format = raw_format(start.format.as_ref(), "start.format", &mut violations);
    let (subject_id, device_id, raw_format) = violations.finish(|| Some((subject_id?, device_id?, raw_format?)))?;

    let mut audio = OpenClip { field: "audio".into(), content: BytesMut::new(), raw_format };
    while let Some(message) = stream.message().await? {
        match message.message {
            Some(Message::AudioContent(chunk)) => audio.append(&chunk, limits.audio.max_bytes)?,
            Some(Message::Start(_)) => return Err(violation("start", "start may be sent only in the first message")),
            None => return Err(violation("message", "a message carries neither start nor audio_content")),
        }
    }

    Ok(VerificationRequest { subject_id, device_id, audio: audio.close()? })
}

fn violation(field: &str, description: &str) -> Status {
    RegistryError::from(FieldViolation::new(field, format!("{field}: {description}"))).into()
}

fn too_many_clips(limit: usize) -> Status {
    violation("clips", &format!("more than {limit} clips, over the server's limit"))
}
