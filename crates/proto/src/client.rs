//! The one client of the claims service, with retries for the moments it
//! is restarting. Every write it offers is idempotent, so a retry after a
//! lost answer is safe.

use crate::claims::claims_client::ClaimsClient as Grpc;
use crate::claims::*;
use std::future::Future;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tracing::Instrument;

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
    async fn retrying<T, F, Fut>(&self, rpc: &'static str, mut op: F) -> Result<T, Status>
    where
        F: FnMut(Grpc<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let span = tracing::info_span!("claims.call", rpc, attempts = tracing::field::Empty);
        let started = std::time::Instant::now();
        let result = async {
            let deadline = tokio::time::Instant::now() + self.retry_budget;
            let mut pause = Duration::from_millis(100);
            let mut attempts = 0u32;
            loop {
                attempts += 1;
                tracing::Span::current().record("attempts", attempts);
                match op(self.inner.clone()).await {
                    Ok(r) => return Ok(r.into_inner()),
                    Err(s) if transient(s.code()) && tokio::time::Instant::now() + pause < deadline => {
                        tracing::warn!(rpc, code = ?s.code(), attempts, "claims call failed; retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(3));
                    }
                    Err(s) => return Err(s),
                }
            }
        }
        .instrument(span)
        .await;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(s) => format!("{:?}", s.code()),
        };
        client_durations()
            .with_label_values(&[rpc, outcome.as_str()])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    /// See the gRPC method of the same name.
    pub async fn upsert_patients(
        &self,
        req: UpsertPatientsRequest,
    ) -> Result<UpsertPatientsResponse, Status> {
        self.retrying("upsert_patients", |mut c| {
            let req = traced(req.clone());
            async move { c.upsert_patients(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn match_patients(
        &self,
        req: MatchPatientsRequest,
    ) -> Result<MatchPatientsResponse, Status> {
        self.retrying("match_patients", |mut c| {
            let req = traced(req.clone());
            async move { c.match_patients(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn create_balance_forward_claims(
        &self,
        req: CreateBalanceForwardClaimsRequest,
    ) -> Result<CreateBalanceForwardClaimsResponse, Status> {
        self.retrying("create_balance_forward_claims", |mut c| {
            let req = traced(req.clone());
            async move { c.create_balance_forward_claims(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn list_patient_claims(
        &self,
        req: ListPatientClaimsRequest,
    ) -> Result<ListPatientClaimsResponse, Status> {
        self.retrying("list_patient_claims", |mut c| {
            let req = traced(req.clone());
            async move { c.list_patient_claims(req).await }
        })
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn void_import_claims(
        &self,
        req: VoidImportClaimsRequest,
    ) -> Result<VoidImportClaimsResponse, Status> {
        self.retrying("void_import_claims", |mut c| {
            let req = traced(req.clone());
            async move { c.void_import_claims(req).await }
        })
        .await
    }
}

fn client_durations() -> &'static prometheus::HistogramVec {
    static H: std::sync::OnceLock<prometheus::HistogramVec> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        bf_runtime::metrics::histogram(
            "bf_grpc_client_duration_seconds",
            "Calls to the claims service (retries included), by method and outcome",
            &["rpc", "outcome"],
        )
    })
}

/// A request carrying the current span's trace context, so the claims
/// service's spans join the caller's trace.
fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    bf_runtime::trace_context::inject_grpc(request.metadata_mut());
    request
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
