"""Creates drifted resources in the local emulator and queues the events AWS would send.

Run by scripts/local-run.sh; prints the queue URLs as shell assignments.
"""
import json
import os
import sys

import boto3

ACCOUNT = "123456789012"
REGION = os.environ.get("AWS_REGION", "us-east-1")
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "events")


def client(name):
    return boto3.client(name, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=REGION)


def config_event(event_id, rule, resource_type, resource_id, compliance="NON_COMPLIANT"):
    """An EventBridge Config compliance change, shaped like examples/events/config-01-…"""
    with open(os.path.join(EXAMPLES, "config-01-s3-bucket-level-public-access-prohibited-noncompliant.json")) as f:
        event = json.load(f)
    event["id"] = event_id
    event["account"] = ACCOUNT
    d = event["detail"]
    d.update(resourceId=resource_id, awsAccountId=ACCOUNT, configRuleName=rule, resourceType=resource_type)
    q = d["newEvaluationResult"]["evaluationResultIdentifier"]["evaluationResultQualifier"]
    q.update(configRuleName=rule, resourceType=resource_type, resourceId=resource_id)
    d["newEvaluationResult"]["complianceType"] = compliance
    return json.dumps(event)


def guardduty_event(event_id, user, key):
    with open(os.path.join(EXAMPLES, "gd-02-iamuser-maliciousipcaller-custom.json")) as f:
        event = json.load(f)
    event["id"] = event_id
    event["account"] = ACCOUNT
    d = event["detail"]
    d["accountId"] = ACCOUNT
    d["resource"]["accessKeyDetails"].update(accessKeyId=key, userName=user)
    return json.dumps(event)


def main():
    sqs, s3, ec2, iam = client("sqs"), client("s3"), client("ec2"), client("iam")
    dlq = sqs.create_queue(QueueName="redress-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="redress-events",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]

    # Drift 1: a bucket without default encryption (auto-fixed).
    s3.create_bucket(Bucket="acme-unencrypted-exports")
    try:
        s3.delete_bucket_encryption(Bucket="acme-unencrypted-exports")
    except Exception:
        pass
    # Drift 2: EBS encryption by default off in the account (auto-fixed).
    ec2.disable_ebs_encryption_by_default()
    # Drift 3: SSH open to the world, next to an HTTPS rule that must stay (held for approval).
    group = ec2.create_security_group(GroupName="legacy-bastion", Description="legacy bastion")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )
    # Drift 4: a user's access key seen calling from a threat-listed IP (held for approval).
    iam.create_user(UserName="ci-deploy-legacy")
    key = iam.create_access_key(UserName="ci-deploy-legacy")["AccessKey"]["AccessKeyId"]

    events = [
        config_event("local-s3-enc", "securityhub-s3-bucket-server-side-encryption-enabled-5f2b9c1e",
                     "AWS::S3::Bucket", "acme-unencrypted-exports"),
        config_event("local-ebs", "ec2-ebs-encryption-by-default", "AWS::::Account", ACCOUNT),
        config_event("local-sg", "restricted-ssh", "AWS::EC2::SecurityGroup", group),
        guardduty_event("local-gd-key", "ci-deploy-legacy", key),
        # The same EBS event delivered again: acted on once.
        config_event("local-ebs", "ec2-ebs-encryption-by-default", "AWS::::Account", ACCOUNT),
        # A bucket turning compliant: ignored, and recorded as such.
        config_event("local-compliant", "s3-bucket-level-public-access-prohibited", "AWS::S3::Bucket",
                     "acme-unencrypted-exports", compliance="COMPLIANT"),
        # Not an event at all: dead-lettered with the reason; the rest goes on.
        '{"version": "0", "source": "aws.guardduty", "detail": {',
    ]
    for body in events:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    print(f"QUEUE_URL={queue}")
    print(f"DLQ_URL={dlq}")
    print(f"SG_ID={group}", file=sys.stderr)


if __name__ == "__main__":
    main()
