//! Every AWS SDK error is classified once, here: the class decides retry or escalate, tags
//! the metric, and picks the hint an operator reads.

use std::fmt;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::Serialize;

/// What kind of failure an AWS call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// Credentials or permissions: retrying will not help; the hint names the permission.
    Auth,
    /// The resource (or configuration) does not exist.
    NotFound,
    /// Slowed down by AWS: retry later.
    Throttling,
    /// The request did not get an answer (DNS, connect, timeout).
    Connectivity,
    /// AWS answered 5xx.
    Service,
    /// The request was refused as invalid (4xx other than the above).
    Client,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Auth => "auth",
            ErrorClass::NotFound => "not-found",
            ErrorClass::Throttling => "throttling",
            ErrorClass::Connectivity => "connectivity",
            ErrorClass::Service => "service",
            ErrorClass::Client => "client",
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttling | ErrorClass::Connectivity | ErrorClass::Service
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed AWS call, classified.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{operation} failed ({class}{}): {message}{}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default(), hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
pub struct AwsError {
    /// The IAM action of the call, e.g. `s3:PutBucketPublicAccessBlock`.
    pub operation: &'static str,
    pub class: ErrorClass,
    /// The AWS error code, when the reply had one (moto's HTML error pages do not).
    pub code: Option<String>,
    pub status: Option<u16>,
    pub message: String,
    /// A next step for the operator.
    pub hint: Option<String>,
}

const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidAccessKeyId",
];

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
];

impl AwsError {
    /// Classifies an SDK error of the call `operation` (its IAM action name).
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, msg) = match &err {
            SdkError::ServiceError(se) => (
                se.err().code().map(str::to_owned),
                se.err().message().map(str::to_owned),
            ),
            _ => (None, None),
        };
        let class = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => ErrorClass::Connectivity,
            SdkError::ResponseError(_) => ErrorClass::Service,
            _ => classify(code.as_deref(), status),
        };
        let message = msg.unwrap_or_else(|| error_chain(&err));
        Self::new(operation, class, code, status, message)
    }

    pub fn new(
        operation: &'static str,
        class: ErrorClass,
        code: Option<String>,
        status: Option<u16>,
        message: String,
    ) -> Self {
        let hint = match class {
            ErrorClass::Auth => Some(format!(
                "check that the remediation role allows {operation} and that its credentials are valid"
            )),
            ErrorClass::Throttling => {
                Some("AWS is throttling; the message will be retried".to_owned())
            }
            ErrorClass::Connectivity => {
                Some("no answer from AWS: check the network path and AWS_ENDPOINT_URL".to_owned())
            }
            _ => None,
        };
        AwsError {
            operation,
            class,
            code,
            status,
            message,
            hint,
        }
    }

    /// The AWS error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether the error says the thing does not exist (by code or by HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    /// Whether EC2 answered `DryRunOperation`: the call would have succeeded.
    pub fn is_dry_run_success(&self) -> bool {
        self.code() == Some("DryRunOperation")
    }
}

fn classify(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    if let Some(code) = code {
        if AUTH_CODES.contains(&code) {
            return ErrorClass::Auth;
        }
        if THROTTLING_CODES.contains(&code) {
            return ErrorClass::Throttling;
        }
        if code.starts_with("NoSuch") || code.contains("NotFound") || code.ends_with(".NotFound") {
            return ErrorClass::NotFound;
        }
    }
    match status {
        Some(401 | 403) => ErrorClass::Auth,
        Some(404) => ErrorClass::NotFound,
        Some(429) => ErrorClass::Throttling,
        Some(s) if s >= 500 => ErrorClass::Service,
        _ => ErrorClass::Client,
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_classified() {
        assert_eq!(classify(Some("AccessDenied"), Some(403)), ErrorClass::Auth);
        assert_eq!(
            classify(Some("UnauthorizedOperation"), Some(400)),
            ErrorClass::Auth
        );
        assert_eq!(
            classify(Some("NoSuchBucket"), Some(404)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("InvalidGroup.NotFound"), Some(400)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("NoSuchEntity"), Some(404)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("SlowDown"), Some(503)),
            ErrorClass::Throttling
        );
        assert_eq!(classify(None, Some(503)), ErrorClass::Service);
        assert_eq!(classify(None, Some(404)), ErrorClass::NotFound);
        assert_eq!(
            classify(Some("InvalidParameterValue"), Some(400)),
            ErrorClass::Client
        );
    }

    #[test]
    fn auth_errors_name_the_missing_permission() {
        let e = AwsError::new(
            "iam:UpdateAccessKey",
            ErrorClass::Auth,
            Some("AccessDenied".into()),
            Some(403),
            "User is not authorized".into(),
        );
        assert_eq!(
            e.to_string(),
            "iam:UpdateAccessKey failed (auth, AccessDenied): User is not authorized; check that the remediation role allows iam:UpdateAccessKey and that its credentials are valid"
        );
        assert!(!e.class.is_retryable());
    }
}
