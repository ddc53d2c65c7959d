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

use crate::http::Route;
use crate::state::AppState;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;

/// The pages' routes, added to the OpenAPI document as they are mounted.
pub fn router(state: AppState, openapi: &mut utoipa::openapi::OpenApi) -> Router<AppState> {
    let page = |method, path, summary, handler| Route::new(method, path, "pages", summary, handler);
    let routes = vec![
        page(
            Method::GET,
            "/",
            "Home: redirects to the import page",
            get(|| async { Redirect::to(home::PATH) }),
        ),
        page(
            Method::GET,
            "/signin",
            "Local sign-in",
            get(session::signin_page),
        ),
        page(
            Method::POST,
            "/signin",
            "Local sign-in",
            post(session::signin),
        ),
        page(Method::POST, "/signout", "Sign out", post(session::signout)),
        page(
            Method::GET,
            home::PATH,
            "Imports of patient balances",
            get(home::page),
        ),
        page(
            Method::GET,
            upload::PATH,
            "Upload a file",
            get(upload::page),
        ),
        page(
            Method::GET,
            "/imports/{id}",
            "Review an import",
            get(import::page),
        ),
        page(
            Method::GET,
            "/imports/{id}/save",
            "Confirm Save",
            get(import::save_page),
        ),
        page(
            Method::POST,
            "/imports/{id}/save",
            "Save",
            post(import::save),
        ),
        page(
            Method::GET,
            "/imports/{id}/void",
            "Confirm void",
            get(import::void_page),
        ),
        page(
            Method::POST,
            "/imports/{id}/void",
            "Void",
            post(import::void),
        ),
        page(
            Method::GET,
            "/patients/{patient_id}/claims",
            "A patient's claim history",
            get(claims::page),
        ),
        page(Method::GET, "/assets/app.css", "Style sheet", get(css)),
        page(Method::GET, "/assets/app.js", "Script", get(js)),
    ];
    crate::http::mount(Router::new(), openapi, routes).layer(axum::middleware::from_fn_with_state(
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
