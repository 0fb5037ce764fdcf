//! `consume-sqs`: long-polls an SQS queue of S3 events and processes each
//! message through the pipeline. A message is deleted only once every
//! record in it landed; any other outcome leaves it for redelivery, so the
//! queue's redrive policy parks poison messages in its dead-letter queue.
//! While a message is worked on, the visibility of every message still held
//! is extended; on SIGTERM/SIGINT the consumer stops receiving, finishes the
//! message in hand, hands the unstarted ones back to the queue and exits.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use summary_aws::request::SigningProfile;
use summary_aws::sqs::{self, Message};

use crate::aws_transport::{describe_failure, AwsClient, CallError, HttpResponse};
use crate::cli::ConsumeSqsArgs;
use crate::context::{shutdown_flag, Context};
use crate::events::Pipeline;

const MAX_ANSWER: u64 = 16 << 20;

#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    pub queue_url: String,
    /// Messages asked for per receive (1..=10).
    pub batch: u32,
    /// Long-poll wait per receive, in seconds (0..=20).
    pub wait_seconds: u32,
    /// How long a received message stays hidden; renewed while it is worked on.
    pub visibility_seconds: u32,
    /// Receive-and-process loops running at once.
    pub concurrency: usize,
    /// Stop once a receive comes back empty (draining a queue, tests).
    pub until_empty: bool,
}

/// What the consumer did, for its closing log line.
#[derive(Debug, Default)]
pub struct ConsumerReport {
    pub received: AtomicU64,
    /// Every record landed: deleted from the queue.
    pub deleted: AtomicU64,
    /// Left for redelivery (a failure, or a poison message).
    pub left: AtomicU64,
    /// Received but not started before a shutdown: handed back at once.
    pub released: AtomicU64,
}

pub struct Consumer<'a> {
    pub pipeline: &'a Pipeline<'a>,
    pub client: &'a AwsClient,
    pub options: ConsumerOptions,
}

