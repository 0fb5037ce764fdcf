//! Object keys of the lake: a pure function of kind, table, partition (or
//! bucket) and object name, so a repeated conversion always lands on the
//! same keys.

use crate::layout::Bucket;
use crate::{Kind, Table};

/// Hive partition of a partitioned table: `score=<score>/pctid=<pctid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub score: u8,
    pub pctid: u8,
}

/// `<kind>/<table>/score=<s>/pctid=<p>/<name>.parquet`, or
/// `<kind>/<table>/<name>.parquet` for an unpartitioned table.
pub fn object_key(table: &Table, partition: Option<Partition>, name: &str) -> String {
    match partition {
        Some(p) => format!(
            "{}/{}/score={}/pctid={}/{}.parquet",
            table.kind, table.name, p.score, p.pctid, name
        ),
        None => format!("{}/{}/{}.parquet", table.kind, table.name, name),
    }
}

/// `<kind>/<table>/bucket=<NN>/<name>.parquet`: the `run-bucket` layout.
pub fn bucket_object_key(table: &Table, bucket: Bucket, name: &str) -> String {
    format!(
        "{}/{}/bucket={bucket}/{name}.parquet",
        table.kind, table.name
    )
}

/// The parts of a lake object key, as [`object_key`] or
/// [`bucket_object_key`] builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectKey<'k> {
    pub kind: Kind,
    pub table: &'k str,
    /// `score-pctid` layout, partitioned tables.
    pub partition: Option<Partition>,
    /// `run-bucket` layout, every table.
    pub bucket: Option<Bucket>,
    /// The file name without `.parquet`: a run accession for a per-run
    /// object, else the name of a batch shared by many runs.
    pub name: &'k str,
}

impl<'k> ObjectKey<'k> {
    /// Whether the object holds the rows of one run only (named after it).
    pub fn is_per_run(&self) -> bool {
        self.run().is_some()
    }

    /// `<kind>/<table>/[score=<s>/pctid=<p>/|bucket=<NN>/]`: the folder of
    /// the object's partition (or bucket), where objects merge together.
    pub fn folder(&self) -> String {
        let mut folder = format!("{}/{}/", self.kind, self.table);
        if let Some(p) = self.partition {
            folder.push_str(&format!("score={}/pctid={}/", p.score, p.pctid));
        }
        if let Some(bucket) = self.bucket {
            folder.push_str(&format!("bucket={bucket}/"));
        }
        folder
    }

    /// The key of an object named `name` in the same folder.
    pub fn renamed(&self, name: &str) -> String {
        format!("{}{name}.parquet", self.folder())
    }

    /// The layout the object belongs to: only `run-bucket` keys have a
    /// bucket (a run table's key without one is of `score-pctid`).
    pub fn layout(&self) -> crate::Layout {
        match self.bucket {
            Some(_) => crate::Layout::RunBucket,
            None => crate::Layout::ScorePctid,
        }
    }

    /// The run of a per-run object: its name is the run accession, or the
    /// accession and a version token (`SRR1-0a1b…`, see [`version_name`]).
    pub fn run(&self) -> Option<&'k str> {
        let run = match self.name.split_once('-') {
            Some((run, token)) if is_version_token(token) => run,
            Some(_) => return None,
            None => self.name,
        };
        is_run_accession(run).then_some(run)
    }
}

/// `<run>-<token>`: the name of the objects of one version of a run, the
/// token a hash of the version's bytes. Two versions of a run never share
/// a key, so a writer that lost the run's manifest to another can only
/// ever have written keys the winner does not use.
pub fn version_name(run: &str, token: &str) -> String {
    format!("{run}-{token}")
}

fn is_version_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses `<kind>/<table>/[score=<s>/pctid=<p>/|bucket=<NN>/]<name>.parquet`.
pub fn parse_object_key(key: &str) -> Option<ObjectKey<'_>> {
    let parts: Vec<&str> = key.split('/').collect();
    let (kind, table, partition, bucket, file) = match parts.as_slice() {
        [kind, table, score, pctid, file] => {
            let score = score.strip_prefix("score=")?.parse().ok()?;
            let pctid = pctid.strip_prefix("pctid=")?.parse().ok()?;
            (kind, table, Some(Partition { score, pctid }), None, file)
        }
        [kind, table, bucket, file] => (
            kind,
            table,
            None,
            Some(Bucket::parse_segment(bucket)?),
            file,
        ),
        [kind, table, file] => (kind, table, None, None, file),
        _ => return None,
    };
    let name = file.strip_suffix(".parquet").filter(|n| !n.is_empty())?;
    Some(ObjectKey {
        kind: kind.parse().ok()?,
        table,
        partition,
        bucket,
        name,
    })
}

