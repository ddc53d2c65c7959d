//! Consuming with manual acks: a message is acked only after its handler
//! has committed its effects, retried a bounded number of times, then
//! dead-lettered.

use crate::broker::BrokerError;
use crate::fair::FairQueue;
use crate::topology::{Queue, DELIVERY_LIMIT};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::Channel;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a handler decided about a message.
#[derive(Debug)]
pub enum Disposition {
    /// Effects committed (or already there): ack.
    Done,
    /// A transient failure: requeue after a pause; the broker dead-letters
    /// it once [`DELIVERY_LIMIT`] is reached.
    Retry(String),
    /// The message can never succeed (e.g. undecodable): dead-letter now.
    Reject(String),
    /// Shutting down with the work unfinished: hand it back at once.
    Requeue,
}

/// How long a message in hand may take to finish once shutdown starts;
/// after that its work is dropped (uncommitted) and it is requeued.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A message as a handler sees it.
pub struct Message {
    pub payload: Vec<u8>,
    /// How many times it was delivered before (0 on the first delivery).
    pub redeliveries: u32,
    /// True on the last delivery before it is dead-lettered.
    pub last_attempt: bool,
    /// The publisher's W3C trace context (`traceparent`, `tracestate`).
    pub trace: HashMap<String, String>,
    /// The publisher's message id (empty when it set none), so a dead
    /// letter can be recognised when it arrives twice.
    pub message_id: String,
    /// The protobuf type the publisher named (`bf-kind`), so a dead letter
    /// can be published again as what it was.
    pub kind: String,
    /// Set on a dead letter: why and how often the broker dead-lettered it.
    pub death: Option<Death>,
}

/// The broker's account of a dead letter (its newest `x-death` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// `rejected` (a handler gave up) or `delivery_limit` (it was handed
    /// back too often, e.g. by a crashing consumer).
    pub reason: String,
    /// How many times it was dead-lettered for that reason.
    pub count: i64,
}

/// Consumes `queue` until `shutdown` is cancelled or the channel fails.
/// Messages are handled one at a time: the message in hand is finished
/// (acked or nacked) before shutdown returns.
pub async fn consume<H, F>(
    channel: &Channel,
    queue: Queue,
    prefetch: u16,
    shutdown: &CancellationToken,
    mut handler: H,
) -> Result<(), BrokerError>
where
    H: FnMut(Message) -> F,
    F: Future<Output = Disposition>,
{
    let mut deliveries = subscribe(channel, queue, prefetch).await?;
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = deliveries.next() => next,
        };
        let mut delivery = match next {
            Some(d) => d?,
            None => return Err(BrokerError::StreamEnded),
        };
        let message = message_of(&mut delivery);
        handle_one(&delivery, queue, handler(message), shutdown).await?;
    }
}

