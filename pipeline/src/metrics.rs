//! The process's metrics, in one registry rendered in the Prometheus text
//! format (`serve`'s `GET /metrics`, `consume-sqs --metrics-listen`) and
//! read back as [`Figures`] by the commands that end (`replay`, `backfill`,
//! `compact` print them). Counting is a few atomic additions: the
//! functions here are called wherever the thing happens, whatever host or
//! command runs it. Names follow Prometheus' conventions: `summary_` first,
//! `_total` for counters, the unit (`_seconds`, `_bytes`) before it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Record outcomes, as the `outcome` label of `summary_records_total`.
pub const OUTCOMES: [&str; 7] = [
    "landed",
    "unchanged",
    "older",
    "dead_lettered",
    "failed",
    "not_a_summary",
    "source_gone",
];

/// What a lake object is, as the `type` label of the lake counters
/// (told from its key: see [`object_type`]).
pub const OBJECT_TYPES: [&str; 6] = [
    "parquet",
    "manifest",
    "dead_letter",
    "checkpoint",
    "journal",
    "other",
];

/// Why an AWS call was tried again, as the `cause` label of `summary_retries_total`.
pub const RETRY_CAUSES: [&str; 4] = ["throttled", "server_error", "transport", "credentials"];

type Labels = [(&'static str, &'static str); 1];

struct Metrics {
    registry: Registry,
    events: Counter,
    records: Family<Labels, Counter>,
    objects_written: Family<Labels, Counter>,
    bytes_written: Family<Labels, Counter>,
    objects_deleted: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    precondition_failures: Family<Labels, Counter>,
    event_seconds: Histogram,
    conversion_seconds: Histogram,
    events_in_flight: Gauge,
    requests_in_flight: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        // 5 ms to about 80 s, doubling.
        let seconds = || Histogram::new(exponential_buckets(0.005, 2.0, 15));
        let metrics = Metrics {
            registry: Registry::with_prefix("summary"),
            events: Counter::default(),
            records: Family::default(),
            objects_written: Family::default(),
            bytes_written: Family::default(),
            objects_deleted: Family::default(),
            retries: Family::default(),
            precondition_failures: Family::default(),
            event_seconds: seconds(),
            conversion_seconds: seconds(),
            events_in_flight: Gauge::default(),
            requests_in_flight: Gauge::default(),
        };
        // Every known label value from the start: a scrape shows zeros
        // rather than missing series, and rates work from the first sample.
        for outcome in OUTCOMES {
            let _ = metrics.records.get_or_create(&[("outcome", outcome)]);
        }
        for kind in OBJECT_TYPES {
            let _ = metrics.objects_written.get_or_create(&[("type", kind)]);
            let _ = metrics.bytes_written.get_or_create(&[("type", kind)]);
            let _ = metrics.objects_deleted.get_or_create(&[("type", kind)]);
        }
        for cause in RETRY_CAUSES {
            let _ = metrics.retries.get_or_create(&[("cause", cause)]);
        }
        metrics.register()
    }

    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "events",
            "Event documents processed (each holds one or more records)",
            self.events.clone(),
        );
        r.register(
            "records",
            "Records (objects named by events, or summary files of a batch command) by outcome",
            self.records.clone(),
        );
        r.register(
            "lake_objects_written",
            "Objects written to the lake by type (a put of identical bytes is not counted)",
            self.objects_written.clone(),
        );
        r.register_with_unit(
            "lake_written",
            "Bytes of the objects written to the lake, by type",
            Unit::Bytes,
            self.bytes_written.clone(),
        );
        r.register(
            "lake_objects_deleted",
            "Objects deleted from the lake by type",
            self.objects_deleted.clone(),
        );
        r.register(
            "retries",
            "AWS calls tried again, by cause",
            self.retries.clone(),
        );
        r.register(
            "precondition_failures",
            "Conditional lake writes refused because the object changed meanwhile, by step",
            self.precondition_failures.clone(),
        );
        r.register_with_unit(
            "event_duration",
            "Time from an event document's start to every record's outcome",
            Unit::Seconds,
            self.event_seconds.clone(),
        );
        r.register_with_unit(
            "conversion_duration",
            "Time of one converter call (a summary, or a batch of them)",
            Unit::Seconds,
            self.conversion_seconds.clone(),
        );
        r.register(
            "events_in_flight",
            "Event documents being processed now",
            self.events_in_flight.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "HTTP requests being answered now (serve)",
            self.requests_in_flight.clone(),
        );
        self
    }
}

