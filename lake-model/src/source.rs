//! Serratus' source naming, in one place: which object keys are summaries
//! and of which kind (routes, with Serratus' own folders as the default),
//! the run a key names, the names a run's summary has, which files replay
//! picks up, and a file's kind from its folder or its own keys.

use std::fmt;
use std::str::FromStr;

use crate::Kind;

/// `FOLDER/*.EXT` matched against the end of a key (so any bucket prefix
/// in front is fine), giving a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    pattern: Vec<String>,
    pub kind: Kind,
}

impl RouteRule {
    pub fn new(pattern: &str, kind: Kind) -> Result<Self, String> {
        let segments: Vec<String> = pattern.split('/').map(str::to_string).collect();
        if pattern.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err(format!("route pattern {pattern:?} has an empty segment"));
        }
        Ok(RouteRule {
            pattern: segments,
            kind,
        })
    }

    pub fn matches(&self, key: &str) -> bool {
        let segments: Vec<&str> = key.split('/').collect();
        segments.len() >= self.pattern.len()
            && segments[segments.len() - self.pattern.len()..]
                .iter()
                .zip(&self.pattern)
                .all(|(segment, pattern)| glob_segment(pattern, segment))
    }
}

impl fmt::Display for RouteRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.pattern.join("/"), self.kind)
    }
}

/// `PATTERN=KIND`, e.g. `summary2/*.summary=nucleotide`.
impl FromStr for RouteRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (pattern, kind) = s
            .rsplit_once('=')
            .ok_or_else(|| format!("route {s:?} is not PATTERN=KIND"))?;
        RouteRule::new(
            pattern,
            kind.parse()
                .map_err(|e: crate::kind::UnknownKind| e.to_string())?,
        )
    }
}

/// `*` matches any run of characters within one segment.
fn glob_segment(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(mut remaining) = text.strip_prefix(head) else {
                return false;
            };
            // Greedy is enough for one star; for more, try every split.
            loop {
                if glob_segment(rest, remaining) {
                    return true;
                }
                let mut chars = remaining.chars();
                if chars.next().is_none() {
                    return false;
                }
                remaining = chars.as_str();
            }
        }
    }
}

/// The routes of the Serratus bucket.
pub fn default_routes() -> Vec<RouteRule> {
    vec![
        RouteRule::new("summary2/*.summary", Kind::Nucleotide).expect("valid"),
        RouteRule::new("psummary/*.psummary", Kind::Protein).expect("valid"),
        RouteRule::new("rsummary/*.psummary", Kind::Rdrp).expect("valid"),
    ]
}

/// The kind of the first rule matching `key`.
pub fn route(rules: &[RouteRule], key: &str) -> Option<Kind> {
    rules
        .iter()
        .find(|rule| rule.matches(key))
        .map(|rule| rule.kind)
}

/// Whether the file at `path` (a key or a local path) is named after
/// `run`: `SRR1.summary`, `SRR1.rsummary.psummary`, not `SRR10.summary`.
pub fn is_named_after(path: &str, run: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_prefix(run)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// The run a summary key names: its file name up to the first dot
/// (`summary2/SRR1.summary` is `SRR1`); used before the summary is parsed,
/// e.g. to name a dead-letter record.
pub fn run_of_key(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('.').next().unwrap_or(file)
}

/// The names a run's summary may have, in the order tried: Serratus' own
/// (`summary2/<run>.summary`, `psummary/<run>.psummary`,
/// `rsummary/<run>.psummary`), then `<run>.rsummary.psummary`, the name
/// RdRp summaries get when the three kinds share a folder.
pub fn summary_file_names(kind: Kind, run: &str) -> Vec<String> {
    match kind {
        Kind::Nucleotide => vec![format!("{run}.summary")],
        Kind::Protein => vec![format!("{run}.psummary")],
        Kind::Rdrp => vec![
            format!("{run}.psummary"),
            format!("{run}.rsummary.psummary"),
        ],
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn default_routes_follow_serratus_folders() {
        let rules = default_routes();
        assert_eq!(
            route(&rules, "summary2/SRR1.summary"),
            Some(Kind::Nucleotide)
        );
        assert_eq!(route(&rules, "psummary/SRR1.psummary"), Some(Kind::Protein));
        assert_eq!(route(&rules, "rsummary/SRR1.psummary"), Some(Kind::Rdrp));
        assert_eq!(
            route(&rules, "data/2020/rsummary/SRR1.psummary"),
            Some(Kind::Rdrp)
        );
        assert_eq!(route(&rules, "summary2/SRR1.psummary"), None);
        assert_eq!(route(&rules, "summary2/sub/SRR1.summary"), None);
        assert_eq!(route(&rules, "other/SRR1.summary"), None);
        assert_eq!(
            route(&rules, "summary2/SRR1 copy.summary"),
            Some(Kind::Nucleotide)
        );
    }

    #[test]
    fn rules_parse_from_config() {
        let rule: RouteRule = "in/*.txt=protein".parse().unwrap();
        assert_eq!(rule.kind, Kind::Protein);
        assert!(rule.matches("x/in/a.b.txt"));
        assert!(!rule.matches("in/a.txtx"));
        assert_eq!(rule.to_string(), "in/*.txt=protein");
        assert!("in/*.txt".parse::<RouteRule>().is_err());
        assert!("in/*.txt=dna".parse::<RouteRule>().is_err());
        assert!("in//*.txt=protein".parse::<RouteRule>().is_err());
        let two_stars: RouteRule = "*/*x*.s=rdrp".parse().unwrap();
        assert!(two_stars.matches("a/bxc.s"));
        assert!(!two_stars.matches("a/bc.s"));
    }

    #[test]
    fn run_names_from_keys() {
        assert_eq!(run_of_key("summary2/SRR1.summary"), "SRR1");
        assert_eq!(run_of_key("rsummary/ERR2.rsummary.psummary"), "ERR2");
        assert_eq!(run_of_key("plain"), "plain");
    }
}

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
mod file_tests {
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
