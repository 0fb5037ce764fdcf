use std::fmt;
use std::str::FromStr;

/// The three searches Serratus summarised, one lake directory each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Nucleotide,
    Protein,
    Rdrp,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Nucleotide, Kind::Protein, Kind::Rdrp];

    /// The lake directory and CLI name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Nucleotide => "nucleotide",
            Kind::Protein => "protein",
            Kind::Rdrp => "rdrp",
        }
    }

    /// The S3 folder the Serratus pipeline wrote this kind's summaries to.
    pub fn source_folder(self) -> &'static str {
        match self {
            Kind::Nucleotide => "summary2",
            Kind::Protein => "psummary",
            Kind::Rdrp => "rsummary",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown summary kind '{}' (expected nucleotide, protein or rdrp)",
            self.0
        )
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Accepts the lake names and the Serratus source folder names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| s == k.as_str() || s == k.source_folder())
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lake_and_source_names() {
        assert_eq!("nucleotide".parse(), Ok(Kind::Nucleotide));
        assert_eq!("summary2".parse(), Ok(Kind::Nucleotide));
        assert_eq!("psummary".parse(), Ok(Kind::Protein));
        assert_eq!("rsummary".parse(), Ok(Kind::Rdrp));
        assert_eq!("rdrp".parse(), Ok(Kind::Rdrp));
        assert_eq!("x".parse::<Kind>(), Err(UnknownKind("x".into())));
    }
}
