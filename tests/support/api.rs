//! A small client of the gateway's HTTP API, as a test needs it.

use anyhow::{bail, Result};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// The JWT secret every test stack is configured with.
pub const SECRET: &str = "e2e-test-secret";

/// Every role a billing lead may hold.
pub const ALL_ROLES: [&str; 3] = [
    bf_auth::ROLE_IMPORTS_WRITE,
    bf_auth::ROLE_IMPORTS_APPROVE,
    bf_auth::ROLE_PATIENTS_WRITE,
];

/// A token for a tenant, user and roles, valid for an hour.
pub fn token(tenant: &str, user: &str, roles: &[&str]) -> String {
    let claims = bf_auth::Claims {
        tenant: tenant.into(),
        sub: user.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        exp: bf_auth::expiry_in(Duration::from_secs(3600)),
    };
    // Cannot fail: HS256 with an in-memory key.
    bf_auth::mint(&claims, &bf_auth::Party::local(), SECRET).expect("minting a test token")
}

/// How long one request may take before the test fails instead of
/// waiting for ever on a service that accepted and never answered. The
/// largest upload in the suite takes a few seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The HTTP client every test request goes through.
pub fn client() -> reqwest::Client {
    // Cannot fail: no TLS settings or certificates are given.
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("building the test HTTP client")
}

/// An HTTP answer: status and JSON (or text) body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub location: Option<String>,
}

/// A gateway client with an optional bearer token.
#[derive(Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    /// A client of `base` sending `token`.
    pub fn new(base: &str, token: Option<String>) -> Api {
        Api {
            base: base.to_string(),
            token,
            http: client(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            text,
            location,
        })
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Result<Answer> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// POST a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Answer> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// PUT a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Result<Answer> {
        self.send(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// POST with an empty body.
    pub async fn post(&self, path: &str) -> Result<Answer> {
        self.send(self.http.post(format!("{}{path}", self.base)))
            .await
    }

    /// Uploads a CSV file; returns the new import's id.
    pub async fn upload(&self, name: &str, csv: &str) -> Result<String> {
        self.upload_bytes(name, csv.as_bytes().to_vec()).await
    }

    /// Uploads a file's bytes as they are (any encoding); returns the new
    /// import's id.
    pub async fn upload_bytes(&self, name: &str, body: Vec<u8>) -> Result<String> {
        let answer = self
            .send(
                self.http
                    .post(format!("{}/v1/imports/patient-balances", self.base))
                    .header("content-type", "text/csv")
                    .header("x-file-name", name)
                    .body(body),
            )
            .await?;
        if answer.status != StatusCode::ACCEPTED {
            bail!("upload answered {}: {}", answer.status, answer.text);
        }
        Ok(answer.body["id"].as_str().unwrap_or_default().to_string())
    }

    /// Loads patients into the directory.
    pub async fn load_patients(&self, patients: &Value) -> Result<()> {
        let answer = self.post_json("/v1/patients", patients).await?;
        if answer.status != StatusCode::OK {
            bail!(
                "loading patients answered {}: {}",
                answer.status,
                answer.text
            );
        }
        Ok(())
    }

    /// The import resource.
    pub async fn import(&self, id: &str) -> Result<Value> {
        let answer = self.get(&format!("/v1/imports/{id}")).await?;
        if answer.status != StatusCode::OK {
            bail!("GET import answered {}: {}", answer.status, answer.text);
        }
        Ok(answer.body)
    }

    /// Polls the import until its status is one of `wanted` (or failed).
    pub async fn wait_for(&self, id: &str, wanted: &[&str], timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let import = self.import(id).await?;
            let status = import["status"].as_str().unwrap_or_default().to_string();
            if wanted.contains(&status.as_str()) {
                return Ok(import);
            }
            if status == "failed" {
                bail!("import failed: {}", import["failure"]);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("import still {status} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every row of one status, following the pages.
    pub async fn rows(&self, id: &str, status: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let answer = self
                .get(&format!(
                    "/v1/imports/{id}/rows?status={status}&limit=1000&after={after}"
                ))
                .await?;
            if answer.status != StatusCode::OK {
                bail!("rows answered {}: {}", answer.status, answer.text);
            }
            let rows = answer.body["rows"].as_array().cloned().unwrap_or_default();
            out.extend(rows);
            match answer.body["next_after"].as_i64() {
                Some(next) => after = next,
                None => return Ok(out),
            }
        }
    }
}
