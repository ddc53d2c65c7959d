//! The HTTP adapter: routes, and the OpenAPI document generated from the
//! handlers' annotations so it cannot drift from them.

mod audit;
mod dead_letters;
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
use axum::http::Method;
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use std::sync::{Arc, OnceLock};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::ResponseBuilder;
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
        (name = "ops", description = "Operators' view across tenants"),
        (name = "pages", description = "The billing lead's HTML pages and their assets"),
        (name = "service", description = "Health, metrics and this document")
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

/// The gateway's router: the JSON API (documented by its handlers'
/// annotations) and every other route from [`Route`] tables, which add
/// themselves to the same document. `/v1/openapi.json` therefore lists
/// every route the gateway serves, and the tenant-isolation test walks it.
pub fn router(state: AppState) -> Router {
    let max_upload = usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX);
    let (api, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
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
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::requeue))
        .routes(routes!(imports::errors_csv))
        .routes(routes!(profiles::list))
        .routes(routes!(profiles::put, profiles::delete))
        .routes(routes!(patients::load))
        .routes(routes!(patients::claims))
        .routes(routes!(tenant::get_settings, tenant::put_settings))
        .routes(routes!(audit::list))
        .split_for_parts();
    let document = Arc::new(OnceLock::new());
    let served = Arc::clone(&document);
    let service = vec![
        Route::new(
            Method::GET,
            "/v1/openapi.json",
            "service",
            "This document",
            get(move || async move { Json(served.get().cloned()) }),
        ),
        Route::new(
            Method::GET,
            "/healthz",
            "service",
            "Liveness",
            get(health::healthz),
        ),
        Route::new(
            Method::GET,
            "/readyz",
            "service",
            "Readiness",
            get(health::readyz),
        ),
        Route::new(
            Method::GET,
            "/metrics",
            "service",
            "Prometheus metrics",
            get(crate::metrics::scrape),
        ),
    ];
    let router =
        mount(api, &mut openapi, service).merge(crate::web::router(state.clone(), &mut openapi));
    // Set once, before the router serves anything.
    let _ = document.set(openapi);
    router
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

/// A route outside the JSON API: a page, an asset, health, metrics.
pub struct Route {
    method: Method,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// One method of one path, with the words the document shows for it.
    pub fn new(
        method: Method,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Route {
        Route {
            method,
            path,
            tag,
            summary,
            handler,
        }
    }
}

/// Adds each route to `router` and to the document: the only way a route
/// outside the JSON API is added, so none can be served undocumented.
pub fn mount(
    mut router: Router<AppState>,
    openapi: &mut utoipa::openapi::OpenApi,
    routes: Vec<Route>,
) -> Router<AppState> {
    for route in routes {
        let method = match route.method {
            Method::POST => HttpMethod::Post,
            Method::PUT => HttpMethod::Put,
            Method::DELETE => HttpMethod::Delete,
            _ => HttpMethod::Get,
        };
        let operation = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .response("200", ResponseBuilder::new().description(route.summary));
        openapi
            .paths
            .add_path_operation(route.path, vec![method], operation);
        router = router.route(route.path, route.handler);
    }
    router
}

#[cfg(test)]
mod tests {
    /// Product code (before any `#[cfg(test)]`) of every source file.
    fn product_sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir)
            .expect("the crate's sources")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                product_sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let product = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                out.push((path.display().to_string(), product));
            }
        }
    }

    #[test]
    fn no_route_is_added_outside_the_documented_table() {
        // A route added any other way would be missing from the OpenAPI
        // document, and so from the tenant-isolation walk that reads it.
        let mut sources = Vec::new();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        product_sources(&src, &mut sources);
        let adders: Vec<String> = sources
            .iter()
            .flat_map(|(file, text)| {
                [
                    ".route(",
                    ".route_service(",
                    ".nest(",
                    ".nest_service(",
                    ".fallback(",
                ]
                .iter()
                .filter(|call| text.contains(**call))
                .map(move |call| format!("{file}: {call}"))
            })
            .collect();
        assert_eq!(adders.len(), 1, "{adders:?}");
        assert!(adders[0].ends_with("http.rs: .route("), "{adders:?}");
    }
}
