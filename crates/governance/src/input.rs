//! Requests as the doors hand them over: validated newtypes, parsed where the
//! text arrives (a form, a JSON body, a command-line flag). Inside the
//! application layer a value that exists is valid. The password rule lives here.

use mimamori_base::{RtspUrl, Timestamp};

use crate::error::{Error, Result};

/// A login name: 1–64 ASCII letters, digits, `.`, `_` or `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(v: &str) -> Result<Username> {
        let v = v.trim();
        if v.is_empty()
            || v.len() > 64
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(Error::bad_input(
                "username: 1–64 letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(Username(v.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most bytes a password may have (a login never checks a longer one).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A new password that satisfies the rule (never logged: `Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(v: &str) -> Result<Password> {
        if v.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Error::bad_input(format!(
                "password: at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if v.len() > MAX_PASSWORD_BYTES {
            return Err(Error::bad_input(format!(
                "password: at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        Ok(Password(v.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A camera's name: 1–64 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraName(String);

impl CameraName {
    pub fn parse(v: &str) -> Result<CameraName> {
        let v = v.trim();
        if v.is_empty() || v.chars().count() > 64 {
            return Err(Error::bad_input("name: 1 to 64 characters"));
        }
        Ok(CameraName(v.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An RTSP camera as typed: addresses and credentials. The password is sealed
/// before it is stored; an empty one on a change keeps the stored one.
#[derive(Clone, Debug)]
pub struct RtspCamera {
    pub name: CameraName,
    pub main_url: RtspUrl,
    pub sub_url: Option<RtspUrl>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// A secret typed by a person (a camera password): never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The fields of a camera form or body, as text.
#[derive(Clone, Debug, Default)]
pub struct CameraText<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub sub_url: Option<&'a str>,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub record_audio: bool,
}

impl RtspCamera {
    pub fn parse(t: &CameraText<'_>) -> Result<RtspCamera> {
        if t.record_audio {
            // Sound in public places is a privacy matter; recording it is not built yet,
            // so a request for it is refused rather than silently ignored.
            return Err(Error::bad_input(
                "record_audio: audio recording is not supported yet; only video is recorded",
            ));
        }
        let name = CameraName::parse(t.name)?;
        let main_url = RtspUrl::parse(t.url).map_err(|e| Error::bad_input(format!("url: {e}")))?;
        let sub_url = match t.sub_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                Some(RtspUrl::parse(s).map_err(|e| Error::bad_input(format!("sub_url: {e}")))?)
            }
            None => None,
        };
        let username = t
            .username
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let password = t.password.filter(|p| !p.is_empty()).map(str::to_string);
        let (main_url, sub_url, username, password) =
            credentials_out_of_addresses(&main_url, sub_url.as_ref(), username, password);
        Ok(RtspCamera {
            name,
            main_url,
            sub_url,
            username,
            password: password.map(Secret),
        })
    }
}

/// Credentials typed into an address (`rtsp://user:pw@…`) taken out of it: the
/// address is shown to everyone who sees camera status, the password is sealed.
/// A user name given in its own field wins (with its own password); otherwise
/// those in the main address, then in the sub address. Returns the addresses
/// without credentials, the user name and the password.
pub fn credentials_out_of_addresses(
    main: &RtspUrl,
    sub: Option<&RtspUrl>,
    username: Option<String>,
    password: Option<String>,
) -> (RtspUrl, Option<RtspUrl>, Option<String>, Option<String>) {
    let in_url = main
        .credentials()
        .or_else(|| sub.and_then(RtspUrl::credentials));
    let (username, password) = match (username, in_url) {
        (Some(u), _) => (Some(u), password),
        (None, Some((u, p))) => (Some(u), Some(p).filter(|p| !p.is_empty())),
        (None, None) => (None, password),
    };
    (
        main.without_credentials(),
        sub.map(RtspUrl::without_credentials),
        username,
        password,
    )
}

/// A span of time [from, to) with `to` after `from`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl TimeRange {
    /// `message` says what is wrong when `to` is not after `from`.
    pub fn new(from: Timestamp, to: Timestamp, message: &str) -> Result<TimeRange> {
        if to <= from {
            return Err(Error::bad_input(message));
        }
        Ok(TimeRange { from, to })
    }

    /// Two typed times (see [`mimamori_base::time::parse_time`]).
    pub fn parse(from_name: &str, from: &str, to_name: &str, to: &str) -> Result<TimeRange> {
        let f = mimamori_base::time::parse_time(from_name, from)?;
        let t = mimamori_base::time::parse_time(to_name, to)?;
        TimeRange::new(f, t, &format!("{to_name} must be after {from_name}"))
    }

    pub fn pair(self) -> (Timestamp, Timestamp) {
        (self.from, self.to)
    }
}

/// Trimmed text that must not be empty; `message` says what is missing.
pub fn required(v: &str, message: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(Error::bad_input(message));
    }
    Ok(v.to_string())
}

/// Free text of a form field: trimmed, without control characters (line breaks
/// stay), at most `max` characters; the error names the field.
pub fn bounded_text(name: &str, v: &str, max: usize) -> Result<String> {
    let v: String = v
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    if v.chars().count() > max {
        return Err(Error::bad_input(format!(
            "{name}: at most {max} characters"
        )));
    }
    Ok(v)
}

/// Trimmed text, `None` when empty.
pub fn optional(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_follow_the_rules() {
        assert!(Username::parse("sousa.1").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("あ").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pw").unwrap()),
            "Password(…)"
        );
    }

    #[test]
    fn cameras_are_rtsp_and_video_only() {
        let ok = CameraText {
            name: " 正面玄関 ",
            url: "rtsp://192.0.2.10/stream1",
            password: Some(""),
            ..CameraText::default()
        };
        let c = RtspCamera::parse(&ok).unwrap();
        assert_eq!(c.name.as_str(), "正面玄関");
        assert!(
            c.password.is_none(),
            "an empty password keeps the stored one"
        );
        let ftp = CameraText {
            url: "ftp://x/y",
            ..ok.clone()
        };
        let e = RtspCamera::parse(&ftp).unwrap_err().to_string();
        assert!(e.starts_with("url: not an RTSP URL"), "{e}");
        let audio = CameraText {
            record_audio: true,
            ..ok.clone()
        };
        assert!(RtspCamera::parse(&audio).is_err());
        // Credentials in the address go to their fields; the address keeps none.
        let typed = CameraText {
            url: "rtsp://admin:s3cret@192.0.2.10/stream1",
            ..ok
        };
        let c = RtspCamera::parse(&typed).unwrap();
        assert_eq!(c.main_url.as_str(), "rtsp://192.0.2.10/stream1");
        assert_eq!(c.username.as_deref(), Some("admin"));
        assert_eq!(c.password, Some(Secret("s3cret".into())));
    }
}
