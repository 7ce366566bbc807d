//! Every sample event in `events/` is what its function accepts: API Gateway v2 requests
//! become requests on a known route, SQS bodies are check jobs or transition events.

use std::path::PathBuf;

use aws_lambda_events::sqs::SqsEvent;
use sentinel_pipeline::cloud::{CheckJob, transition_from_event};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

#[test]
fn every_sample_event_parses_as_its_function_reads_it() {
    let mut seen = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        seen += 1;
        match name.as_str() {
            "scheduler.json" | "ecs-collector.json" => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(event["detail-type"], "Scheduled Event", "{name}");
                assert!(
                    event["time"].as_str().is_some(),
                    "{name}: the scheduler reads `time`"
                );
            }
            "prober-batch.json" => {
                let event: SqsEvent = serde_json::from_str(&text).unwrap();
                assert!(!event.records.is_empty());
                for record in event.records {
                    let body = record.body.unwrap();
                    let job: CheckJob = serde_json::from_str(&body)
                        .unwrap_or_else(|e| panic!("{name}: not a check job: {e}"));
                    assert!(!job.checks.is_empty());
                }
            }
            "notifier-batch.json" => {
                let event: SqsEvent = serde_json::from_str(&text).unwrap();
                for record in event.records {
                    transition_from_event(&record.body.unwrap())
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            _ => {
                let request = lambda_http::request::from_str(&text)
                    .unwrap_or_else(|e| panic!("{name}: not an API Gateway request: {e}"));
                let path = request.uri().path().to_owned();
                assert!(
                    path.starts_with("/api/") || path == "/health" || path == "/auth/create-user",
                    "{name}: {path}"
                );
            }
        }
    }
    assert!(
        seen >= 13,
        "one event per function and route group ({seen})"
    );
}
