//! A whole summary file: lines, header first, each line routed by its
//! section key to the table it feeds. All or nothing: the first error
//! rejects the file.

use summary_lake::catalog::tables_of;
use summary_lake::{Kind, Table};

use crate::error::{ParseError, ParseResult};
pub use crate::format::TableRows;
use crate::format::{Format, HEADER_KEY};
use crate::record::Record;
use crate::{nucleotide, protein, rdrp};
use summary_lake::text::{excerpt, quoted};

/// The rows one summary contributes to each table of its kind.
#[derive(Debug)]
pub struct ParsedSummary<'a> {
    pub kind: Kind,
    pub run: &'a str,
    /// One entry per table of the kind, in catalog order (run table first).
    pub tables: Vec<TableRows<'a>>,
}

fn format(kind: Kind) -> &'static Format {
    match kind {
        Kind::Nucleotide => &nucleotide::FORMAT,
        Kind::Protein => &protein::FORMAT,
        Kind::Rdrp => &rdrp::FORMAT,
    }
}

/// Parses a whole summary of the given kind.
pub fn parse_summary(kind: Kind, bytes: &[u8]) -> ParseResult<ParsedSummary<'_>> {
    parse_summary_sized(kind, bytes, &[])
}

/// [`parse_summary`] with room made up front for `rows[i]` rows of table
/// `i` (a guess: more rows still fit, and unused room is handed back).
/// Growing from empty copied each table's rows about once more (3% of
/// the component's time on batches of 1,000 runs, where the allocator
/// cannot extend a block in place as glibc's `mremap` does).
pub(crate) fn parse_summary_sized<'a>(
    kind: Kind,
    bytes: &'a [u8],
    rows: &[usize],
) -> ParseResult<ParsedSummary<'a>> {
    let mut parsed = parse_lines(kind, bytes, rows)?;
    if !rows.is_empty() {
        parsed.tables.iter_mut().for_each(TableRows::shrink_to_fit);
    }
    Ok(parsed)
}

fn parse_lines<'a>(kind: Kind, bytes: &'a [u8], rows: &[usize]) -> ParseResult<ParsedSummary<'a>> {
    let format = format(kind);
    let mut summary: Option<ParsedSummary> = None;
    // One vector of fields for every line: no allocation per line.
    let mut fields = Vec::with_capacity(16);
    // A file valid as a whole has every line valid: one check of the file,
    // not one per line. Otherwise each line is checked, so that an error
    // in an earlier line is still the one reported.
    let whole = crate::scan::utf8(bytes);
    let section_slots = format.section_slots();
    for (index, (start, end)) in lines(bytes).enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let text = match whole {
            Some(whole) => line_of(line, &whole[start..end])?,
            None => decode_line(line, &bytes[start..end])?,
        };
        let mut record = Record::parse_in(line, text, format.free_text_keys, fields)?;
        let section = section_of(kind, format, &section_slots, &record)?;
        match (&mut summary, section) {
            (None, 0) => {
                let (run, mut tables) = parse_header(kind, &mut record)?;
                for (table, &rows) in tables.iter_mut().zip(rows) {
                    table.reserve(rows);
                }
                fields = record.finish_keep()?;
                summary = Some(ParsedSummary { kind, run, tables });
            }
            (None, _) => {
                return Err(record.error(
                    format.section_keys[section],
                    format!("the summary must start with its header line ({HEADER_KEY}=)"),
                ))
            }
            (Some(_), 0) => return Err(record.error(HEADER_KEY, "second header line")),
            (Some(summary), _) => {
                if format.run_prefix {
                    check_run_prefix(&mut record, summary.run)?;
                }
                let rows = &mut summary.tables[section];
                match kind {
                    Kind::Nucleotide => {
                        nucleotide::parse_row(section, &mut record, summary.run, rows)?
                    }
                    Kind::Protein => protein::parse_row(section, &mut record, summary.run, rows)?,
                    Kind::Rdrp => rdrp::parse_row(section, &mut record, summary.run, rows)?,
                }
                fields = record.finish_keep()?;
            }
        }
    }
    summary.ok_or_else(|| ParseError::new(1, HEADER_KEY, "empty summary: no header line"))
}

