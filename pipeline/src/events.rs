//! One S3 object from event to lake: route, check the manifest, fetch,
//! convert, write, register in Glue. Every outcome is reported; nothing is
//! lost silently.

use std::time::Instant;

use serde_json::json;
use summary_aws::event::{decode_event, DecodedEvent, EventError, Notice, ObjectRef};
use summary_aws::s3::{validate_bucket_name, validate_object_key};
use summary_lake::diagnostic::render;
use summary_lake::keys::is_run_accession;
use summary_lake::source::{route, run_of_key, RouteRule};
use summary_lake::text::{bounded_message, excerpt, name};
use summary_lake::{Kind, Layout};

use crate::descriptor::LakeLayout;

use summary_plan::manifest::{decide, manifest_key, Decision, ReadManifest, SourceVersion};
use summary_plan::version::{dead_letter, land_version};
use summary_plan::{ParquetObject, Step};

use crate::apply::{read_manifest, Catalog, Lake, MAX_SWAP_ROUNDS};
use crate::aws_client::AwsClient;
use crate::convert::{Convert, Outcome, Summary};
use crate::error::{Error, Result};
use crate::store::{Expected, ObjectStore};

/// What happened to one object of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Converted and stored; `deleted` stale objects of an older version removed.
    Landed {
        run: String,
        objects: usize,
        deleted: usize,
    },
    /// This version was already complete (a redelivery): nothing written.
    AlreadyDone {
        run: String,
    },
    /// A newer version of the run is already in the lake: nothing written.
    Older {
        run: String,
        recorded: String,
    },
    /// The key is not routed to any summary kind.
    NotASummary,
    /// The object no longer exists (deleted after the event).
    SourceGone,
    /// The summary cannot be converted; the error is stored under `_errors/`.
    DeadLettered {
        run: String,
        error: String,
    },
    Failed {
        error: String,
        retryable: bool,
    },
}

impl RecordOutcome {
    /// Whether the record's work is done (nothing left for a retry to do).
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            RecordOutcome::Failed {
                retryable: true,
                ..
            }
        )
    }

    /// Whether the record needs nothing more: its rows are in the lake (or
    /// already were), or there was nothing to convert.
    pub fn landed(&self) -> bool {
        !matches!(
            self,
            RecordOutcome::DeadLettered { .. } | RecordOutcome::Failed { .. }
        )
    }

    /// The `outcome` label of `summary_records_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            RecordOutcome::Landed { .. } => "landed",
            RecordOutcome::AlreadyDone { .. } => "unchanged",
            RecordOutcome::Older { .. } => "older",
            RecordOutcome::NotASummary => "not_a_summary",
            RecordOutcome::SourceGone => "source_gone",
            RecordOutcome::DeadLettered { .. } => "dead_lettered",
            RecordOutcome::Failed { .. } => "failed",
        }
    }

    fn label(&self) -> &'static str {
        match self {
            RecordOutcome::Landed { .. } => "landed",
            RecordOutcome::AlreadyDone { .. } => "already-done",
            RecordOutcome::Older { .. } => "older",
            RecordOutcome::NotASummary => "not-a-summary",
            RecordOutcome::SourceGone => "source-gone",
            RecordOutcome::DeadLettered { .. } => "dead-lettered",
            RecordOutcome::Failed { .. } => "failed",
        }
    }
}

#[derive(Debug, Default)]
pub struct EventReport {
    pub records: Vec<(ObjectRef, RecordOutcome)>,
    pub notices: Vec<Notice>,
}

impl EventReport {
    /// Every object landed, was already there or was not a summary; notices
    /// alone count as success.
    pub fn all_landed(&self) -> bool {
        self.records.iter().all(|(_, outcome)| outcome.landed())
    }

    /// The event had records and none of them named a summary.
    pub fn nothing_routed(&self) -> bool {
        !self.records.is_empty()
            && self
                .records
                .iter()
                .all(|(_, o)| *o == RecordOutcome::NotASummary)
    }

    /// Some record failed in a way a redelivery may fix.
    pub fn needs_retry(&self) -> bool {
        self.records.iter().any(|(_, outcome)| !outcome.is_final())
    }

