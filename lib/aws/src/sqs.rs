//! [`SqsQueue`]: batched sends with per-message failures (the scheduler's fan-out), and
//! receive/delete for tests and tools.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};

use crate::AwsError;
use crate::chunk::chunks;

/// Most entries in one `SendMessageBatch`.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Most bytes in one message and in one batch: the classic 256 KiB (queues may allow
/// more since 2025, but a queue created with the old default does not).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Longest `DelaySeconds` SQS accepts.
pub const MAX_DELAY_SECONDS: u32 = 900;
/// Batches in flight at once.
const CONCURRENCY: usize = 8;

/// A message that could not be sent, by its index in the list given to
/// [`SqsQueue::send_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSend {
    pub index: usize,
    /// SQS's error code, or ours (`MessageTooLong`, `InvalidDelay`, `EmptyMessage`).
    pub code: String,
    pub message: String,
    /// Whether sending it again later can help.
    pub retryable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    /// Ordered by index.
    pub failed: Vec<FailedSend>,
}

/// A received message; pass its `receipt_handle` to [`SqsQueue::delete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    pub receipt_handle: String,
}

/// One SQS queue, by URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends `(body, delay_seconds)` messages in batches of at most 10 entries and
    /// 256 KiB, several batches at a time. Messages that fail for a reason that may
    /// clear (throttling, a 5xx, the network) are sent once more; what still fails,
    /// and what could never be sent (too long, delay over 900 s, empty), is reported
    /// by index. Never fails as a whole: the caller decides per message.
    #[tracing::instrument(level = "debug", skip_all, fields(queue = %self.queue_url, messages = messages.len()))]
    pub async fn send_batch(&self, messages: Vec<(String, u32)>) -> SendReport {
        let mut failed = Vec::new();
        let mut sizes = Vec::with_capacity(messages.len());
        for (index, (body, delay)) in messages.iter().enumerate() {
            let refuse = |code: &str, message: String| FailedSend {
                index,
                code: code.to_owned(),
                message,
                retryable: false,
            };
            if body.is_empty() {
                failed.push(refuse("EmptyMessage", "message body is empty".to_owned()));
            } else if *delay > MAX_DELAY_SECONDS {
                failed.push(refuse(
                    "InvalidDelay",
                    format!("delay of {delay} s is over the {MAX_DELAY_SECONDS} s SQS allows"),
                ));
            } else {
                sizes.push((index, body.len()));
            }
        }
        let (batches, oversize) = chunks(&sizes, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES);
        failed.extend(oversize.into_iter().map(|index| FailedSend {
            index,
            code: "MessageTooLong".to_owned(),
            message: format!(
                "message of {} bytes is over the {MAX_BATCH_BYTES} bytes SQS allows",
                messages[index].0.len()
            ),
            retryable: false,
        }));

        let mut first = self.send_all(&messages, batches).await;
        // One more try for what may clear up; the SDK already retried whole requests.
        let (again, given_up): (Vec<FailedSend>, Vec<FailedSend>) =
            first.drain(..).partition(|f| f.retryable);
        failed.extend(given_up);
        if !again.is_empty() {
            tracing::debug!(count = again.len(), "sending failed messages again");
            let sizes: Vec<(usize, usize)> = again
                .iter()
                .map(|f| (f.index, messages[f.index].0.len()))
                .collect();
            let (batches, _) = chunks(&sizes, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES);
            failed.extend(self.send_all(&messages, batches).await);
        }
        failed.sort_by_key(|f| f.index);
        for f in &failed {
            tracing::warn!(index = f.index, code = %f.code, message = %f.message, "message not sent");
        }
        SendReport {
            sent: messages.len() - failed.len(),
            failed,
        }
    }

    async fn send_all(
        &self,
        messages: &[(String, u32)],
        batches: Vec<Vec<usize>>,
    ) -> Vec<FailedSend> {
        stream::iter(batches)
            .map(|batch| self.send_one_batch(messages, batch))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Sends one batch; returns its failures.
    async fn send_one_batch(
        &self,
        messages: &[(String, u32)],
        batch: Vec<usize>,
    ) -> Vec<FailedSend> {
        let mut entries = Vec::with_capacity(batch.len());
        for &index in &batch {
            let (body, delay) = &messages[index];
            let entry = SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(body)
                .delay_seconds(i32::try_from(*delay).unwrap_or(i32::MAX))
                .build();
            match entry {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    return batch_failed(&batch, "InvalidEntry", &e.to_string(), false);
                }
            }
        }
        let result = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match result {
            Ok(out) => out
                .failed()
                .iter()
                .filter_map(|f| {
                    let index: usize = f.id().parse().ok()?;
                    Some(FailedSend {
                        index,
                        code: f.code().to_owned(),
                        message: f.message().unwrap_or_default().to_owned(),
                        retryable: !f.sender_fault(),
                    })
                })
                .collect(),
            Err(e) => {
                let error = AwsError::sdk("SQS SendMessageBatch", e);
                let code = error.code().unwrap_or("RequestFailed").to_owned();
                batch_failed(&batch, &code, &error.to_string(), error.is_retryable())
            }
        }
    }

    /// Receives up to `max` (1 to 10) messages, waiting up to `wait` for the first.
    pub async fn receive(
        &self,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, AwsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait.as_secs().min(20)).unwrap_or(20))
            .send()
            .await
            .map_err(|e| AwsError::sdk("SQS ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| ReceivedMessage {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), AwsError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| AwsError::sdk("SQS DeleteMessage", e))?;
        Ok(())
    }
}

fn batch_failed(batch: &[usize], code: &str, message: &str, retryable: bool) -> Vec<FailedSend> {
    batch
        .iter()
        .map(|&index| FailedSend {
            index,
            code: code.to_owned(),
            message: message.to_owned(),
            retryable,
        })
        .collect()
}
