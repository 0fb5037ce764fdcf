//! Object keys of the lake: a pure function of kind, table, partition and
//! object name, so a repeated conversion always lands on the same keys.

use crate::Table;

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
