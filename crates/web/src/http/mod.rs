//! HTTP plumbing every resource shares: where a request comes from
//! ([`origin`]), who sent it and the CSRF check ([`session`]), the one mapping of
//! errors to responses ([`error`], and [`error_pages`] for pages), the headers
//! every answer carries ([`headers`]), form bodies ([`form`]), ranged responses for
//! footage ([`ranged`]) and HTTPS with client certificates ([`tls`]).

pub mod error;
pub mod error_pages;
pub mod form;
pub mod headers;
pub mod origin;
pub mod ranged;
pub mod session;
pub mod tls;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::views::i18n::Lang;

/// The `lang` cookie of a request.
pub fn lang_of(headers: &axum::http::HeaderMap) -> Lang {
    Lang::from_cookie(session::cookie(headers, "lang"))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(lang_of(&parts.headers))
    }
}
