//! The frame of every page, and errors shown where they happen in words a
//! billing lead understands.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use bf_auth::Claims;
use bf_domain::problem::sentence;
use maud::{html, Markup, DOCTYPE};

/// A whole page: header with the practice and the user, then `content`.
pub fn frame(title: &str, who: Option<&Claims>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Patient balance import" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    span.brand { "Patient balance import" }
                    @if let Some(who) = who {
                        span.who {
                            "Practice: " strong #tenant-name { (who.tenant) }
                            " · Signed in as " strong #user-name { (who.sub) }
                        }
                        form method="post" action="/signout" {
                            button.secondary #signout type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

tokio::task_local! {
    /// Who is signed in, for pages rendered outside a handler's own view
    /// (error pages), so the practice and the user stay visible.
    pub static SIGNED_IN: Option<Claims>;
}

/// Runs a page request with its signed-in person known to error pages.
pub async fn remember_signed_in(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let who = match crate::auth::token(&parts) {
        Ok((token, _)) => state.tokens.verify(&token).await.ok(),
        Err(_) => None,
    };
    let request = axum::extract::Request::from_parts(parts, body);
    SIGNED_IN.scope(who, next.run(request)).await
}

/// A page-level failure, rendered as a page.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, headline, advice) = match &self.0 {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "We couldn't find that in your practice.",
                "It may belong to another practice, or the link may be old.",
            ),
            ApiError::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "Your account isn't allowed to do that.",
                "Ask your practice's administrator for the permission, or sign in as someone who has it.",
            ),
            ApiError::Conflict(_) | ApiError::BadRequest(_) => (
                StatusCode::CONFLICT,
                "That can't be done right now.",
                "The import may have moved on; go back to it to see where it is.",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Part of the service isn't answering.",
                "Nothing was changed. Wait a moment and try again.",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
                "Nothing was changed. Try again; if it keeps happening, tell support.",
            ),
        };
        let detail = match &self.0 {
            ApiError::Conflict(m) | ApiError::BadRequest(m) | ApiError::Unavailable(m) => {
                Some(sentence(m))
            }
            _ => None,
        };
        let who = SIGNED_IN.try_with(|c| c.clone()).ok().flatten();
        let body = frame(
            headline,
            who.as_ref(),
            html! {
                h1 { (headline) }
                @if let Some(d) = detail { p.error { (d) } }
                p { (advice) }
                p { a href=(super::home::PATH) { "Back to Patient balances" } }
            },
        );
        (status, Html(body.into_string())).into_response()
    }
}