    pub fn to_json(&self) -> serde_json::Value {
        let records: Vec<_> = self
            .records
            .iter()
            .map(|(object, outcome)| {
                let mut record = json!({
                    "bucket": reported_name(&object.bucket),
                    "key": reported_name(&object.key),
                    "outcome": outcome.label(),
                });
                match outcome {
                    RecordOutcome::Landed {
                        run,
                        objects,
                        deleted,
                    } => {
                        record["run"] = json!(run);
                        record["objects"] = json!(objects);
                        record["deleted"] = json!(deleted);
                    }
                    RecordOutcome::AlreadyDone { run } | RecordOutcome::Older { run, .. } => {
                        record["run"] = json!(run)
                    }
                    RecordOutcome::DeadLettered { run, error } => {
                        record["run"] = json!(run);
                        record["error"] = json!(error);
                    }
                    RecordOutcome::Failed { error, retryable } => {
                        record["error"] = json!(error);
                        record["retryable"] = json!(retryable);
                    }
                    RecordOutcome::NotASummary | RecordOutcome::SourceGone => {}
                }
                record
            })
            .collect();
        let notices: Vec<String> = self
            .notices
            .iter()
            .map(|n| bounded_message(&format!("{n:?}"), MAX_REPORTED_NOTICE_CHARS))
            .collect();
        json!({"records": records, "notices": notices})
    }
}

pub struct Pipeline<'a> {
    pub converter: &'a dyn Convert,
    pub lake: &'a dyn ObjectStore,
    /// The lake's layout, read from its descriptor when first needed.
    pub layout: &'a LakeLayout,
    /// Fetches sources from S3 (the event's bucket).
    pub source: &'a AwsClient,
    pub catalog: Option<&'a dyn Catalog>,
    pub routes: Vec<RouteRule>,
    /// Larger summaries are refused before download.
    pub max_source_bytes: u64,
    /// PUTs and DELETEs of one summary's objects in flight at once.
    pub io_concurrency: usize,
}

