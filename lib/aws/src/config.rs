//! The SDK configuration and clients, built once per cold start (or once per test).

use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

use crate::AwsError;

/// Where the AWS clients point and how they sign: the real AWS from the environment,
/// or an emulator (moto) at a fixed endpoint.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    sdk: SdkConfig,
    /// S3 virtual-host addressing (`bucket.host`) does not resolve on an emulator's
    /// `127.0.0.1:PORT`, so any endpoint override switches S3 to path style.
    s3_path_style: bool,
}

impl AwsConfig {
    /// Reads region, credentials, retry settings and `AWS_ENDPOINT_URL` the usual SDK
    /// way (environment, Lambda's role, profile files). Call once per cold start.
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        // The service-specific override is resolved inside the S3 client, not in
        // `SdkConfig`, so it is looked up here to pick the addressing style.
        let s3_override = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Self::from_sdk_with_path_style(sdk, s3_override)
    }

    /// An emulator such as moto at `endpoint` (`http://127.0.0.1:PORT`): region
    /// `us-east-1`, static dummy credentials, nothing read from the environment that
    /// could point elsewhere.
    pub async fn emulator(endpoint: &str) -> Self {
        let credentials = Credentials::new("testing", "testing", None, None, "sentinel-emulator");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .load()
            .await;
        Self::from_sdk(sdk)
    }

    /// Wraps a config built by the caller.
    pub fn from_sdk(sdk: SdkConfig) -> Self {
        Self::from_sdk_with_path_style(sdk, false)
    }

    fn from_sdk_with_path_style(sdk: SdkConfig, s3_override: bool) -> Self {
        let s3_path_style = s3_override || sdk.endpoint_url().is_some();
        Self { sdk, s3_path_style }
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// This config signed as `role_arn`, with the credentials of one `AssumeRole` made
    /// now and never refreshed: for short jobs such as seeding an account on moto (which
    /// maps a role assumed in account X to account X). The ECS collector assumes its
    /// roles itself, counting and classifying each call.
    pub async fn assuming_role(
        &self,
        role_arn: &str,
        session_name: &str,
    ) -> Result<AwsConfig, AwsError> {
        let answer = self
            .sts()
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("STS AssumeRole", e))?;
        let c = answer
            .credentials()
            .ok_or_else(|| AwsError::Corrupt("STS answered without credentials".to_owned()))?;
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            SystemTime::try_from(*c.expiration()).ok(),
            "sentinel-assumed-role",
        );
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok(Self {
            sdk,
            s3_path_style: self.s3_path_style,
        })
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn ses(&self) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::new(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.s3_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk)
    }

    /// ECS in the config's region with its credentials. The collector
    /// ([`crate::EcsCollector`]) builds its own per account and region; this one is
    /// for tools and tests.
    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }
}

/// Every client this crate uses. A Lambda that needs only one builds only that one
/// from [`AwsConfig`]; `sentinel serve` against AWS takes them all.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

/// Builds all clients from one config (clients share nothing but the config, and are
/// cheap to clone).
pub fn aws_clients(config: &AwsConfig) -> AwsClients {
    AwsClients {
        dynamodb: config.dynamodb(),
        sqs: config.sqs(),
        ses: config.ses(),
        s3: config.s3(),
        eventbridge: config.eventbridge(),
    }
}
