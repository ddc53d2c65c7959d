//! The HTTP adapter: routes, and the OpenAPI document generated from the
//! handlers' annotations so it cannot drift from them.

mod health;
mod imports;
mod ops;
mod patients;
mod profiles;
mod template;
mod tenant;
mod upload_options;
pub mod views;

use crate::error::ApiError;
use crate::state::AppState;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Patient balance import", description = "Import patient balances from a previous EHR as Balance Forward claims."),
    modifiers(&BearerAuth),
    tags(
        (name = "imports", description = "Upload, review, save and void imports"),
        (name = "template", description = "The CSV template"),
        (name = "patients", description = "Patient directory and claim history"),
        (name = "tenant", description = "Practice settings"),
        (name = "ops", description = "Operators' view across tenants")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The gateway's router.
pub fn router(state: AppState) -> Router {
    let max_upload = usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX);
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(template::template))
        .routes(routes!(template::columns))
        .routes(routes!(imports::upload))
        .routes(routes!(imports::list))
        .routes(routes!(imports::get))
        .routes(routes!(imports::rows))
        .routes(routes!(imports::approve))
        .routes(routes!(imports::void))
        .routes(routes!(imports::posting))
        .routes(routes!(ops::imports))
        .routes(routes!(imports::errors_csv))
        .routes(routes!(profiles::list))
        .routes(routes!(profiles::put, profiles::delete))
        .routes(routes!(patients::load))
        .routes(routes!(patients::claims))
        .routes(routes!(tenant::get_settings, tenant::put_settings))
        .split_for_parts();
    let openapi = std::sync::Arc::new(openapi);
    api.route(
        "/v1/openapi.json",
        get(move || async move { Json(openapi.as_ref().clone()) }),
    )
    .route("/healthz", get(health::healthz))
    .route("/readyz", get(health::readyz))
    .route("/metrics", get(crate::metrics::scrape))
    .merge(crate::web::router(state.clone()))
    .layer(axum::middleware::from_fn(crate::metrics::track))
    .layer(DefaultBodyLimit::max(max_upload))
    .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        state.config.body_idle_timeout,
    ))
    .layer(
        tower::ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                ApiError::RequestTimeout
            }))
            .layer(tower::timeout::TimeoutLayer::new(
                state.config.request_timeout,
            )),
    )
    .with_state(state)
}
