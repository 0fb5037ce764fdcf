//! The lake's physical layout: where a table's rows go, chosen once per
//! lake (its descriptor, `_lake.json`, says which).
//!
//! - `score-pctid`, the 2021 Athena layout: partitioned tables are split by
//!   `score=<s>/pctid=<p>/` (0..100 each, in the path, not in the files);
//!   a run touches dozens of partitions.
//! - `run-bucket`: every table is split by `bucket=<NN>/`, the last two
//!   digits of the run accession, so a run lookup reads one bucket;
//!   `score` and `pctid` are ordinary `int` columns inside the files.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    ScorePctid,
    /// What a new lake gets.
    #[default]
    RunBucket,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::ScorePctid, Layout::RunBucket];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::ScorePctid => "score-pctid",
            Layout::RunBucket => "run-bucket",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLayout(pub String);

impl fmt::Display for UnknownLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown lake layout '{}' (expected score-pctid or run-bucket)",
            self.0
        )
    }
}

impl std::error::Error for UnknownLayout {}

impl FromStr for Layout {
    type Err = UnknownLayout;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layout::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLayout(s.to_string()))
    }
}

/// A run's bucket in the `run-bucket` layout: the last two digits of its
/// accession (`SRR1234556` → 56), so SQL can compute it from `sra`
/// (`substr(sra, -2)` in Athena, `right(sra, 2)` in DuckDB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket(u8);

impl Bucket {
    pub const COUNT: u8 = 100;

    /// The bucket of a run accession; `None` unless it ends in two digits.
    pub fn of_run(run: &str) -> Option<Bucket> {
        match run.as_bytes() {
            [.., tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => {
                Some(Bucket((tens - b'0') * 10 + (ones - b'0')))
            }
            _ => None,
        }
    }

    pub fn new(number: u8) -> Option<Bucket> {
        (number < Self::COUNT).then_some(Bucket(number))
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// `bucket=NN`, as in object keys.
    pub fn parse_segment(segment: &str) -> Option<Bucket> {
        let digits = segment.strip_prefix("bucket=")?;
        match digits.as_bytes() {
            [b'0'..=b'9', b'0'..=b'9'] => Bucket::new(digits.parse().ok()?),
            _ => None,
        }
    }
}

impl fmt::Display for Bucket {
    /// Two digits, as in keys and in `substr(sra, -2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_by_name_and_new_lakes_are_run_bucket() {
        for layout in Layout::ALL {
            assert_eq!(layout.as_str().parse::<Layout>(), Ok(layout));
        }
        assert_eq!(Layout::default(), Layout::RunBucket);
        let error = "score".parse::<Layout>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown lake layout 'score' (expected score-pctid or run-bucket)"
        );
    }

    #[test]
    fn a_run_bucket_is_the_last_two_digits_of_its_accession() {
        assert_eq!(Bucket::of_run("SRR1234556").unwrap().to_string(), "56");
        assert_eq!(Bucket::of_run("ERR7").map(Bucket::number), None);
        assert_eq!(Bucket::of_run("DRR100").unwrap().to_string(), "00");
        assert_eq!(Bucket::of_run("SRR09").unwrap().number(), 9);
        assert_eq!(
            Bucket::parse_segment("bucket=07"),
            Some(Bucket::of_run("SRR07").unwrap())
        );
        for bad in [
            "bucket=7",
            "bucket=100",
            "bucket=-1",
            "score=07",
            "bucket=0a",
        ] {
            assert_eq!(Bucket::parse_segment(bad), None, "{bad}");
        }
    }
}
