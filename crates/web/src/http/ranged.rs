//! Footage as an HTTP entity: one generic ranged responder (conditional GET,
//! `Range`, 206/416, `HEAD`) from the `http-serve` crate over the application
//! layer's [`Footage`], whose bytes are read and decrypted as the client takes them.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt as _;
use mimamori_governance::viewing::Footage;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// [`Footage`] for `http_serve::serve`.
struct Entity(Footage);

impl http_serve::Entity for Entity {
    type Error = BoxError;
    type Data = Bytes;

    fn len(&self) -> u64 {
        self.0.len
    }

    fn get_range(
        &self,
        range: std::ops::Range<u64>,
    ) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<Self::Data, Self::Error>> + Send + Sync>>
    {
        let stream = self.0.read(range).map(|r| r.map_err(BoxError::from));
        Box::pin(sync_wrapper::SyncStream::new(stream))
    }

    fn add_headers(&self, h: &mut HeaderMap) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.0.content_type),
        );
        if let Some(name) = &self.0.download_name
            && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }

    fn etag(&self) -> Option<HeaderValue> {
        self.0
            .etag
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
    }

    fn last_modified(&self) -> Option<std::time::SystemTime> {
        None
    }
}

/// Answers `req` with `footage`: the whole body, a range of it, 304 or 416.
/// Recorded images are private and must not be transformed on the way.
pub fn serve<B>(footage: Footage, req: &axum::http::Request<B>) -> Response {
    let extra: Vec<(&'static str, String)> = {
        let mut v = Vec::new();
        if !footage.codecs.is_empty() {
            v.push(("x-mimamori-codecs", footage.codecs.join(",")));
        }
        if let Some(lead) = footage.lead_seconds {
            v.push(("x-mimamori-lead-seconds", format!("{lead:.6}")));
        }
        v
    };
    let mut resp = http_serve::serve(Entity(footage), req).map(Body::new);
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-transform"),
    );
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp.into_response()
}
