//! Command-line and environment settings for storage, shared by every binary that talks to S3.

use crate::StorageConfig;

/// Storage settings, read from the standard `S3_*` and `AWS_*` variables (or flags).
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// S3 endpoint URL; leave unset for AWS S3.
    #[arg(long = "s3-endpoint", env = "S3_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Bucket for originals and outputs.
    #[arg(long = "s3-bucket", env = "S3_BUCKET", default_value = "tintype")]
    pub bucket: String,
    /// Region (any value for most S3-compatible stores).
    #[arg(long = "s3-region", env = "S3_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Path-style addressing (needed by SeaweedFS, MinIO, Garage; AWS accepts it too).
    #[arg(long = "s3-force-path-style", env = "S3_FORCE_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub force_path_style: bool,
    /// Access key id.
    #[arg(
        long = "aws-access-key-id",
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub access_key_id: String,
    /// Secret access key (prefer the environment variable to the flag).
    #[arg(
        long = "aws-secret-access-key",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: String,
}

impl StorageArgs {
    /// The connection settings.
    pub fn config(&self) -> StorageConfig {
        StorageConfig {
            endpoint: self.endpoint.clone().filter(|e| !e.is_empty()),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            force_path_style: self.force_path_style,
        }
    }
}
