//! Deterministic synthetic summaries: the same seed always gives the same
//! files, byte for byte, in exactly the layout the Serratus summarizers
//! wrote (the fixtures' key order and number formatting), with the rows
//! each file should produce.
//!
//! The random generator is spelled out here (SplitMix64) rather than taken
//! from a crate, so a dependency update can never change a corpus.

use std::fmt::Write;

use summary_lake::Kind;

/// One generated summary and what converting it must give.
pub struct GeneratedSummary {
    pub kind: Kind,
    pub run: String,
    /// File name, e.g. `SRR1000001.summary`.
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Rows per table of the kind, in catalog order (run table first).
    pub rows: Vec<(&'static str, u64)>,
}

/// SplitMix64: tiny, fast and fixed forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

const CVG_SYMBOLS: &[u8] = b"_.:uwaomUWAOM^";
const FAMILIES: &[&str] = &[
    "Coronaviridae",
    "Deltavirus",
    "Paramyxoviridae",
    "Hepadnaviridae",
    "Flaviviridae",
    "Picornaviridae",
    "Caliciviridae",
    "Astroviridae",
    "Reoviridae",
];
const PROTEINS: &[&str] = &["HDAg", "RdRp", "Spike", "N", "ORF1ab", "NS5"];
const PHYLA: &[&str] = &["dupl", "kiti", "levi", "nega", "pisu", "rdrp", "var"];
const GROUPS: &[&str] = &[
    "Tombusviridae-14",
    "Unc159",
    "Coronaviridae-3",
    "Botourmiaviridae-11",
    "Caliciviridae",
    "Totiviridae-10",
];
const VIRUSES: &[&str] = &[
    "phakopsora_totivirus_d",
    "picalivirus_c",
    "norovirus_gii17",
    "sapovirus_hu_gi_sapporo_mt_2010_1982",
];
/// Free text as the real metadata had it: `;`, `=`, `,` and non-ASCII.
const NAMES: &[&str] = &[
    "Severe acute respiratory syndrome coronavirus 2 isolate Wuhan-Hu-1, complete genome",
    "Bat coronavirus HKU4-1; complete genome",
    "Porcine epidemic diarrhea virus strain=CV777",
    "Human coronavirus NL63 (étude) partial orf1ab",
    "Rousettus bat coronavirus isolate GCCDC1 356",
    "Hepatitis delta virus isolate dFr2600, complete genome",
    "Virus de la hépatite delta; souche=Ω-7, génome",
];

fn coverage(rng: &mut Rng) -> String {
    (0..25).map(|_| *rng.pick(CVG_SYMBOLS) as char).collect()
}

fn accession(rng: &mut Rng) -> String {
    let prefix = rng.pick(&["MT", "KY", "AB", "MN", "NC_"]);
    format!("{prefix}{:06}.{}", rng.range(0, 999_999), rng.range(1, 3))
}

fn date(rng: &mut Rng) -> String {
    format!(
        "2009{:02}-{:02}:{:02}",
        rng.range(1, 28),
        rng.range(0, 23),
        rng.range(0, 59)
    )
}

/// How the rows spread over the score/pctid partitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// Scores uniform over 0..=100 and identities over wide ranges: the
    /// widest spread, what the conversion benchmarks use.
    #[default]
    Uniform,
    /// As in the real summaries of the fixtures: scores mostly low (nine in
    /// ten under 31), nucleotide identities 86..=99, protein and RdRp ones
    /// 45..=85. Far fewer partitions per run (the backfill figures).
    Serratus,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uniform" => Ok(Profile::Uniform),
            "serratus" => Ok(Profile::Serratus),
            _ => Err(format!("unknown profile {s:?} (uniform or serratus)")),
        }
    }
}

impl Profile {
    fn score(self, rng: &mut Rng) -> u64 {
        match self {
            Profile::Uniform => rng.range(0, 100),
            Profile::Serratus if rng.chance(90) => rng.range(0, 30),
            Profile::Serratus => rng.range(31, 100),
        }
    }

    /// `low` is the uniform profile's lowest identity (50 nucleotide, 30 protein).
    fn pctid(self, rng: &mut Rng, low: u64) -> u64 {
        match (self, low) {
            (Profile::Uniform, _) => rng.range(low, 100),
            (Profile::Serratus, 50) => rng.range(86, 99),
            (Profile::Serratus, _) => rng.range(45, 85),
        }
    }
}

/// How many body lines a file gets: mostly small, a long tail, and a few
/// multi-megabyte files; about one in ten has none at all.
fn body_lines(rng: &mut Rng) -> u64 {
    match rng.range(1, 1000) {
        1..=100 => 0,
        101..=700 => rng.range(2, 60),
        701..=990 => rng.range(60, 700),
        991..=997 => rng.range(700, 3000),
        _ => rng.range(15_000, 40_000),
    }
}

