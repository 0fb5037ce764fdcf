//! The converter through wasmtime gives exactly what the native build gives.

use crate::support::common;

use summary_guest::{batch_name, convert_batch, SummaryInput};
use summary_lake::Kind;
use summary_pipeline::convert::{Convert, Outcome, ParseError, Summary};
use summary_uploader::converter::{Converter, GuestLimits};

fn load(limits: GuestLimits) -> Converter {
    Converter::load(&common::component_path(), None, limits).unwrap()
}

fn summaries(kind: Kind) -> Vec<Summary> {
    common::fixture_files(kind.as_str())
        .into_iter()
        .map(|path| Summary {
            kind,
            source: path.display().to_string(),
            bytes: std::fs::read(&path).unwrap(),
        })
        .collect()
}

fn native(summaries: &[Summary], layout: summary_lake::Layout) -> summary_guest::Batch {
    let inputs: Vec<SummaryInput> = summaries
        .iter()
        .map(|s| SummaryInput {
            kind: s.kind,
            source: &s.source,
            bytes: &s.bytes,
        })
        .collect();
    convert_batch(&inputs, layout, &batch_name(&inputs)).unwrap()
}

#[test]
fn component_and_native_give_identical_bytes() {
    let converter = load(GuestLimits::default());
    for (kind, layout) in Kind::ALL
        .into_iter()
        .flat_map(|kind| summary_lake::Layout::ALL.map(|layout| (kind, layout)))
    {
        let summaries = summaries(kind);
        let wasm = converter.convert(layout, &summaries).unwrap();
        let native = native(&summaries, layout);
        assert_eq!(wasm.objects.len(), native.objects.len(), "{kind} {layout}");
        // One object per table and bucket, or per table and partition.
        let fewest = match layout {
            summary_lake::Layout::ScorePctid => 20,
            summary_lake::Layout::RunBucket => 10,
        };
        assert!(
            wasm.objects.len() > fewest,
            "{kind} {layout}: {} objects",
            wasm.objects.len()
        );
        for (w, n) in wasm.objects.iter().zip(&native.objects) {
            assert_eq!(w.key, n.key);
            assert_eq!(w.rows, n.rows, "{}", w.key);
            assert!(
                w.bytes == n.bytes,
                "{}: component and native bytes differ",
                w.key
            );
        }
        assert_eq!(wasm.outcomes.len(), 20);
        for (w, n) in wasm.outcomes.iter().zip(&native.outcomes) {
            match (w, n) {
                (
                    Outcome::Converted {
                        run: wasm_run,
                        tables: wasm_tables,
                    },
                    summary_guest::Outcome::Converted { run, tables },
                ) => {
                    assert_eq!(wasm_run, run);
                    let counts: Vec<(&str, u64)> = wasm_tables
                        .iter()
                        .map(|(table, rows)| (table.as_str(), *rows))
                        .collect();
                    let native_counts: Vec<(&str, u64)> =
                        tables.iter().map(|t| (t.table, t.rows)).collect();
                    assert_eq!(counts, native_counts);
                }
                other => panic!("outcomes differ: {other:?}"),
            }
        }
    }
}

#[test]
fn batch_of_one_through_the_component_is_run_named() {
    let converter = load(GuestLimits::default());
    let one = &summaries(Kind::Nucleotide)[..1];
    let batch = converter
        .convert(summary_lake::Layout::ScorePctid, one)
        .unwrap();
    assert!(!batch.objects.is_empty());
    for object in &batch.objects {
        assert!(
            object.key.ends_with("/DRR11074882.parquet"),
            "{}",
            object.key
        );
        assert!(object.key.starts_with("nucleotide/"));
    }
    let sra = batch
        .objects
        .iter()
        .find(|o| o.key == "nucleotide/sra/DRR11074882.parquet")
        .unwrap();
    assert_eq!(
        (sra.table.as_str(), sra.partition.is_none(), sra.rows),
        ("sra", true, 1)
    );
    let family = batch.objects.iter().find(|o| o.table == "family").unwrap();
    let partition = family.partition.unwrap();
    assert_eq!(
        (partition.score, partition.pctid),
        (100, 91),
        "keys sort as text: score=100 before score=46"
    );
}

#[test]
fn a_bad_summary_fails_alone_through_the_component() {
    let converter = load(GuestLimits::default());
    let mut batch = summaries(Kind::Rdrp);
    batch[3].bytes = b"sra=SRR1;SUMZER_COMMENT=sra=SRR1,genome=rdrp1,date=d,type=protein;totalalns=0;readlength=0;truncated=no;\nsra=SRR1;phycvg=w;phy=levi;score=abc;pctid=1;alns=1;avgcols=1;\n".to_vec();
    let result = converter
        .convert(summary_lake::Layout::ScorePctid, &batch)
        .unwrap();
    let failed: Vec<(usize, &ParseError)> = result
        .outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Outcome::Failed(e) => Some((i, e)),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].0, failed[0].1.line, failed[0].1.field.as_str()),
        (3, 2, "score")
    );
    assert_eq!(failed[0].1.message, r#"invalid integer "abc""#);
    let sra = result.objects.iter().find(|o| o.table == "sra").unwrap();
    assert_eq!(sra.rows, 19);
}

