//! The SQS consumer: long-poll, process up to K messages at once, extend visibility while
//! a remediation runs, delete only after its evidence is stored (DESIGN §5, invariant 4).
//!
//! A permit is taken before `ReceiveMessage` (backpressure at intake: never more messages
//! in hand than can be worked on). Shutdown stops receiving, lets in-flight remediations
//! finish until a deadline, and leaves the rest to come back when their visibility expires.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, error, info, warn};

use crate::aws::AwsError;
use crate::executor::{Engine, MessageResult};

/// How the consumer runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub concurrency: NonZeroUsize,
    pub visibility_timeout_secs: u32,
    pub wait_time_secs: u32,
    pub dlq_url: Option<String>,
    /// Exit once nothing was received and nothing was in flight for this long.
    pub until_idle: Option<Duration>,
    /// How long shutdown waits for in-flight work.
    pub drain_deadline: Duration,
    /// Deliveries before a transiently failing message is given up (dead-lettered).
    pub max_attempts: u32,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub deleted: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub retried: AtomicU64,
    pub receive_errors: AtomicU64,
}

impl Stats {
    pub fn summary(&self) -> String {
        format!(
            "received {}, completed and deleted {}, dead-lettered {}, left for retry {}, receive errors {}",
            self.received.load(Ordering::Relaxed),
            self.deleted.load(Ordering::Relaxed),
            self.dead_lettered.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed),
            self.receive_errors.load(Ordering::Relaxed),
        )
    }
}

/// How soon a message that must be tried again comes back (times the attempt number).
const RETRY_DELAY_SECS: i32 = 5;

/// How soon a message whose finding another delivery holds comes back: the holder either
/// finishes (then this copy is a duplicate) or its claim lease runs out.
const BUSY_DELAY_SECS: i32 = 30;

/// Runs until `shutdown` is cancelled, or until idle when `until_idle` is set.
pub async fn run(
    engine: Arc<Engine>,
    sqs: aws_sdk_sqs::Client,
    opts: Options,
    shutdown: CancellationToken,
) -> Arc<Stats> {
    let stats = Arc::new(Stats::default());
    let permits = Arc::new(Semaphore::new(opts.concurrency.get()));
    let tracker = TaskTracker::new();
    let mut idle_since = Instant::now();
    let mut backoff = Duration::from_millis(200);
    // Start-up time is measured to this log line (BENCHMARKS.md).
    let mut first_receive = true;
    loop {
        let first = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = shutdown.cancelled() => break,
        };
        let mut held = vec![first];
        while held.len() < 10 {
            match permits.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        // The kill switch takes effect within one poll.
        engine.refresh_pause().await;
        crate::health::beat();
        let wait = match opts.until_idle {
            // Poll no longer than the idle window, so `--until-idle` ends on time.
            Some(idle) => opts
                .wait_time_secs
                .min(u32::try_from(idle.as_secs()).unwrap_or(u32::MAX).max(1)),
            None => opts.wait_time_secs,
        };
        let receive = sqs
            .receive_message()
            .queue_url(&opts.url)
            .max_number_of_messages(i32::try_from(held.len()).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait).unwrap_or(20))
            .visibility_timeout(i32::try_from(opts.visibility_timeout_secs).unwrap_or(60))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        let messages = tokio::select! {
            r = receive => match r {
                Ok(out) => {
                    backoff = Duration::from_millis(200);
                    if std::mem::take(&mut first_receive) {
                        info!(message = "First receive answered.", messages = out.messages().len());
                    }
                    out.messages.unwrap_or_default()
                }
                Err(e) => {
                    let e = AwsError::from_sdk("sqs:ReceiveMessage", e);
                    stats.receive_errors.fetch_add(1, Ordering::Relaxed);
                    error!(message = "Failed to receive from the queue.", error = %e);
                    drop(held);
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(20));
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        if messages.is_empty() {
            drop(held);
            if !tracker.is_empty() {
                idle_since = Instant::now();
            }
            // Messages in flight (left for a retry, or held by another worker) mean the
            // queue is not empty yet.
            if opts.until_idle.is_some() && pending(&sqs, &opts.url).await > 0 {
                idle_since = Instant::now();
            }
            if let Some(idle) = opts.until_idle
                && tracker.is_empty()
                && idle_since.elapsed() >= idle
            {
                info!(message = "Queue stayed empty; stopping (--until-idle).");
                break;
            }
            continue;
        }
        idle_since = Instant::now();
        stats
            .received
            .fetch_add(messages.len() as u64, Ordering::Relaxed);
        for (message, permit) in messages.into_iter().zip(held.drain(..)) {
            let span =
                crate::telemetry::message_span(&opts.url, message.message_id().unwrap_or("-"));
            tracker.spawn(
                process(
                    engine.clone(),
                    sqs.clone(),
                    opts.clone(),
                    stats.clone(),
                    message,
                    permit,
                )
                .instrument(span),
            );
        }
        // Permits not matched by a message go back here.
        drop(held);
    }
    tracker.close();
    if !tracker.is_empty() {
        info!(
            message = "Draining in-flight remediations.",
            in_flight = tracker.len()
        );
    }
    if tokio::time::timeout(opts.drain_deadline, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            message = "Shutdown deadline reached; unfinished messages return to the queue when their visibility expires.",
            unfinished = tracker.len()
        );
    }
    stats
}