/// The `index`-th summary of a corpus; kinds take turns.
pub fn generate(seed: u64, index: u64) -> GeneratedSummary {
    generate_with(Profile::Uniform, seed, index)
}

/// The same, with rows spread over partitions as `profile` says.
pub fn generate_with(profile: Profile, seed: u64, index: u64) -> GeneratedSummary {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
    let kind = Kind::ALL[(index % 3) as usize];
    let run = format!("{}{}", rng.pick(&["SRR", "ERR", "DRR"]), 1_000_000 + index);
    let lines = body_lines(&mut rng);
    let mut text = String::with_capacity(256 + lines as usize * 160);
    let rows = match kind {
        Kind::Nucleotide => nucleotide(&mut rng, profile, &run, lines, &mut text),
        Kind::Protein => protein(&mut rng, profile, &run, lines, &mut text),
        Kind::Rdrp => rdrp(&mut rng, profile, &run, lines, &mut text),
    };
    let extension = match kind {
        Kind::Nucleotide => "summary",
        Kind::Protein => "psummary",
        Kind::Rdrp => "rsummary.psummary",
    };
    GeneratedSummary {
        kind,
        file_name: format!("{run}.{extension}"),
        run,
        bytes: text.into_bytes(),
        rows,
    }
}

fn nucleotide(
    rng: &mut Rng,
    profile: Profile,
    run: &str,
    lines: u64,
    out: &mut String,
) -> Vec<(&'static str, u64)> {
    let readlength = if lines == 0 { 0 } else { rng.range(50, 151) };
    let _ = writeln!(
        out,
        "readlength={readlength};SUMZER_COMMENT=sra={run},genome=cov3ma,version=200818,date={};",
        date(rng)
    );
    let families = if lines == 0 {
        0
    } else {
        lines.min(rng.range(1, 6))
    };
    for _ in 0..families {
        let _ = write!(
            out,
            "famcvg={};fam={};score={};pctid={};depth={:.1};aln={};glb={};len={};",
            coverage(rng),
            rng.pick(FAMILIES),
            profile.score(rng),
            profile.pctid(rng, 50),
            rng.range(1, 999) as f64 / 10.0,
            rng.range(1, 5000),
            rng.range(0, 1000),
            rng.range(1000, 32000)
        );
        if rng.chance(20) {
            let _ = write!(out, "panlen={};", rng.range(1000, 32000));
        }
        let _ = write!(
            out,
            "top={};topscore={};",
            accession(rng),
            rng.range(1, 100)
        );
        if rng.chance(95) {
            let _ = write!(out, "toplen={};", rng.range(1000, 32000));
        }
        let _ = writeln!(out, "topname={};", rng.pick(NAMES));
    }
    for _ in families..lines {
        let len = if rng.chance(3) {
            "?".to_string()
        } else {
            rng.range(500, 32000).to_string()
        };
        let _ = write!(
            out,
            "seqcvg={};seq={};score={};pctid={};depth={:.1};aln={};glb={};len={len};",
            coverage(rng),
            accession(rng),
            profile.score(rng),
            profile.pctid(rng, 50),
            rng.range(1, 999) as f64 / 10.0,
            rng.range(1, 5000),
            rng.range(0, 1000)
        );
        if rng.chance(90) {
            let _ = write!(out, "family={};", rng.pick(FAMILIES));
        }
        let _ = writeln!(out, "name={};", rng.pick(NAMES));
    }
    vec![
        ("sra", 1),
        ("family", families),
        ("sequence", lines - families),
    ]
}

fn protein_header(rng: &mut Rng, run: &str, genome: &str, lines: u64, out: &mut String) {
    let alns = if lines == 0 {
        0
    } else {
        rng.range(lines, lines * 40)
    };
    let readlength = if lines == 0 { 0 } else { rng.range(50, 151) };
    let _ = write!(
        out,
        "sra={run};SUMZER_COMMENT=sra={run},genome={genome},date={},type=protein;totalalns={alns};readlength={readlength};",
        date(rng)
    );
    // The psummarizer counts exceptions in `excepts=N;`, before `truncated=`.
    if rng.chance(5) {
        let _ = write!(out, "excepts={};", rng.range(1, 40));
    }
    out.push_str("truncated=no;");
    out.push('\n');
}

