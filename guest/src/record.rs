//! One summary line as `key=value;` fields, and typed access to them.
//!
//! Serratus writes every line as `key=value;` pairs ending in `;`. Key order
//! is not guaranteed, so fields are looked up by key. A free-text key (the
//! nucleotide `topname=`/`name=`) takes the rest of the line but its final
//! `;`, since its text may itself hold `;`, `=` and `,`.

use summary_lake::keys::Partition;

use crate::error::{ParseError, ParseResult};
use crate::scan;
use crate::value::{parse_double, parse_int};
use summary_lake::text::{excerpt, quoted};

/// The fields of one line, each marked once a section parser has used it, so
/// that any key left over is reported as unknown.
pub struct Record<'a> {
    line: u32,
    fields: Vec<Field<'a>>,
    /// A bit per [`key_slot`] of the line's keys: a key whose bit is clear is
    /// not on the line, without a search.
    keys: u64,
    /// The field just after the last one looked up: section parsers often
    /// ask for keys in the order Serratus wrote them, a hit without a search.
    cursor: usize,
    /// For each [`key_slot`] set in `keys`, the index of the first field
    /// whose key has that slot (`u8::MAX` past 254 fields): a lookup
    /// compares one key, and searches only when two keys share a slot.
    slots: [u8; 64],
    /// How many fields are marked used: `finish` checks a count, not
    /// every field.
    used: usize,
}

pub(crate) struct Field<'a> {
    key: &'a str,
    value: &'a str,
    used: bool,
}

impl<'a> Record<'a> {
    /// Splits a line (without its line ending) into fields.
    pub fn parse(line: u32, text: &'a str, free_text_keys: &[&str]) -> ParseResult<Self> {
        Self::parse_in(line, text, free_text_keys, Vec::with_capacity(12))
    }

    /// [`Record::parse`] into a vector of fields kept from an earlier line
    /// ([`Record::finish_keep`]), so that a file costs one allocation, not
    /// one per line. One scan of the line: `=` ends a key, `;` a value.
    pub(crate) fn parse_in(
        line: u32,
        text: &'a str,
        free_text_keys: &[&str],
        mut fields: Vec<Field<'a>>,
    ) -> ParseResult<Self> {
        fields.clear();
        let bytes = text.as_bytes();
        let mut keys = 0u64;
        let mut slots = [0u8; 64];
        // The slots of the free-text keys: a key outside them is not one,
        // without comparing strings.
        let free_text_slots = free_text_keys
            .iter()
            .fold(0u64, |mask, k| mask | 1u64 << key_slot(k));
        let mut start = 0;
        while start < bytes.len() {
            // The key: letters, digits and '_' up to its '='. Anything else
            // (no '=', a ';' first, an empty or invalid key) is an error,
            // which `key_error` finds and words.
            let eq = start + scan::key_end(&bytes[start..]);
            if eq == start || eq == bytes.len() || bytes[eq] != b'=' {
                return Err(key_error(line, text, start));
            }
            let key = &text[start..eq];
            let from = eq + 1;
            let slot = key_slot(key);
            let bit = 1u64 << slot;
            let free_text =
                free_text_slots & bit != 0 && free_text_keys.iter().any(|k| same(k, key));
            let (value, next, suspect) = if free_text {
                match bytes.last() {
                    Some(b';') if bytes.len() > from => {
                        let value = &text[from..bytes.len() - 1];
                        (value, bytes.len(), scan::may_hold_control(value.as_bytes()))
                    }
                    _ => return Err(unterminated(line, key)),
                }
            } else {
                match scan::value_end(&bytes[from..]) {
                    (Some(semi), suspect) => (&text[from..from + semi], from + semi + 1, suspect),
                    (None, _) => return Err(unterminated(line, key)),
                }
            };
            // A key seen before has its bit set; only then compare keys.
            if keys & bit != 0 && fields.iter().any(|f| same(f.key, key)) {
                return Err(ParseError::new(line, key, "duplicate key"));
            }
            if keys & bit == 0 {
                slots[slot] = u8::try_from(fields.len()).unwrap_or(u8::MAX);
            }
            keys |= bit;
            if let Some(c) = suspect.then(|| control_character(value)).flatten() {
                return Err(ParseError::new(
                    line,
                    key,
                    format!("control character {:?} in value", c),
                ));
            }
            fields.push(Field {
                key,
                value,
                used: false,
            });
            start = next;
        }
        if fields.is_empty() {
            return Err(ParseError::new(line, "", "empty line"));
        }
        Ok(Record {
            line,
            fields,
            keys,
            cursor: 0,
            slots,
            used: 0,
        })
    }

