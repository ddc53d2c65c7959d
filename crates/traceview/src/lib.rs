//! bf-traces: a small local trace viewer. It receives OTLP/gRPC spans into
//! a bounded in-memory store and serves a server-rendered waterfall UI, a
//! plain-text waterfall and a JSON API, for machines where Jaeger or an
//! OpenTelemetry Collector cannot be installed.

pub mod model;
pub mod otlp;
pub mod store;
pub mod web;

use anyhow::Context as _;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The store shared by the receiver and the web UI.
pub type SharedStore = Arc<Mutex<store::Store>>;

/// Runs the OTLP/gRPC receiver and the web UI on already-bound listeners
/// until `shutdown` completes or either server fails.
pub async fn serve(
    otlp: tokio::net::TcpListener,
    http: tokio::net::TcpListener,
    store: SharedStore,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let grpc = tonic::transport::Server::builder()
        .add_service(otlp::service(Arc::clone(&store)))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(otlp),
            wait(stop_rx.clone()),
        );
    let web = axum::serve(http, web::router(store)).with_graceful_shutdown(wait(stop_rx));
    let stopper = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        Ok::<(), anyhow::Error>(())
    };
    tokio::try_join!(
        async { grpc.await.context("OTLP/gRPC server") },
        async { web.await.context("web server") },
        stopper,
    )?;
    Ok(())
}

/// Fetches the text waterfall of `trace` (an id, or `latest`) from a running
/// `bf-traces serve` at `base_url`.
pub async fn fetch_text(base_url: &str, trace: &str) -> anyhow::Result<String> {
    let url = format!("{}/traces/{}.txt", base_url.trim_end_matches('/'), trace);
    let response = reqwest::get(&url)
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}: {}", body.trim());
    }
    Ok(body)
}