#[test]
fn a_guest_over_its_memory_limit_is_stopped_and_the_next_call_works() {
    let tight = GuestLimits {
        base_memory: 2 << 20,
        memory_per_input_byte: 0,
        ..GuestLimits::default()
    };
    let converter = load(tight);
    let error = converter
        .convert(summary_lake::Layout::ScorePctid, &summaries(Kind::Rdrp))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("the converter failed on this batch: too large: needed more than 2097152 bytes of guest memory"),
        "{error}"
    );
    // a generous converter in the same process still converts
    let converter = load(GuestLimits::default());
    assert_eq!(
        converter
            .convert(summary_lake::Layout::ScorePctid, &summaries(Kind::Rdrp))
            .unwrap()
            .outcomes
            .len(),
        20
    );
}

/// The component called directly, with a batch name of the test's choosing
/// (the host's `Converter` always passes the right one).
mod direct {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "summary-converter",
    });

    use exports::serratus::summary::converter::{Batch, Kind, Layout, Summary};
    use wasmtime::component::{Component, Linker, ResourceTable};
    use wasmtime::{Engine, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    struct State {
        wasi: WasiCtx,
        table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    /// `convert(run-bucket, batch_name, summaries)` in a fresh instance.
    pub fn convert(
        batch_name: &str,
        summaries: &[(super::Kind, String, Vec<u8>)],
    ) -> Result<Batch, String> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, super::common::component_path()).unwrap();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        let mut store = Store::new(
            &engine,
            State {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        let instance = SummaryConverter::instantiate(&mut store, &component, &linker).unwrap();
        let summaries: Vec<Summary> = summaries
            .iter()
            .map(|(kind, source, bytes)| Summary {
                kind: match kind {
                    super::Kind::Nucleotide => Kind::Nucleotide,
                    super::Kind::Protein => Kind::Protein,
                    super::Kind::Rdrp => Kind::Rdrp,
                },
                source: source.clone(),
                bytes: bytes.clone(),
            })
            .collect();
        instance
            .serratus_summary_converter()
            .call_convert(&mut store, Layout::RunBucket, batch_name, &summaries)
            .unwrap()
    }
}

#[test]
fn the_component_names_a_batch_as_told_and_rejects_a_malformed_name() {
    let fixtures: Vec<(Kind, String, Vec<u8>)> = summaries(Kind::Protein)[..3]
        .iter()
        .map(|s| (s.kind, s.source.clone(), s.bytes.clone()))
        .collect();
    // Any well-formed name is taken as given: the guest hashes nothing.
    let batch = direct::convert("batch-0123456789abcdef", &fixtures).unwrap();
    assert!(batch.objects.len() > 3, "{}", batch.objects.len());
    assert!(
        batch
            .objects
            .iter()
            .all(|o| o.key.ends_with("/batch-0123456789abcdef.parquet")),
        "{:?}",
        batch.objects.iter().map(|o| &o.key).collect::<Vec<_>>()
    );
    // A batch of one is named after its run, whatever the name.
    let one = direct::convert("batch-0123456789abcdef", &fixtures[..1]).unwrap();
    assert!(one
        .objects
        .iter()
        .all(|o| o.key.ends_with("/DRR1017695.parquet")));
    // Anything else is refused, a batch of one included: it would become
    // part of object keys.
    for (name, inputs) in [
        ("", &fixtures[..]),
        ("../../sra/x", &fixtures[..]),
        ("batch-0123456789ABCDEF", &fixtures[..]),
        ("batch-0123456789abcde", &fixtures[..]),
        ("DRR1017695", &fixtures[..1]),
    ] {
        let error = direct::convert(name, inputs).unwrap_err();
        assert_eq!(
            error,
            format!(
                "batch name \"{name}\" is not `batch-` and 16 lowercase hex digits (what the hosts compute with summary_lake::BatchName::of)"
            )
        );
    }
}

/// More concurrent calls than the pool has instance slots (16) wait for a
/// slot instead of failing, and every call, on a fresh or a reused slot,
/// gives the same objects.
#[test]
fn more_concurrent_calls_than_instance_slots_all_convert_alike() {
    let converter = load(GuestLimits::default());
    let summaries = summaries(Kind::Nucleotide);
    let layout = summary_lake::Layout::RunBucket;
    let expected = native(&summaries, layout);
    let batches: Vec<_> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..40)
            .map(|_| scope.spawn(|| converter.convert(layout, &summaries)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(batches.len(), 40);
    for batch in batches {
        let batch = batch.expect("every call beyond the slots waits and converts");
        assert_eq!(batch.objects.len(), expected.objects.len());
        for (w, n) in batch.objects.iter().zip(&expected.objects) {
            assert_eq!(w.key, n.key);
            assert!(w.bytes == n.bytes, "{}: bytes differ", w.key);
        }
    }
}
