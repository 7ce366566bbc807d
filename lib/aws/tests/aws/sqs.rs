//! SQS batches: chunking, delays, per-message failures.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sentinel_aws::{SQS_MAX_BATCH_BYTES, SqsQueue};

use crate::common::{config, unique};

async fn fresh_queue() -> SqsQueue {
    let client = config().await.sqs();
    let url = client
        .create_queue()
        .queue_name(unique("sentinel-checks"))
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("queue URL");
    SqsQueue::new(client, url)
}

/// Receives until `count` messages arrived or 30 s passed; deletes what it reads.
async fn drain(queue: &SqsQueue, count: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while bodies.len() < count && Instant::now() < deadline {
        for message in queue
            .receive(10, Duration::from_secs(1))
            .await
            .expect("receive")
        {
            queue.delete(&message.receipt_handle).await.expect("delete");
            bodies.push(message.body);
        }
    }
    bodies
}

#[tokio::test]
async fn twenty_five_delayed_messages_round_trip_and_an_oversize_one_is_reported() {
    let queue = fresh_queue().await;
    let mut messages: Vec<(String, u32)> = (0..25)
        .map(|i| (format!(r#"{{"monitor":"m{i:02}"}}"#), i % 3))
        .collect();
    messages.push(("x".repeat(SQS_MAX_BATCH_BYTES + 1), 0));

    let report = queue.send_batch(messages.clone()).await;
    assert_eq!(report.sent, 25, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].index, 25);
    assert_eq!(report.failed[0].code, "MessageTooLong");
    assert!(!report.failed[0].retryable);

    let received: BTreeSet<String> = drain(&queue, 25).await.into_iter().collect();
    let expected: BTreeSet<String> = messages[..25].iter().map(|(b, _)| b.clone()).collect();
    assert_eq!(received, expected, "every message arrives exactly once");
}

#[tokio::test]
async fn batches_respect_the_byte_limit() {
    let queue = fresh_queue().await;
    // Ten 100 KiB messages cannot share one 256 KiB batch; all must still go.
    let messages: Vec<(String, u32)> = (0..10)
        .map(|i| (format!("{i}{}", "y".repeat(100 * 1024)), 0))
        .collect();
    let report = queue.send_batch(messages).await;
    assert_eq!(report.sent, 10, "{report:?}");
    assert!(report.failed.is_empty());
    assert_eq!(drain(&queue, 10).await.len(), 10);
}

#[tokio::test]
async fn bad_delays_and_empty_bodies_are_reported_without_sending() {
    let queue = fresh_queue().await;
    let report = queue
        .send_batch(vec![
            ("ok".to_owned(), 0),
            ("late".to_owned(), 901),
            (String::new(), 0),
        ])
        .await;
    assert_eq!(report.sent, 1);
    let failed: Vec<(usize, &str)> = report
        .failed
        .iter()
        .map(|f| (f.index, f.code.as_str()))
        .collect();
    assert_eq!(failed, [(1, "InvalidDelay"), (2, "EmptyMessage")]);
    assert_eq!(drain(&queue, 1).await, ["ok"]);
}

#[tokio::test]
async fn a_missing_queue_reports_every_message_as_failed() {
    let client = config().await.sqs();
    let queue = SqsQueue::new(
        client,
        format!(
            "{}/123456789012/{}",
            crate::common::endpoint(),
            unique("missing")
        ),
    );
    let report = queue
        .send_batch((0..12).map(|i| (format!("m{i}"), 0)).collect())
        .await;
    assert_eq!(report.sent, 0);
    assert_eq!(
        report.failed.iter().map(|f| f.index).collect::<Vec<_>>(),
        (0..12).collect::<Vec<_>>()
    );
}