/// Every metric, in the Prometheus text format (version 0.0.4).
pub fn render() -> String {
    let mut text = String::new();
    prometheus_text::encode(&mut text, &METRICS.registry).expect("writing to a String");
    text
}

/// An event document is being processed until the guard drops; its
/// duration is observed then.
pub fn event_started() -> EventGuard {
    METRICS.events.inc();
    METRICS.events_in_flight.inc();
    EventGuard(std::time::Instant::now())
}

pub struct EventGuard(std::time::Instant);

impl Drop for EventGuard {
    fn drop(&mut self) {
        METRICS.events_in_flight.dec();
        METRICS
            .event_seconds
            .observe(self.0.elapsed().as_secs_f64());
    }
}

/// An HTTP request is being answered until the guard drops.
pub fn request_started() -> RequestGuard {
    METRICS.requests_in_flight.inc();
    RequestGuard(())
}

pub struct RequestGuard(());

impl Drop for RequestGuard {
    fn drop(&mut self) {
        METRICS.requests_in_flight.dec();
    }
}

/// `count` records ended with `outcome` (one of [`OUTCOMES`]).
pub fn records(outcome: &'static str, count: u64) {
    debug_assert!(OUTCOMES.contains(&outcome), "{outcome}");
    METRICS
        .records
        .get_or_create(&[("outcome", outcome)])
        .inc_by(count);
}

/// A converter call took `elapsed`.
pub fn conversion(elapsed: Duration) {
    CONVERSIONS.fetch_add(1, Ordering::Relaxed);
    CONVERSION_NANOS.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    METRICS.conversion_seconds.observe(elapsed.as_secs_f64());
}

/// An object of `bytes` bytes was written at `key`.
pub fn object_written(key: &str, bytes: u64) {
    let labels = [("type", object_type(key))];
    METRICS.objects_written.get_or_create(&labels).inc();
    METRICS.bytes_written.get_or_create(&labels).inc_by(bytes);
}

/// `count` objects under (or at) `key` were deleted.
pub fn objects_deleted(key: &str, count: u64) {
    METRICS
        .objects_deleted
        .get_or_create(&[("type", object_type(key))])
        .inc_by(count);
}

/// An AWS call is tried again (`cause`: one of [`RETRY_CAUSES`]).
pub fn retried(cause: &'static str) {
    METRICS.retries.get_or_create(&[("cause", cause)]).inc();
}

/// A conditional write of the lake was refused (HTTP 412, or a local
/// store's equivalent) while carrying out a step: `step` is the step's
/// label (`summary_plan::Step::label`), e.g. "put final manifest".
pub fn precondition_failed(step: &'static str) {
    PRECONDITION_FAILURES.fetch_add(1, Ordering::Relaxed);
    METRICS
        .precondition_failures
        .get_or_create(&[("step", step)])
        .inc();
}

/// The histogram's count and sum, which prometheus-client does not read
/// back, for [`figures`].
static CONVERSIONS: AtomicU64 = AtomicU64::new(0);
static CONVERSION_NANOS: AtomicU64 = AtomicU64::new(0);

/// The sum over steps (whose labels are open-ended), for [`figures`].
static PRECONDITION_FAILURES: AtomicU64 = AtomicU64::new(0);

/// What a lake key holds, by the lake's layout (`summary_lake::prefixes`).
pub fn object_type(key: &str) -> &'static str {
    let first = key.split('/').find(|part| part.starts_with('_'));
    match first {
        Some("_manifests") => "manifest",
        Some("_errors") => "dead_letter",
        Some("_backfill") => "checkpoint",
        Some("_compaction") => "journal",
        _ if key.ends_with(".parquet") => "parquet",
        _ => "other",
    }
}

