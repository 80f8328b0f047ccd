//! `voiceprint.v1.VerificationService`: verification and identification.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::observe::RpcCall;
use super::{convert, upload};
use crate::proto::v1 as pb;
use crate::proto::v1::verification_service_server::VerificationService;
use crate::registry::{IdentificationRequest, Registry, Verification, VerificationRequest};

pub struct VerificationApi {
    registry: Arc<Registry>,
}

impl VerificationApi {
    pub fn new(registry: Arc<Registry>) -> Self {
        VerificationApi { registry }
    }

    async fn verify_unary(&self, request: pb::VerifyRequest, call: &mut RpcCall) -> Result<pb::VerifyResponse, Status> {
        let request = VerificationRequest::try_from(request)?;
        let admission = self.registry.admit()?;
        let verification = self.registry.verify(request, admission).await?;
        Ok(verify_response(&verification, call))
    }

    async fn verify_streamed(
        &self,
        mut stream: Streaming<pb::StreamVerifyRequest>,
        call: &mut RpcCall,
    ) -> Result<pb::VerifyResponse, Status> {
        // Taken before the upload is read, to bound the uploads held in memory at once.
        let admission = self.registry.admit()?;
        let request = upload::read_verification(&mut stream, &self.registry.settings().limits, call).await?;
        let verification = self.registry.verify(request, admission).await?;
        Ok(verify_response(&verification, call))
    }

    async fn identify_unary(&self, request: pb::IdentifyRequest) -> Result<pb::IdentifyResponse, Status> {
        let request = IdentificationRequest::try_from(request)?;
        let admission = self.registry.admit()?;
        let identification = self.registry.identify(request, admission).await?;

        Ok(pb::IdentifyResponse {
            candidates: identification
                .candidates
                .iter()
                .map(|candidate| pb::Candidate { subject_id: candidate.subject_id.clone(), score: candidate.score })
                .collect(),
            min_score: identification.min_score,
            model: identification.model,
            inconclusive_reason: identification
                .inconclusive
                .map_or(pb::InconclusiveReason::Unspecified, convert::inconclusive_reason) as i32,
            quality: Some(convert::quality(&identification.quality)),
        })
    }
}

#[tonic::async_trait]
impl VerificationService for VerificationApi {
    async fn verify(&self, request: Request<pb::VerifyRequest>) -> Result<Response<pb::VerifyResponse>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("Verify");
        call.subject(&request.subject_id);
        call.device(&request.device_id);

        let outcome = self.verify_unary(request, &mut call).await;
        call.finish(outcome)
    }

    async fn stream_verify(
        &self,
        request: Request<Streaming<pb::StreamVerifyRequest>>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let mut call = RpcCall::start("StreamVerify");
        let outcome = self.verify_streamed(request.into_inner(), &mut call).await;
        call.finish(outcome)
    }

    async fn identify(&self, request: Request<pb::IdentifyRequest>) -> Result<Response<pb::IdentifyResponse>, Status> {
        let call = RpcCall::start("Identify");
        call.finish(self.identify_unary(request.into_inner()).await)
    }
}

fn verify_response(verification: &Verification, call: &mut RpcCall) -> pb::VerifyResponse {
    let check_in = &verification.check_in;
    call.decision(check_in.decision, check_in.score);

    let (decision, reason) = convert::decision(check_in.decision);
    pb::VerifyResponse {
        decision: decision as i32,
        inconclusive_reason: reason as i32,
        score: check_in.score,
        threshold: check_in.threshold,
        model: check_in.model.clone(),
        check_in_id: check_in.id as u64,
        checked_in_at: Some(check_in.checked_in_at.into()),
        quality: Some(convert::quality(&verification.quality)),
    }
}
