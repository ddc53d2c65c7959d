//! Sends spans over real OTLP/gRPC to an in-process `serve` and reads them
//! back through the web UI, the text view and the JSON API.

use bf_traceview::store::Store;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};
use std::sync::{Arc, Mutex};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
    }
}

fn span(id: u8, parent: u8, name: &str, start_ms: u64, dur_ms: u64) -> Span {
    let base = 1_700_000_000_000_000_000u64;
    Span {
        trace_id: vec![0x4b; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        start_time_unix_nano: base + start_ms * 1_000_000,
        end_time_unix_nano: base + (start_ms + dur_ms) * 1_000_000,
        ..Default::default()
    }
}

fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn spans_sent_over_otlp_show_up_in_every_view() -> anyhow::Result<()> {
    let otlp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (otlp_addr, http_addr) = (otlp.local_addr()?, http.local_addr()?);
    let store = Arc::new(Mutex::new(Store::new(1000)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bf_traceview::serve(otlp, http, store, async {
        let _ = stopped.await;
    }));

    let mut root = span(1, 0, "import.upload", 0, 100);
    root.attributes = vec![kv("tenant", "t1")];
    let mut failing = span(3, 2, "claims.persist", 40, 20);
    failing.status = Some(Status {
        message: "db down".into(),
        code: status::StatusCode::Error as i32,
    });
    let request = ExportTraceServiceRequest {
        resource_spans: vec![
            resource_spans("gateway", vec![root]),
            resource_spans("claims", vec![span(2, 1, "claims.handle", 30, 50), failing]),
        ],
    };
    let mut client = TraceServiceClient::connect(format!("http://{otlp_addr}")).await?;
    client.export(request).await?;

    let base = format!("http://{http_addr}");
    let trace_id = "4b".repeat(16);
    let text = bf_traceview::fetch_text(&base, "latest").await?;
    assert!(
        text.starts_with(&format!(
            "trace {trace_id}  total 100.0 ms  3 spans  services: gateway, claims\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("     0.0 ms    100.0 ms  gateway  import.upload  tenant=t1\n"),
        "{text}"
    );
    assert!(
        text.contains("    40.0 ms     20.0 ms      claims   claims.persist  [ERROR db down]\n"),
        "{text}"
    );
    assert_eq!(text, bf_traceview::fetch_text(&base, &trace_id).await?);

    let list: serde_json::Value = reqwest::get(format!("{base}/api/traces"))
        .await?
        .json()
        .await?;
    assert_eq!(list[0]["trace_id"], trace_id.as_str());
    assert_eq!(list[0]["root_name"], "import.upload");
    assert_eq!(list[0]["span_count"], 3);

    let index = reqwest::get(format!("{base}/")).await?.text().await?;
    assert!(index.contains(&format!("href=\"/traces/{trace_id}\"")));
    let page = reqwest::get(format!("{base}/traces/{trace_id}"))
        .await?
        .text()
        .await?;
    assert!(page.contains("<details>") && page.contains("claims.persist"));
    assert!(page.contains("tenant") && page.contains("db down"));

    let missing = reqwest::get(format!("{base}/traces/00.txt")).await?;
    assert_eq!(missing.status(), 404);
    assert!(bf_traceview::fetch_text(&base, "00").await.is_err());

    let _ = stop.send(());
    server.await??;
    Ok(())
}
