//! `bf-traces serve` receives OTLP/gRPC spans and serves a trace viewer;
//! `bf-traces dump` prints a trace's text waterfall from a running server.

use anyhow::Context as _;
use bf_traceview::store::Store;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(
    name = "bf-traces",
    version,
    about = "Local OTLP trace receiver and viewer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive OTLP/gRPC spans into memory and serve the web UI.
    Serve {
        /// OTLP/gRPC listen address (point OTEL_EXPORTER_OTLP_ENDPOINT here).
        #[arg(long, default_value = "127.0.0.1:4317", env = "BF_TRACES_OTLP")]
        otlp: SocketAddr,
        /// Web UI listen address.
        #[arg(long, default_value = "127.0.0.1:16686", env = "BF_TRACES_HTTP")]
        http: SocketAddr,
        /// Spans kept in memory; the oldest traces are dropped past this.
        #[arg(long, default_value_t = 200_000, env = "BF_TRACES_MAX_SPANS",
              value_parser = clap::value_parser!(u64).range(1..))]
        max_spans: u64,
    },
    /// Print the text waterfall of a trace from a running `bf-traces serve`.
    Dump {
        /// Base URL of the web UI.
        #[arg(long, default_value = "http://127.0.0.1:16686", env = "BF_TRACES_URL")]
        url: String,
        /// Trace id (hex). Without it, the latest trace is shown.
        #[arg(conflicts_with = "latest")]
        trace_id: Option<String>,
        /// Show the trace that started last.
        #[arg(long)]
        latest: bool,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bf-traces: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            otlp,
            http,
            max_spans,
        } => {
            let otlp_listener = tokio::net::TcpListener::bind(otlp)
                .await
                .with_context(|| format!("binding OTLP/gRPC on {otlp}"))?;
            let http_listener = tokio::net::TcpListener::bind(http)
                .await
                .with_context(|| format!("binding HTTP on {http}"))?;
            let max = usize::try_from(max_spans).unwrap_or(usize::MAX);
            let store = Arc::new(Mutex::new(Store::new(max)));
            eprintln!(
                "bf-traces: OTLP/gRPC on {otlp} (OTEL_EXPORTER_OTLP_ENDPOINT=http://{otlp}), \
                 UI on http://{http}/, keeping up to {max} spans"
            );
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("bf-traces: shutting down");
            };
            bf_traceview::serve(otlp_listener, http_listener, store, shutdown).await
        }
        Command::Dump {
            url,
            trace_id,
            latest: _,
        } => {
            let trace = trace_id.unwrap_or_else(|| "latest".to_string());
            let text = bf_traceview::fetch_text(&url, &trace).await?;
            print!("{text}");
            Ok(())
        }
    }
}
