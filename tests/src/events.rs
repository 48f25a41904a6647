//! Event bodies as SQS delivers them, built for resources a test created.

use serde_json::json;

/// An EventBridge "Config Rules Compliance Change" event, NON_COMPLIANT.
pub fn config_noncompliant(
    event_id: &str,
    rule: &str,
    resource_type: &str,
    resource_id: &str,
    account: &str,
    region: &str,
) -> String {
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "Config Rules Compliance Change",
        "source": "aws.config",
        "account": account,
        "time": "2026-03-14T08:12:40Z",
        "region": region,
        "resources": [],
        "detail": {
            "resourceId": resource_id,
            "awsRegion": region,
            "awsAccountId": account,
            "configRuleName": rule,
            "recordVersion": "1.0",
            "configRuleARN": format!("arn:aws:config:{region}:{account}:config-rule/config-rule-test01"),
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": {
                "evaluationResultIdentifier": {
                    "evaluationResultQualifier": {
                        "configRuleName": rule,
                        "resourceType": resource_type,
                        "resourceId": resource_id,
                        "evaluationMode": "DETECTIVE"
                    },
                    "orderingTimestamp": "2026-03-14T08:12:09.418Z"
                },
                "complianceType": "NON_COMPLIANT",
                "resultRecordedTime": "2026-03-14T08:12:38.907Z",
                "configRuleInvokedTime": "2026-03-14T08:12:38.366Z"
            },
            "notificationCreationTime": "2026-03-14T08:12:39.614Z",
            "resourceType": resource_type
        }
    })
    .to_string()
}

/// A GuardDuty finding on an IAM user's long-term access key used from a malicious IP.
pub fn guardduty_iam_user_key(
    event_id: &str,
    user: &str,
    access_key_id: &str,
    account: &str,
    region: &str,
) -> String {
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": account,
        "time": "2026-03-14T07:20:05Z",
        "region": region,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": account,
            "region": region,
            "partition": "aws",
            "id": format!("{event_id}-gd"),
            "arn": format!("arn:aws:guardduty:{region}:{account}:detector/abc/finding/{event_id}"),
            "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
            "resource": {
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": access_key_id,
                    "principalId": "AIDAQ3EGRS3EXAMPLEB8W",
                    "userType": "IAMUser",
                    "userName": user
                }
            },
            "service": {
                "serviceName": "guardduty",
                "detectorId": "abc",
                "resourceRole": "TARGET",
                "additionalInfo": {},
                "eventFirstSeen": "2026-03-14T07:12:55.000Z",
                "eventLastSeen": "2026-03-14T07:15:02.000Z",
                "archived": false,
                "count": 3
            },
            "severity": 5,
            "createdAt": "2026-03-14T07:19:40.881Z",
            "updatedAt": "2026-03-14T07:19:40.881Z",
            "title": "API called from an IP address on a custom threat list."
        }
    })
    .to_string()
}

/// The Security Hub S3 default-encryption Config rule (decision `auto`) for `bucket`.
pub fn bucket_unencrypted(event_id: &str, bucket: &str) -> String {
    config_noncompliant(
        event_id,
        "securityhub-s3-bucket-server-side-encryption-enabled-1a2b3c4d",
        "AWS::S3::Bucket",
        bucket,
        crate::moto::ACCOUNT,
        crate::moto::REGION,
    )
}