    pub fn line(&self) -> u32 {
        self.line
    }

    #[inline(always)]
    pub fn has(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// [`Record::has`] for a key whose [`key_slot`] is `slot` (computed
    /// once per file for keys asked of every line).
    #[inline(always)]
    pub(crate) fn has_in_slot(&self, key: &str, slot: usize) -> bool {
        self.find_in_slot(key, slot).is_some()
    }

    /// The index of the field of `key`: its slot's field, else (another key
    /// shares the slot) a search.
    #[inline(always)]
    fn find(&self, key: &str) -> Option<usize> {
        self.find_in_slot(key, key_slot(key))
    }

    #[inline(always)]
    fn find_in_slot(&self, key: &str, slot: usize) -> Option<usize> {
        if self.keys & (1u64 << slot) == 0 {
            return None;
        }
        let first = usize::from(self.slots[slot]);
        match self.fields.get(first) {
            Some(field) if same(field.key, key) => Some(first),
            _ => self.fields.iter().position(|f| same(f.key, key)),
        }
    }

    /// The first key of the line other than `skip`, for errors about the
    /// line as a whole.
    pub fn first_key_except(&self, skip: &str) -> &'a str {
        self.fields
            .iter()
            .map(|f| f.key)
            .find(|k| *k != skip)
            .unwrap_or("")
    }

