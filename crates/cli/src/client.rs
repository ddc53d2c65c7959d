//! HTTP to the gateway: building endpoint URLs, attaching the bearer token,
//! and turning every failure into a [`CliError`] a person can act on.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::CliError;

/// How long to wait for a TCP connection before calling the gateway down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ordinary JSON call may take. Uploads have no limit: a large
/// file on a slow link legitimately takes a while.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A successful response: its body, plus the `Location` header because
/// `202 Accepted` responses point at the resource to poll.
#[derive(Debug)]
pub struct Reply {
    /// The body as text; kept raw so `--json` can print it unchanged.
    pub body: String,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

/// A gateway connection: one per process, carrying the base URL and token.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl Client {
    /// Validates the URL and token up front so a typo fails before any file
    /// is read or uploaded.
    pub fn new(base_url: &str, token: Option<&str>) -> Result<Self, CliError> {
        let base = Url::parse(base_url.trim())
            .map_err(|e| CliError::Input(format!("gateway URL `{base_url}` is not valid: {e}")))?;
        match base.scheme() {
            "http" => {}
            "https" => {
                return Err(CliError::Input(format!(
                    "gateway URL `{base_url}`: this build of bfctl speaks plain http:// only"
                )))
            }
            other => {
                return Err(CliError::Input(format!(
                    "gateway URL `{base_url}`: unsupported scheme `{other}`, expected http://"
                )))
            }
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(CliError::Input(format!(
                "gateway URL `{base_url}` has no host"
            )));
        }
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(CliError::MissingToken)?
            .to_owned();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("bfctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Transport {
                url: base.to_string(),
                detail: error_chain(&e),
            })?;
        Ok(Self { http, base, token })
    }

    /// The URL of an endpoint under the base, each segment percent-encoded
    /// so ids containing `/`, `?` or spaces address the right resource.
    pub fn url(&self, segments: &[&str]) -> Result<Url, CliError> {
        for s in segments {
            // The url crate silently drops "." and ".." segments, which would
            // quietly address a different endpoint; refuse them instead.
            if s.is_empty() || *s == "." || *s == ".." {
                return Err(CliError::Input(format!("`{s}` is not a valid id")));
            }
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CliError::Input(format!("gateway URL `{}` has no host", self.base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A request with the bearer token attached and no overall timeout;
    /// for streaming uploads.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.http.request(method, url).bearer_auth(&self.token)
    }

    /// GET a JSON resource.
    pub async fn get(&self, url: Url) -> Result<Reply, CliError> {
        self.send(self.request(Method::GET, url).timeout(CALL_TIMEOUT))
            .await
    }

    /// GET with query parameters, percent-encoded by reqwest so values such
    /// as a mapping's JSON arrive intact.
    pub async fn get_query(&self, url: Url, query: &[(&str, String)]) -> Result<Reply, CliError> {
        self.send(
            self.request(Method::GET, url)
                .query(query)
                .timeout(CALL_TIMEOUT),
        )
        .await
    }

    /// GET a resource and copy its body to `sink` as it arrives, so a large
    /// report is never held whole in memory. Returns the bytes written;
    /// `write_error` names the destination when writing fails.
    pub async fn download(
        &self,
        url: Url,
        sink: &mut dyn std::io::Write,
        write_error: &dyn Fn(std::io::Error) -> CliError,
    ) -> Result<u64, CliError> {
        let mut resp = self
            .request(Method::GET, url)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.map_err(|e| self.transport(&e))?;
            return Err(api_error(status, &body));
        }
        let mut written = 0;
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e))? {
            sink.write_all(&chunk).map_err(write_error)?;
            written += chunk.len() as u64;
        }
        sink.flush().map_err(write_error)?;
        Ok(written)
    }

    /// Send a JSON body (or none) with the given method.
    pub async fn send_json<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Reply, CliError> {
        let mut req = self.request(method, url).timeout(CALL_TIMEOUT);
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(req).await
    }

    /// Send any prepared request and map the outcome: 2xx gives the body,
    /// anything else becomes [`CliError::Api`] with the gateway's message.
    pub async fn send(&self, req: RequestBuilder) -> Result<Reply, CliError> {
        let resp = req.send().await.map_err(|e| self.transport(&e))?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.map_err(|e| self.transport(&e))?;
        if status.is_success() {
            Ok(Reply { body, location })
        } else {
            Err(api_error(status, &body))
        }
    }

    fn transport(&self, e: &reqwest::Error) -> CliError {
        let url = self.base.to_string();
        if e.is_connect() {
            CliError::Connect {
                url,
                cause: root_cause(e),
            }
        } else if e.is_timeout() {
            CliError::Timeout { url }
        } else {
            CliError::Transport {
                url,
                detail: error_chain(e),
            }
        }
    }
}

