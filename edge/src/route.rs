//! Which object keys are summaries, and of which kind: configuration,
//! with Serratus' own folders as the default.

use std::fmt;
use std::str::FromStr;

use summary_layout::Kind;

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
                .map_err(|e: summary_layout::kind::UnknownKind| e.to_string())?,
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

/// The run a summary key names: its file name up to the first dot
/// (`summary2/SRR1.summary` is `SRR1`); used before the summary is parsed,
/// e.g. to name a dead-letter record.
pub fn run_of_key(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('.').next().unwrap_or(file)
}

#[cfg(test)]
mod tests {
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
