//! Property tests (issue 13): a form body, whatever a client sends, never panics
//! its reader, and a field reads back as it was sent.

#![allow(clippy::unwrap_used, clippy::panic)]

use mimamori_web::http::form::FormFields;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_body_read_as_a_form_gives_an_answer(body in "\\PC{0,200}") {
        let f = FormFields::parse(&body);
        let _ = f.get("username");
        let _ = f.numbers("camera");
    }

    #[test]
    fn a_field_reads_back_as_sent(name in "[a-z_]{1,10}", value in "\\PC{0,40}", numbers in proptest::collection::vec(any::<i64>(), 0..5)) {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair(&name, &value);
        for n in &numbers {
            body.append_pair("camera", &n.to_string());
        }
        let body = body.finish();
        let f = FormFields::parse(&body);
        prop_assert_eq!(f.get(&name), value.as_str());
        if name != "camera" {
            prop_assert_eq!(f.numbers("camera"), numbers);
        }
    }
}
