//! [`EventPublisher`]: status-change events onto an EventBridge bus with `PutEvents`.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::stream::{self, StreamExt};

use crate::AwsError;
use crate::chunk::chunks;

/// Most entries in one `PutEvents`.
pub const MAX_ENTRIES: usize = 10;
/// Most bytes in one `PutEvents` request (and so in one entry), as EventBridge counts
/// them: source, detail-type, detail and resources.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
const CONCURRENCY: usize = 4;
/// Per-entry codes that a second try can clear.
const RETRYABLE_CODES: &[&str] = &[
    "InternalFailure",
    "ThrottlingException",
    "InternalException",
];

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEvent {
    /// `detail-type`, what rules match on (e.g. `MonitorDown`).
    pub detail_type: String,
    pub detail: serde_json::Value,
}

/// An event that was not published, by its index in the list given to
/// [`EventPublisher::publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    pub index: usize,
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub published: usize,
    /// Ordered by index.
    pub failed: Vec<FailedEvent>,
}

/// Publishes to one bus with one `source`.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: Client,
    bus_name: String,
    source: String,
}

impl EventPublisher {
    /// `bus_name` is a name or ARN; `source` is what rules match on (e.g. `sentinel`).
    pub fn new(client: Client, bus_name: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            source: source.into(),
        }
    }

    /// Publishes in requests of at most 10 entries and 256 KiB. Entries EventBridge
    /// reports as failed (`FailedEntryCount`) with a passing cause are put once more;
    /// what still fails is reported by index. Never fails as a whole.
    #[tracing::instrument(level = "debug", skip_all, fields(bus = %self.bus_name, events = events.len()))]
    pub async fn publish(&self, events: Vec<OutgoingEvent>) -> PublishReport {
        let mut failed = Vec::new();
        let mut prepared: Vec<Option<(String, usize)>> = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            match serde_json::to_string(&event.detail) {
                Ok(detail) => {
                    let size = self.source.len() + event.detail_type.len() + detail.len();
                    prepared.push(Some((detail, size)));
                }
                Err(e) => {
                    failed.push(FailedEvent {
                        index,
                        code: "MalformedDetail".to_owned(),
                        message: e.to_string(),
                        retryable: false,
                    });
                    prepared.push(None);
                }
            }
        }
        let sizes: Vec<(usize, usize)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|(_, size)| (i, *size)))
            .collect();
        let (batches, oversize) = chunks(&sizes, MAX_ENTRIES, MAX_REQUEST_BYTES);
        failed.extend(oversize.into_iter().map(|index| FailedEvent {
            index,
            code: "EntryTooLarge".to_owned(),
            message: format!("event is over the {MAX_REQUEST_BYTES} bytes EventBridge allows"),
            retryable: false,
        }));

        let first = self.put_all(&events, &prepared, batches).await;
        let (again, given_up): (Vec<FailedEvent>, Vec<FailedEvent>) =
            first.into_iter().partition(|f| f.retryable);
        failed.extend(given_up);
        if !again.is_empty() {
            tracing::debug!(count = again.len(), "putting failed events again");
            let sizes: Vec<(usize, usize)> = again
                .iter()
                .filter_map(|f| prepared[f.index].as_ref().map(|(_, size)| (f.index, *size)))
                .collect();
            let (batches, _) = chunks(&sizes, MAX_ENTRIES, MAX_REQUEST_BYTES);
            failed.extend(self.put_all(&events, &prepared, batches).await);
        }
        failed.sort_by_key(|f| f.index);
        for f in &failed {
            tracing::warn!(index = f.index, code = %f.code, message = %f.message, "event not published");
        }
        PublishReport {
            published: events.len() - failed.len(),
            failed,
        }
    }

    async fn put_all(
        &self,
        events: &[OutgoingEvent],
        prepared: &[Option<(String, usize)>],
        batches: Vec<Vec<usize>>,
    ) -> Vec<FailedEvent> {
        stream::iter(batches)
            .map(|batch| self.put_batch(events, prepared, batch))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn put_batch(
        &self,
        events: &[OutgoingEvent],
        prepared: &[Option<(String, usize)>],
        batch: Vec<usize>,
    ) -> Vec<FailedEvent> {
        let entries: Vec<PutEventsRequestEntry> = batch
            .iter()
            .map(|&index| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(&self.source)
                    .detail_type(&events[index].detail_type)
                    .set_detail(prepared[index].as_ref().map(|(detail, _)| detail.clone()))
                    .build()
            })
            .collect();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            // Result entries are in request order; a failed one carries an error code.
            Ok(out) => out
                .entries()
                .iter()
                .zip(&batch)
                .filter_map(|(entry, &index)| {
                    let code = entry.error_code()?;
                    Some(FailedEvent {
                        index,
                        code: code.to_owned(),
                        message: entry.error_message().unwrap_or_default().to_owned(),
                        retryable: RETRYABLE_CODES.contains(&code),
                    })
                })
                .collect(),
            Err(e) => {
                let error = AwsError::sdk("EventBridge PutEvents", e);
                let code = error.code().unwrap_or("RequestFailed").to_owned();
                batch
                    .iter()
                    .map(|&index| FailedEvent {
                        index,
                        code: code.clone(),
                        message: error.to_string(),
                        retryable: error.is_retryable(),
                    })
                    .collect()
            }
        }
    }
}