/// Starts consuming `queue` with manual acks and at most `prefetch`
/// unacknowledged messages in hand.
async fn subscribe(
    channel: &Channel,
    queue: Queue,
    prefetch: u16,
) -> Result<lapin::Consumer, BrokerError> {
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    Ok(channel
        .basic_consume(
            queue.name,
            "",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?)
}

/// The handler's view of a delivery; the payload moves out of it.
fn message_of(delivery: &mut Delivery) -> Message {
    let redeliveries = delivery_count(delivery);
    Message {
        payload: std::mem::take(&mut delivery.data),
        redeliveries,
        last_attempt: redeliveries + 1 >= DELIVERY_LIMIT as u32,
        trace: trace_context(delivery),
        message_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        kind: header_text(delivery, "bf-kind").unwrap_or_default(),
        death: death(delivery),
    }
}

/// Runs one handler to its end (or to the shutdown grace) and settles the
/// delivery by its disposition: nothing is acked before the handler says
/// its effects are committed.
async fn handle_one<F>(
    delivery: &Delivery,
    queue: Queue,
    handling: F,
    shutdown: &CancellationToken,
) -> Result<(), BrokerError>
where
    F: Future<Output = Disposition>,
{
    let redeliveries = delivery_count(delivery);
    let started = std::time::Instant::now();
    tokio::pin!(handling);
    let disposition = tokio::select! {
        d = &mut handling => d,
        _ = shutdown.cancelled() => tokio::time::timeout(SHUTDOWN_GRACE, &mut handling)
            .await
            .unwrap_or(Disposition::Requeue),
    };
    handling_time()
        .with_label_values(&[queue.name])
        .observe(started.elapsed().as_secs_f64());
    settle(delivery, queue, redeliveries, disposition, shutdown).await
}

/// Consumes `queue` with up to `workers` messages in hand at once, taking
/// them fairly across the keys `key_of` reads from each payload (the
/// tenant): the broker hands over up to `window` messages, and a free
/// worker takes the waiting message of the key with the fewest running,
/// the least recently served first, and never gives one key every worker
/// (with two or more, one stays free for another key). So one practice's
/// huge files cannot hold every worker while another practice's small
/// file waits; the price is that a lone practice uses one worker fewer. Messages
/// waiting in the window are unacked, so a crash loses none of them; on
/// shutdown they go straight back and those in hand get the grace.
pub async fn consume_fair<K, H, F>(
    channel: &Channel,
    queue: Queue,
    fairness: Fairness,
    shutdown: &CancellationToken,
    key_of: K,
    handler: H,
) -> Result<(), BrokerError>
where
    K: Fn(&[u8]) -> String,
    H: Fn(Message) -> F,
    F: Future<Output = Disposition> + Send + 'static,
{
    let workers = fairness.workers.max(1);
    let window = fairness.window.max(workers);
    // One worker is always kept for another key (when there are two or
    // more): a practice's big files never hold them all.
    let per_key = workers.saturating_sub(1).max(1);
    let prefetch = u16::try_from(window).unwrap_or(u16::MAX);
    let mut deliveries = subscribe(channel, queue, prefetch).await?;
    let mut waiting: FairQueue<(Delivery, Message)> = FairQueue::default();
    let mut running: tokio::task::JoinSet<(String, Result<(), BrokerError>)> =
        tokio::task::JoinSet::new();
    let outcome = loop {
        while running.len() < workers {
            let Some((key, (delivery, message))) = waiting.pop(per_key) else {
                break;
            };
            let handling = handler(message);
            let stop = shutdown.clone();
            running.spawn(async move {
                let settled = handle_one(&delivery, queue, handling, &stop).await;
                (key, settled)
            });
        }
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            Some(done) = running.join_next(), if !running.is_empty() => {
                let (key, settled) = done.map_err(|_| BrokerError::StreamEnded)?;
                waiting.finished(&key);
                if let Err(e) = settled {
                    break Err(e);
                }
            }
            next = deliveries.next(), if waiting.len() + running.len() < window => {
                let mut delivery = match next {
                    Some(d) => d?,
                    None => break Err(BrokerError::StreamEnded),
                };
                let message = message_of(&mut delivery);
                let key = key_of(&message.payload);
                waiting.push(key, (delivery, message));
            }
        }
    };
    // Not started: straight back to the queue for another consumer.
    while let Some((_, (delivery, _))) = waiting.pop(usize::MAX) {
        settled().with_label_values(&[queue.name, "requeue"]).inc();
        let _ = delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await;
    }
    // In hand: each finishes or is handed back within the grace.
    while running.join_next().await.is_some() {}
    outcome
}

/// How many messages a fair consumer handles at once, and how many it
/// takes from the broker to choose among.
#[derive(Debug, Clone, Copy)]
pub struct Fairness {
    pub workers: usize,
    pub window: usize,
}

fn settled() -> &'static prometheus::IntCounterVec {
    static C: std::sync::OnceLock<prometheus::IntCounterVec> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        bf_runtime::metrics::counter(
            "bf_messages_total",
            "Messages handled, by queue and outcome (done, retry, requeue, dead_lettered)",
            &["queue", "outcome"],
        )
    })
}

