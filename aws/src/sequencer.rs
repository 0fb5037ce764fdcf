//! S3 event sequencers: what AWS promises about them, as functions.

use std::cmp::Ordering;

/// A sequencer as S3 writes them: one or more hexadecimal digits.
pub fn is_valid_sequencer(sequencer: &str) -> bool {
    !sequencer.is_empty() && sequencer.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Orders two sequencers of events on one object key as AWS documents it
/// (S3 user guide, "Event message structure"): the shorter is right-padded
/// with zeros, then the two are compared as strings; the greater happened
/// later. Hex digits compare case-insensitively. Only meaningful for valid
/// sequencers ([`is_valid_sequencer`]) of the same bucket and key.
pub fn compare_sequencers(a: &str, b: &str) -> Ordering {
    let digit = |s: &str, i: usize| s.as_bytes().get(i).map_or(b'0', u8::to_ascii_uppercase);
    (0..a.len().max(b.len()))
        .map(|i| digit(a, i).cmp(&digit(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequencers_compare_as_aws_documents() {
        use Ordering::*;
        for (a, b, expected) in [
            // AWS's examples: one key's later write has the greater sequencer
            ("0055AED6DCD90281E5", "0055AED6DCD90281E6", Less),
            ("0055AED6DCD90281E6", "0055AED6DCD90281E5", Greater),
            // the pair of issue 17: right-padded, 0063... is after 0062...
            ("0062000000000000000A", "006300000000000000", Less),
            ("006300000000000000", "0062000000000000000A", Greater),
            // different lengths: the shorter is right-padded with zeros
            ("FF", "0100", Greater),
            ("00ff", "FF", Less),
            ("01", "0100", Equal),
            ("0100", "01", Equal),
            ("01", "01000000000000000001", Less),
            ("1", "0FFFFFFFFFFFFFFFFFFF", Greater),
            // case does not matter, equal values are equal
            ("0055aed6dcd90281e5", "0055AED6DCD90281E5", Equal),
            ("00617F08299329D189", "00617F08299329D189", Equal),
            ("a", "B", Less),
        ] {
            assert_eq!(compare_sequencers(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn sequencers_are_hex() {
        for good in ["0055AED6DCD90281E5", "00617f08299329d189", "0", "A"] {
            assert!(is_valid_sequencer(good), "{good}");
        }
        for bad in ["", "zzzz", "0x12", "12 34", "12\n", "-1", "１２"] {
            assert!(!is_valid_sequencer(bad), "{bad:?}");
        }
    }
}