fn protein(
    rng: &mut Rng,
    profile: Profile,
    run: &str,
    lines: u64,
    out: &mut String,
) -> Vec<(&'static str, u64)> {
    protein_header(rng, run, "protref5", lines, out);
    let families = lines / 10 + u64::from(lines > 0);
    let proteins = (lines - families) / 4;
    let sequences = lines - families - proteins;
    let tail = |rng: &mut Rng| {
        format!(
            "score={};pctid={};alns={};avgcols={};",
            profile.score(rng),
            profile.pctid(rng, 30),
            rng.range(1, 20000),
            rng.range(10, 70)
        )
    };
    for _ in 0..families {
        let _ = writeln!(
            out,
            "sra={run};famcvg={};fam={};{}",
            coverage(rng),
            rng.pick(FAMILIES),
            tail(rng)
        );
    }
    for _ in 0..proteins {
        let _ = writeln!(
            out,
            "sra={run};gencvg={};gen={}.{};{}",
            coverage(rng),
            rng.pick(FAMILIES),
            rng.pick(PROTEINS),
            tail(rng)
        );
    }
    for _ in 0..sequences {
        let _ = writeln!(
            out,
            "sra={run};seqcvg={};seq={}.{}.{};{}",
            coverage(rng),
            rng.pick(FAMILIES),
            rng.pick(PROTEINS),
            accession(rng),
            tail(rng)
        );
    }
    vec![
        ("sra", 1),
        ("family", families),
        ("protein", proteins),
        ("sequence", sequences),
    ]
}

fn rdrp(
    rng: &mut Rng,
    profile: Profile,
    run: &str,
    lines: u64,
    out: &mut String,
) -> Vec<(&'static str, u64)> {
    protein_header(rng, run, "rdrp1", lines, out);
    let phyla = lines.min(7);
    let families = (lines - phyla) / 8;
    let viruses = lines - phyla - families;
    // cat= and depth= are optional (older files lack both)
    let tail = |rng: &mut Rng| {
        let cat = if rng.chance(90) {
            format!("cat={};", rng.pick(&["N", "n"]))
        } else {
            String::new()
        };
        let (score, pctid) = (profile.score(rng), profile.pctid(rng, 30));
        let depth = if rng.chance(95) {
            format!("depth={:.1};", rng.range(1, 999) as f64 / 10.0)
        } else {
            String::new()
        };
        format!(
            "{cat}score={score};{depth}pctid={pctid};alns={};avgcols={};",
            rng.range(1, 900),
            rng.range(10, 70)
        )
    };
    for i in 0..phyla {
        let _ = writeln!(
            out,
            "sra={run};phycvg={};phy={};{}",
            coverage(rng),
            PHYLA[i as usize],
            tail(rng)
        );
    }
    for _ in 0..families {
        let _ = writeln!(
            out,
            "sra={run};famcvg={};fam={}.{};{}",
            coverage(rng),
            rng.pick(PHYLA),
            rng.pick(GROUPS),
            tail(rng)
        );
    }
    for _ in 0..viruses {
        let _ = writeln!(
            out,
            "sra={run};vircvg={};vir={}.{}.{}:QED{:05};{}",
            coverage(rng),
            rng.pick(PHYLA),
            rng.pick(GROUPS),
            rng.pick(VIRUSES),
            rng.range(0, 99999),
            tail(rng)
        );
    }
    vec![
        ("sra", 1),
        ("phylum", phyla),
        ("family", families),
        ("sequence", viruses),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        for i in 0..30 {
            assert_eq!(generate(7, i).bytes, generate(7, i).bytes);
        }
        assert_ne!(generate(7, 1).bytes, generate(8, 1).bytes);
    }

    #[test]
    fn sizes_spread_from_headers_to_megabytes() {
        let sizes: Vec<usize> = (0..1000).map(|i| generate(1, i).bytes.len()).collect();
        assert!(sizes.iter().any(|s| *s < 300), "header-only files");
        assert!(
            sizes.iter().any(|s| (50_000..150_000).contains(s)),
            "~100 KB files"
        );
        assert!(sizes.iter().any(|s| *s > 2_000_000), "multi-MB tail");
    }
}

/// `runs` summaries of each kind, in [`Kind::ALL`] order: the first of the
/// corpus `(profile, seed)` that are of that kind (the benchmark's batches
/// of 1,000 runs).
pub fn batches_by_kind(profile: Profile, seed: u64, runs: usize) -> Vec<Vec<GeneratedSummary>> {
    let mut batches: Vec<Vec<GeneratedSummary>> = Kind::ALL.iter().map(|_| Vec::new()).collect();
    let mut index = 0;
    while batches.iter().any(|b| b.len() < runs) {
        let summary = generate_with(profile, seed, index);
        index += 1;
        let slot = Kind::ALL.iter().position(|k| *k == summary.kind).unwrap();
        if batches[slot].len() < runs {
            batches[slot].push(summary);
        }
    }
    batches
}
