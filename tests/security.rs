//! The gateway's defences, through HTTP against the real services: which
//! tokens it accepts, and what an upload may be and how long it may take.

use bf_e2e::api::{token, Api, ALL_ROLES, SECRET};
use bf_e2e::files::generate;
use bf_e2e::{Options, Stack};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Test-only keys, see crates/auth/testdata/README.md.
const RSA_PRIVATE: &[u8] = include_bytes!("../crates/auth/testdata/rsa-private.der");
const RSA_PUBLIC_PEM: &str = include_str!("../crates/auth/testdata/rsa-public.pem");
const JWKS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/auth/testdata/jwks.json"
);
const KID: &str = "test-rsa-1";

fn claims(tenant: &str) -> bf_auth::Claims {
    bf_auth::Claims {
        tenant: tenant.into(),
        sub: "lead".into(),
        roles: ALL_ROLES.iter().map(|r| r.to_string()).collect(),
        exp: bf_auth::expiry_in(Duration::from_secs(600)),
    }
}

fn party(issuer: &str, audience: &str) -> bf_auth::Party {
    bf_auth::Party {
        issuer: issuer.into(),
        audience: audience.into(),
    }
}

async fn stack_with(env: &[(&str, &str)]) -> anyhow::Result<Stack> {
    Stack::start_with(Options {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refused_token_is_the_same_401_that_says_nothing_about_why() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let local = bf_auth::Party::local();
    let mut expired = claims("practice-a");
    expired.exp = bf_auth::expiry_in(Duration::ZERO) - 3600;
    let refused = [
        ("expired", bf_auth::mint(&expired, &local, SECRET)?),
        (
            "another issuer",
            bf_auth::mint(
                &claims("practice-a"),
                &party("https://evil.example", bf_auth::LOCAL_AUDIENCE),
                SECRET,
            )?,
        ),
        (
            "another audience",
            bf_auth::mint(
                &claims("practice-a"),
                &party(bf_auth::LOCAL_ISSUER, "reports"),
                SECRET,
            )?,
        ),
        (
            "another secret",
            bf_auth::mint(&claims("practice-a"), &local, "guessed")?,
        ),
        (
            "RS256 when only a secret is configured",
            bf_auth::mint_rs256(&claims("practice-a"), &local, RSA_PRIVATE, KID)?,
        ),
        ("not a JWT", "not.a.jwt".to_string()),
    ];
    let mut bodies = Vec::new();
    for (why, token) in &refused {
        let answer = Api::new(&stack.gateway_url, Some(token.clone()))
            .get("/v1/imports")
            .await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{why}");
        bodies.push(answer.text);
    }
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "every reason answers alike: {bodies:?}"
    );
    let body: Value = serde_json::from_str(&bodies[0])?;
    assert_eq!(body["error"]["code"], "unauthorized");
    for word in ["issuer", "audience", "signature", "algorithm", "RS256"] {
        assert!(!bodies[0].contains(word), "the answer names {word}");
    }
    // The operator can tell why from the log, which never holds a token.
    let logs = stack.logs();
    assert!(logs.contains("token refused"));
    for (why, token) in &refused {
        assert!(
            !logs.contains(token.as_str()),
            "the log holds the {why} token"
        );
    }
    let good = Api::new(
        &stack.gateway_url,
        Some(token("practice-a", "lead", &ALL_ROLES)),
    );
    assert_eq!(good.get("/v1/imports").await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_jwks_file_only_rs256_tokens_from_the_provider_are_accepted() -> anyhow::Result<()> {
    let stack = stack_with(&[
        ("BF_JWT_JWKS", JWKS_FILE),
        ("BF_JWT_ISSUER", "https://ehr.example"),
        ("BF_JWT_AUDIENCE", "balance-import"),
    ])
    .await?;
    let provider = party("https://ehr.example", "balance-import");
    let signed = bf_auth::mint_rs256(&claims("practice-a"), &provider, RSA_PRIVATE, KID)?;
    let api = Api::new(&stack.gateway_url, Some(signed));
    assert_eq!(api.get("/v1/imports").await?.status, StatusCode::OK);
    let file = generate(5);
    api.load_patients(&file.patients).await?;
    api.upload("a.csv", &file.csv).await?;

    let refused = [
        (
            "HS256 with the shared secret",
            bf_auth::mint(&claims("practice-a"), &provider, SECRET)?,
        ),
        (
            "HS256 keyed with the public key",
            bf_auth::mint(&claims("practice-a"), &provider, RSA_PUBLIC_PEM)?,
        ),
        (
            "RS256 naming an unknown key",
            bf_auth::mint_rs256(&claims("practice-a"), &provider, RSA_PRIVATE, "other")?,
        ),
        (
            "RS256 for the local audience",
            bf_auth::mint_rs256(
                &claims("practice-a"),
                &bf_auth::Party::local(),
                RSA_PRIVATE,
                KID,
            )?,
        ),
    ];
    for (why, token) in refused {
        let answer = Api::new(&stack.gateway_url, Some(token))
            .get("/v1/imports")
            .await?;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{why}");
    }
    // Local tokens cannot work here, so the local sign-in is off.
    let signin = bf_e2e::api::client()
        .post(format!("{}/signin", stack.gateway_url))
        .form(&[("tenant", "practice-a"), ("user", "me")])
        .send()
        .await?;
    assert_eq!(signin.status(), StatusCode::NOT_FOUND);
    Ok(())
}

/// A raw upload through reqwest.
async fn post_file(stack: &Stack, name: &str, bytes: Vec<u8>) -> anyhow::Result<reqwest::Response> {
    Ok(bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-a", "lead", &ALL_ROLES))
        .header("content-type", "text/csv")
        .header("x-file-name", name)
        .body(bytes)
        .send()
        .await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_over_the_size_limit_is_413_naming_the_limit_and_leaves_no_import(
) -> anyhow::Result<()> {
    let stack = stack_with(&[("BF_MAX_UPLOAD_BYTES", "2048")]).await?;
    let lead = stack.billing_lead("practice-a");
    let big = generate(200).csv;
    assert!(big.len() > 2048);

    let raw = post_file(&stack, "big.csv", big.clone().into_bytes()).await?;
    assert_eq!(raw.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = raw.json().await?;
    assert_eq!(body["error"]["code"], "too_large");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("2048"));

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text(big).file_name("big.csv"),
    );
    let multipart = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-a", "lead", &ALL_ROLES))
        .multipart(form)
        .send()
        .await?;
    let status = multipart.status();
    let body: Value = multipart.json().await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");

    assert_eq!(
        lead.get("/v1/imports").await?.body["imports"],
        serde_json::json!([])
    );
    let small = generate(3).csv;
    assert!(small.len() <= 2048);
    assert_eq!(
        post_file(&stack, "small.csv", small.into_bytes())
            .await?
            .status(),
        StatusCode::ACCEPTED
    );
    Ok(())
}

/// A valid zip archive that holds no workbook.
fn zip_of_notes() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("notes.txt", zip::write::SimpleFileOptions::default())
        .expect("zip in memory");
    zip.write_all(b"Acct,Last\n1,a\n").expect("zip in memory");
    zip.finish().expect("zip in memory").into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_is_not_a_table_is_refused_with_what_it_looks_like() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let lead = stack.billing_lead("practice-a");
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    elf.extend(std::iter::repeat_n(0x90u8, 8000));
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.extend(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n".repeat(300));
    let refused: [(&str, Vec<u8>, &str); 3] = [
        (
            "balances.csv",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            "a PNG image",
        ),
        ("balances.csv", pdf, "a PDF document"),
        ("balances.csv", elf, "zero byte"),
    ];
    for (name, bytes, phrase) in refused {
        let answer = post_file(&stack, name, bytes).await?;
        assert_eq!(
            answer.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{phrase}"
        );
        let body: Value = answer.json().await?;
        assert_eq!(body["error"]["code"], "not_tabular");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(phrase), "{message}");
        assert!(message.contains("CSV or .xlsx"), "{message}");
    }
    assert_eq!(
        lead.get("/v1/imports").await?.body["imports"],
        serde_json::json!([])
    );

    // A zip may be a workbook, which only its directory can tell: it is
    // accepted, then fails with the reason whatever its name says.
    let answer = post_file(&stack, "balances.csv", zip_of_notes()).await?;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let id = answer.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let failed = lead
        .wait_for(&id, &["failed"], Duration::from_secs(60))
        .await?;
    let reason = failed["failure"].as_str().unwrap_or_default();
    assert!(reason.contains("no workbook part"), "{reason}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_name_is_kept_only_as_display_text_and_never_used_as_a_path() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let lead = stack.billing_lead("practice-a");
    let file = generate(3);
    lead.load_patients(&file.patients).await?;

    let raw = post_file(&stack, "../../etc/passwd", file.csv.clone().into_bytes()).await?;
    assert_eq!(raw.status(), StatusCode::ACCEPTED);
    let raw_id = raw.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let (status, form_id) = upload_form(&stack, &file.csv, "../..\\windows/evil name.csv").await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{form_id}");
    // A NUL in a form's header is malformed: refused, nothing stored.
    let (status, body) = upload_form(&stack, &file.csv, "evil\u{0}name.csv").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("the form could not be read"), "{body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM imports")
        .fetch_one(&stack.gateway_db)
        .await?;
    assert_eq!(stored, 2);

    for id in [&raw_id, &form_id] {
        let import = lead
            .wait_for(id, &["ready_for_review"], Duration::from_secs(60))
            .await?;
        let shown = import["file_name"].as_str().unwrap_or_default();
        let expected = if id == &raw_id {
            "passwd"
        } else {
            "evil name.csv"
        };
        assert_eq!(shown, expected);
        assert!(
            !shown.contains(['/', '\\']) && !shown.chars().any(char::is_control),
            "{shown:?}"
        );
        let key: String =
            sqlx::query_scalar("SELECT object_key FROM imports WHERE import_id = $1::uuid")
                .bind(id)
                .fetch_one(&stack.gateway_db)
                .await?;
        assert_eq!(key, format!("tenants/practice-a/imports/{id}/source"));
    }
    Ok(())
}

/// Uploads `csv` as a form whose file is named `name`, sent as is; the
/// new import's id, or the error body.
async fn upload_form(stack: &Stack, csv: &str, name: &str) -> anyhow::Result<(StatusCode, String)> {
    let form = reqwest::multipart::Form::new().percent_encode_noop().part(
        "file",
        reqwest::multipart::Part::text(csv.to_string()).file_name(name.to_string()),
    );
    let response = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-a", "lead", &ALL_ROLES))
        .multipart(form)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    let answer = match body["id"].as_str() {
        Some(id) => id.to_string(),
        None => body.to_string(),
    };
    Ok((status, answer))
}

/// Sends a request's head and `body_start` over a raw connection, then
/// `trickle` one byte at a time every `every`, and returns what the
/// gateway answered and when.
async fn slow_upload(
    stack: &Stack,
    body_start: &[u8],
    trickle: usize,
    every: Duration,
) -> anyhow::Result<(String, Duration)> {
    let address = stack.gateway_url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await?;
    let head = format!(
        "POST /v1/imports/patient-balances HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\n",
        token("practice-a", "lead", &ALL_ROLES)
    );
    let started = Instant::now();
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body_start).await?;
    let (mut reader, mut writer) = socket.into_split();
    let sender = tokio::spawn(async move {
        for _ in 0..trickle {
            tokio::time::sleep(every).await;
            if writer.write_all(b"1").await.is_err() {
                break;
            }
        }
        // Keep the connection open (and silent) until the test ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    sender.abort();
    anyhow::ensure!(read.is_ok(), "no answer within 30 s");
    Ok((String::from_utf8_lossy(&answer).into_owned(), elapsed))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stalls_or_trickles_its_headers_or_upload_is_cut_off() -> anyhow::Result<()> {
    let stack = stack_with(&[
        ("BF_BODY_IDLE_TIMEOUT_SECS", "2"),
        ("BF_REQUEST_TIMEOUT_SECS", "5"),
        ("BF_HEADER_READ_TIMEOUT_SECS", "2"),
    ])
    .await?;
    let lead = stack.billing_lead("practice-a");

    // Headers, then nothing: the body idle timeout.
    let (answer, took) = slow_upload(&stack, b"", 0, Duration::ZERO).await?;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // Part of a body, then a stall.
    let (answer, took) = slow_upload(&stack, b"Acct,Last,First\n", 0, Duration::ZERO).await?;
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A byte every half second never trips the idle timeout; the request
    // timeout ends it.
    let (answer, took) =
        slow_upload(&stack, b"Acct,Last\n", 1000, Duration::from_millis(500)).await?;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );

    // Half a head, then nothing: the connection is closed.
    let address = stack.gateway_url.trim_start_matches("http://");
    // The server's clock starts when it accepts the connection, so ours
    // starts before we connect: this way our measure can only be longer.
    let started = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(address).await?;
    socket
        .write_all(b"POST /v1/imports/patient-balances HTTP/1.1\r\nHost: x\r\nAuthoriz")
        .await?;
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    assert!(closed.is_ok(), "the connection is still open after 30 s");
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );

    assert_eq!(
        lead.get("/v1/imports").await?.body["imports"],
        serde_json::json!([])
    );
    assert_eq!(lead.get("/v1/imports").await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_at_its_limit_of_active_imports_gets_429_and_other_tenants_do_not(
) -> anyhow::Result<()> {
    let mut stack = stack_with(&[("BF_MAX_ACTIVE_IMPORTS_PER_TENANT", "2")]).await?;
    // With no validator, every import stays queued: active.
    stack.kill("validator")?;
    let file = generate(3);
    let uploads = (0..6).map(|i| {
        let (stack, body) = (&stack, file.csv.clone().into_bytes());
        async move { post_file(stack, &format!("{i}.csv"), body).await }
    });
    let answers = futures::future::join_all(uploads).await;
    let mut accepted = 0;
    let mut limited = 0;
    for answer in answers {
        let answer = answer?;
        match answer.status() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                assert_eq!(
                    answer
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                    Some("30")
                );
                let body: Value = answer.json().await?;
                assert_eq!(body["error"]["code"], "too_many_active");
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("2 imports in progress"), "{message}");
            }
            other => anyhow::bail!("upload answered {other}"),
        }
    }
    assert_eq!((accepted, limited), (2, 4), "exactly the limit got through");
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM imports WHERE tenant_id = 'practice-a'")
            .fetch_one(&stack.gateway_db)
            .await?;
    assert_eq!(recorded, 2);

    let other = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(token("practice-b", "lead", &ALL_ROLES))
        .header("content-type", "text/csv")
        .body(file.csv.clone())
        .send()
        .await?;
    assert_eq!(
        other.status(),
        StatusCode::ACCEPTED,
        "another tenant is unaffected"
    );

    // Once the validator works through the queue, there is room again.
    stack.restart("validator").await?;
    let lead = stack.billing_lead("practice-a");
    let ids: Vec<String> = lead.get("/v1/imports").await?.body["imports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for id in &ids {
        lead.wait_for(id, &["ready_for_review", "failed"], Duration::from_secs(60))
            .await?;
    }
    assert_eq!(
        post_file(&stack, "later.csv", file.csv.into_bytes())
            .await?
            .status(),
        StatusCode::ACCEPTED
    );
    Ok(())
}