    #[cold]
    #[inline(never)]
    pub fn error(&self, field: &str, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, field, message)
    }

    #[inline(always)]
    fn take(&mut self, key: &str) -> Option<&'a str> {
        // Most lookups hit at the cursor: no search then.
        if let Some(field) = self.fields.get_mut(self.cursor) {
            if same(field.key, key) {
                self.cursor += 1;
                self.used += usize::from(!field.used);
                field.used = true;
                return Some(field.value);
            }
        }
        let index = self.find(key)?;
        self.cursor = index + 1;
        let field = &mut self.fields[index];
        self.used += usize::from(!field.used);
        field.used = true;
        Some(field.value)
    }

    #[inline(always)]
    fn required(&mut self, key: &str) -> ParseResult<&'a str> {
        self.take(key)
            .ok_or_else(|| ParseError::new(self.line, key, "missing required key"))
    }

    /// A required, non-empty text value.
    #[inline(always)]
    pub fn text(&mut self, key: &str) -> ParseResult<&'a str> {
        let value = self.required(key)?;
        if value.is_empty() {
            return Err(self.error(key, "empty value"));
        }
        Ok(value)
    }

    /// A required free-text value, which may be empty.
    #[inline(always)]
    pub fn free_text(&mut self, key: &str) -> ParseResult<&'a str> {
        self.required(key)
    }

    /// An optional text value; when present it must not be empty.
    #[inline(always)]
    pub fn opt_text(&mut self, key: &str) -> ParseResult<Option<&'a str>> {
        match self.take(key) {
            None => Ok(None),
            Some("") => Err(self.error(key, "empty value")),
            Some(value) => Ok(Some(value)),
        }
    }

    #[inline(always)]
    pub fn int(&mut self, key: &str) -> ParseResult<i64> {
        let value = self.required(key)?;
        parse_int(value).map_err(|message| self.error(key, message))
    }

    /// An optional integer.
    #[inline(always)]
    pub fn opt_int(&mut self, key: &str) -> ParseResult<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => parse_int(value)
                .map(Some)
                .map_err(|message| self.error(key, message)),
        }
    }

    /// A required integer that may be `?` (unknown, null).
    #[inline(always)]
    pub fn int_or_unknown(&mut self, key: &str) -> ParseResult<Option<i64>> {
        let value = self.required(key)?;
        self.unknown_or(key, value)
    }

    /// An optional integer that may also be `?` (unknown, null).
    #[inline(always)]
    pub fn opt_int_or_unknown(&mut self, key: &str) -> ParseResult<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => self.unknown_or(key, value),
        }
    }

    #[inline(always)]
    fn unknown_or(&self, key: &str, value: &str) -> ParseResult<Option<i64>> {
        if value == "?" {
            return Ok(None);
        }
        parse_int(value)
            .map(Some)
            .map_err(|message| self.error(key, message))
    }

    /// The Hive partition of a data line: its `score` and `pctid`.
    #[inline(always)]
    pub fn partition(&mut self) -> ParseResult<Partition> {
        Ok(Partition {
            score: self.percent("score")?,
            pctid: self.percent("pctid")?,
        })
    }

    /// A required value of `N` non-empty parts split on its first `N - 1`
    /// dots (`gen=Family.protein`); `shape` names the parts for the error.
    pub fn dotted<const N: usize>(&mut self, key: &str, shape: &str) -> ParseResult<[&'a str; N]> {
        let value = self.text(key)?;
        // As `value.splitn(N, '.')`, with the word-at-a-time search.
        let mut rest = Some(value);
        let split: [Option<&'a str>; N] = std::array::from_fn(|i| {
            let part = rest?;
            let dot = (i + 1 < N)
                .then(|| scan::find(part.as_bytes(), b'.'))
                .flatten();
            rest = dot.map(|at| &part[at + 1..]);
            Some(&part[..dot.unwrap_or(part.len())]).filter(|p| !p.is_empty())
        });
        match split.iter().all(Option::is_some) {
            true => Ok(split.map(|p| p.unwrap_or_default())),
            false => Err(self.error(key, format!("expected {shape}, got {}", quoted(value)))),
        }
    }

    /// A percentage partition value (`score`, `pctid`): an integer in 0..100.
    #[inline(always)]
    fn percent(&mut self, key: &str) -> ParseResult<u8> {
        let value = self.int(key)?;
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .ok_or_else(|| self.error(key, format!("{value} is outside 0..100")))
    }

    #[inline(always)]
    pub fn double(&mut self, key: &str) -> ParseResult<f64> {
        let value = self.required(key)?;
        parse_double(value).map_err(|message| self.error(key, message))
    }

    #[inline(always)]
    pub fn opt_double(&mut self, key: &str) -> ParseResult<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => parse_double(value)
                .map(Some)
                .map_err(|message| self.error(key, message)),
        }
    }

    /// `yes`/`no` (also `true`/`false`).
    pub fn boolean(&mut self, key: &str) -> ParseResult<bool> {
        match self.required(key)? {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            other => Err(self.error(
                key,
                format!("invalid boolean {} (expected yes or no)", quoted(other)),
            )),
        }
    }

    /// Fails on the first key no section parser asked for.
    pub fn finish(self) -> ParseResult<()> {
        self.finish_keep().map(drop)
    }

    /// [`Record::finish`], handing back the vector of fields for the next line.
    pub(crate) fn finish_keep(self) -> ParseResult<Vec<Field<'a>>> {
        if self.used == self.fields.len() {
            return Ok(self.fields);
        }
        match self.fields.iter().find(|f| !f.used) {
            Some(f) => Err(ParseError::new(self.line, f.key, "unknown key")),
            None => Ok(self.fields),
        }
    }
}

/// Key equality ([`scan::same`]): words, not a byte loop. Always inlined:
/// the key asked for is a constant at most call sites, and its length
/// picks the branch at compile time.
#[inline(always)]
pub(crate) fn same(a: &str, b: &str) -> bool {
    scan::same(a.as_bytes(), b.as_bytes())
}

/// One of 64 slots for a key, from its length and first and last bytes:
/// different slots mean different keys. The constants were searched so
/// that no section key shares a slot with another key of its kind (each
/// line asks for every section key, and a shared slot means a search of
/// the line's fields) and that keys of the same lines seldom share one;
/// `topaln` and `toplen` must (same length, first and last byte).
/// Always inlined: for a constant key it is a constant.
#[inline(always)]
pub(crate) fn key_slot(key: &str) -> usize {
    let bytes = key.as_bytes();
    let (first, last) = match bytes {
        [] => (0, 0),
        [first, .., last] => (*first, *last),
        [only] => (*only, *only),
    };
    let hash = (bytes.len() as u32)
        .wrapping_mul(0xbbb3_28cf)
        .wrapping_add(u32::from(first).wrapping_mul(0x6fcb_1c79))
        .wrapping_add(u32::from(last).wrapping_mul(0xb585_782d));
    (hash >> 26) as usize
}

