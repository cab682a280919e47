//! Evidence packages (提供する画像): what a recipient of footage receives and how
//! they check it without mimamori. Owns the package format — the signed
//! [`manifest`], the per-clip proof that the clip's frames are the frames recorded
//! at capture time (frame digests → the segment's capture-time commitment → its
//! chain record → a chain head signed with the installation's key), the ZIP the
//! files travel in ([`writer`], optionally AES-encrypted for a medium) — and the
//! [`verify`] that `mimamori verify-export` runs. `verify.html` does the same in
//! a browser, with WebCrypto and no network.

pub mod manifest;
pub mod mp4read;
pub mod verify;
pub mod writer;

/// The self-contained page that checks a package in a browser.
pub const VERIFY_HTML: &str = include_str!("verify.html");
