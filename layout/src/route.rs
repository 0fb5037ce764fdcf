//! Which kind a summary file is: from the folder it sits in (`nucleotide`,
//! `summary2`, ...) or, failing that, from the keys of its lines.

use crate::Kind;

/// File names replay picks up when it walks a folder.
pub fn is_summary_file_name(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".summary") || name.ends_with(".psummary"))
}

/// The kind named by the innermost folder of `path` that names one
/// (`nucleotide|protein|rdrp` or `summary2|psummary|rsummary`).
pub fn kind_from_path(path: &str) -> Option<Kind> {
    let mut folders: Vec<&str> = path.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    folders.pop(); // the file name itself names no kind
    folders.iter().rev().find_map(|folder| folder.parse().ok())
}

/// The kind a summary's own keys reveal, if they do.
///
/// Protein-style headers (protein and RdRp) say `type=protein`, nucleotide
/// headers do not. Then RdRp lines carry `phycvg=`/`vircvg=` sections and
/// protein lines `gencvg=`/`seqcvg=`; a header-only protein-style file is
/// RdRp when its genome is an RdRp search (`genome=rdrp...`).
pub fn sniff_kind(bytes: &[u8]) -> Option<Kind> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let mut lines = text.lines();
    let header = lines.next()?;
    if !header.contains("SUMZER_COMMENT=") {
        return None;
    }
    if !header.contains("type=protein") {
        return Some(Kind::Nucleotide);
    }
    for line in lines {
        for key in line
            .split(';')
            .filter_map(|field| field.split_once('=').map(|(key, _)| key))
        {
            match key {
                "phycvg" | "vircvg" => return Some(Kind::Rdrp),
                "gencvg" | "seqcvg" => return Some(Kind::Protein),
                _ => {}
            }
        }
    }
    if header.contains("genome=rdrp") {
        Some(Kind::Rdrp)
    } else {
        Some(Kind::Protein)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_from_folder_names() {
        assert_eq!(
            kind_from_path("fixtures/summaries/nucleotide/SRR1.summary"),
            Some(Kind::Nucleotide)
        );
        assert_eq!(
            kind_from_path("/data/psummary/SRR1.psummary"),
            Some(Kind::Protein)
        );
        assert_eq!(kind_from_path("rsummary/SRR1.psummary"), Some(Kind::Rdrp));
        // innermost folder wins
        assert_eq!(
            kind_from_path("protein/rdrp/SRR1.psummary"),
            Some(Kind::Rdrp)
        );
        // a file named like a kind is not a folder
        assert_eq!(kind_from_path("data/rdrp"), None);
        assert_eq!(kind_from_path("SRR1.summary"), None);
    }

    #[test]
    fn kind_from_keys() {
        let n = b"readlength=95;SUMZER_COMMENT=sra=SRR1,genome=cov3ma,version=200818,date=200911-18:01;\n";
        assert_eq!(sniff_kind(n), Some(Kind::Nucleotide));
        let head = "sra=SRR1;SUMZER_COMMENT=sra=SRR1,genome=GENOME,date=210115-07:55,type=protein;totalalns=0;readlength=0;truncated=no;\n";
        assert_eq!(
            sniff_kind(head.replace("GENOME", "rdrp1").as_bytes()),
            Some(Kind::Rdrp)
        );
        assert_eq!(
            sniff_kind(head.replace("GENOME", "protref5").as_bytes()),
            Some(Kind::Protein)
        );
        let rdrp = format!(
            "{}sra=SRR1;phycvg=___;phy=levi;score=1;pctid=2;alns=1;avgcols=3;\n",
            head.replace("GENOME", "x")
        );
        assert_eq!(sniff_kind(rdrp.as_bytes()), Some(Kind::Rdrp));
        let protein = format!(
            "{}sra=SRR1;gencvg=_;gen=A.b;score=1;pctid=2;alns=1;avgcols=3;\n",
            head.replace("GENOME", "rdrp0")
        );
        assert_eq!(sniff_kind(protein.as_bytes()), Some(Kind::Protein));
        // the rdrp0 pilot: protein-style keys, no `sra=` prefix
        let pilot = "SUMZER_COMMENT=sra=SRR5,genome=rdrp0,date=201214-05:41,type=protein;totalalns=1;readlength=151;truncated=no;\n\
                     gencvg=:.w;gen=rdrp2.yaOV13;score=100;pctid=56;alns=826;avgcols=47;\n";
        assert_eq!(sniff_kind(pilot.as_bytes()), Some(Kind::Protein));
        assert_eq!(sniff_kind(b"hello\n"), None);
        assert_eq!(sniff_kind(b""), None);
    }

    #[test]
    fn summary_file_names() {
        assert!(is_summary_file_name("SRR1.summary"));
        assert!(is_summary_file_name("SRR1.rsummary.psummary"));
        assert!(!is_summary_file_name("README.md"));
        assert!(!is_summary_file_name(".SRR1.summary"));
    }
}