impl Pipeline<'_> {
    /// Decodes an event document and processes each object in it.
    pub fn handle_event(&self, bytes: &[u8]) -> Result<EventReport, EventError> {
        Ok(self.handle_decoded(decode_event(bytes)?))
    }

    /// Processes each object of a decoded event; reports notices.
    pub fn handle_decoded(&self, decoded: DecodedEvent) -> EventReport {
        let _in_flight = crate::metrics::event_started();
        for notice in &decoded.notices {
            match notice {
                Notice::SubscriptionConfirmation {
                    topic_arn,
                    subscribe_url,
                } => tracing::warn!(
                    topic_arn = %excerpt(topic_arn.as_deref().unwrap_or("")),
                    subscribe_url = %excerpt(subscribe_url.as_deref().unwrap_or("")),
                    "SNS subscription confirmation received: confirm it by visiting SubscribeURL; nothing processed"
                ),
                other => tracing::info!(
                    notice = %bounded_message(&format!("{other:?}"), MAX_REPORTED_NOTICE_CHARS),
                    "event notice, nothing to process"
                ),
            }
        }
        let records = decoded.objects.into_iter().map(|object| {
            let outcome = self.process(&object);
            (object, outcome)
        });
        EventReport {
            records: records.collect(),
            notices: decoded.notices,
        }
    }

    /// One queued message (from SQS, or a record of a Lambda SQS batch)
    /// holding an event document: whether it is done with, every object in
    /// it landed. Anything else (a malformed document, a dead-lettered or
    /// failed summary) leaves it to the queue, which redelivers it and, past
    /// its redrive policy's count, parks it in its dead-letter queue.
    pub fn handle_message(&self, message_id: &str, body: &[u8]) -> bool {
        match self.handle_event(body) {
            Ok(report) if report.all_landed() => true,
            Ok(report) => {
                tracing::warn!(message = message_id, report = %report.to_json(), "message left for redelivery");
                false
            }
            Err(error) => {
                tracing::warn!(message = message_id, %error, "malformed message left for redelivery");
                false
            }
        }
    }

    /// Processes one object; logs one line with its outcome and timing.
    pub fn process(&self, object: &ObjectRef) -> RecordOutcome {
        let started = Instant::now();
        let outcome = match route(&self.routes, &object.key) {
            None => RecordOutcome::NotASummary,
            Some(kind) => match self.process_summary(kind, object) {
                Ok(outcome) => outcome,
                Err(error) => self.settle_failure(kind, object, error),
            },
        };
        crate::metrics::records(outcome.metric_label(), 1);
        let ms = started.elapsed().as_millis() as u64;
        let (bucket, key) = (name(&object.bucket), name(&object.key));
        match &outcome {
            RecordOutcome::Failed { error, retryable } => {
                tracing::error!(%bucket, %key, retryable, ms, %error, "record failed")
            }
            RecordOutcome::DeadLettered { run, error } => {
                tracing::warn!(%bucket, %key, run, ms, %error, "summary dead-lettered")
            }
            other => {
                tracing::info!(%bucket, %key, outcome = other.label(), ms, "record done")
            }
        }
        outcome
    }

    /// A record that failed. If a retry may help, it stays `Failed` and
    /// retryable, so its sender keeps the event. If not (S3 answered 400 or
    /// 403, say), it is dead-lettered: no failure is acknowledged without a
    /// record of it. If even the dead letter cannot be written, it is
    /// retryable again: the sender keeps the event.
    fn settle_failure(&self, kind: Kind, object: &ObjectRef, error: Error) -> RecordOutcome {
        let message = bounded_message(&error.to_string(), MAX_REPORTED_ERROR_CHARS);
        if error.is_retryable() {
            return RecordOutcome::Failed {
                error: message,
                retryable: true,
            };
        }
        match self.dead_letter(kind, &dead_letter_name(object), object, &message, None) {
            Ok(outcome) => outcome,
            Err(dead_letter_error) => RecordOutcome::Failed {
                error: bounded_message(
                    &format!("{message}; writing its dead letter failed too: {dead_letter_error}"),
                    MAX_REPORTED_ERROR_CHARS,
                ),
                retryable: true,
            },
        }
    }

    fn process_summary(&self, kind: Kind, object: &ObjectRef) -> Result<RecordOutcome> {
        // Before anything is read or written: a name S3 could not hold
        // would steer a signed request elsewhere.
        if let Err(invalid) =
            validate_bucket_name(&object.bucket).and_then(|()| validate_object_key(&object.key))
        {
            // Not under the run's name: a record of another bucket must
            // not overwrite (or fake) the run's own dead letter.
            return self.dead_letter(
                kind,
                &invalid_name(object),
                object,
                &invalid.to_string(),
                None,
            );
        }
        let source_name = format!("s3://{}/{}", name(&object.bucket), name(&object.key));
        let key_run = run_of_key(&object.key);
        if !is_run_accession(key_run) {
            let error = format!(
                "{source_name}: the key names no SRA run accession (SRR, ERR or DRR and digits)"
            );
            return self.dead_letter(kind, &dead_letter_name(object), object, &error, None);
        }
        let source = SourceVersion::from(object);
        let manifest_key = manifest_key(kind.as_str(), key_run);
        let existing = read_manifest(self.lake, &manifest_key)?;
        match decide(existing.as_ref().map(|read| &read.manifest), &source) {
            Decision::Process => {}
            Decision::AlreadyDone => {
                return Ok(RecordOutcome::AlreadyDone {
                    run: key_run.into(),
                })
            }
            Decision::Older { recorded } => {
                return Ok(RecordOutcome::Older {
                    run: key_run.into(),
                    recorded,
                })
            }
        }
        if let Some(size) = object.size.filter(|size| *size > self.max_source_bytes) {
            let error = format!(
                "{source_name}: {size} bytes is over the {}-byte limit",
                self.max_source_bytes
            );
            return self.dead_letter(kind, key_run, object, &error, None);
        }
        let fetched = match self.fetch(object) {
            // Refused on its Content-Length (or cut at the cap): it would be refused again.
            Err(Error::TooLarge(error)) => {
                let message = format!(
                    "{source_name}: over the {}-byte summary limit: {error}",
                    self.max_source_bytes
                );
                return self.dead_letter(kind, key_run, object, &message, None);
            }
            other => other?,
        };
        let Some(bytes) = fetched else {
            return Ok(RecordOutcome::SourceGone);
        };
        let summary = Summary {
            kind,
            source: source_name.clone(),
            bytes,
        };
        let layout = self.layout.layout(self.lake)?;
        let batch = match self
            .converter
            .convert(layout, std::slice::from_ref(&summary))
        {
            Ok(batch) => batch,
            // Over the guest's limits or a trap: the same bytes would fail again.
            Err(crate::convert::ConvertError::GaveUp(error)) => {
                let message = format!("{source_name}: {error}");
                return self.dead_letter(kind, key_run, object, &message, None);
            }
            Err(error) => return Err(error.into()),
        };
        let run = match batch.outcomes.into_iter().next() {
            Some(Outcome::Converted { run, .. }) => run,
            Some(Outcome::Failed(e)) => {
                let rendered = render(&source_name, e.line, &e.field, &e.message);
                let detail = json!({"line": e.line, "field": e.field, "message": e.message});
                return self.dead_letter(kind, key_run, object, &rendered, Some(detail));
            }
            None => return Err(Error::Transient("the converter returned no outcome".into())),
        };
        if run != key_run {
            let error = format!(
                "{source_name}: the summary is of run {run} but its key names run {key_run}"
            );
            return self.dead_letter(kind, key_run, object, &error, None);
        }
        land_converted(
            &self.lake(layout),
            existing,
            kind,
            &run,
            source,
            batch.objects,
        )
    }

    fn lake(&self, layout: Layout) -> Lake<'_> {
        Lake {
            store: self.lake,
            layout,
            catalog: self.catalog,
            converter: self.converter,
            io_concurrency: self.io_concurrency,
        }
    }

    /// The summary's bytes, or `None` if the object is gone.
    fn fetch(&self, object: &ObjectRef) -> Result<Option<Vec<u8>>> {
        let response =
            self.source
                .get_object(&object.bucket, &object.key, self.max_source_bytes)?;
        Ok(response.map(|r| r.body))
    }

    /// Stores why a summary could not be converted; its previous version's
    /// rows, if any, stay in the lake.
    fn dead_letter(
        &self,
        kind: Kind,
        run: &str,
        object: &ObjectRef,
        error: &str,
        detail: Option<serde_json::Value>,
    ) -> Result<RecordOutcome> {
        let record = json!({
            "source": reported_source(object),
            "kind": kind.as_str(),
            "error": error,
            "detail": detail,
        });
        let layout = self.layout.layout(self.lake)?;
        self.lake(layout).apply(&dead_letter(kind, run, &record))?;
        Ok(RecordOutcome::DeadLettered {
            run: run.into(),
            error: error.into(),
        })
    }
}