/// Parses one line on its own, as it would be read inside a summary of the
/// given kind whose header names `run`: the check for lines quoted out of
/// their files (notebook excerpts). Returns the table the line feeds.
pub fn parse_line<'a>(kind: Kind, run: &'a str, text: &'a str) -> ParseResult<&'static Table> {
    let format = format(kind);
    let mut record = Record::parse(1, text, format.free_text_keys)?;
    let section_slots = format.section_slots();
    let section = section_of(kind, format, &section_slots, &record)?;
    let mut tables = tables_of(kind).map(TableRows::new).collect::<Vec<_>>();
    if section == 0 {
        parse_header(kind, &mut record)?;
    } else {
        if format.run_prefix {
            check_run_prefix(&mut record, run)?;
        }
        match kind {
            Kind::Nucleotide => {
                nucleotide::parse_row(section, &mut record, run, &mut tables[section])?
            }
            Kind::Protein => protein::parse_row(section, &mut record, run, &mut tables[section])?,
            Kind::Rdrp => rdrp::parse_row(section, &mut record, run, &mut tables[section])?,
        }
    }
    record.finish()?;
    Ok(tables[section].table)
}

fn parse_header<'a>(
    kind: Kind,
    record: &mut Record<'a>,
) -> ParseResult<(&'a str, Vec<TableRows<'a>>)> {
    let mut tables = tables_of(kind).map(TableRows::new).collect::<Vec<_>>();
    let run = match kind {
        Kind::Nucleotide => nucleotide::parse_header(record, &mut tables[0])?,
        Kind::Protein | Kind::Rdrp => protein::parse_header(record, &mut tables[0])?,
    };
    Ok((run, tables))
}

/// The byte ranges of the file's lines: split on `\n`, a final newline
/// optional.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let body = bytes.strip_suffix(b"\n").map_or(bytes.len(), <[u8]>::len);
    let mut start = (!bytes.is_empty()).then_some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match crate::scan::find(&bytes[from..body], b'\n') {
            Some(length) => {
                start = Some(from + length + 1);
                Some((from, from + length))
            }
            None => {
                start = None;
                Some((from, body))
            }
        }
    })
}

/// Strips a `\r\n` line ending of a line already known to be UTF-8.
#[inline]
fn line_of(line: u32, text: &str) -> ParseResult<&str> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    check_bom(line, text.as_bytes())?;
    Ok(text)
}

fn check_bom(line: u32, raw: &[u8]) -> ParseResult<()> {
    if line == 1 && raw.starts_with(b"\xEF\xBB\xBF") {
        return Err(ParseError::new(
            1,
            "",
            "byte order mark at the start of the file",
        ));
    }
    Ok(())
}

/// Strips a `\r\n` line ending and checks the line is UTF-8.
fn decode_line(line: u32, raw: &[u8]) -> ParseResult<&str> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    check_bom(line, raw)?;
    std::str::from_utf8(raw).map_err(|e| {
        let bad = e.valid_up_to();
        ParseError::new(
            line,
            key_at(&raw[..bad]),
            format!(
                "invalid UTF-8 (byte 0x{:02X} at column {})",
                raw[bad],
                bad + 1
            ),
        )
    })
}

/// The key of the field that `prefix` (a line cut inside a value) ends in.
fn key_at(prefix: &[u8]) -> &str {
    let start = prefix.iter().rposition(|b| *b == b';').map_or(0, |i| i + 1);
    let field = &prefix[start..];
    let key = field
        .iter()
        .position(|b| *b == b'=')
        .map_or(&field[..0], |i| &field[..i]);
    std::str::from_utf8(key).unwrap_or("")
}

/// Which section (index into the kind's tables) a line belongs to.
fn section_of(kind: Kind, format: &Format, slots: &[usize], record: &Record) -> ParseResult<usize> {
    // The common case, one section key, in a plain loop; a key whose
    // slot is clear is absent without a search.
    let mut section = None;
    // Indexed, not zipped: in the component the zip's `next` stays a call
    // per key (2-4% of run-bucket's time, interleaved rounds).
    #[allow(clippy::needless_range_loop)]
    for index in 0..format.section_keys.len().min(slots.len()) {
        if record.has_in_slot(format.section_keys[index], slots[index]) {
            if section.is_some() {
                return Err(section_error(kind, format, record));
            }
            section = Some(index);
        }
    }
    section.ok_or_else(|| section_error(kind, format, record))
}

