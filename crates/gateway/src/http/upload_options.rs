//! How an upload asks to be read: a saved import profile, an explicit
//! column mapping, a date format, a decimal style, and the old system's
//! totals for reconciliation. Given as query parameters (raw body) or as
//! form fields (multipart).

use crate::error::ApiError;
use crate::store::{profiles, tenants};
use bf_domain::date::DateFormat;
use bf_domain::header::ExplicitMapping;
use bf_domain::money::{self, DecimalStyle};
use bf_domain::options::ParseOptions;
use bf_domain::Column;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::HashMap;

/// The upload's reading options, all optional.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct UploadOptions {
    /// A saved import profile to start from.
    pub profile: Option<String>,
    /// JSON object: file header → template column ("" ignores the column).
    pub mapping: Option<String>,
    /// iso | month_day_year | day_month_year (or YYYY-MM-DD, M/D/YYYY, D/M/YYYY).
    pub date_format: Option<String>,
    /// dot (1,234.56) | comma (1.234,56).
    pub decimal_style: Option<String>,
    /// The old system's patient balance total, for reconciliation.
    pub expected_patient_balance: Option<String>,
    /// The old system's credit total (negative balances), for reconciliation.
    pub expected_credit_total: Option<String>,
    /// The old system's patient count, for reconciliation.
    pub expected_patient_count: Option<String>,
    /// Save these mapping/date/decimal choices as a named profile.
    pub save_as_profile: Option<String>,
}

impl UploadOptions {
    /// From multipart text fields.
    pub fn from_fields(mut fields: HashMap<String, String>) -> UploadOptions {
        let mut take = |k: &str| fields.remove(k).filter(|v| !v.trim().is_empty());
        UploadOptions {
            profile: take("profile"),
            mapping: take("mapping"),
            date_format: take("date_format"),
            decimal_style: take("decimal_style"),
            expected_patient_balance: take("expected_patient_balance"),
            expected_credit_total: take("expected_credit_total"),
            expected_patient_count: take("expected_patient_count"),
            save_as_profile: take("save_as_profile"),
        }
    }

    /// The parse options for this upload: the profile, overridden by what
    /// the upload says, plus the tenant's ceiling and today.
    pub async fn resolve(
        &self,
        pool: &PgPool,
        tenant: &str,
        user: &str,
    ) -> Result<ParseOptions, ApiError> {
        let mut options = match self.profile.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(name) => profiles::get(pool, tenant, name.trim())
                .await?
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "there is no import profile named \"{}\"",
                        name.trim()
                    ))
                })?,
            None => ParseOptions::default(),
        };
        if let Some(text) = &self.mapping {
            options.mapping = parse_mapping(text)?;
        }
        if let Some(text) = &self.date_format {
            options.date_format = Some(parse_date_format(text)?);
        }
        if let Some(text) = &self.decimal_style {
            options.decimal_style = match text.trim().to_ascii_lowercase().as_str() {
                "dot" | "." => DecimalStyle::Dot,
                "comma" | "," => DecimalStyle::Comma,
                _ => {
                    return Err(ApiError::BadRequest(
                        "decimal_style must be dot or comma".into(),
                    ))
                }
            };
        }
        if let Some(name) = self
            .save_as_profile
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            profiles::save(pool, tenant, name.trim(), &options, user).await?;
        }
        let settings = tenants::settings(pool, tenant).await?;
        options.balance_ceiling = settings.balance_ceiling;
        let tz = bf_domain::date::parse_time_zone(&settings.time_zone)
            .ok_or_else(|| ApiError::Internal("tenant time zone is invalid".into()))?;
        options.today = Some(bf_domain::date::local_date(chrono::Utc::now(), tz));
        Ok(options)
    }

    /// The old system's totals, validated, as stored on the import.
    pub fn expected_totals(&self) -> Result<Option<serde_json::Value>, ApiError> {
        let amount = |v: &Option<String>, what: &str| -> Result<Option<String>, ApiError> {
            v.as_deref()
                .map(|t| {
                    money::parse_amount(t, DecimalStyle::Dot)
                        .map(|d| d.to_string())
                        .map_err(|e| ApiError::BadRequest(format!("{what} {e}")))
                })
                .transpose()
        };
        let patient_balance = amount(&self.expected_patient_balance, "expected_patient_balance")?;
        let credit_total = amount(&self.expected_credit_total, "expected_credit_total")?;
        let patient_count = self
            .expected_patient_count
            .as_deref()
            .map(|c| {
                c.trim().parse::<u32>().map_err(|_| {
                    ApiError::BadRequest("expected_patient_count must be a whole number".into())
                })
            })
            .transpose()?;
        if patient_balance.is_none() && credit_total.is_none() && patient_count.is_none() {
            return Ok(None);
        }
        Ok(Some(serde_json::json!({
            "patient_balance": patient_balance,
            "credit_total": credit_total,
            "patient_count": patient_count,
        })))
    }
}

/// A mapping from JSON; every target must be a template column or "".
pub fn parse_mapping(text: &str) -> Result<ExplicitMapping, ApiError> {
    let mapping: ExplicitMapping = serde_json::from_str(text).map_err(|_| {
        ApiError::BadRequest("mapping must be a JSON object of header → column".into())
    })?;
    for column in mapping.values() {
        if !column.is_empty() && Column::from_name(column.trim()).is_none() {
            return Err(ApiError::BadRequest(format!(
                "the mapping names \"{column}\", which is not a template column"
            )));
        }
    }
    Ok(mapping)
}

/// A date format by its name or its pattern.
pub fn parse_date_format(text: &str) -> Result<DateFormat, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "iso" | "yyyy-mm-dd" => Ok(DateFormat::Iso),
        "month_day_year" | "m/d/yyyy" | "mm/dd/yyyy" => Ok(DateFormat::MonthDayYear),
        "day_month_year" | "d/m/yyyy" | "dd/mm/yyyy" => Ok(DateFormat::DayMonthYear),
        _ => Err(ApiError::BadRequest(
            "date_format must be iso (YYYY-MM-DD), month_day_year (M/D/YYYY) or day_month_year (D/M/YYYY)".into(),
        )),
    }
}