/// Lands a converted version of `run`, given its manifest as read before
/// (the event's decision was to process it). The manifest is the run's
/// point of order: the plan swaps it only over the version read, so when
/// another writer swapped it in between, the version is decided again on
/// what that writer left, and planned again or given up.
pub fn land_converted(
    lake: &Lake,
    existing: Option<ReadManifest>,
    kind: Kind,
    run: &str,
    source: SourceVersion,
    objects: Vec<ParquetObject>,
) -> Result<RecordOutcome> {
    let count = objects.len();
    let key = manifest_key(kind.as_str(), run);
    let mut existing = existing;
    let mut ours: Vec<(String, Vec<u8>)> = Vec::new();
    for attempt in 1..=MAX_SWAP_ROUNDS {
        let plan = land_version(
            existing.as_ref(),
            kind,
            run,
            source.clone(),
            objects.clone(),
        );
        ours = plan
            .steps()
            .filter_map(|step| match step {
                Step::PutObject { key, bytes } => Some((key.clone(), bytes.clone())),
                _ => None,
            })
            .collect();
        let stale = plan
            .steps()
            .filter(|step| matches!(step, Step::Retire { .. }))
            .count();
        match lake.apply(&plan) {
            Ok(_) => {
                return Ok(RecordOutcome::Landed {
                    run: run.to_string(),
                    objects: count,
                    deleted: stale,
                })
            }
            Err(Error::Conflict(lost)) => {
                tracing::info!(run, attempt, %lost, "lost a conditional write to another writer; reading the manifest and deciding again");
            }
            Err(error) => return Err(error),
        }
        existing = read_manifest(lake.store, &key)?;
        let settled = match decide(existing.as_ref().map(|read| &read.manifest), &source) {
            Decision::Process => {
                crate::backoff::pause(attempt);
                continue;
            }
            Decision::AlreadyDone => RecordOutcome::AlreadyDone { run: run.into() },
            Decision::Older { recorded } => RecordOutcome::Older {
                run: run.into(),
                recorded,
            },
        };
        leave_to_the_winner(lake.store, &key, &ours)?;
        return Ok(settled);
    }
    leave_to_the_winner(lake.store, &key, &ours)?;
    Err(Error::Conflict(format!(
        "run {run}: other writers swapped its manifest {MAX_SWAP_ROUNDS} times while this \
         version was landed; a redelivery will try again"
    )))
}

