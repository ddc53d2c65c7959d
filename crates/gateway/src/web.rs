//! The billing lead's pages: server-rendered HTML over the same store and
//! actions as the JSON API, with a little plain JavaScript. See
//! docs/PAGES.md for the page contract.

mod claims;
mod format;
mod home;
mod import;
mod layout;
mod session;
mod upload;

use crate::state::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;

/// The pages' routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to(home::PATH) }))
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signout", post(session::signout))
        .route(home::PATH, get(home::page))
        .route(upload::PATH, get(upload::page))
        .route("/imports/{id}", get(import::page))
        .route(
            "/imports/{id}/save",
            get(import::save_page).post(import::save),
        )
        .route(
            "/imports/{id}/void",
            get(import::void_page).post(import::void),
        )
        .route("/patients/{patient_id}/claims", get(claims::page))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .layer(axum::middleware::from_fn_with_state(
            state,
            layout::remember_signed_in,
        ))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../assets/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../assets/app.js"),
    )
}
