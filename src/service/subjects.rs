//! `voiceprint.v1.SubjectService`: enrolment and the lifecycle of subjects.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::observe::RpcCall;
use super::{convert, upload};
use crate::proto::v1 as pb;
use crate::proto::v1::subject_service_server::SubjectService;
use crate::registry::{Enrollment, EnrollmentRequest, Identifier, Registry, RegistryError};

pub struct SubjectApi {
    registry: Arc<Registry>,
}

impl SubjectApi {
    pub fn new(registry: Arc<Registry>) -> Self {
        SubjectApi { registry }
    }

    async fn enroll_unary(&self, request: pb::EnrollRequest) -> Result<pb::EnrollResponse, Status> {
        let request = EnrollmentRequest::try_from(request)?;
        let admission = self.registry.admit()?;
        let enrollment = self.registry.enroll(request, admission).await?;
        Ok(enroll_response(&enrollment))
    }

    async fn enroll_streamed(
        &self,
        mut stream: Streaming<pb::StreamEnrollRequest>,
        call: &mut RpcCall,
    ) -> Result<pb::EnrollResponse, Status> {
        // The place in the pool is taken before the upload is read, so that the number of
        // uploads held in memory at once is bounded too.
        let admission = self.registry.admit()?;
        let request = upload::read_enrollment(&mut stream, &self.registry.settings().limits, call).await?;
        let enrollment = self.registry.enroll(request, admission).await?;
        Ok(enroll_response(&enrollment))
    }
}

#[tonic::async_trait]
impl SubjectService for SubjectApi {
    async fn enroll(&self, request: Request<pb::EnrollRequest>) -> Result<Response<pb::EnrollResponse>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("Enroll");
        call.subject(&request.subject_id);
        call.finish(self.enroll_unary(request).await)
    }

    async fn stream_enroll(
        &self,
        request: Request<Streaming<pb::StreamEnrollRequest>>,
    ) -> Result<Response<pb::EnrollResponse>, Status> {
        let mut call = RpcCall::start("StreamEnroll");
        let outcome = self.enroll_streamed(request.into_inner(), &mut call).await;
        call.finish(outcome)
    }

    async fn get_subject(&self, request: Request<pb::GetSubjectRequest>) -> Result<Response<pb::Subject>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("GetSubject");
        call.subject(&request.subject_id);

        let outcome = async {
            let subject_id = Identifier::parse("subject_id", &request.subject_id).map_err(RegistryError::from)?;
            let view = self.registry.subject(&subject_id).await?;
            Ok(convert::subject(&view))
        };
        call.finish(outcome.await)
    }

    async fn delete_subject(&self, request: Request<pb::DeleteSubjectRequest>) -> Result<Response<pb::Subject>, Status> {
        let request = request.into_inner();
        let mut call = RpcCall::start("DeleteSubject");
        call.subject(&request.subject_id);

        let outcome = async {
            let subject_id = Identifier::parse("subject_id", &request.subject_id).map_err(RegistryError::from)?;
            let view = self.registry.delete_subject(&subject_id).await?;
            Ok(convert::subject(&view))
        };
        call.finish(outcome.await)
    }
}

fn enroll_response(enrollment: &Enrollment) -> pb::EnrollResponse {
    pb::EnrollResponse {
        subject: Some(convert::subject(&enrollment.subject)),
        report: Some(convert::enrollment_report(&enrollment.report)),
    }
}
