//! Property tests (issue 13): the checks every door puts typed input through never
//! panic, and what they accept keeps their promises (names of the allowed
//! characters, camera addresses without credentials, ranges that run forward).

#![allow(clippy::unwrap_used, clippy::panic)]

use mimamori_governance::input::{CameraText, Password, RtspCamera, TimeRange, Username};
use proptest::prelude::*;

proptest! {
    #[test]
    fn an_accepted_user_name_is_of_the_allowed_characters(s in "\\PC{0,80}") {
        if let Ok(name) = Username::parse(&s) {
            prop_assert!(!name.as_str().is_empty() && name.as_str().len() <= 64);
            prop_assert!(name.as_str().chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        }
    }

    #[test]
    fn an_accepted_password_is_within_the_rule(s in "\\PC{0,40}|\\PC{1000,1100}") {
        if let Ok(p) = Password::parse(&s) {
            prop_assert!(p.expose().chars().count() >= 8 && p.expose().len() <= 1024);
            prop_assert!(!format!("{p:?}").contains(&s), "Debug never shows it");
        }
    }

    #[test]
    fn an_accepted_camera_keeps_no_credentials_in_its_addresses(
        name in "\\PC{0,70}",
        url in "(rtsp://([a-z:%@]{0,8}@)?)?\\PC{0,40}",
        sub in proptest::option::of("(rtsp://([a-z:@]{0,8}@)?)?[a-z0-9./:@]{0,30}"),
        user in proptest::option::of("\\PC{0,10}"),
        pass in proptest::option::of("\\PC{0,10}"),
    ) {
        let text = CameraText {
            name: &name,
            url: &url,
            sub_url: sub.as_deref(),
            username: user.as_deref(),
            password: pass.as_deref(),
            record_audio: false,
        };
        if let Ok(cam) = RtspCamera::parse(&text) {
            prop_assert!(cam.main_url.credentials().is_none(), "{}", cam.main_url.as_str());
            prop_assert!(cam.sub_url.as_ref().is_none_or(|u| u.credentials().is_none()));
            prop_assert!(!format!("{cam:?}").contains("Secret(\""), "the password is never printed");
        }
    }

    #[test]
    fn an_accepted_time_range_runs_forward(from in "\\PC{0,30}|2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]", to in "\\PC{0,30}|2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]") {
        if let Ok(r) = TimeRange::parse("from", &from, "to", &to) {
            prop_assert!(r.from < r.to);
        }
    }
}
