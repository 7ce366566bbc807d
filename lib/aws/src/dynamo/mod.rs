//! [`DynamoTable`]: the DynamoDB single table behind live state, rate limits, the alert
//! ledger, incidents and ECS snapshots with their metric history.
//!
//! # Table shape (the SAM template must declare exactly this)
//!
//! - Billing: `PAY_PER_REQUEST`.
//! - Key: `pk` (S, HASH), `sk` (S, RANGE).
//! - GSI `gsi1`: `gsi1pk` (S, HASH), `gsi1sk` (S, RANGE), projection `ALL`. Sparse:
//!   only deliveries carry these attributes.
//! - TTL attribute: `expires_at` (N, epoch **seconds**).
//! - `AttributeDefinitions`: `pk`, `sk`, `gsi1pk`, `gsi1sk`, all `S`.
//!
//! # Items
//!
//! | what | `pk` | `sk` | `gsi1pk` / `gsi1sk` | other attributes |
//! |---|---|---|---|---|
//! | live state | `STATES#<shard>` (0–7, FNV-1a of the id) | `<monitor>` | — | `version` N, `state` S (JSON of `LiveState`) |
//! | rate-limit window | `RL#<key>#<window_start_ms>` | `RL` | — | `count` N, `expires_at` |
//! | alert delivery | `IDEM#<key>` | `IDEM` | `DELIVERIES` / `<created_at>#<key>` | `key`, `channel`, `monitor_id`, `event`, `status` S; `attempts`, `created_at`, `updated_at` N; `last_error` S (absent when none); `expires_at` |
//! | incident | `INC#<monitor>` | `<started_at>#<incident id>` | — | `id`, `monitor_id`, `cause` S; `started_at` N; `ended_at` N (absent while open); `proof` L of N |
//! | ECS snapshot, metric point, metric series | `ECS#SNAP`, `ECS#M#…`, `ECS#MS#<account>` | see [`ecs`] | — | see [`ecs`]; metric points carry `expires_at` |
//! | ECS incident (history) | `ECS#INC` | [`sortable`]`(started_at)#<id>` | — | `incident` S (JSON of `EcsIncident`), `id` S, `started_at` N, `ended_at` N (absent while open) |
//! | open ECS incident | `ECS#OPEN` | `<account>#<region>#<cluster>#<service>` | — | `incident` S (JSON), `history_sk` S; written with `attribute_not_exists`, see [`ecs_incidents`] |
//!
//! `<created_at>` and `<started_at>` in sort keys are [`sortable`] (20 digits, order
//! preserving for every `i64`), so string order is time order and a reverse `Query`
//! lists newest first.
//!
//! # Costs
//!
//! Every write is a single conditional `PutItem`/`UpdateItem`/`DeleteItem`; nothing on
//! the hot path reads before it writes. A failed compare-and-set returns the stored
//! item with the failure (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), so a
//! conflict costs no extra read either. ECS incidents are the exception: opening and
//! closing one writes its history item and its open pointer in one `TransactWriteItems`
//! (a lost race reads the pointer back). Point reads are strongly consistent; listing all
//! live states (one `Query` per shard) and all deliveries (through `gsi1`) are
//! eventually consistent.

mod alert_ledger;
mod ecs;
mod ecs_incidents;
mod incidents;
mod item;
mod live_state;
mod purge;
mod rate_limits;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};

use crate::AwsError;

pub use item::sortable;

/// Name of the one GSI.
pub const GSI1: &str = "gsi1";
/// Name of the TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// How long deliveries (idempotency claims) are kept before DynamoDB's TTL may delete them.
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// One DynamoDB table holding the live-state, rate-limit, alert-ledger and incident
/// ports. Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    delivery_retention: Duration,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            delivery_retention: DEFAULT_DELIVERY_RETENTION,
        }
    }

    /// Keeps deliveries this long after they were created (TTL), instead of 90 days.
    pub fn with_delivery_retention(mut self, retention: Duration) -> Self {
        self.delivery_retention = retention;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table in the shape the module docs describe, waits until it is
    /// active and enables TTL. For tests and bootstrapping; production tables come
    /// from the SAM template.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table))]
    pub async fn create_table(&self) -> Result<(), AwsError> {
        let string_attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| AwsError::Invalid(format!("attribute definition: {e}")))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| AwsError::Invalid(format!("key schema: {e}")))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key("gsi1pk", KeyType::Hash)?)
            .key_schema(key("gsi1sk", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| AwsError::Invalid(format!("index: {e}")))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attr("pk")?)
            .attribute_definitions(string_attr("sk")?)
            .attribute_definitions(string_attr("gsi1pk")?)
            .attribute_definitions(string_attr("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB CreateTable", e))?;

        // Real DynamoDB takes seconds to activate a table; moto is immediate.
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| AwsError::sdk("DynamoDB DescribeTable", e))?;
            let status = described.table().and_then(|t| t.table_status());
            if status == Some(&TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(|e| AwsError::Invalid(format!("TTL: {e}")))?,
            )
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB UpdateTimeToLive", e))?;
        Ok(())
    }
}
