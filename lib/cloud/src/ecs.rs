//! Where the AWS deployment's ECS collection rounds send health transitions: the
//! EventBridge bus, whose rule queues them for the notifier function.

use async_trait::async_trait;
use sentinel_aws::{EventPublisher, OutgoingEvent};
use sentinel_pipeline::cloud::{ECS_EVENT_DETAIL_TYPE, ecs_transition_event_detail};
use sentinel_pipeline::ecs::{EcsAlertError, EcsAlertSink, EcsTransition};

/// ECS health transitions to the EventBridge bus (source `sentinel.ecs`, detail-type
/// `EcsHealthTransition`), for the notifier function.
pub struct BusEcsSink(pub EventPublisher);

#[async_trait]
impl EcsAlertSink for BusEcsSink {
    async fn publish(&self, transitions: &[EcsTransition]) -> Result<(), EcsAlertError> {
        if transitions.is_empty() {
            return Ok(());
        }
        let events = transitions
            .iter()
            .map(|t| {
                let detail = ecs_transition_event_detail(t)
                    .and_then(|json| serde_json::from_str(&json))
                    .map_err(|e| EcsAlertError::Publish(e.to_string()))?;
                Ok(OutgoingEvent {
                    detail_type: ECS_EVENT_DETAIL_TYPE.to_owned(),
                    detail,
                })
            })
            .collect::<Result<Vec<_>, EcsAlertError>>()?;
        let report = self.0.publish(events).await;
        if report.failed.is_empty() {
            Ok(())
        } else {
            Err(EcsAlertError::Publish(format!(
                "{} of {} events refused: {:?}",
                report.failed.len(),
                transitions.len(),
                report.failed
            )))
        }
    }
}
