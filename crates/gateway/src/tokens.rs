//! The keys bearer tokens are checked with: the shared HS256 secret on a
//! developer's machine, or the identity provider's public keys (a JWKS
//! file, or a JWKS URL fetched, cached and refreshed) in production.

use crate::config::Config;
use bf_auth::{Claims, Party, TokenError, Verifier};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A key-less answer is retried against the URL at most this often, so a
/// stream of tokens naming unknown keys cannot hammer the provider.
const MIN_REFETCH: Duration = Duration::from_secs(30);

/// How long one JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the keys come from.
pub enum TokenKeys {
    /// A secret or a JWKS file: read once at start.
    Fixed(Verifier),
    /// A JWKS URL: fetched on demand and refreshed.
    Fetched(RemoteJwks),
}

impl TokenKeys {
    /// The keys the configuration names: `BF_JWT_JWKS` (a path or an
    /// http(s) URL) when set, else the HS256 secret.
    pub async fn load(config: &Config) -> Result<TokenKeys, TokenError> {
        let party = Party {
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        };
        let source = config.jwt_jwks.trim();
        if source.is_empty() {
            return Ok(TokenKeys::Fixed(Verifier::from_secret(
                &config.jwt_secret,
                party,
            )));
        }
        if source.starts_with("https://") || source.starts_with("http://") {
            let remote = RemoteJwks::new(source, party, config.jwt_jwks_refresh);
            // A provider that is down at start is tried again per request.
            if let Err(e) = remote.current(false).await {
                tracing::warn!(error = %e, "JWKS URL not reachable at start");
            }
            return Ok(TokenKeys::Fetched(remote));
        }
        let json = tokio::fs::read_to_string(source)
            .await
            .map_err(|_| TokenError::KeySet("the JWKS file cannot be read"))?;
        Verifier::from_jwks(&json, party).map(TokenKeys::Fixed)
    }

    /// The token's claims, if every check passes.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match self {
            TokenKeys::Fixed(verifier) => verifier.verify(token),
            TokenKeys::Fetched(remote) => remote.verify(token).await,
        }
    }

    /// Whether tokens minted here with the shared secret are accepted: the
    /// local sign-in page is useless (and so off) otherwise.
    pub fn accepts_local_tokens(&self) -> bool {
        matches!(self, TokenKeys::Fixed(v) if v.uses_secret())
    }
}

/// A JWKS URL's keys, cached for `refresh_after` and fetched again early
/// when a token names a key the cache lacks (the provider rotated keys).
pub struct RemoteJwks {
    url: String,
    party: Party,
    http: reqwest::Client,
    refresh_after: Duration,
    state: tokio::sync::Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    verifier: Option<Arc<Verifier>>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    fetches: u64,
}

impl RemoteJwks {
    /// A cache of `url`, empty until first used.
    pub fn new(url: &str, party: Party, refresh_after: Duration) -> RemoteJwks {
        RemoteJwks {
            url: url.to_string(),
            party,
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .unwrap_or_default(),
            refresh_after,
            state: Default::default(),
        }
    }

    async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match self.current(false).await?.verify(token) {
            Err(TokenError::UnknownKey) => self.current(true).await?.verify(token),
            answer => answer,
        }
    }

    /// The cached keys, fetched first when stale or when `key_missing`,
    /// unless a fetch was tried within [`MIN_REFETCH`].
    async fn current(&self, key_missing: bool) -> Result<Arc<Verifier>, TokenError> {
        let mut cache = self.state.lock().await;
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.refresh_after);
        let may_fetch = cache
            .attempted_at
            .is_none_or(|at| at.elapsed() >= MIN_REFETCH);
        if (stale || key_missing) && may_fetch {
            cache.attempted_at = Some(Instant::now());
            cache.fetches += 1;
            match self.fetch().await {
                Ok(verifier) => {
                    cache.verifier = Some(Arc::new(verifier));
                    cache.fetched_at = Some(Instant::now());
                }
                // The keys already held stay in use until the provider answers.
                Err(e) => tracing::warn!(error = %e, "JWKS refresh failed"),
            }
        }
        cache.verifier.clone().ok_or(TokenError::KeySet(
            "the identity provider's keys are not available",
        ))
    }

    async fn fetch(&self) -> Result<Verifier, TokenError> {
        let unreachable = |_| TokenError::KeySet("the JWKS URL did not answer");
        let body = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unreachable)?
            .text()
            .await
            .map_err(unreachable)?;
        Verifier::from_jwks(&body, self.party.clone())
    }

    /// How many times the URL has been fetched (for tests of the cache).
    #[cfg(test)]
    async fn fetches(&self) -> u64 {
        self.state.lock().await.fetches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Test-only keys, see crates/auth/testdata/README.md.
    const JWKS: &str = include_str!("../../auth/testdata/jwks.json");
    const RSA_PRIVATE: &[u8] = include_bytes!("../../auth/testdata/rsa-private.der");

    /// A JWKS endpoint on a free port that counts its requests.
    async fn provider() -> (String, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&hits);
        let app = axum::Router::new().route(
            "/keys.json",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { JWKS }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/keys.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, hits)
    }

    fn token(kid: &str) -> String {
        let claims = Claims {
            tenant: "t".into(),
            sub: "u".into(),
            roles: vec![],
            exp: bf_auth::expiry_in(Duration::from_secs(60)),
        };
        bf_auth::mint_rs256(&claims, &Party::local(), RSA_PRIVATE, kid).unwrap()
    }

    #[tokio::test]
    async fn keys_from_a_jwks_url_are_fetched_once_and_cached() {
        let (url, hits) = provider().await;
        let remote = RemoteJwks::new(&url, Party::local(), Duration::from_secs(600));
        for _ in 0..5 {
            assert_eq!(
                remote.verify(&token("test-rsa-1")).await.unwrap().tenant,
                "t"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unknown_key_refetches_at_most_once_per_interval() {
        let (url, hits) = provider().await;
        let remote = RemoteJwks::new(&url, Party::local(), Duration::from_secs(600));
        assert!(remote.verify(&token("test-rsa-1")).await.is_ok());
        for _ in 0..5 {
            assert_eq!(
                remote.verify(&token("rotated-in")).await,
                Err(TokenError::UnknownKey)
            );
        }
        // The first fetch was just now, so the unknown key waits for the
        // interval rather than refetching on every token.
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(remote.fetches().await, 1);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_url_is_unavailable_not_unauthorized() {
        let remote = RemoteJwks::new(
            "http://127.0.0.1:9/keys.json",
            Party::local(),
            Duration::from_secs(600),
        );
        assert!(matches!(
            remote.verify(&token("test-rsa-1")).await,
            Err(TokenError::KeySet(_))
        ));
    }
}
