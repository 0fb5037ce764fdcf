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
    let format = format(kind);
    let mut summary: Option<ParsedSummary> = None;
    // One vector of fields for every line: no allocation per line.
    let mut fields = Vec::with_capacity(16);
    for (index, raw) in lines(bytes).enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let text = decode_line(line, raw)?;
        let mut record = Record::parse_in(line, text, format.free_text_keys, fields)?;
        let section = section_of(kind, format, &record)?;
        match (&mut summary, section) {
            (None, 0) => {
                let (run, tables) = parse_header(kind, &mut record)?;
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
    let section = section_of(kind, format, &record)?;
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

/// Lines of the file: split on `\n`, a final newline optional.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut rest = (!bytes.is_empty()).then_some(body);
    std::iter::from_fn(move || {
        let text = rest?;
        match crate::scan::find(text, b'\n') {
            Some(end) => {
                rest = Some(&text[end + 1..]);
                Some(&text[..end])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Strips a `\r\n` line ending and checks the line is UTF-8.
fn decode_line(line: u32, raw: &[u8]) -> ParseResult<&str> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line == 1 && raw.starts_with(b"\xEF\xBB\xBF") {
        return Err(ParseError::new(
            1,
            "",
            "byte order mark at the start of the file",
        ));
    }
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
fn section_of(kind: Kind, format: &Format, record: &Record) -> ParseResult<usize> {
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
    if prefix != run {
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
