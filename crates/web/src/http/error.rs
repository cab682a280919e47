//! The one place where errors become HTTP responses: a status from the stable
//! code, JSON for the API (`{"error": {code, message[, message_ja]}}`) and, for
//! pages, the same message as a page in the person's language. Internals are
//! logged, never shown; a refusal names the rule and its article.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use mimamori_base::ErrorCode;
use mimamori_governance::Error;
use mimamori_governance::sessions::SignedIn;

use crate::views::i18n::Lang;
use crate::views::page;

/// An error on its way out of a handler.
#[derive(Debug)]
pub struct WebError(pub Error);

pub type WebResult<T> = Result<T, WebError>;

impl<E: Into<Error>> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError(e.into())
    }
}

impl WebError {
    pub fn bad_input(message: impl Into<String>) -> WebError {
        WebError(Error::bad_input(message))
    }
}

/// The status for a code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadInput | ErrorCode::Policy => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::CameraAuth | ErrorCode::CameraUnreachable | ErrorCode::CameraStream => {
            StatusCode::BAD_GATEWAY
        }
        ErrorCode::CatalogIo | ErrorCode::StorageIo | ErrorCode::Inconsistent => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// What an error response says, kept on the response so that pages can show it.
#[derive(Clone, Debug)]
pub struct Shown {
    pub code: ErrorCode,
    pub message: String,
    /// The message in Japanese, where it has one (refusals).
    pub message_ja: Option<String>,
    pub refused: bool,
}

impl Shown {
    pub fn of(e: &Error) -> Shown {
        let message = match e {
            Error::Catalog(c) => {
                tracing::error!("{c}");
                "the catalog database failed; see the server log".to_string()
            }
            Error::Storage(s) => {
                tracing::error!("{s}");
                "reading stored video failed; see the server log".to_string()
            }
            Error::Inconsistent(m) => {
                tracing::error!("{m}");
                m.clone()
            }
            other => other.to_string(),
        };
        Shown {
            code: e.code(),
            message,
            message_ja: match e {
                Error::Refused(r) => Some(r.ja()),
                _ => None,
            },
            refused: matches!(e, Error::Refused(_)),
        }
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: Lang) -> &str {
        match (lang, &self.message_ja) {
            (Lang::Ja, Some(ja)) => ja,
            _ => &self.message,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        shown_response(Shown::of(&self.0))
    }
}

/// An answer with a code and a message (outcomes that are not errors of the
/// application layer: a failed login).
pub fn answer(code: ErrorCode, message: &str) -> Response {
    shown_response(Shown {
        code,
        message: message.to_string(),
        message_ja: None,
        refused: false,
    })
}

/// The JSON answer for what an error says, with [`Shown`] attached for pages.
pub fn shown_response(shown: Shown) -> Response {
    let mut error = serde_json::json!({ "code": shown.code.as_str(), "message": shown.message });
    if let Some(ja) = &shown.message_ja {
        error["message_ja"] = ja.clone().into();
    }
    let mut resp = (
        status_of(shown.code),
        Json(serde_json::json!({ "error": error })),
    )
        .into_response();
    resp.extensions_mut().insert(Arc::new(shown));
    resp
}

/// The page that shows an error (a refusal names the rule and says it was logged).
pub fn error_page(lang: Lang, user: Option<&SignedIn>, shown: &Shown) -> Response {
    let s = lang.strings();
    let (title, body) = if shown.refused {
        (
            "403",
            html! {
                h1 { (s.authz_refused) }
                p.error role="alert" id="refusal" { (shown.message_in(lang)) }
                p.muted { (s.authz_logged) }
            },
        )
    } else {
        (
            s.error_title,
            html! {
                h1 { (s.error_title) }
                p.error { (shown.message_in(lang)) " " code { (shown.code.as_str()) } }
                p { a href="/cameras" { (s.error_back) } }
            },
        )
    };
    (status_of(shown.code), page(lang, title, user, body)).into_response()
}