/// The error of a line with no section key, or more than one.
#[cold]
fn section_error(kind: Kind, format: &Format, record: &Record) -> ParseError {
    match section_of_checked(kind, format, record) {
        Err(e) => e,
        Ok(_) => unreachable!("a line with one section key has a section"),
    }
}

fn section_of_checked(kind: Kind, format: &Format, record: &Record) -> ParseResult<usize> {
    let mut found = format
        .section_keys
        .iter()
        .enumerate()
        .filter(|(_, key)| record.has(key));
    match (found.next(), found.next()) {
        (Some((index, _)), None) => Ok(index),
        (Some((_, a)), Some((_, b))) => Err(record.error(
            b,
            format!(
                "a line cannot hold both '{}=' and '{}=' sections",
                excerpt(a),
                excerpt(b)
            ),
        )),
        (None, _) => {
            let key = record.first_key_except("sra");
            let mut message = format!(
                "unknown {kind} section (expected a line with {})",
                format
                    .section_keys
                    .iter()
                    .map(|k| format!("'{k}='"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if kind == Kind::Rdrp && (record.has("gencvg") || record.has("seqcvg")) {
                message.push_str("; this is a protein-style line, as the rdrp0 pilot wrote: convert such files as protein");
            }
            Err(record.error(key, message))
        }
    }
}

/// A line's `sra=` prefix, where it has one, must name the header's run.
fn check_run_prefix(record: &mut Record, run: &str) -> ParseResult<()> {
    // As `has` then `text`, in one lookup: the prefix is the first field.
    let Some(prefix) = record.opt_text("sra")? else {
        return Ok(());
    };
    // Word compares, not a call to memcmp.
    if !crate::record::same(prefix, run) {
        return Err(record.error(
            "sra",
            format!(
                "run {} differs from the header's run {}",
                quoted(prefix),
                quoted(run)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line asks for each section key of its kind: a key of the
    /// fixtures sharing a section key's slot would cost every such line a
    /// search of its fields ([`crate::record::key_slot`]).
    #[test]
    fn no_key_shares_a_section_key_slot() {
        use crate::record::key_slot;
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/summaries");
        for kind in Kind::ALL {
            let mut keys = std::collections::BTreeSet::new();
            for entry in std::fs::read_dir(dir.join(kind.as_str())).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for field in text.lines().flat_map(|line| line.split(';')) {
                    if let Some((key, _)) = field.split_once('=') {
                        keys.insert(key.to_string());
                    }
                }
            }
            assert!(keys.len() > 10, "keys of {kind}: {keys:?}");
            for section in format(kind).section_keys {
                for key in keys.iter().filter(|k| k.as_str() != *section) {
                    assert_ne!(
                        key_slot(key),
                        key_slot(section),
                        "{kind}: {key} and {section}"
                    );
                }
            }
        }
    }

    /// The room made for rows, too little, enough or far too much, changes
    /// no row, and unused room is handed back.
    #[test]
    fn room_for_rows_changes_no_row() {
        for index in 0..60 {
            let file = summary_corpus::generate(7, index);
            let plain = parse_summary(file.kind, &file.bytes).unwrap();
            let counts: Vec<usize> = plain.tables.iter().map(TableRows::len).collect();
            let guesses = [
                vec![],
                vec![0; counts.len()],
                vec![1; counts.len()],
                counts.clone(),
                counts.iter().map(|c| c * 3 + 100).collect(),
            ];
            for rows in guesses {
                let sized = parse_summary_sized(file.kind, &file.bytes, &rows).unwrap();
                assert_eq!(sized.run, plain.run);
                for (a, b) in sized.tables.iter().zip(&plain.tables) {
                    assert_eq!(a.partitions, b.partitions, "{} {rows:?}", file.file_name);
                    assert_eq!(a.values, b.values, "{} {rows:?}", file.file_name);
                    if !rows.is_empty() {
                        assert_eq!(a.values.capacity(), a.values.len());
                    }
                }
            }
        }
    }
}
