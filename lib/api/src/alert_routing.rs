//! Where alerts go: the config file's channels for config monitors, the owner's own
//! channels (created through the API, secrets decrypted per alert) for API monitors.
//! A monitor's `alerts` list names the channels to use; empty means all of them.
//! ECS health alerts go to every admin's channels (the notifier adds its static ones).

use std::sync::Arc;

use async_trait::async_trait;
use sentinel_core::MonitorSpec;
use sentinel_core::account::Role;
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

    /// Every channel of every enabled admin, named `<name>#<channel id>` so channels of
    /// different admins that share a name stay apart in the ledger. Not the config
    /// channels: the notifier already holds those.
    async fn ecs_channels(&self) -> Result<Vec<Arc<dyn AlertChannel>>, StoreError> {
        let mut channels = Vec::new();
        for user in self.accounts.list_users().await? {
            if user.role != Role::Admin || user.disabled {
                continue;
            }
            for record in self.accounts.list_channels(Some(&user.id)).await? {
                let named = ChannelRecord {
                    name: format!("{}#{}", record.name, record.id),
                    ..record
                };
                match build_channel(&self.keyring, &named, &self.deps) {
                    Ok(channel) => channels.push(channel),
                    Err(e) => tracing::error!(
                        channel_id = %named.id,
                        error = %e,
                        "alert channel cannot be used for ECS alerts"
                    ),
                }
            }
        }
        Ok(channels)
    }
}
