//! `bfctl settings`: read or change the tenant's time zone, which decides
//! what "today" means for dates of service.

use reqwest::Method;

use crate::api::Settings;
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::{self, emit};
use crate::Outcome;

/// GET the settings, or PUT a new time zone first. If the PUT answers
/// without a settings body (e.g. 204), the settings are read back so the
/// user always sees what is now in effect.
pub async fn run(
    client: &Client,
    time_zone: Option<&str>,
    json: bool,
) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "tenant", "settings"])?;
    let mut body = None;
    if let Some(tz) = time_zone {
        let tz = tz.trim();
        if tz.is_empty() {
            return Err(CliError::Input("--time-zone must not be empty".to_owned()));
        }
        let reply = client
            .send_json(
                Method::PUT,
                url.clone(),
                Some(&serde_json::json!({ "time_zone": tz })),
            )
            .await?;
        if decode::<Settings>(&reply.body).is_ok_and(|s| !s.time_zone.is_empty()) {
            body = Some(reply.body);
        }
    }
    let body = match body {
        Some(b) => b,
        None => client.get(url).await?.body,
    };
    if json {
        emit(body.trim_end())?;
    } else {
        emit(&render::settings(&decode(&body)?))?;
    }
    Ok(Outcome::Done)
}
