//! The name of a batch's objects, `batch-<16 hex>`: a SHA-256 of each
//! input's kind, file name and bytes, so the same files give the same keys
//! wherever they are read from (a re-run overwrites, never duplicates).
//!
//! The hosts compute it natively (SHA-NI where the CPU has it) and hand it
//! to the guest with the batch: hashing every input byte inside the
//! component cost 18% of its instructions. Changing it changes the keys of
//! every existing lake, so `batch_name_is_pinned` below pins it.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::text::{hex, quoted};
use crate::Kind;

const PREFIX: &str = "batch-";
/// Hex digits after the prefix: the first 8 bytes of the digest.
const HEX_DIGITS: usize = 16;

/// One input as the name sees it.
#[derive(Clone, Copy, Debug)]
pub struct NamedInput<'a> {
    pub kind: Kind,
    /// A path or object key: only its last segment (after `/` or `\`) counts.
    pub source: &'a str,
    pub bytes: &'a [u8],
}

/// A valid batch name: `batch-` and 16 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchName(String);

impl BatchName {
    /// The name of a batch of `inputs`, in input order.
    pub fn of<'a>(inputs: impl IntoIterator<Item = NamedInput<'a>>) -> BatchName {
        let mut hash = Sha256::new();
        for input in inputs {
            let file_name = input
                .source
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or(input.source);
            hash.update(input.kind.as_str().as_bytes());
            hash.update([0]);
            hash.update((file_name.len() as u64).to_le_bytes());
            hash.update(file_name.as_bytes());
            hash.update((input.bytes.len() as u64).to_le_bytes());
            hash.update(input.bytes);
        }
        let digest = hash.finalize();
        BatchName(format!("{PREFIX}{}", hex(&digest[..HEX_DIGITS / 2])))
    }

    /// Accepts `name` only if it has the form [`BatchName::of`] gives: it
    /// comes from outside the component and becomes part of object keys.
    pub fn parse(name: &str) -> Result<BatchName, String> {
        let digits = name.strip_prefix(PREFIX).unwrap_or("");
        let well_formed = digits.len() == HEX_DIGITS
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match well_formed {
            true => Ok(BatchName(name.to_string())),
            false => Err(format!(
                "batch name {} is not `batch-` and {HEX_DIGITS} lowercase hex digits (what the hosts compute with summary_lake::BatchName::of)",
                quoted(name)
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> [NamedInput<'static>; 3] {
        [
            NamedInput {
                kind: Kind::Nucleotide,
                source: "s3://bucket/summary2/SRR1.summary",
                bytes: b"sra=SRR1;\n",
            },
            NamedInput {
                kind: Kind::Protein,
                source: "C:\\in\\ERR22.psummary",
                bytes: b"",
            },
            NamedInput {
                kind: Kind::Rdrp,
                source: "DRR333.psummary",
                bytes: &[0, 255, 10],
            },
        ]
    }

    /// Values computed by the guest's `batch_name` before it moved here
    /// (and checked with Python's hashlib): the keys of existing lakes.
    #[test]
    fn batch_name_is_pinned() {
        assert_eq!(BatchName::of(inputs()).as_str(), "batch-55c8859b58d8ac9f");
        assert_eq!(
            BatchName::of(inputs()[..1].iter().copied()).as_str(),
            "batch-009952db9d0912e8"
        );
        assert_eq!(BatchName::of([]).as_str(), "batch-e3b0c44298fc1c14");
    }

    #[test]
    fn only_the_file_name_of_the_source_counts() {
        let mut moved = inputs();
        moved[0].source = "/elsewhere/SRR1.summary";
        moved[1].source = "ERR22.psummary";
        assert_eq!(BatchName::of(moved), BatchName::of(inputs()));
        moved[2].source = "DRR334.psummary";
        assert_ne!(BatchName::of(moved), BatchName::of(inputs()));
    }

    #[test]
    fn parse_accepts_only_what_of_gives() {
        let name = BatchName::of(inputs());
        assert_eq!(BatchName::parse(name.as_str()), Ok(name));
        for bad in [
            "",
            "batch-",
            "batch-55c8859b58d8ac9",
            "batch-55c8859b58d8ac9f0",
            "batch-55C8859B58D8AC9F",
            "batch-55c8859b58d8ac9g",
            "Batch-55c8859b58d8ac9f",
            "SRR1",
            "../55c8859b58d8ac9f",
            "batch-55c8859b/8d8ac9f",
        ] {
            let error = BatchName::parse(bad).unwrap_err();
            assert!(
                error.contains("is not `batch-` and 16 lowercase hex digits"),
                "{error}"
            );
        }
    }
}