fn handling_time() -> &'static prometheus::HistogramVec {
    static H: std::sync::OnceLock<prometheus::HistogramVec> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        bf_runtime::metrics::histogram(
            "bf_message_handling_seconds",
            "Time to handle one message, by queue",
            &["queue"],
        )
    })
}

async fn settle(
    delivery: &Delivery,
    queue: Queue,
    redeliveries: u32,
    disposition: Disposition,
    shutdown: &CancellationToken,
) -> Result<(), BrokerError> {
    let outcome = match &disposition {
        Disposition::Done => "done",
        Disposition::Retry(_) => "retry",
        Disposition::Requeue => "requeue",
        Disposition::Reject(_) => "dead_lettered",
    };
    settled().with_label_values(&[queue.name, outcome]).inc();
    match disposition {
        Disposition::Done => delivery.ack(BasicAckOptions::default()).await?,
        Disposition::Retry(reason) => {
            tracing::warn!(queue = queue.name, redeliveries, %reason, "handler failed; will retry");
            // Back off so a dependency that is restarting gets time to return;
            // when shutting down, hand it back at once to stay within the grace.
            let pause = Duration::from_millis(500 * 2u64.pow(redeliveries.min(5)));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.cancelled() => {}
            }
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await?
        }
        Disposition::Requeue => {
            tracing::info!(
                queue = queue.name,
                "returning unfinished message to the queue"
            );
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await?
        }
        Disposition::Reject(reason) => {
            tracing::error!(queue = queue.name, %reason, "message rejected; dead-lettering");
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await?
        }
    }
    Ok(())
}

/// The trace context headers of a delivery.
fn trace_context(delivery: &Delivery) -> HashMap<String, String> {
    let Some(headers) = delivery.properties.headers() else {
        return HashMap::new();
    };
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|key| match headers.inner().get(key) {
            Some(AMQPValue::LongString(v)) => Some((key.to_string(), v.to_string())),
            _ => None,
        })
        .collect()
}

/// A text header of a delivery.
fn header_text(delivery: &Delivery, key: &str) -> Option<String> {
    match delivery.properties.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongString(v) => Some(v.to_string()),
        AMQPValue::ShortString(v) => Some(v.to_string()),
        _ => None,
    }
}

/// The newest `x-death` entry of a dead letter.
fn death(delivery: &Delivery) -> Option<Death> {
    let AMQPValue::FieldArray(deaths) = delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get("x-death")?
    else {
        return None;
    };
    let AMQPValue::FieldTable(newest) = deaths.as_slice().first()? else {
        return None;
    };
    let reason = match newest.inner().get("reason") {
        Some(AMQPValue::LongString(v)) => v.to_string(),
        Some(AMQPValue::ShortString(v)) => v.to_string(),
        _ => "unknown".to_string(),
    };
    let count = newest.inner().get("count").map(integer).unwrap_or(1);
    Some(Death { reason, count })
}

fn integer(value: &AMQPValue) -> i64 {
    match value {
        AMQPValue::ShortShortInt(v) => (*v).into(),
        AMQPValue::ShortShortUInt(v) => (*v).into(),
        AMQPValue::ShortInt(v) => (*v).into(),
        AMQPValue::ShortUInt(v) => (*v).into(),
        AMQPValue::LongInt(v) => (*v).into(),
        AMQPValue::LongUInt(v) => (*v).into(),
        AMQPValue::LongLongInt(v) => *v,
        _ => 0,
    }
}

/// The broker's count of earlier deliveries (quorum queues' header).
fn delivery_count(delivery: &Delivery) -> u32 {
    let Some(headers) = delivery.properties.headers() else {
        return 0;
    };
    let Some(value) = headers.inner().get("x-delivery-count") else {
        return 0;
    };
    u32::try_from(integer(value)).unwrap_or(0)
}
