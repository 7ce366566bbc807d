//! Where alerts go: the config file's channels for config monitors, the owner's own
//! channels (created through the API, secrets decrypted per alert) for API monitors.
//! A monitor's `alerts` list names the channels to use; empty means all of them.

use std::sync::Arc;

use async_trait::async_trait;
use sentinel_core::MonitorSpec;
use sentinel_pipeline::ChannelSource;
use sentinel_pipeline::channels::{AlertChannel, ChannelConfig, ChannelDeps};
use sentinel_pipeline::select_channels;
use sentinel_store::{ChannelRecord, StoreError};

use crate::AccountStores;
use crate::crypto;
use crate::settings::Keyring;

pub struct AccountChannels {
    pub config_channels: Vec<Arc<dyn AlertChannel>>,
    pub accounts: Arc<dyn AccountStores>,
    pub keyring: Keyring,
    pub deps: ChannelDeps,
}

/// Builds the channel a stored record describes, decrypting its config.
pub fn build_channel(
    keyring: &Keyring,
    record: &ChannelRecord,
    deps: &ChannelDeps,
) -> Result<Arc<dyn AlertChannel>, String> {
    let plain = crypto::open(keyring, &record.key_id, &record.secret)
        .map_err(|e| format!("cannot decrypt: {e}"))?;
    let config: ChannelConfig =
        serde_json::from_slice(&plain).map_err(|e| format!("unreadable config: {e}"))?;
    config
        .build(&record.name, deps)
        .map_err(|e| format!("{}: {}", e.field, e.message))
}

#[async_trait]
impl ChannelSource for AccountChannels {
    async fn channels_for(
        &self,
        spec: &MonitorSpec,
    ) -> Result<Vec<Arc<dyn AlertChannel>>, StoreError> {
        let owner = self
            .accounts
            .get_monitor_record(&spec.id)
            .await?
            .and_then(|r| r.owner);
        let Some(owner) = owner else {
            return Ok(select_channels(&self.config_channels, spec));
        };
        let mut channels = Vec::new();
        for record in self.accounts.list_channels(Some(&owner)).await? {
            if !spec.alerts.is_empty() && !spec.alerts.contains(&record.name) {
                continue;
            }
            match build_channel(&self.keyring, &record, &self.deps) {
                Ok(channel) => channels.push(channel),
                Err(e) => tracing::error!(
                    channel_id = %record.id,
                    monitor_id = %spec.id,
                    error = %e,
                    "alert channel cannot be used"
                ),
            }
        }
        Ok(channels)
    }
}
