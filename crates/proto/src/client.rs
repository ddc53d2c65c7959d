//! The one client of the claims service, with retries for the moments it
//! is restarting. Every write it offers is idempotent, so a retry after a
//! lost answer is safe.

use crate::claims::*;
use bytes::{BufMut, Bytes};
use std::marker::PhantomData;
use std::time::Duration;
use tonic::codec::{Codec, EncodeBuf, Encoder, ProstCodec};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tracing::Instrument;

/// A cheap-to-clone client; the channel reconnects by itself.
#[derive(Clone)]
pub struct ClaimsClient {
    channel: Channel,
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
            channel,
            retry_budget,
        })
    }

    /// Calls `method` of the claims service until it succeeds, fails for
    /// good, or the retry budget is spent. The request is encoded once:
    /// every attempt sends the same bytes, where the generated client
    /// needed a copy of the message per attempt (a batch of 2,000
    /// candidates or claims cloned string by string).
    async fn call<T>(
        &self,
        rpc: &'static str,
        method: &'static str,
        payload: Bytes,
    ) -> Result<T, Status>
    where
        T: prost::Message + Default + Send + 'static,
    {
        let path = PathAndQuery::from_static(method);
        let span = tracing::info_span!("claims.call", rpc, attempts = tracing::field::Empty);
        let started = std::time::Instant::now();
        let result = async {
            let deadline = tokio::time::Instant::now() + self.retry_budget;
            let mut pause = Duration::from_millis(100);
            let mut attempts = 0u32;
            loop {
                attempts += 1;
                tracing::Span::current().record("attempts", attempts);
                let mut grpc = tonic::client::Grpc::new(self.channel.clone());
                let attempt = async {
                    grpc.ready()
                        .await
                        .map_err(|e| Status::unknown(format!("service not ready: {e}")))?;
                    let codec = Encoded::<T>(PhantomData);
                    grpc.unary(traced(payload.clone()), path.clone(), codec).await
                };
                match attempt.await {
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
        self.call(
            "upsert_patients",
            "/bf.claims.v1.Claims/UpsertPatients",
            encoded(&req),
        )
        .await
    }

    /// See the gRPC method of the same name. The request comes encoded
    /// (a `MatchPatientsRequest`): its caller, the validator, writes the
    /// candidates straight from each batch's cells rather than copying
    /// five strings a row into messages.
    pub async fn match_patients(&self, request: Bytes) -> Result<MatchPatientsResponse, Status> {
        self.call(
            "match_patients",
            "/bf.claims.v1.Claims/MatchPatients",
            request,
        )
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn create_balance_forward_claims(
        &self,
        req: CreateBalanceForwardClaimsRequest,
    ) -> Result<CreateBalanceForwardClaimsResponse, Status> {
        self.call(
            "create_balance_forward_claims",
            "/bf.claims.v1.Claims/CreateBalanceForwardClaims",
            encoded(&req),
        )
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn list_patient_claims(
        &self,
        req: ListPatientClaimsRequest,
    ) -> Result<ListPatientClaimsResponse, Status> {
        self.call(
            "list_patient_claims",
            "/bf.claims.v1.Claims/ListPatientClaims",
            encoded(&req),
        )
        .await
    }

    /// See the gRPC method of the same name.
    pub async fn void_import_claims(
        &self,
        req: VoidImportClaimsRequest,
    ) -> Result<VoidImportClaimsResponse, Status> {
        self.call(
            "void_import_claims",
            "/bf.claims.v1.Claims/VoidImportClaims",
            encoded(&req),
        )
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

fn encoded(request: &impl prost::Message) -> Bytes {
    Bytes::from(request.encode_to_vec())
}

/// Sends a request already encoded; answers are decoded by prost.
struct Encoded<T>(PhantomData<T>);

impl<T: prost::Message + Default + Send + 'static> Codec for Encoded<T> {
    type Encode = Bytes;
    type Decode = T;
    type Encoder = Encoded<Bytes>;
    type Decoder = <ProstCodec<T, T> as Codec>::Decoder;

    fn encoder(&mut self) -> Self::Encoder {
        Encoded(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, T>::default().decoder()
    }
}

impl Encoder for Encoded<Bytes> {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
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