async fn process(
    engine: Arc<Engine>,
    sqs: aws_sdk_sqs::Client,
    opts: Options,
    stats: Arc<Stats>,
    message: Message,
    _permit: OwnedSemaphorePermit,
) {
    let Some(receipt) = message.receipt_handle().map(str::to_owned) else {
        error!(message = "Received a message without a receipt handle; skipping.");
        return;
    };
    crate::telemetry::message_received();
    let body = message.body().unwrap_or_default().as_bytes().to_vec();
    let heartbeat = CancellationToken::new();
    tokio::spawn(extend_visibility(
        sqs.clone(),
        opts.url.clone(),
        receipt.clone(),
        opts.visibility_timeout_secs,
        heartbeat.clone(),
    ));
    let result = engine.handle(&body).await;
    heartbeat.cancel();
    match result {
        Ok(MessageResult::Done(_)) => {
            match sqs
                .delete_message()
                .queue_url(&opts.url)
                .receipt_handle(&receipt)
                .send()
                .await
            {
                Ok(_) => {
                    stats.deleted.fetch_add(1, Ordering::Relaxed);
                }
                // The evidence is stored and marked done: a redelivery finds it and is
                // deleted then.
                Err(e) => {
                    warn!(message = "Failed to delete a completed message.", error = %AwsError::from_sdk("sqs:DeleteMessage", e))
                }
            }
        }
        Ok(MessageResult::Again(results)) => {
            let transient = results
                .iter()
                .any(|r| matches!(r, crate::executor::FindingResult::Retry(_)));
            let attempts = receive_count(&message);
            match after_again(transient, attempts, opts.max_attempts) {
                Again::GiveUp => {
                    let reason = format!(
                        "gave up after {attempts} attempts failing transiently; each attempt is recorded as failed evidence"
                    );
                    error!(message = "Giving up on a message.", reason = %reason);
                    crate::telemetry::message_failed("gave-up");
                    give_up(&sqs, &opts, &stats, &receipt, &body, &reason).await;
                }
                Again::RetryIn(delay) => {
                    stats.retried.fetch_add(1, Ordering::Relaxed);
                    set_visibility(&sqs, &opts.url, &receipt, delay).await;
                }
            }
        }
        Ok(MessageResult::Undecodable(reason)) => {
            error!(message = "Undecodable message.", reason = %reason);
            crate::telemetry::message_failed("undecodable");
            dead_letter(&sqs, &opts, &stats, &receipt, &body, &reason.to_string()).await;
        }
        Err(e) => {
            stats.retried.fetch_add(1, Ordering::Relaxed);
            error!(message = "Failed to record a remediation; the message will come back.", error = %e);
            crate::telemetry::message_failed("store");
            set_visibility(&sqs, &opts.url, &receipt, RETRY_DELAY_SECS).await;
        }
    }
}

/// What to do with a message that must be tried again.
#[derive(Debug, PartialEq, Eq)]
enum Again {
    /// Make it visible again after this many seconds.
    RetryIn(i32),
    /// Stop: dead-letter it (its attempts are recorded).
    GiveUp,
}

/// Transient failures back off linearly and stop at `max_attempts`; a finding held by
/// another delivery is never given up (that delivery, or the claim lease, ends it).
fn after_again(transient: bool, attempts: u32, max_attempts: u32) -> Again {
    if !transient {
        return Again::RetryIn(BUSY_DELAY_SECS);
    }
    if attempts >= max_attempts {
        return Again::GiveUp;
    }
    Again::RetryIn(
        RETRY_DELAY_SECS.saturating_mul(i32::try_from(attempts.max(1)).unwrap_or(i32::MAX)),
    )
}

