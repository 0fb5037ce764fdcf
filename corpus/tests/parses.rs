//! Every generated summary parses, with exactly the rows the generator meant.

use summary_corpus::generate;
use summary_guest::parse_summary;

#[test]
fn generated_summaries_parse_with_the_intended_rows() {
    let mut bytes = 0;
    for index in 0..600 {
        let generated = generate(42, index);
        let parsed = parse_summary(generated.kind, &generated.bytes)
            .unwrap_or_else(|e| panic!("{}:{e}", generated.file_name));
        assert_eq!(parsed.run, generated.run);
        let rows: Vec<(&str, u64)> = parsed
            .tables
            .iter()
            .map(|t| (t.table.name, t.len() as u64))
            .collect();
        assert_eq!(rows, generated.rows, "{}", generated.file_name);
        bytes += generated.bytes.len();
    }
    assert!(bytes > 5_000_000, "a realistic corpus: {bytes} bytes");
}
