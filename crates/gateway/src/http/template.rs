//! The CSV template and its column guide, from the domain's one list of
//! columns.

use crate::auth::Caller;
use crate::error::ErrorBody;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// One column of the template.
#[derive(Serialize, ToSchema)]
pub struct ColumnGuide {
    pub name: &'static str,
    pub required: bool,
    /// required | required_unless_patient_id | optional
    pub requirement: &'static str,
    pub format: &'static str,
    pub example: &'static str,
    pub description: &'static str,
}

/// The template's columns.
#[derive(Serialize, ToSchema)]
pub struct ColumnGuideList {
    pub columns: Vec<ColumnGuide>,
}

/// Download the CSV template (its header row).
#[utoipa::path(
    get, path = "/v1/imports/patient-balances/template", tag = "template",
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn template(_caller: Caller) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"patient-balances-template.csv\"",
            ),
        ],
        bf_domain::template::template_csv(),
    )
}

/// Each column: required or not, its format and an example.
#[utoipa::path(
    get, path = "/v1/imports/patient-balances/template/columns", tag = "template",
    responses((status = 200, body = ColumnGuideList), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn columns(_caller: Caller) -> Json<ColumnGuideList> {
    use bf_domain::template::Requirement;
    let columns = bf_domain::template::column_guide()
        .into_iter()
        .map(|c| ColumnGuide {
            name: c.name,
            required: c.required,
            requirement: match c.requirement {
                Requirement::Required => "required",
                Requirement::RequiredUnlessPatientId => "required_unless_patient_id",
                Requirement::Optional => "optional",
            },
            format: c.format,
            example: c.example,
            description: c.description,
        })
        .collect();
    Json(ColumnGuideList { columns })
}
