//! Property tests (issue 13): what people type never panics the readers of times
//! and camera addresses, and what they accept means what it says.

#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::{FixedOffset, Offset, Utc};
use mimamori_base::time::{parse_date, parse_day_or_time, parse_time};
use mimamori_base::{RtspUrl, Timestamp};
use proptest::prelude::*;

fn utc() -> FixedOffset {
    Utc.fix()
}

proptest! {
    #[test]
    fn any_text_read_as_a_time_gives_an_answer(s in "\\PC{0,64}") {
        let _ = parse_time("t", &s);
        let _ = parse_date("d", &s);
        let _ = parse_day_or_time("x", &s, true);
        let _ = parse_day_or_time("x", &s, false);
    }

    // Texts shaped like dates and times, with numbers out of every range.
    #[test]
    fn near_misses_of_the_formats_give_an_answer(
        s in "[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}(T[0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{1,12})?)?([+-][0-9]{2}:[0-9]{2}|Z)?)?"
    ) {
        if let Ok(t) = parse_day_or_time("x", &s, true) {
            // Whatever is accepted lies in the years footage can have.
            // (1970 and 9999 as written in any offset, a day either side at most).
            let two_days = 2 * 86_400;
            prop_assert!(t >= Timestamp::from_secs(-two_days), "{s} → {t:?}");
            prop_assert!(t <= Timestamp::from_secs(253_402_300_800 + two_days), "{s} → {t:?}");
        }
    }

    #[test]
    fn every_time_of_the_years_we_accept_reads_back_as_itself(secs in 0i64..253_402_214_400) {
        let t = Timestamp::from_secs(secs);
        prop_assert_eq!(parse_time("t", &t.to_rfc3339(utc())).unwrap(), t);
        prop_assert_eq!(parse_time("t", &t.to_rfc3339(mimamori_base::time::jst())).unwrap(), t);
    }

    #[test]
    fn timestamp_arithmetic_saturates_instead_of_panicking(t in any::<i64>(), d in any::<i64>()) {
        let _ = Timestamp(t).add_90k(d);
        let _ = Timestamp(t).add_micros(d);
        let _ = mimamori_base::time::micros_to_ticks(d);
    }

    #[test]
    fn any_text_read_as_a_camera_address_gives_an_answer(s in "(rtsp://)?\\PC{0,80}") {
        let _ = RtspUrl::parse(&s);
    }

    // Credentials typed into an address come out of it whole, and the address left
    // has none (it is shown to everyone who sees the camera list).
    #[test]
    fn an_address_without_its_credentials_has_none(
        user in "[a-zA-Z0-9%._~!$&'()*+,;=-]{0,12}",
        pass in "[a-zA-Z0-9%._~!$&'()*+,;=:-]{0,12}",
        host in "[a-z0-9]{1,10}(\\.[a-z]{1,5})?",
        port in proptest::option::of(1u16..),
        path in "(/[a-zA-Z0-9._-]{0,10}){0,3}",
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let text = format!("rtsp://{user}:{pass}@{host}{port}{path}");
        let Ok(url) = RtspUrl::parse(&text) else { return Ok(()); };
        let bare = url.without_credentials();
        prop_assert!(bare.credentials().is_none(), "{text} → {}", bare.as_str());
        prop_assert!(!bare.as_str().contains('@') || path.contains('@'), "{text} → {}", bare.as_str());
        let typed = format!(":{pass}@");
        prop_assert!(pass.is_empty() || !bare.as_str().contains(&typed));
        prop_assert_eq!(bare.url().host_str(), url.url().host_str());
    }
}

proptest! {
    // What is typed as `user:password` in an address comes out as typed, percent
    // escapes decoded (and a `%` that starts no escape kept as it is).
    #[test]
    fn credentials_in_an_address_come_out_as_typed(
        user in "[a-zA-Z0-9._~-]{1,10}",
        pass in "[a-zA-Z0-9._~!$&'()*+,;=-]{0,10}",
        escaped in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let esc: String = escaped.iter().map(|b| format!("%{b:02X}")).collect();
        let text = format!("rtsp://{user}:{pass}{esc}@cam.local/live");
        let url = RtspUrl::parse(&text).unwrap();
        let (u, p) = url.credentials().unwrap();
        prop_assert_eq!(u, user);
        let mut want = pass.into_bytes();
        want.extend_from_slice(&escaped);
        prop_assert_eq!(p, String::from_utf8_lossy(&want).into_owned());
    }
}

#[test]
fn a_percent_that_starts_no_escape_is_kept() {
    let url = RtspUrl::parse("rtsp://u:%+1x@cam/live").unwrap();
    assert_eq!(url.credentials().unwrap().1, "%+1x");
}