impl Consumer<'_> {
    /// Runs `concurrency` loops until `stop` is set (or the queue is empty
    /// with `until_empty`). An error that retrying cannot fix (the queue does
    /// not exist, access denied) stops every loop and is returned.
    pub fn run(&self, stop: &AtomicBool) -> Result<ConsumerReport> {
        let report = ConsumerReport::default();
        let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let halted = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for worker in 0..self.options.concurrency.max(1) {
                let (report, fatal, halted) = (&report, &fatal, &halted);
                scope.spawn(move || {
                    let done = || stop.load(Ordering::Relaxed) || halted.load(Ordering::Relaxed);
                    if let Err(error) = self.worker_loop(worker, &done, report) {
                        tracing::error!(worker, error = %format!("{error:#}"), "consumer stopped");
                        fatal
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(error);
                        halted.store(true, Ordering::Relaxed);
                    }
                });
            }
        });
        match fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    fn worker_loop(
        &self,
        worker: usize,
        done: &dyn Fn() -> bool,
        report: &ConsumerReport,
    ) -> Result<()> {
        let mut failed_receives = 0u32;
        while !done() {
            let messages = match self.receive() {
                Ok(messages) => {
                    failed_receives = 0;
                    messages
                }
                Err(ReceiveError::Fatal(error)) => return Err(error),
                Err(ReceiveError::Transient(error)) => {
                    // The client already retried; keep polling, slower.
                    failed_receives += 1;
                    let pause = self
                        .client
                        .retry
                        .delay(failed_receives + 3, fastrand::f64());
                    tracing::warn!(worker, error = %format!("{error:#}"), pause_ms = pause.as_millis() as u64, "receive failed");
                    std::thread::sleep(pause);
                    continue;
                }
            };
            if messages.is_empty() {
                if self.options.until_empty {
                    return Ok(());
                }
                continue;
            }
            report
                .received
                .fetch_add(messages.len() as u64, Ordering::Relaxed);
            self.work_through(worker, messages, done, report);
        }
        Ok(())
    }

    /// Processes received messages one by one while a heartbeat keeps the
    /// ones still held hidden from other consumers.
    fn work_through(
        &self,
        worker: usize,
        messages: Vec<Message>,
        done: &dyn Fn() -> bool,
        report: &ConsumerReport,
    ) {
        let held: Mutex<Vec<String>> =
            Mutex::new(messages.iter().map(|m| m.receipt_handle.clone()).collect());
        let release = |handle: &str| {
            held.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|h| h != handle)
        };
        let (finished, heartbeat_stop) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(|| self.heartbeat(&held, heartbeat_stop));
            for (index, message) in messages.iter().enumerate() {
                if done() {
                    let rest: Vec<&str> = messages[index..]
                        .iter()
                        .map(|m| m.receipt_handle.as_str())
                        .collect();
                    // Out of the heartbeat's list first, so no renewal re-hides them.
                    rest.iter().for_each(|h| release(h));
                    self.hand_back(&rest);
                    report
                        .released
                        .fetch_add(rest.len() as u64, Ordering::Relaxed);
                    break;
                }
                let started = Instant::now();
                let landed = self
                    .pipeline
                    .handle_message(&message.id, message.body.as_bytes());
                release(&message.receipt_handle);
                if landed {
                    match self.delete(message) {
                        Ok(()) => report.deleted.fetch_add(1, Ordering::Relaxed),
                        // Landed but not deleted: the redelivery finds it done.
                        Err(error) => {
                            tracing::warn!(worker, message = %message.id, error = %format!("{error:#}"), "could not delete a landed message");
                            report.left.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                } else {
                    report.left.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(
                    worker,
                    message = %message.id,
                    receive_count = message.receive_count,
                    landed,
                    ms = started.elapsed().as_millis() as u64,
                    "message handled"
                );
            }
            drop(finished);
        });
    }

    /// Every third of the visibility timeout, renews it for the messages
    /// still held, until `stop` closes.
    fn heartbeat(&self, held: &Mutex<Vec<String>>, stop: mpsc::Receiver<()>) {
        let every = Duration::from_secs(self.options.visibility_seconds.max(1) as u64) / 3;
        loop {
            match stop.recv_timeout(every) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let handles = held.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if handles.is_empty() {
                continue;
            }
            let refs: Vec<&str> = handles.iter().map(String::as_str).collect();
            if let Err(error) = self.change_visibility(&refs, self.options.visibility_seconds) {
                tracing::warn!(error = %format!("{error:#}"), "could not extend message visibility");
            }
        }
    }

    fn receive(&self) -> Result<Vec<Message>, ReceiveError> {
        let body = sqs::receive_message(
            &self.options.queue_url,
            self.options.batch,
            self.options.wait_seconds,
            self.options.visibility_seconds,
        );
        let response = self.call("ReceiveMessage", &body).map_err(|e| {
            let retryable = e.retryable;
            let error = anyhow::Error::new(e).context("SQS ReceiveMessage");
            match retryable {
                true => ReceiveError::Transient(error),
                false => ReceiveError::Fatal(error),
            }
        })?;
        if !response.is_success() {
            // Throttling and 5xx were retried by the client; what is left
            // (no such queue, access denied, bad request) will not heal.
            return Err(ReceiveError::Fatal(anyhow::anyhow!(describe_failure(
                &format!("SQS ReceiveMessage {}", self.options.queue_url),
                &response
            ))));
        }
        sqs::parse_received(&response.body).map_err(|e| ReceiveError::Transient(anyhow::anyhow!(e)))
    }

    fn delete(&self, message: &Message) -> Result<()> {
        let response = self
            .call(
                "DeleteMessage",
                &sqs::delete_message(&self.options.queue_url, &message.receipt_handle),
            )
            .context("SQS DeleteMessage")?;
        if !response.is_success() {
            bail!(describe_failure(
                &format!("SQS DeleteMessage {}", message.id),
                &response
            ));
        }
        Ok(())
    }

    /// Makes messages visible again at once, for another consumer.
    fn hand_back(&self, handles: &[&str]) {
        if let Err(error) = self.change_visibility(handles, 0) {
            tracing::warn!(error = %format!("{error:#}"), "could not hand messages back; they return after their visibility timeout");
        }
    }

    fn change_visibility(&self, handles: &[&str], seconds: u32) -> Result<()> {
        for chunk in handles.chunks(sqs::MAX_MESSAGES as usize) {
            let response = self
                .call(
                    "ChangeMessageVisibilityBatch",
                    &sqs::change_visibility_batch(&self.options.queue_url, chunk, seconds),
                )
                .context("SQS ChangeMessageVisibilityBatch")?;
            if !response.is_success() {
                bail!(describe_failure(
                    "SQS ChangeMessageVisibilityBatch",
                    &response
                ));
            }
            let failures = sqs::batch_failures(&response.body);
            if !failures.is_empty() {
                bail!("SQS ChangeMessageVisibilityBatch: {}", failures.join("; "));
            }
        }
        Ok(())
    }

    fn call(&self, action: &str, body: &serde_json::Value) -> Result<HttpResponse, CallError> {
        let endpoint = &self.client.config.sqs;
        self.client
            .call(SigningProfile::Json, "sqs", MAX_ANSWER, || {
                sqs::request(endpoint, action, body)
            })
    }
}

enum ReceiveError {
    /// Will not heal by waiting: stop the consumer.
    Fatal(anyhow::Error),
    /// A network or service hiccup: poll again later.
    Transient(anyhow::Error),
}

/// `consume-sqs`: the queue's events until a signal (or an empty receive).
pub fn command(args: ConsumeSqsArgs, ctx: &Context) -> Result<ExitCode> {
    let ConsumeSqsArgs {
        queue_url,
        destination,
        edge,
        batch,
        wait,
        visibility_timeout,
        concurrency,
        until_empty,
        metrics_listen,
    } = args;
    let stop = shutdown_flag()?;
    if let Some(listen) = metrics_listen {
        let address = crate::metrics_server::start(&listen)?;
        eprintln!("metrics on http://{address}/metrics");
    }
    let lake = ctx.open_lake(&destination)?;
    let pipeline = ctx.pipeline(&lake, &edge)?;
    let consumer = Consumer {
        pipeline: &pipeline,
        client: ctx.client()?,
        options: ConsumerOptions {
            queue_url,
            batch,
            wait_seconds: wait,
            visibility_seconds: visibility_timeout,
            concurrency: concurrency as usize,
            until_empty,
        },
    };
    eprintln!(
        "consuming {} into {}",
        consumer.options.queue_url,
        lake.store.describe()
    );
    let report = consumer.run(&stop)?;
    let count = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "consumer stopped: received {}, deleted {}, left {}, released {}",
        count(&report.received),
        count(&report.deleted),
        count(&report.left),
        count(&report.released)
    );
    Ok(ExitCode::SUCCESS)
}
