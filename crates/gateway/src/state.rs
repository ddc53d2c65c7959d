//! What every request handler shares.

use crate::config::Config;
use bf_proto::ClaimsClient;
use object_store::ObjectStore;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub objects: Arc<dyn ObjectStore>,
    pub claims: ClaimsClient,
    pub config: Arc<Config>,
    /// The keys every bearer token is verified with.
    pub tokens: Arc<crate::tokens::TokenKeys>,
    /// Wakes the outbox relay as soon as a message is committed.
    pub outbox: Arc<Notify>,
    /// Tenants known to exist, so their row is not re-inserted per request.
    pub known_tenants: Arc<Mutex<HashSet<String>>>,
}
