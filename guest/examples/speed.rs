use std::time::Instant;
fn main() {
    let files: Vec<_> = (0..1000).map(|i| summary_corpus::generate(1, i)).collect();
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    for kind in summary_guest::Kind::ALL {
        let inputs: Vec<summary_guest::SummaryInput> = files.iter().filter(|f| f.kind == kind).map(|f| summary_guest::SummaryInput { kind: f.kind, source: &f.file_name, bytes: &f.bytes }).collect();
        let t = Instant::now();
        let parsed: usize = inputs.iter().map(|i| summary_guest::parse_summary(i.kind, i.bytes).unwrap().tables.len()).sum();
        let parse = t.elapsed();
        let t = Instant::now();
        let batch = summary_guest::convert_batch(&inputs).unwrap();
        let all = t.elapsed();
        let kb: usize = inputs.iter().map(|i| i.bytes.len()).sum();
        println!("{kind}: {:.1} MB parse {:?} convert {:?} objects {} ({parsed})", kb as f64/1e6, parse, all, batch.objects.len());
    }
    println!("total {:.1} MB", bytes as f64 / 1e6);
}
