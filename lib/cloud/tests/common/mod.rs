//! What the cloud tests share: the infrastructure `template.yaml` declares, made on the
//! local servers (PostgreSQL, SecantusDB, moto).

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sentinel_aws::{AwsConfig, DynamoTable};
use sentinel_testkit::services::{self, free_port, wait_for_port};
use serde_json::{Value, json};

pub const MAIL_FROM: &str = "alerts@sentinel.example.com";
/// A recipient of this test run only: moto is shared by every test of a run (and kept
/// between runs on a developer's machine), so mails are told apart by their recipient.
pub fn oncall() -> String {
    format!("oncall-{}@example.com", unique("mail"))
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), free_port())
}

/// A SecantusDB of this test's own, so it can be killed and restarted.
pub struct Mongo {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Mongo {
    pub fn start() -> Self {
        let mut mongo = Self {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        mongo.restart();
        mongo
    }

    pub fn restart(&mut self) {
        let bin = services::find_tool("secantusd-py").expect("secantusd-py installed");
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        assert!(wait_for_port(self.port, Duration::from_secs(30)));
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn uri(&self) -> String {
        format!(
            "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=2000",
            self.port
        )
    }
}

impl Drop for Mongo {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh PostgreSQL database, migrated.
pub async fn postgres_database() -> String {
    let server = services::postgres_url();
    let name = unique("e2e").replace('-', "_");
    let admin = sentinel_postgres::PgStore::connect(
        &sentinel_postgres::PgSettings::from_url(server).unwrap(),
    )
    .await
    .unwrap();
    admin
        .pool()
        .get()
        .await
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    let url = format!("{base}/{name}");
    let store = sentinel_postgres::PgStore::connect(
        &sentinel_postgres::PgSettings::from_url(&url).unwrap(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    url
}

pub struct Infra {
    pub checks_url: String,
    pub notifications_url: String,
    pub bus: String,
    pub table: String,
}

/// What `template.yaml` declares, made in moto.
pub async fn aws_infrastructure(aws: &AwsConfig) -> Infra {
    let table = unique("sentinel");
    DynamoTable::new(aws.dynamodb(), table.clone())
        .create_table()
        .await
        .unwrap();
    let sqs = aws.sqs();
    let mut urls = Vec::new();
    for name in ["checks", "notifications"] {
        let url = sqs
            .create_queue()
            .queue_name(unique(name))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "1",
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        urls.push(url);
    }
    let notifications_arn = sqs
        .get_queue_attributes()
        .queue_url(&urls[1])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap();
    let events = aws.eventbridge();
    let bus = unique("sentinel-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    events
        .put_rule()
        .name("transitions")
        .event_bus_name(&bus)
        .event_pattern(
            json!({"source": ["sentinel.monitors", "sentinel.ecs"],
                   "detail-type": ["MonitorTransition", "EcsHealthTransition"]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("transitions")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("notifications")
                .arn(&notifications_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    aws.ses()
        .create_email_identity()
        .email_identity(MAIL_FROM)
        .send()
        .await
        .unwrap();
    Infra {
        checks_url: urls[0].clone(),
        notifications_url: urls[1].clone(),
        bus,
        table,
    }
}

/// Mails moto's SES recorded to `to` with `subject` containing `needle`.
pub async fn mails_to(endpoint: &str, recipient: &str, needle: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    let ses = &data["ses"];
    // moto keys its records by backend and region; walk whatever holds messages.
    fn walk(v: &Value, recipient: &str, needle: &str, out: &mut Vec<Value>) {
        match v {
            Value::Object(map) => {
                if map.contains_key("subject") && map.contains_key("destinations") {
                    let to = map["destinations"].to_string();
                    let subject = map["subject"].as_str().unwrap_or_default();
                    if to.contains(recipient) && subject.contains(needle) {
                        out.push(v.clone());
                    }
                }
                for child in map.values() {
                    walk(child, recipient, needle, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, recipient, needle, out)),
            _ => {}
        }
    }
    walk(ses, recipient, needle, &mut out);
    out
}
