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
