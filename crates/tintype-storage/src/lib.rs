//! S3-compatible object storage. One client serves AWS S3, SeaweedFS, MinIO and Garage: path-style
//! addressing for non-AWS endpoints, and checksums only when the operation requires them (several
//! S3-compatible stores reject the newer default CRC headers).
//!
//! - [`StorageConfig`]: what to connect to, from the standard `S3_*`/`AWS_*` variables.
//! - [`Storage`]: put, get, stream, delete, list, and the readiness check.
//! - [`StorageError`]: failures, classified as transient (retry) or not.
//! - [`StorageArgs`]: the `S3_*`/`AWS_*` settings every binary takes.

mod args;
mod error;

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig,
};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

pub use args::StorageArgs;
pub use error::StorageError;

/// Where the objects live.
#[derive(Clone)]
pub struct StorageConfig {
    /// Endpoint URL; `None` means AWS S3 for the region.
    pub endpoint: Option<String>,
    /// The bucket holding originals and outputs.
    pub bucket: String,
    /// Region (any value works for most S3-compatible stores).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Address buckets in the path rather than the host name (needed by most non-AWS stores).
    pub force_path_style: bool,
}

impl std::fmt::Debug for StorageConfig {
    // Hand-written so the secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("force_path_style", &self.force_path_style)
            .finish_non_exhaustive()
    }
}

/// A streamed object body with its metadata.
pub struct ObjectStream {
    /// Size in bytes, when the store sent it.
    pub content_length: Option<u64>,
    /// MIME type stored with the object.
    pub content_type: Option<String>,
    /// Entity tag.
    pub etag: Option<String>,
    /// The body.
    pub body: ByteStream,
}

/// A handle on one bucket.
#[derive(Clone, Debug)]
pub struct Storage {
    client: Client,
    bucket: String,
}

impl Storage {
    /// Builds the client; does no I/O.
    pub fn new(config: &StorageConfig) -> Self {
        let credentials = Credentials::new(
            &config.access_key_id,
            &config.secret_access_key,
            None,
            None,
            "tintype-config",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // The SDK retries a little itself; job-level retries handle longer outages.
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket unless it exists (and is ours).
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = StorageError::from_sdk("create bucket", err);
                if err.service_code() == Some("BucketAlreadyOwnedByYou")
                    || err.service_code() == Some("BucketAlreadyExists")
                {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Checks that the bucket is reachable with our credentials (readiness).
    pub async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::from_sdk("head bucket", e))
    }

    /// Stores `body` at `key`, replacing any object there.
    #[tracing::instrument(name = "S3.PutObject", skip_all, fields(
        otel.kind = "client", rpc.system = "aws-api", rpc.service = "S3", rpc.method = "PutObject",
        aws.s3.bucket = %self.bucket, aws.s3.key = key, size_bytes = body.len(),
    ))]
    pub async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let size = body.len();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk("put object", e))?;
        tracing::debug!(key, size_bytes = size, "stored object");
        Ok(())
    }

    /// Reads a whole object, refusing one larger than `max_bytes`.
    #[tracing::instrument(name = "S3.GetObject", skip_all, fields(
        otel.kind = "client", rpc.system = "aws-api", rpc.service = "S3", rpc.method = "GetObject",
        aws.s3.bucket = %self.bucket, aws.s3.key = key,
    ))]
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Bytes, StorageError> {
        let object = self.stream(key).await?;
        if let Some(len) = object.content_length
            && len > max_bytes
        {
            return Err(StorageError::TooLarge {
                key: key.to_owned(),
                limit: max_bytes,
            });
        }
        let data = object
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Transient {
                op: "read object body",
                message: e.to_string(),
            })?
            .into_bytes();
        if data.len() as u64 > max_bytes {
            return Err(StorageError::TooLarge {
                key: key.to_owned(),
                limit: max_bytes,
            });
        }
        Ok(data)
    }

    /// Opens an object for streaming.
    pub async fn stream(&self, key: &str) -> Result<ObjectStream, StorageError> {
        self.stream_range(key, None).await
    }

    /// Opens the bytes `first..=last` of an object (all of it for `None`) for streaming.
    pub async fn stream_range(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ObjectStream, StorageError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range.map(|(first, last)| format!("bytes={first}-{last}")))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk("get object", e).for_key(key))?;
        Ok(ObjectStream {
            content_length: out.content_length().and_then(|n| u64::try_from(n).ok()),
            content_type: out.content_type().map(str::to_owned),
            etag: out.e_tag().map(str::to_owned),
            body: out.body,
        })
    }

    /// The size of an object, or `None` when there is no object at `key`.
    #[tracing::instrument(name = "S3.HeadObject", skip_all, fields(
        otel.kind = "client", rpc.system = "aws-api", rpc.service = "S3", rpc.method = "HeadObject",
        aws.s3.bucket = %self.bucket, aws.s3.key = key,
    ))]
    pub async fn head(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk("head object", e).for_key(key))
        {
            Ok(out) => Ok(Some(
                out.content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            )),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Deletes one object; deleting a missing object succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::from_sdk("delete object", e))
    }

    /// Lists keys under `prefix` (all pages).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StorageError::from_sdk("list objects", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Deletes every object under `prefix`, then the bucket itself (test clean-up).
    pub async fn destroy_bucket(&self) -> Result<(), StorageError> {
        for key in self.list("").await? {
            self.delete(&key).await?;
        }
        self.client
            .delete_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::from_sdk("delete bucket", e))
    }
}
