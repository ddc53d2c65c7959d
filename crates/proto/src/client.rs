//! The one client of the claims service, with retries for the moments it
//! is restarting. Every write it offers is idempotent, so a retry after a
//! lost answer is safe.

use crate::claims::claims_client::ClaimsClient as Grpc;
use crate::claims::*;
use std::future::Future;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// A cheap-to-clone client; the channel reconnects by itself.
#[derive(Clone)]
pub struct ClaimsClient {
    inner: Grpc<Channel>,
    retry_budget: Duration,
}

impl ClaimsClient {
    /// Connects lazily, so the gateway starts even while claims is down.
    pub fn connect_lazy(
        url: &str,
        retry_budget: Duration,
    ) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(60))
            .connect_lazy();
        Ok(ClaimsClient {
            inner: Grpc::new(channel),
            retry_budget,
        })
    }

    /// Calls `op` until it succeeds, fails for good, or the retry budget
    /// is spent.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, Status>
    where
        F: FnMut(Grpc<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let deadline = tokio::time::Instant::now() + self.retry_budget;
        let mut pause = Duration::from_millis(100);
        loop {
            match op(self.inner.clone()).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) if transient(s.code()) && tokio::time::Instant::now() + pause < deadline => {
                    tracing::warn!(code = ?s.code(), "claims call failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(3));
                }
                Err(s) => return Err(s),
            }
        }
    }

    /// See the gRPC method of the same name.
    pub async fn upsert_patients(
        &self,
        req: UpsertPatientsRequest,
    ) -> Result<UpsertPatientsResponse, Status> {
        self.retrying(|mut c| {
            let req = req.clone();
            async move { c.upsert_patients(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn match_patients(
        &self,
        req: MatchPatientsRequest,
    ) -> Result<MatchPatientsResponse, Status> {
        self.retrying(|mut c| {
            let req = req.clone();
            async move { c.match_patients(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn create_balance_forward_claims(
        &self,
        req: CreateBalanceForwardClaimsRequest,
    ) -> Result<CreateBalanceForwardClaimsResponse, Status> {
        self.retrying(|mut c| {
            let req = req.clone();
            async move { c.create_balance_forward_claims(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn list_patient_claims(
        &self,
        req: ListPatientClaimsRequest,
    ) -> Result<ListPatientClaimsResponse, Status> {
        self.retrying(|mut c| {
            let req = req.clone();
            async move { c.list_patient_claims(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn void_import_claims(
        &self,
        req: VoidImportClaimsRequest,
    ) -> Result<VoidImportClaimsResponse, Status> {
        self.retrying(|mut c| {
            let req = req.clone();
            async move { c.void_import_claims(req).await }
        })
        .await
    }
}

/// Codes that mean "not now" rather than "never".
pub fn transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::ResourceExhausted
            | Code::Aborted
    )
}