/// How many times SQS has delivered this message (1 on the first delivery).
fn receive_count(message: &Message) -> u32 {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Ends a message whose remediation keeps failing: to the DLQ with the reason, or deleted
/// when there is no DLQ URL (its failed attempts are in the evidence store; leaving it
/// would loop until the queue's own redrive, if it has one).
async fn give_up(
    sqs: &aws_sdk_sqs::Client,
    opts: &Options,
    stats: &Stats,
    receipt: &str,
    body: &[u8],
    reason: &str,
) {
    if opts.dlq_url.is_some() {
        dead_letter(sqs, opts, stats, receipt, body, reason).await;
        return;
    }
    match sqs
        .delete_message()
        .queue_url(&opts.url)
        .receipt_handle(receipt)
        .send()
        .await
    {
        Ok(_) => {
            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            warn!(message = "Failed to delete a message given up on.", error = %AwsError::from_sdk("sqs:DeleteMessage", e))
        }
    }
}

/// Moves a message to the DLQ with the reason, or (without a DLQ URL) makes it visible at
/// once so the queue's redrive policy moves it after its maxReceiveCount.
async fn dead_letter(
    sqs: &aws_sdk_sqs::Client,
    opts: &Options,
    stats: &Stats,
    receipt: &str,
    body: &[u8],
    reason: &str,
) {
    let Some(dlq) = &opts.dlq_url else {
        set_visibility(sqs, &opts.url, receipt, 0).await;
        return;
    };
    let reason_attr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(reason.chars().take(1024).collect::<String>())
        .build();
    let Ok(reason_attr) = reason_attr else {
        set_visibility(sqs, &opts.url, receipt, 0).await;
        return;
    };
    let sent = sqs
        .send_message()
        .queue_url(dlq)
        .message_body(String::from_utf8_lossy(body))
        .message_attributes("redress-reason", reason_attr)
        .send()
        .await;
    match sent {
        Ok(_) => {
            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = sqs
                .delete_message()
                .queue_url(&opts.url)
                .receipt_handle(receipt)
                .send()
                .await
            {
                warn!(message = "Dead-lettered message could not be deleted from the queue.", error = %AwsError::from_sdk("sqs:DeleteMessage", e));
            }
        }
        Err(e) => {
            error!(message = "Failed to dead-letter a message; leaving it to the redrive policy.", error = %AwsError::from_sdk("sqs:SendMessage", e));
            set_visibility(sqs, &opts.url, receipt, 0).await;
        }
    }
}

/// Messages visible or in flight, as SQS approximates them (0 when it cannot say).
async fn pending(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let Ok(out) = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
    else {
        return 0;
    };
    let attrs = out.attributes();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|a| attrs.and_then(|m| m.get(a)))
    .filter_map(|v| v.parse::<u64>().ok())
    .sum()
}

async fn set_visibility(sqs: &aws_sdk_sqs::Client, url: &str, receipt: &str, secs: i32) {
    if let Err(e) = sqs
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle(receipt)
        .visibility_timeout(secs)
        .send()
        .await
    {
        warn!(message = "Failed to change message visibility.", error = %AwsError::from_sdk("sqs:ChangeMessageVisibility", e));
    }
}

/// Extends the message's visibility every half timeout while its remediation runs.
async fn extend_visibility(
    sqs: aws_sdk_sqs::Client,
    url: String,
    receipt: String,
    timeout_secs: u32,
    done: CancellationToken,
) {
    let every = Duration::from_secs(u64::from(timeout_secs / 2).max(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {
                set_visibility(&sqs, &url, &receipt, i32::try_from(timeout_secs).unwrap_or(60)).await;
            }
            () = done.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_back_off_then_give_up() {
        assert_eq!(after_again(true, 1, 5), Again::RetryIn(5));
        assert_eq!(after_again(true, 4, 5), Again::RetryIn(20));
        assert_eq!(after_again(true, 5, 5), Again::GiveUp);
        assert_eq!(after_again(true, 9, 5), Again::GiveUp);
    }

    #[test]
    fn a_busy_finding_is_never_given_up() {
        assert_eq!(after_again(false, 50, 5), Again::RetryIn(BUSY_DELAY_SECS));
    }
}
