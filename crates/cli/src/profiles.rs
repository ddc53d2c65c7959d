//! `bfctl profiles`: a practice's saved ways of reading its old system's
//! export, so each monthly upload needs only `--profile NAME`.

use reqwest::Method;
use serde_json::json;

use crate::api::Profile;
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::mapping;
use crate::read_options::Reading;
use crate::render::emit;
use crate::table::Table;
use crate::Outcome;

/// Shown where a profile leaves a choice to detection or the default.
const DETECTED: &str = "(detected)";

/// A profile name, trimmed as the gateway trims it; empty is refused here
/// because it would address the collection instead of a profile.
fn name(raw: &str) -> Result<&str, CliError> {
    let n = raw.trim();
    if n.is_empty() {
        return Err(CliError::Input(
            "a profile name must not be empty".to_owned(),
        ));
    }
    Ok(n)
}

/// The `profiles list` table.
pub fn table(profiles: &[Profile]) -> String {
    if profiles.is_empty() {
        return "No import profiles.\n".to_owned();
    }
    let mut t = Table::new(&["NAME", "DATES", "DECIMALS", "MAPPING"]);
    for p in profiles {
        t.row(vec![
            p.name.clone(),
            p.date_format.clone().unwrap_or_else(|| DETECTED.to_owned()),
            p.decimal_style.clone().unwrap_or_else(|| "dot".to_owned()),
            if p.mapping.is_empty() {
                DETECTED.to_owned()
            } else {
                mapping::compact_map(&p.mapping)
            },
        ]);
    }
    t.render()
}

/// `GET /v1/import-profiles`.
pub async fn list(client: &Client, json: bool) -> Result<Outcome, CliError> {
    let reply = client.get(client.url(&["v1", "import-profiles"])?).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let profiles: Vec<Profile> = decode(&reply.body)?;
        emit(&table(&profiles))?;
    }
    Ok(Outcome::Done)
}

/// `PUT /v1/import-profiles/{name}`. A PUT replaces the profile, so
/// choices not given here (e.g. no `--map`) are cleared, not kept.
pub async fn save(
    client: &Client,
    raw_name: &str,
    reading: &Reading,
    json: bool,
) -> Result<Outcome, CliError> {
    let n = name(raw_name)?;
    let body = json!({
        "name": n,
        "mapping": mapping::parse(&reading.map)?,
        "date_format": reading.date_format.map(|f| f.wire()),
        "decimal_style": reading.decimal_style.map_or("dot", |s| s.wire()),
    });
    let url = client.url(&["v1", "import-profiles", n])?;
    let reply = client.send_json(Method::PUT, url, Some(&body)).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let saved: Profile = decode(&reply.body)?;
        emit(&format!("Saved profile {n}.\n{}", table(&[saved])))?;
    }
    Ok(Outcome::Done)
}

/// `DELETE /v1/import-profiles/{name}`; the gateway answers 204.
pub async fn delete(client: &Client, raw_name: &str) -> Result<Outcome, CliError> {
    let n = name(raw_name)?;
    let url = client.url(&["v1", "import-profiles", n])?;
    client.send_json::<()>(Method::DELETE, url, None).await?;
    emit(&format!("Deleted profile {n}."))?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_list_shows_choices_or_detection() {
        let profiles: Vec<Profile> = serde_json::from_str(
            r#"[{"name":"acme","mapping":{"Acct #":"patient_account_number","Notes":""},
                 "date_format":"month_day_year","decimal_style":"dot"},
                {"name":"plain","mapping":{},"date_format":null,"decimal_style":"comma"}]"#,
        )
        .unwrap();
        assert_eq!(
            table(&profiles),
            "NAME   DATES           DECIMALS  MAPPING\n\
             acme   month_day_year  dot       Acct # → patient_account_number, Notes → (ignored)\n\
             plain  (detected)      comma     (detected)\n"
        );
        assert_eq!(table(&[]), "No import profiles.\n");
        assert!(name("  ").is_err());
    }
}