/// True for an SRA run accession (`SRR`, `ERR` or `DRR` and digits): the only
/// run ids allowed into object keys, so an untrusted summary can never
/// choose a path outside its table.
pub fn is_run_accession(run: &str) -> bool {
    let digits = match run.get(..3) {
        Some("SRR" | "ERR" | "DRR") => &run[3..],
        _ => return false,
    };
    !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{NUCLEOTIDE_FAMILY, PROTEIN_SRA};

    #[test]
    fn keys_follow_the_hive_layout() {
        let p = Partition {
            score: 100,
            pctid: 92,
        };
        assert_eq!(
            object_key(&NUCLEOTIDE_FAMILY, Some(p), "SRR1"),
            "nucleotide/family/score=100/pctid=92/SRR1.parquet"
        );
        assert_eq!(
            object_key(&PROTEIN_SRA, None, "batch-ab"),
            "protein/sra/batch-ab.parquet"
        );
    }

    #[test]
    fn keys_parse_back() {
        let key = "nucleotide/family/score=100/pctid=92/SRR1.parquet";
        let parsed = parse_object_key(key).unwrap();
        assert_eq!(parsed.kind, Kind::Nucleotide);
        assert_eq!((parsed.table, parsed.name), ("family", "SRR1"));
        assert_eq!(
            parsed.partition,
            Some(Partition {
                score: 100,
                pctid: 92
            })
        );
        assert!(parsed.is_per_run());
        let versioned = parse_object_key("nucleotide/sra/SRR1-00ff.parquet").unwrap();
        assert_eq!(versioned.run(), Some("SRR1"));
        for not_per_run in [
            "nucleotide/sra/SRR1-xyz.parquet",
            "nucleotide/sra/batch-00ff.parquet",
        ] {
            assert_eq!(
                parse_object_key(not_per_run).unwrap().run(),
                None,
                "{not_per_run}"
            );
        }
        let batch = parse_object_key("rdrp/sra/backfill-0123.parquet").unwrap();
        assert_eq!((batch.partition, batch.is_per_run()), (None, false));
        let bucketed = "rdrp/family/bucket=21/SRR612821-00ff.parquet";
        assert_eq!(
            bucket_object_key(
                &crate::catalog::RDRP_FAMILY,
                Bucket::of_run("SRR612821").unwrap(),
                "SRR612821-00ff"
            ),
            bucketed
        );
        let parsed = parse_object_key(bucketed).unwrap();
        assert_eq!(parsed.folder(), "rdrp/family/bucket=21/");
        assert_eq!(
            parsed.renamed("compact-ab"),
            "rdrp/family/bucket=21/compact-ab.parquet"
        );
        let old = parse_object_key("nucleotide/family/score=100/pctid=92/SRR1.parquet").unwrap();
        assert_eq!(
            old.renamed("b"),
            "nucleotide/family/score=100/pctid=92/b.parquet"
        );
        assert_eq!(
            parse_object_key("rdrp/sra/a.parquet").unwrap().renamed("b"),
            "rdrp/sra/b.parquet"
        );
        assert_eq!(
            (parsed.partition, parsed.bucket, parsed.run()),
            (None, Bucket::new(21), Some("SRR612821"))
        );
        for bad in [
            "nucleotide/family/bucket=1/a.parquet",
            "nucleotide/family/bucket=100/a.parquet",
            "nucleotide/family/other=10/a.parquet",
            "nucleotide/family/SRR1.json",
            "nucleotide/family/score=x/pctid=1/a.parquet",
            "virus/sra/a.parquet",
            "nucleotide/sra/.parquet",
            "_manifests/nucleotide/SRR1.json",
        ] {
            assert_eq!(parse_object_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn run_accessions() {
        for ok in ["SRR612821", "ERR11444065", "DRR1"] {
            assert!(is_run_accession(ok), "{ok}");
        }
        for bad in [
            "",
            "SRR",
            "srr1",
            "SRR1/../x",
            "../SRR1",
            "SRR1.1",
            "XRR1",
            "SRR12345678901234",
            "SRR1 ",
        ] {
            assert!(!is_run_accession(bad), "{bad}");
        }
    }
}