/// The counters as numbers, for the end of a command and its `--json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub events: u64,
    /// By outcome; every outcome of [`OUTCOMES`] is present.
    pub records: BTreeMap<&'static str, u64>,
    /// By object type; every type of [`OBJECT_TYPES`] is present.
    pub objects_written: BTreeMap<&'static str, u64>,
    pub bytes_written: BTreeMap<&'static str, u64>,
    pub objects_deleted: BTreeMap<&'static str, u64>,
    pub retries: BTreeMap<&'static str, u64>,
    pub precondition_failures: u64,
    pub conversions: u64,
    pub conversion_seconds: f64,
}

/// The counters now (since the process started).
pub fn figures() -> Figures {
    let m = &*METRICS;
    let by = |family: &Family<Labels, Counter>, key: &'static str, values: &[&'static str]| {
        values
            .iter()
            .map(|v| (*v, family.get_or_create(&[(key, *v)]).get()))
            .collect()
    };
    Figures {
        events: m.events.get(),
        records: by(&m.records, "outcome", &OUTCOMES),
        objects_written: by(&m.objects_written, "type", &OBJECT_TYPES),
        bytes_written: by(&m.bytes_written, "type", &OBJECT_TYPES),
        objects_deleted: by(&m.objects_deleted, "type", &OBJECT_TYPES),
        retries: by(&m.retries, "cause", &RETRY_CAUSES),
        precondition_failures: PRECONDITION_FAILURES.load(Ordering::Relaxed),
        conversions: CONVERSIONS.load(Ordering::Relaxed),
        conversion_seconds: CONVERSION_NANOS.load(Ordering::Relaxed) as f64 / 1e9,
    }
}

impl Figures {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "events": self.events,
            "records": self.records,
            "lake_objects_written": self.objects_written,
            "lake_written_bytes": self.bytes_written,
            "lake_objects_deleted": self.objects_deleted,
            "retries": self.retries,
            "precondition_failures": self.precondition_failures,
            "conversions": self.conversions,
            "conversion_seconds": self.conversion_seconds,
        })
    }

    /// One line for people: the non-zero figures.
    pub fn summary_line(&self) -> String {
        let nonzero = |map: &BTreeMap<&'static str, u64>| {
            let parts: Vec<String> = map
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if parts.is_empty() {
                "none".to_string()
            } else {
                parts.join(", ")
            }
        };
        format!(
            "records: {}; objects written: {} ({} bytes); objects deleted: {}; retries: {}; precondition failures: {}; {} converter calls in {:.2}s",
            nonzero(&self.records),
            nonzero(&self.objects_written),
            self.bytes_written.values().sum::<u64>(),
            nonzero(&self.objects_deleted),
            nonzero(&self.retries),
            self.precondition_failures,
            self.conversions,
            self.conversion_seconds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types_follow_the_lake_layout() {
        assert_eq!(object_type("_manifests/nucleotide/SRR1.json"), "manifest");
        assert_eq!(object_type("_errors/protein/SRR1.json"), "dead_letter");
        assert_eq!(
            object_type("nucleotide/sra/family=x/part-1.parquet"),
            "parquet"
        );
        assert_eq!(object_type("_backfill/rdrp/backfill-00.json"), "checkpoint");
        assert_eq!(
            object_type("_compaction/protein/sra/compact-1.json"),
            "journal"
        );
        assert_eq!(object_type("README"), "other");
    }

    #[test]
    fn rendered_names_follow_prometheus_conventions() {
        records("landed", 2);
        object_written("nucleotide/sra/part.parquet", 10);
        let text = render();
        for name in [
            "summary_events_total",
            "summary_records_total{outcome=\"landed\"}",
            "summary_lake_objects_written_total{type=\"parquet\"}",
            "summary_lake_written_bytes_total{type=\"parquet\"}",
            "summary_retries_total{cause=\"throttled\"} 0",
            "summary_event_duration_seconds_bucket",
            "summary_conversion_duration_seconds_count",
            "summary_events_in_flight 0",
        ] {
            assert!(text.contains(name), "{name} not in\n{text}");
        }
        let figures = figures();
        assert!(figures.records["landed"] >= 2);
        assert!(figures.bytes_written["parquet"] >= 10);
    }
}