/// The error of a field starting at `start` whose key is not letters,
/// digits and '_' up to an '=': as the field scan words it.
#[cold]
fn key_error(line: u32, text: &str, start: usize) -> ParseError {
    let bytes = text.as_bytes();
    let mut eq = start;
    while eq < bytes.len() && bytes[eq] != b'=' && bytes[eq] != b';' {
        eq += 1;
    }
    if eq == bytes.len() {
        return ParseError::new(
            line,
            &text[start..],
            "missing '=' after the key (truncated line?)",
        );
    }
    if bytes[eq] == b';' {
        return ParseError::new(line, &text[start..eq], "missing '=' after the key");
    }
    match check_key(line, &text[start..eq]) {
        Err(e) => e,
        Ok(()) => unreachable!("a valid key ends at its '='"),
    }
}

/// The first control character of a value other than a tab, as
/// `char::is_control` has them (U+0000-U+001F, U+007F-U+009F). Called only
/// on values [`scan`] found a suspect byte in.
fn control_character(value: &str) -> Option<char> {
    value.chars().find(|c| c.is_control() && *c != '\t')
}

fn check_key(line: u32, key: &str) -> ParseResult<()> {
    // The common case first: a non-empty key of letters, digits and '_'.
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Ok(());
    }
    if key.is_empty() {
        return Err(ParseError::new(line, "", "empty key before '='"));
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        let printable: String = key.chars().filter(|c| !c.is_control()).collect();
        return Err(ParseError::new(
            line,
            &printable,
            format!(
                "control character {c:?} before the key (a line break other than \\n or \\r\\n?)"
            ),
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(ParseError::new(
            line,
            key,
            "invalid key (expected letters, digits and '_')",
        ));
    }
    Ok(())
}

fn unterminated(line: u32, key: &str) -> ParseError {
    ParseError::new(line, key, "value not terminated by ';' (truncated line?)")
}

/// `key=value` pairs separated by `,`, as in `SUMZER_COMMENT=sra=..,genome=..;`.
pub struct CommaFields<'a> {
    line: u32,
    field: &'static str,
    pairs: Vec<(&'a str, &'a str, bool)>,
}

