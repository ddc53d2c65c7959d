//! Who is at the keyboard. In production the host EHR's token arrives
//! (Authorization header or the session cookie); for local use a dev
//! sign-in mints one for a chosen practice, user and roles.

use super::layout::{frame, PageError};
use crate::auth::{self, Caller, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use bf_auth::{Claims, ROLE_IMPORTS_APPROVE, ROLE_IMPORTS_WRITE, ROLE_PATIENTS_WRITE};
use maud::html;
use serde::Deserialize;
use std::time::Duration;

/// A signed-in person on a page; without one, the page sends them to sign in.
pub struct Session(pub Caller);

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.method.is_safe() && !same_origin(&parts.headers) {
            return Err(PageError(ApiError::CrossSite).into_response());
        }
        match auth::authenticate(parts, state, true).await {
            Ok(caller) => Ok(Session(caller)),
            Err(ApiError::Unauthorized(_)) | Err(ApiError::CrossSite) => {
                Err(Redirect::to("/signin").into_response())
            }
            Err(other) => Err(PageError(other).into_response()),
        }
    }
}

/// A form post must come from this site: browsers send Origin on POST.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
        (Some(_), None) => false,
    }
}

/// The dev sign-in form.
pub async fn signin_page(State(state): State<AppState>) -> Response {
    if !state.config.dev_signin || !state.tokens.accepts_local_tokens() {
        return Html(frame("Sign in", None, html! {
            h1 { "Sign in through your EHR" }
            p { "Open Patient balances from your EHR's Settings › Import menu; it signs you in." }
        }).into_string()).into_response();
    }
    Html(frame("Sign in", None, html! {
        h1 { "Sign in (local)" }
        p.muted { "For local use: choose a practice and a user. In production your EHR signs you in." }
        form.stack.panel method="post" action="/signin" {
            label for="tenant" { "Practice" span.hint { "The practice (tenant) id, e.g. demo-practice" } }
            input #tenant name="tenant" type="text" required autocomplete="organization" value="demo-practice";
            label for="user" { "Your name or email" }
            input #user name="user" type="text" required autocomplete="username" value="billing.lead@demo";
            fieldset {
                legend { "Permissions" }
                label { input #role-imports-write type="checkbox" name="imports_write" value="1" checked; " Upload and review imports" }
                label { input #role-imports-approve type="checkbox" name="imports_approve" value="1" checked; " Save and void imports" }
                label { input #role-patients-write type="checkbox" name="patients_write" value="1" checked; " Load the patient directory" }
            }
            button #signin-submit type="submit" { "Sign in" }
        }
    }).into_string()).into_response()
}

/// What the sign-in form sends.
#[derive(Deserialize)]
pub struct SignIn {
    tenant: String,
    user: String,
    imports_write: Option<String>,
    imports_approve: Option<String>,
    patients_write: Option<String>,
}

/// Mints a token for the dev sign-in and keeps it in the session cookie.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Result<Response, PageError> {
    if !state.config.dev_signin || !state.tokens.accepts_local_tokens() || !same_origin(&headers) {
        return Err(PageError(ApiError::NotFound));
    }
    let (tenant, user) = (form.tenant.trim(), form.user.trim());
    if tenant.is_empty() || user.is_empty() {
        return Err(PageError(ApiError::BadRequest(
            "enter a practice and a user".into(),
        )));
    }
    let roles = [
        (form.imports_write.is_some(), ROLE_IMPORTS_WRITE),
        (form.imports_approve.is_some(), ROLE_IMPORTS_APPROVE),
        (form.patients_write.is_some(), ROLE_PATIENTS_WRITE),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, r)| r.to_string())
    .collect();
    let ttl = Duration::from_secs(12 * 3600);
    let claims = Claims {
        tenant: tenant.to_string(),
        sub: user.to_string(),
        roles,
        exp: bf_auth::expiry_in(ttl),
    };
    let party = bf_auth::Party {
        issuer: state.config.jwt_issuer.clone(),
        audience: state.config.jwt_audience.clone(),
    };
    let token = bf_auth::mint(&claims, &party, &state.config.jwt_secret)
        .map_err(|_| ApiError::Internal("minting a token".into()))?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to(super::home::PATH),
    )
        .into_response())
}

/// Clears the session cookie.
pub async fn signout(headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return PageError(ApiError::CrossSite).into_response();
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/signin")).into_response()
}
