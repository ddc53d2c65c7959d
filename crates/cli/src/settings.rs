//! `bfctl settings`: read or change the tenant's time zone, which decides
//! what "today" means for dates of service, and the balance ceiling above
//! which a row is flagged for review.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::api::Settings;
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::{self, emit};
use crate::Outcome;

/// The settings a command asks to change; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change<'a> {
    /// New IANA time zone.
    pub time_zone: Option<&'a str>,
    /// New balance ceiling, a decimal string.
    pub balance_ceiling: Option<&'a str>,
}

/// A setting's new value, trimmed; empty is refused here because the
/// gateway would read it as "unchanged" or reject it less clearly.
fn given<'a>(flag: &str, value: Option<&'a str>) -> Result<Option<&'a str>, CliError> {
    match value.map(str::trim) {
        Some("") => Err(CliError::Input(format!("{flag} must not be empty"))),
        other => Ok(other),
    }
}

/// The PUT body. The gateway requires `time_zone` on every PUT, so when
/// only the ceiling changes the current zone is sent back unchanged.
fn put_body(time_zone: &str, balance_ceiling: Option<&str>) -> Value {
    let mut body = Map::new();
    body.insert("time_zone".into(), json!(time_zone));
    if let Some(c) = balance_ceiling {
        body.insert("balance_ceiling".into(), json!(c));
    }
    Value::Object(body)
}

/// GET the settings, or PUT changes first. If the PUT answers without a
/// settings body (e.g. 204), the settings are read back so the user
/// always sees what is now in effect.
pub async fn run(client: &Client, change: Change<'_>, json: bool) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "tenant", "settings"])?;
    let time_zone = given("--time-zone", change.time_zone)?;
    let ceiling = given("--balance-ceiling", change.balance_ceiling)?;
    let mut body = None;
    if time_zone.is_some() || ceiling.is_some() {
        let zone = match time_zone {
            Some(tz) => tz.to_owned(),
            None => {
                let current: Settings = decode(&client.get(url.clone()).await?.body)?;
                if current.time_zone.is_empty() {
                    return Err(CliError::Decode(
                        "the gateway's settings carry no time zone to keep; pass --time-zone too"
                            .to_owned(),
                    ));
                }
                current.time_zone
            }
        };
        let reply = client
            .send_json(Method::PUT, url.clone(), Some(&put_body(&zone, ceiling)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_put_body_always_carries_the_time_zone() {
        assert_eq!(
            put_body("America/Chicago", Some("5000.00")),
            json!({"balance_ceiling": "5000.00", "time_zone": "America/Chicago"})
        );
        assert_eq!(put_body("UTC", None), json!({"time_zone": "UTC"}));
        assert!(given("--balance-ceiling", Some(" ")).is_err());
        assert_eq!(given("--time-zone", Some(" UTC ")).unwrap(), Some("UTC"));
    }
}
