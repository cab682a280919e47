//! Property tests (issue 13): a typed one-time-code secret never panics its reader,
//! and what is written reads back.

#![allow(clippy::unwrap_used, clippy::panic)]

use mimamori_crypto::totp::{base32, base32_decode};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_read_as_base32_gives_an_answer(s in "\\PC{0,100}") {
        let _ = base32_decode(&s);
    }

    #[test]
    fn base32_reads_back_what_was_written(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let text = base32(&bytes);
        prop_assert_eq!(base32_decode(&text), Some(bytes.clone()));
        prop_assert_eq!(base32_decode(&text.to_lowercase()), Some(bytes));
    }
}