/// Parse a successful body into a wire type.
pub fn decode<T: DeserializeOwned>(body: &str) -> Result<T, CliError> {
    serde_json::from_str(body).map_err(|e| CliError::Decode(e.to_string()))
}

/// The gateway's error envelope: `{"error":{"code","message"}}`.
#[derive(serde::Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(serde::Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Turn a non-2xx response into an error. Prefers the envelope's message;
/// falls back to a short plain-text body (a proxy's "Bad Gateway"), then to
/// the status's reason phrase. Long or HTML bodies are not echoed.
pub fn api_error(status: StatusCode, body: &str) -> CliError {
    let fallback = || {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    };
    let (code, message) = match serde_json::from_str::<Envelope>(body) {
        Ok(env) => (
            env.error.code,
            env.error
                .message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(fallback),
        ),
        Err(_) => {
            let text = body.trim();
            let plain = !text.is_empty()
                && text.len() <= 200
                && !text.starts_with('<')
                && !text.contains('\n');
            (None, if plain { text.to_owned() } else { fallback() })
        }
    };
    CliError::Api {
        status: status.as_u16(),
        code,
        message,
    }
}

/// Every message in an error's source chain, joined, for diagnostics.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// The innermost error: for a refused connection, the OS's own words.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: CliError) -> String {
        e.to_string()
    }

    #[test]
    fn an_error_envelope_shows_the_gateways_message_and_status() {
        let body = r#"{"error":{"code":"not_found","message":"import not found"}}"#;
        let e = api_error(StatusCode::NOT_FOUND, body);
        assert!(matches!(&e, CliError::Api { code: Some(c), .. } if c == "not_found"));
        assert_eq!(message(e), "import not found (HTTP 404)");
    }

    #[test]
    fn a_non_json_body_falls_back_to_short_text_or_the_reason() {
        assert_eq!(
            message(api_error(StatusCode::BAD_GATEWAY, "upstream down")),
            "upstream down (HTTP 502)"
        );
        assert_eq!(
            message(api_error(
                StatusCode::BAD_GATEWAY,
                "<html><body>x</body></html>"
            )),
            "Bad Gateway (HTTP 502)"
        );
        assert_eq!(
            message(api_error(StatusCode::UNAUTHORIZED, "")),
            "Unauthorized (HTTP 401)"
        );
    }

    #[test]
    fn ids_are_percent_encoded_into_one_segment() {
        let c = Client::new("http://gw:8080/base/", Some("t")).unwrap();
        let url = c.url(&["v1", "patients", "A/B 1?", "claims"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://gw:8080/base/v1/patients/A%2FB%201%3F/claims"
        );
        assert!(c.url(&["v1", "imports", ".."]).is_err());
    }

    #[test]
    fn a_missing_token_or_https_url_is_refused_up_front() {
        assert!(matches!(
            Client::new("http://gw", Some("  ")),
            Err(CliError::MissingToken)
        ));
        assert!(matches!(
            Client::new("https://gw", Some("t")),
            Err(CliError::Input(_))
        ));
    }
}
