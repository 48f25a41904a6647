//! The S3 backend: `s3://bucket/prefix`. Create-once writes use `If-None-Match: *`, which
//! S3 answers with 412 when the key exists.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;

use super::{Store, StoreError, check_key};
use crate::aws::AwsError;

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        S3Store {
            client,
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Store for S3Store {
    async fn create(&self, key: &str, body: &[u8]) -> Result<bool, StoreError> {
        check_key(key)?;
        let res = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = AwsError::from_sdk("s3:PutObject", e);
                // 412: the key exists. 409: a concurrent conditional write to the same key
                // is in progress; the other writer wins.
                if matches!(err.status, Some(412 | 409)) || err.code() == Some("PreconditionFailed")
                {
                    Ok(false)
                } else {
                    Err(err.into())
                }
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let res = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await;
        match res {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| StoreError::Io {
                    path: format!("s3://{}/{}", self.bucket, self.full(key)),
                    source: std::io::Error::other(e),
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) => {
                let err = AwsError::from_sdk("s3:GetObject", e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err.into())
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:DeleteObject", e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("s3:ListBucket", e))?;
            for obj in page.contents() {
                if let Some(k) = obj.key().and_then(|k| k.strip_prefix(&self.prefix)) {
                    out.push(k.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}