/// A writer that lost the run's manifest may have written objects of its
/// version after the winner planned (so the winner does not retire them):
/// it deletes those the run's manifest does not name. Keys hold a hash of
/// the version's bytes, so only a writer of the very same version can use
/// them; if one swapped the manifest in between, naming a key just
/// deleted, the key is written back with the same bytes.
fn leave_to_the_winner(
    store: &dyn ObjectStore,
    manifest_key: &str,
    ours: &[(String, Vec<u8>)],
) -> Result<()> {
    let used = |read: Option<ReadManifest>| read.map(|r| r.manifest.objects).unwrap_or_default();
    let before = used(read_manifest(store, manifest_key)?);
    let deleted: Vec<&(String, Vec<u8>)> = ours
        .iter()
        .filter(|(key, _)| !before.contains(key))
        .collect();
    for (key, _) in &deleted {
        store.delete(key)?;
    }
    let after = used(read_manifest(store, manifest_key)?);
    for (key, bytes) in deleted {
        if after.contains(key) {
            // Created only: that writer may have written it again already.
            match store.put_if(key, bytes, &Expected::Absent) {
                Ok(_) | Err(Error::Conflict(_)) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Errors in reports and logs are cut to this many characters.
const MAX_REPORTED_ERROR_CHARS: usize = 1000;
const MAX_REPORTED_NOTICE_CHARS: usize = 300;

/// Under which name a record's dead letter is stored: its run, or, when its
/// key names none, `invalid-<hash of the key>`.
fn dead_letter_name(object: &ObjectRef) -> String {
    let run = run_of_key(&object.key);
    if is_run_accession(run) {
        run.to_string()
    } else {
        format!("invalid-{}", short_hash(&object.key))
    }
}

/// The dead letter of a record whose bucket name or key S3 could not hold:
/// `invalid-<hash of bucket and key>`, never a run's name.
fn invalid_name(object: &ObjectRef) -> String {
    format!(
        "invalid-{}",
        short_hash(&format!("{}/{}", object.bucket, object.key))
    )
}

/// A bucket name or key as reports and dead letters show it: as it is when
/// it could be a real one (S3 names are at most 1,024 bytes, without
/// control characters), else an excerpt.
fn reported_name(text: &str) -> String {
    if text.len() <= 1024 && !text.chars().any(char::is_control) {
        text.to_string()
    } else {
        excerpt(text).to_string()
    }
}

fn reported_source(object: &ObjectRef) -> SourceVersion {
    let mut source = SourceVersion::from(object);
    source.bucket = reported_name(&source.bucket);
    source.key = reported_name(&source.key);
    source
}

fn short_hash(text: &str) -> String {
    use sha2::Digest;
    summary_lake::text::hex(&sha2::Sha256::digest(text.as_bytes())[..8])
}
