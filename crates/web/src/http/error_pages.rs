//! Errors on their way to a person: an error answer to a page request becomes
//! the error page, in the person's language and with their navigation.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::error::{Shown, error_page};
use crate::http::session::CurrentUser;

/// Middleware (inside the guard): an error answer to a page request becomes the
/// error page, in the person's language and with their navigation. API requests
/// keep the JSON.
pub async fn pages_for_errors(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let lang = crate::http::lang_of(req.headers());
    let user = req.extensions().get::<CurrentUser>().cloned();
    let resp = next.run(req).await;
    match resp.extensions().get::<Arc<Shown>>() {
        Some(shown) => error_page(lang, user.as_ref().map(|u| &u.0), shown),
        None => resp,
    }
}
