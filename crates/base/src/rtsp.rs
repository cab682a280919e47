//! The RTSP address of a camera, checked once where it is typed: the recorder
//! connects to it, the catalog stores it, the UI shows it.

use std::fmt;

/// An `rtsp://host[:port]/path` URL (it may carry `user:password@`, which the
/// recorder takes out before connecting and logging). Kept as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtspUrl {
    text: String,
    url: url::Url,
}

/// Why a text is not an RTSP URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRtspUrl(pub String);

impl RtspUrl {
    pub fn parse(s: &str) -> Result<RtspUrl, BadRtspUrl> {
        let text = s.trim().to_string();
        let url =
            url::Url::parse(&text).map_err(|e| BadRtspUrl(format!("not a valid URL: {e}")))?;
        if url.scheme() != "rtsp" {
            return Err(BadRtspUrl(format!(
                "not an RTSP URL (scheme {:?}); expected rtsp://host/path",
                url.scheme()
            )));
        }
        Ok(RtspUrl { text, url })
    }

    /// The URL as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    pub fn into_url(self) -> url::Url {
        self.url
    }

    /// The `user:password@` the URL carries, percent-decoded.
    pub fn credentials(&self) -> Option<(String, String)> {
        (!self.url.username().is_empty()).then(|| {
            (
                percent_decode(self.url.username()),
                percent_decode(self.url.password().unwrap_or("")),
            )
        })
    }

    /// The same address without `user:password@` (for storing and showing).
    pub fn without_credentials(&self) -> RtspUrl {
        // Kept as typed unless the text has an `@` (which may be an empty `:@`).
        if self.url.username().is_empty()
            && self.url.password().is_none()
            && !self.text.contains('@')
        {
            return self.clone();
        }
        let mut url = self.url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        RtspUrl {
            text: url.to_string(),
            url,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(&[h, l]) = bytes.get(i + 1..i + 3)
            && let (Some(h), Some(l)) = (hex_value(h), hex_value(l))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

impl fmt::Display for RtspUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rtsp_urls() {
        assert!(RtspUrl::parse("rtsp://192.0.2.10:554/stream1").is_ok());
        let e = RtspUrl::parse("ftp://x/y").unwrap_err();
        assert!(e.0.contains("not an RTSP URL"), "{e}");
        assert!(
            RtspUrl::parse("no url")
                .unwrap_err()
                .0
                .contains("not a valid URL")
        );
    }
}