impl<'a> CommaFields<'a> {
    pub fn parse(line: u32, field: &'static str, text: &'a str) -> ParseResult<Self> {
        let mut pairs: Vec<(&'a str, &'a str, bool)> = Vec::new();
        for part in text.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(ParseError::new(
                    line,
                    field,
                    format!("missing '=' in {}", quoted(part)),
                ));
            };
            if pairs.iter().any(|(k, _, _)| *k == key) {
                return Err(ParseError::new(
                    line,
                    field,
                    format!("duplicate key '{}'", excerpt(key)),
                ));
            }
            pairs.push((key, value, false));
        }
        Ok(CommaFields { line, field, pairs })
    }

    pub fn text(&mut self, key: &str) -> ParseResult<&'a str> {
        let (line, field) = (self.line, self.field);
        let pair = self.pairs.iter_mut().find(|(k, _, _)| *k == key);
        match pair {
            None => Err(ParseError::new(
                line,
                field,
                format!("missing required key '{key}'"),
            )),
            Some((_, "", _)) => Err(ParseError::new(
                line,
                field,
                format!("empty value of '{key}'"),
            )),
            Some((_, value, used)) => {
                *used = true;
                Ok(value)
            }
        }
    }

    /// A required key whose value may be empty (`version=`): `None` then.
    pub fn text_or_empty(&mut self, key: &str) -> ParseResult<Option<&'a str>> {
        let (line, field) = (self.line, self.field);
        match self.pairs.iter_mut().find(|(k, _, _)| *k == key) {
            None => Err(ParseError::new(
                line,
                field,
                format!("missing required key '{key}'"),
            )),
            Some((_, value, used)) => {
                *used = true;
                Ok(Some(*value).filter(|v| !v.is_empty()))
            }
        }
    }

    pub fn finish(self) -> ParseResult<()> {
        match self.pairs.iter().find(|(_, _, used)| !used) {
            Some((key, _, _)) => Err(ParseError::new(
                self.line,
                self.field,
                format!("unknown key '{}'", excerpt(key)),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_as_strings_do() {
        let keys = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abce",
            "bbcd",
            "abcde",
            "abcdf",
            "score",
            "pctid",
            "famcvg",
            "seqcvg",
            "avgcols",
            "topscore",
            "toplen",
            "readlength",
            "SUMZER_COMMENT",
            "SUMZER_COMMENu",
            "ac",
            "bb",
            "abd",
            "axc",
            "xbc",
            "totalalns",
            "totalalnt",
            "uotalalns",
            "totxlalns",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(same(a, b), a == b, "{a} {b}");
                if a == b {
                    assert_eq!(key_slot(a), key_slot(b));
                }
            }
        }
    }

    /// Keys of every length up to 40 against copies differing in one byte
    /// at each position: `same` is `==`.
    #[test]
    fn keys_differing_in_one_byte_differ() {
        for n in 0..=40 {
            let key: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            assert!(same(&key, &key.clone()));
            for at in 0..n {
                let mut other = key.clone().into_bytes();
                other[at] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!same(&key, &other), "{key} {other}");
            }
            assert!(!same(&key, &format!("{key}a")));
        }
    }

    /// Lookups through the slots find every key, in any order, when keys
    /// share a slot and past 255 fields.
    #[test]
    fn lookups_find_every_key() {
        // Same length, first and last byte: one slot, whatever the hash.
        assert_eq!(key_slot("topaln"), key_slot("toplen"));
        assert_eq!(key_slot("topaln"), key_slot("tabcdn"));
        let many: String = (0..300).map(|i| format!("k{i}={i};")).collect();
        let lines = [
            "seq=1;toplen=2;tabcdn=3;famcvg=4;topaln=5;a=6;".to_string(),
            "topaln=5;famcvg=4;tabcdn=3;toplen=2;seq=1;a=6;".to_string(),
            many,
        ];
        for text in &lines {
            let pairs: Vec<(&str, &str)> = text
                .trim_end_matches(';')
                .split(';')
                .map(|f| f.split_once('=').unwrap())
                .collect();
            // Forwards, backwards, and from the middle out.
            let mut orders = vec![pairs.clone(), pairs.iter().rev().cloned().collect()];
            let (a, b) = pairs.split_at(pairs.len() / 2);
            orders.push(b.iter().chain(a).cloned().collect());
            for order in orders {
                let mut record = Record::parse(1, text, &[]).unwrap();
                for (key, value) in &order {
                    assert!(record.has(key), "{key}");
                    assert_eq!(record.take(key), Some(*value), "{key}");
                }
                for absent in ["k300", "tzzzzn", "panle", "sq", "SUMZER_COMMENTS", "b"] {
                    assert!(!record.has(absent) && record.take(absent).is_none());
                }
                record.finish().unwrap();
            }
        }
    }

    #[test]
    fn duplicate_and_invalid_keys_are_reported_as_before() {
        let error = |text: &str| Record::parse(3, text, &[]).err().unwrap().to_string();
        assert!(error("a=1;b=2;a=3;").contains("duplicate key"));
        assert!(error("seq=1;SUMZER_COMMENT=2;seq=3;").contains("duplicate key"));
        assert!(error("gen=1;famcvg=2;famcvg=3;").contains("duplicate key"));
        assert!(error("a=1;b-c=2;").contains("invalid key"));
        assert!(error("a=1;=2;").contains("empty key"));
        assert!(error("a=1;bc;").contains("missing '=' after the key"));
        assert!(error("a=1;bc").contains("truncated line"));
        let record = Record::parse(3, "score=1;pctid=2;", &[]).unwrap();
        assert!(record.has("score") && record.has("pctid") && !record.has("scorf"));
    }
}
