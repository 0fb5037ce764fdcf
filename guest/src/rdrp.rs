//! RdRp `.psummary` lines (`rsummary/` in S3): the protein-style header, then
//! `phycvg=` (phylum), `famcvg=` (`fam=phylum.FamilyGroup`) and `vircvg=`
//! (`vir=phylum.FamilyGroup.virus_name:accession`) lines, with optional
//! `cat=` and `depth=` (older files lack both).

use std::borrow::Cow;

use crate::error::ParseResult;
use crate::format::{Format, TableRows, HEADER_KEY};
use crate::record::Record;
use crate::value::Value;
use summary_lake::text::quoted;

pub(crate) static FORMAT: Format = Format {
    section_keys: &[HEADER_KEY, "phycvg", "famcvg", "vircvg"],
    free_text_keys: &[],
    run_prefix: true,
};

/// The phylum a Serratus RdRp code stands for; unknown codes have none.
pub fn phylum_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "dupl" => "Duplornaviricota",
        "kiti" => "Kitrinoviricota",
        "levi" => "Lenarviricota",
        "nega" => "Negarnaviricota",
        "pisu" => "Pisuviricota",
        "rdrp" => "Unclassified",
        "var" => "Deltavirus",
        _ => return None,
    })
}

/// The family a family group names: `Tombusviridae-14` is `Tombusviridae`,
/// `Unc159` is `Unclassified-159`, and a group with neither suffix
/// (`Caliciviridae`) is its own family.
pub fn family_name(group: &str) -> Cow<'_, str> {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = group.strip_prefix("Unc").filter(|n| all_digits(n)) {
        return Cow::Owned(format!("Unclassified-{n}"));
    }
    match crate::scan::rsplit_once(group, b'-') {
        Some((family, n)) if all_digits(n) && !family.is_empty() => Cow::Borrowed(family),
        _ => Cow::Borrowed(group),
    }
}

pub(crate) fn parse_row<'a>(
    section: usize,
    record: &mut Record<'a>,
    run: &'a str,
    rows: &mut TableRows<'a>,
) -> ParseResult<()> {
    let partition = Some(record.partition()?);
    let cat = Value::opt_text(record.opt_text("cat")?);
    let depth = Value::opt_double(record.opt_double("depth")?);
    let alns = Value::Int(record.int("alns")?);
    let avgcols = Value::Int(record.int("avgcols")?);
    match section {
        1 => {
            let phy = record.text("phy")?;
            rows.push(
                partition,
                [
                    Value::text(run),
                    Value::text(phy),
                    Value::opt_text(phylum_name(phy)),
                    Value::text(record.text("phycvg")?),
                    cat,
                    depth,
                    alns,
                    avgcols,
                ],
            );
        }
        2 => {
            let [phy, group] = record.dotted("fam", "phylum.FamilyGroup")?;
            rows.push(
                partition,
                [
                    Value::text(run),
                    Value::text(phy),
                    Value::opt_text(phylum_name(phy)),
                    Value::text(group),
                    Value::Text(family_name(group)),
                    Value::text(record.text("famcvg")?),
                    cat,
                    depth,
                    alns,
                    avgcols,
                ],
            );
        }
        _ => {
            let shape = "phylum.FamilyGroup.virus_name:accession";
            let [phy, group, rest] = record.dotted("vir", shape)?;
            let (virus, accession) = crate::scan::rsplit_once(rest, b':')
                .filter(|(virus, accession)| !virus.is_empty() && !accession.is_empty())
                .ok_or_else(|| {
                    record.error(
                        "vir",
                        format!(
                            "expected {shape}, got {}",
                            quoted(&format!("{phy}.{group}.{rest}"))
                        ),
                    )
                })?;
            rows.push(
                partition,
                [
                    Value::text(run),
                    Value::text(phy),
                    Value::opt_text(phylum_name(phy)),
                    Value::text(group),
                    Value::Text(family_name(group)),
                    Value::text(virus),
                    Value::text(accession),
                    Value::text(record.text("vircvg")?),
                    cat,
                    depth,
                    alns,
                    avgcols,
                ],
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_from_groups() {
        assert_eq!(family_name("Tombusviridae-14"), "Tombusviridae");
        assert_eq!(family_name("Unc159"), "Unclassified-159");
        assert_eq!(family_name("Caliciviridae"), "Caliciviridae");
        assert_eq!(family_name("Unclassified"), "Unclassified");
        assert_eq!(family_name("Foo-bar"), "Foo-bar");
        assert_eq!(family_name("-3"), "-3");
    }

    #[test]
    fn phylum_codes() {
        assert_eq!(phylum_name("levi"), Some("Lenarviricota"));
        assert_eq!(phylum_name("var"), Some("Deltavirus"));
        assert_eq!(phylum_name("xyz"), None);
    }
}
