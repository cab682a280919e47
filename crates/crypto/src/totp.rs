//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits),
//! the second factor an authenticator app on a phone shows. Also the base32 form
//! (RFC 4648) in which secrets are typed into such apps.

use hmac::{Hmac, Mac};
use rand::RngCore;

const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;

/// A new random 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rng().fill_bytes(&mut s);
    s
}

/// The code for the 30-second step containing `unix_secs`.
pub fn code_at(secret: &[u8], unix_secs: i64) -> u32 {
    hotp(secret, (unix_secs.div_euclid(STEP_SECS)) as u64)
}

fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return u32::MAX; // never a valid 6-digit code
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[19] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(DIGITS)
}

/// Whether `code` (digits, spaces ignored) is valid at `unix_secs`, allowing one step
/// of clock difference either way.
pub fn verify(secret: &[u8], code: &str, unix_secs: i64) -> bool {
    matching_step(secret, code, unix_secs).is_some()
}

/// The 30-second step whose code `code` is, if it is valid at `unix_secs` (one step
/// of clock difference either way): a code is used once by refusing its step again.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: i64) -> Option<i64> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = digits.parse::<u32>().ok()?;
    (-1..=1)
        .map(|d| unix_secs.div_euclid(STEP_SECS) + d)
        .find(|step| hotp(secret, *step as u64) == n)
}

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (no padding, any case); `None` for anything else.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buf, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.trim().bytes() {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI authenticator apps accept.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (8-digit values; we use the last 6).
    #[test]
    fn matches_rfc_6238_vectors() {
        let s = b"12345678901234567890";
        assert_eq!(code_at(s, 59), 94287082 % 1_000_000);
        assert_eq!(code_at(s, 1111111109), 7081804 % 1_000_000);
        assert_eq!(code_at(s, 1234567890), 89005924 % 1_000_000);
        assert_eq!(code_at(s, 2000000000), 69279037 % 1_000_000);
    }

    #[test]
    fn verify_allows_one_step_of_drift_only() {
        let s = new_secret();
        let c = format!("{:06}", code_at(&s, 1_000_000));
        assert!(verify(&s, &c, 1_000_000));
        assert!(verify(&s, &c, 1_000_030));
        assert!(!verify(&s, &c, 1_000_090));
        assert!(!verify(&s, "12345", 1_000_000));
        assert!(!verify(&s, "abcdef", 1_000_000));
    }

    #[test]
    fn base32_known_values() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let s = new_secret();
        assert_eq!(base32_decode(&base32(&s)).unwrap(), s);
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
    }
}
