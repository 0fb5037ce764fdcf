//! The lake descriptor, `_lake.json` at the lake root: which layout the
//! lake's objects follow. Written (create-only) when the lake is created;
//! every command reads it first, so no command can mix two layouts in one
//! lake.

use serde::{Deserialize, Serialize};
use summary_lake::Layout;

use crate::step::read_document;

/// The descriptor's key, relative to the lake root.
pub const DESCRIPTOR_KEY: &str = "_lake.json";

pub const DESCRIPTOR_FORMAT: u32 = 1;

/// Where every lake written before descriptors existed keeps its runs:
/// such a lake has manifests under it and no descriptor.
pub const LEGACY_EVIDENCE_PREFIX: &str = "_manifests/";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeDescriptor {
    pub format: u32,
    /// `score-pctid` or `run-bucket`.
    pub layout: String,
}

impl LakeDescriptor {
    pub fn new(layout: Layout) -> Self {
        LakeDescriptor {
            format: DESCRIPTOR_FORMAT,
            layout: layout.to_string(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a descriptor serialises");
        bytes.push(b'\n');
        bytes
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        read_document(
            bytes,
            DESCRIPTOR_KEY,
            |d: &Self| d.format,
            1..=DESCRIPTOR_FORMAT,
        )
    }

    pub fn layout(&self) -> Result<Layout, String> {
        self.layout
            .parse()
            .map_err(|e| format!("{DESCRIPTOR_KEY}: {e}"))
    }
}

/// What the lake as found says about its layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Its descriptor names this layout.
    Described(Layout),
    /// No descriptor, but runs: written before descriptors, so `score-pctid`.
    Undescribed,
    /// Nothing yet: a new lake.
    Empty,
}

/// The lake's layout, and whether to write its descriptor (a new lake, or
/// one written before descriptors existed); or why `asked` (`--layout`,
/// `SUMMARY_LAYOUT`) cannot be used on this lake.
pub fn decide(found: Found, asked: Option<Layout>, lake: &str) -> Result<(Layout, bool), String> {
    let (layout, write) = match found {
        Found::Described(layout) => (layout, false),
        Found::Undescribed => (Layout::ScorePctid, true),
        Found::Empty => (asked.unwrap_or_default(), true),
    };
    match asked {
        Some(asked) if asked != layout => Err(format!(
            "{lake} is a {layout} lake ({}), not {asked}: a lake holds one layout; leave out --layout (and SUMMARY_LAYOUT) to write it as {layout}, or write {asked} to a new destination",
            match found {
                Found::Undescribed => "its runs were written before lakes had a _lake.json",
                _ => "its _lake.json says so",
            }
        )),
        _ => Ok((layout, write)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip_and_refuse_unknown_layouts_and_formats() {
        let bytes = LakeDescriptor::new(Layout::RunBucket).to_json();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "{\n  \"format\": 1,\n  \"layout\": \"run-bucket\"\n}\n"
        );
        let read = LakeDescriptor::from_json(&bytes).unwrap();
        assert_eq!(read.layout(), Ok(Layout::RunBucket));
        let odd = LakeDescriptor::from_json(br#"{"format":1,"layout":"by-day"}"#).unwrap();
        assert_eq!(
            odd.layout().unwrap_err(),
            "_lake.json: unknown lake layout 'by-day' (expected score-pctid or run-bucket)"
        );
        assert_eq!(
            LakeDescriptor::from_json(br#"{"format":2,"layout":"run-bucket"}"#).unwrap_err(),
            "_lake.json format 2 is not 1"
        );
    }

    #[test]
    fn a_lake_keeps_its_layout_and_new_lakes_take_the_asked_one_or_run_bucket() {
        use Layout::*;
        let lake = "s3://lake/x";
        assert_eq!(decide(Found::Empty, None, lake), Ok((RunBucket, true)));
        assert_eq!(
            decide(Found::Empty, Some(ScorePctid), lake),
            Ok((ScorePctid, true))
        );
        assert_eq!(
            decide(Found::Described(ScorePctid), None, lake),
            Ok((ScorePctid, false))
        );
        assert_eq!(
            decide(Found::Described(RunBucket), Some(RunBucket), lake),
            Ok((RunBucket, false))
        );
        assert_eq!(
            decide(Found::Undescribed, None, lake),
            Ok((ScorePctid, true))
        );
        assert_eq!(
            decide(Found::Described(ScorePctid), Some(RunBucket), lake).unwrap_err(),
            "s3://lake/x is a score-pctid lake (its _lake.json says so), not run-bucket: a lake holds one layout; leave out --layout (and SUMMARY_LAYOUT) to write it as score-pctid, or write run-bucket to a new destination"
        );
        assert!(decide(Found::Undescribed, Some(RunBucket), lake)
            .unwrap_err()
            .contains("written before lakes had a _lake.json"));
    }
}
