//! Property tests (issue 13): the bytes a camera sends and the sample indexes read
//! back from the catalog never panic their readers.

#![allow(clippy::unwrap_used, clippy::panic)]

use mimamori_media::h264::{avc1_sample_entry, nal_type, rfc6381_codec, split_annexb};
use mimamori_media::{SampleIndex, SampleInfo};
use proptest::prelude::*;

fn sample() -> impl Strategy<Value = SampleInfo> {
    (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(size, duration_90k, key)| SampleInfo {
        size,
        duration_90k,
        key,
    })
}

proptest! {
    #[test]
    fn any_bytes_read_as_a_sample_index_give_an_answer(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(index) = SampleIndex::decode(&data) {
            // Each sample takes at least two bytes: no index is larger than its bytes allow.
            prop_assert!(index.len() * 2 <= data.len());
        }
    }

    #[test]
    fn a_sample_index_reads_back_as_written(samples in proptest::collection::vec(sample(), 0..200)) {
        let index = SampleIndex { samples };
        prop_assert_eq!(SampleIndex::decode(&index.encode()).unwrap(), index);
    }

    // Cut short anywhere, an index is refused or reads as fewer samples, never more.
    #[test]
    fn a_cut_sample_index_is_refused_or_shorter(
        samples in proptest::collection::vec(sample(), 1..50),
        cut in any::<prop::sample::Index>(),
    ) {
        let index = SampleIndex { samples };
        let bytes = index.encode();
        let at = cut.index(bytes.len());
        if let Ok(short) = SampleIndex::decode(&bytes[..at]) {
            prop_assert!(short.len() < index.len());
            prop_assert_eq!(&short.samples[..], &index.samples[..short.len()]);
        }
    }

    #[test]
    fn any_bytes_split_as_annex_b_give_parts_of_themselves(data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..512)) {
        let total: usize = split_annexb(&data).iter().map(|n| {
            let _ = nal_type(n);
            n.len()
        }).sum();
        prop_assert!(total <= data.len());
        for n in split_annexb(&data) {
            prop_assert!(!n.is_empty());
        }
    }

    #[test]
    fn any_parameter_sets_give_a_sample_entry(
        sps in proptest::collection::vec(any::<u8>(), 0..300),
        pps in proptest::collection::vec(any::<u8>(), 0..300),
        w in any::<u16>(),
        h in any::<u16>(),
    ) {
        let codec = rfc6381_codec(&sps);
        prop_assert!(codec.starts_with("avc1"));
        let entry = avc1_sample_entry(&sps, &pps, w, h);
        // A box: its first four bytes say its length.
        prop_assert_eq!(u32::from_be_bytes(entry[..4].try_into().unwrap()) as usize, entry.len());
    }
}
