//! EventBridge: events put on a bus reach an SQS target through a rule.

use std::time::{Duration, Instant};

use sentinel_aws::{EventPublisher, OutgoingEvent, SqsQueue};
use serde_json::json;

use crate::common::{config, unique};

#[tokio::test]
async fn published_events_reach_an_sqs_target_through_a_rule() {
    let config = config().await;
    let (events, sqs) = (config.eventbridge(), config.sqs());
    let bus = unique("sentinel-bus");
    let source = unique("sentinel.test");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("create the bus");
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("sentinel-notify"))
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("queue URL");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue ARN");
    events
        .put_rule()
        .name("status-changes")
        .event_bus_name(&bus)
        .event_pattern(
            json!({"source": [source], "detail-type": ["MonitorDown", "MonitorUp"]}).to_string(),
        )
        .send()
        .await
        .expect("create the rule");
    events
        .put_targets()
        .rule("status-changes")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("notifier-queue")
                .arn(&queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("add the SQS target");

    // 12 events: two PutEvents requests; plus one too large for any request.
    let mut outgoing: Vec<OutgoingEvent> = (0..12u32)
        .map(|i| OutgoingEvent {
            detail_type: if i.is_multiple_of(2) {
                "MonitorDown"
            } else {
                "MonitorUp"
            }
            .to_owned(),
            detail: json!({"monitor_id": format!("m{i:02}"), "version": i}),
        })
        .collect();
    outgoing.push(OutgoingEvent {
        detail_type: "MonitorDown".to_owned(),
        detail: json!({"blob": "z".repeat(300 * 1024)}),
    });

    let report = EventPublisher::new(events, &bus, &source)
        .publish(outgoing)
        .await;
    assert_eq!(report.published, 12, "{report:?}");
    assert_eq!(
        report.failed.iter().map(|f| f.index).collect::<Vec<_>>(),
        [12]
    );

    let queue = SqsQueue::new(sqs, queue_url);
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < 12 && Instant::now() < deadline {
        for m in queue
            .receive(10, Duration::from_secs(1))
            .await
            .expect("receive")
        {
            queue.delete(&m.receipt_handle).await.expect("delete");
            let envelope: serde_json::Value =
                serde_json::from_str(&m.body).expect("an EventBridge envelope");
            received.push(envelope);
        }
    }
    assert_eq!(received.len(), 12, "{received:#?}");
    let mut monitors: Vec<String> = received
        .iter()
        .map(|e| {
            assert_eq!(e["source"], json!(source));
            let id = e["detail"]["monitor_id"]
                .as_str()
                .expect("detail")
                .to_owned();
            let i: usize = id[1..].parse().expect("index");
            let expected = if i.is_multiple_of(2) {
                "MonitorDown"
            } else {
                "MonitorUp"
            };
            assert_eq!(e["detail-type"], json!(expected));
            id
        })
        .collect();
    monitors.sort();
    assert_eq!(
        monitors,
        (0..12).map(|i| format!("m{i:02}")).collect::<Vec<_>>()
    );
}
