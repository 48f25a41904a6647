//! EC2 actions.

use super::{ActionSpec, Category, Default, ParamSpec, ParamType, list, s};
use crate::finding::resource_types as rt;
use crate::ids::IdKind;

/// Ports that Security Hub EC2.19 calls high-risk, plus SSH and RDP (EC2.13, EC2.14).
pub const HIGH_RISK_PORTS: &[i64] = &[
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

/// The resource type Config reports the account's snapshot block-public-access setting as.
pub const SNAPSHOT_BLOCK_PUBLIC_ACCESS: &str = "AWS::EC2::SnapshotBlockPublicAccess";

/// AMIs: not in the finding module's list of known types (any well-formed type is accepted).
const EC2_IMAGE: &str = "AWS::EC2::Image";

const INSTANCE: ParamSpec = ParamSpec {
    name: "instance_id",
    ty: ParamType::Id(IdKind::InstanceId),
    default: None,
    optional: false,
    doc: "The instance to act on.",
};

pub(super) static SPECS: &[ActionSpec] = &[
    ActionSpec {
        id: "ec2.enable_ebs_encryption_by_default",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::ACCOUNT],
        params: &[],
        permissions: &[
            "ec2:GetEbsEncryptionByDefault",
            "ec2:EnableEbsEncryptionByDefault",
            "ec2:DisableEbsEncryptionByDefault",
        ],
        summary: "Turn on EBS encryption by default for the account and region.",
        describe: |_| {
            "Turn on EBS encryption by default in this account and region: new volumes and snapshot copies are encrypted; existing volumes are unaffected.".to_owned()
        },
    },
    ActionSpec {
        id: "ec2.revoke_open_ingress",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SECURITY_GROUP],
        params: &[
            ParamSpec {
                name: "group_id",
                ty: ParamType::Id(IdKind::SecurityGroupId),
                default: None,
                optional: false,
                doc: "The security group whose ingress rules are checked.",
            },
            ParamSpec {
                name: "ports",
                ty: ParamType::IntList { min: 0, max: 65535 },
                default: Some(Default::Ints(HIGH_RISK_PORTS)),
                optional: false,
                doc: "A rule is revoked when its port range covers one of these ports (all-traffic rules cover every port).",
            },
            ParamSpec {
                name: "cidrs",
                ty: ParamType::IdList(IdKind::Text),
                default: Some(Default::Strs(&["0.0.0.0/0", "::/0"])),
                optional: false,
                doc: "Sources that count as open to the world.",
            },
        ],
        permissions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
        ],
        summary: "Revoke world-open ingress rules on high-risk ports, keeping every other rule.",
        describe: |p| {
            format!(
                "Revoke the ingress rules of security group {} that open any of ports {} to {}; every other rule stays. Connections from anywhere else to those ports through this group stop.",
                s(p, "group_id"),
                list(p, "ports"),
                list(p, "cidrs")
            )
        },
    },
    ActionSpec {
        id: "ec2.snapshot_instance_volumes",
        category: Category::Forensic,
        reversible: true,
        resource_types: &[rt::EC2_INSTANCE],
        params: &[INSTANCE],
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "ec2:DescribeSnapshots",
            "ec2:CreateSnapshot",
            "ec2:CreateTags",
        ],
        summary: "Snapshot every EBS volume of an instance and tag the snapshots as evidence.",
        describe: |p| {
            format!(
                "Snapshot every EBS volume attached to instance {} and tag the snapshots with the finding: evidence is preserved; the instance keeps running untouched.",
                s(p, "instance_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.isolate_instance",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_INSTANCE],
        params: &[
            INSTANCE,
            ParamSpec {
                name: "quarantine_group_name",
                ty: ParamType::Id(IdKind::IamName),
                default: Some(Default::Str("redress-quarantine")),
                optional: false,
                doc: "Name of the rule-less security group created (or reused) in the instance's VPC.",
            },
        ],
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:ModifyInstanceAttribute",
            "ec2:CreateTags",
        ],
        summary: "Swap an instance's security groups for a quarantine group with no rules.",
        describe: |p| {
            format!(
                "Replace the security groups of instance {} with quarantine group {} (no inbound or outbound rules): all its network traffic stops, including whatever service it runs.",
                s(p, "instance_id"),
                s(p, "quarantine_group_name")
            )
        },
    },
    ActionSpec {
        id: "ec2.remove_snapshot_public_permission",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SNAPSHOT],
        params: &[ParamSpec {
            name: "snapshot_id",
            ty: ParamType::Id(IdKind::Text),
            default: None,
            optional: false,
            doc: "The EBS snapshot (snap-…); the worker checks the syntax before any call.",
        }],
        permissions: &[
            "ec2:DescribeSnapshotAttribute",
            "ec2:ModifySnapshotAttribute",
        ],
        summary: "Remove the public (group `all`) create-volume permission of an EBS snapshot.",
        describe: |p| {
            format!(
                "Remove the public create-volume permission of EBS snapshot {}: no other account can copy it or create a volume from it any more, except accounts it is shared with by id (kept). Anyone who restores it publicly (a partner, a public AMI's users) loses access.",
                s(p, "snapshot_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.require_imdsv2",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_INSTANCE],
        params: &[INSTANCE],
        permissions: &["ec2:DescribeInstances", "ec2:ModifyInstanceMetadataOptions"],
        summary: "Require IMDSv2 (session tokens) for an instance's metadata service.",
        describe: |p| {
            format!(
                "Set HttpTokens=required on instance {}: the instance metadata service answers only IMDSv2 (token) requests; the endpoint and hop limit stay as they are. Software on the instance that still uses IMDSv1 (old SDKs, agents, scripts calling curl 169.254.169.254 without a token) can no longer read its credentials or metadata and fails.",
                s(p, "instance_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.revoke_all_group_rules",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SECURITY_GROUP],
        params: &[ParamSpec {
            name: "group_id",
            ty: ParamType::Id(IdKind::SecurityGroupId),
            default: None,
            optional: false,
            doc: "The security group to close; only a VPC's default group (named `default`) is accepted.",
        }],
        permissions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
        ],
        summary: "Revoke every ingress and egress rule of a VPC's default security group.",
        describe: |p| {
            format!(
                "Revoke every inbound and outbound rule of default security group {} (refused for any group that is not a VPC's `default` group): instances and interfaces still attached to the default group lose all traffic allowed by it, including between members of the group and outbound to the internet.",
                s(p, "group_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.revoke_unauthorized_open_ingress",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SECURITY_GROUP],
        params: &[
            ParamSpec {
                name: "group_id",
                ty: ParamType::Id(IdKind::SecurityGroupId),
                default: None,
                optional: false,
                doc: "The security group whose ingress rules are checked.",
            },
            ParamSpec {
                name: "allowed_ports",
                ty: ParamType::IntList { min: 0, max: 65535 },
                default: Some(Default::Ints(&[80, 443])),
                optional: false,
                doc: "A world-open TCP/UDP rule is kept only when every port of its range is one of these.",
            },
            ParamSpec {
                name: "cidrs",
                ty: ParamType::IdList(IdKind::Text),
                default: Some(Default::Strs(&["0.0.0.0/0", "::/0"])),
                optional: false,
                doc: "Sources that count as open to the world.",
            },
        ],
        permissions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
        ],
        summary: "Revoke world-open ingress rules on any port outside an authorized list.",
        describe: |p| {
            format!(
                "Revoke the ingress rules of security group {} that open to {} any port outside {} (all-traffic and SCTP rules included; ICMP and rules from prefix lists or groups are kept). Clients on the internet that reach those other ports through this group are cut off.",
                s(p, "group_id"),
                list(p, "cidrs"),
                list(p, "allowed_ports")
            )
        },
    },
    ActionSpec {
        id: "ec2.disable_subnet_public_ip",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::EC2_SUBNET],
        params: &[ParamSpec {
            name: "subnet_id",
            ty: ParamType::Id(IdKind::Text),
            default: None,
            optional: false,
            doc: "The subnet (subnet-…); the worker checks the syntax before any call.",
        }],
        permissions: &["ec2:DescribeSubnets", "ec2:ModifySubnetAttribute"],
        summary: "Stop a subnet from giving launched instances a public IPv4 address.",
        describe: |p| {
            format!(
                "Turn off MapPublicIpOnLaunch on subnet {}: instances launched there from now on get no public IPv4 address unless their launch asks for one; running instances keep theirs. New instances (Auto Scaling scale-outs, replacements) that relied on the automatic address lose direct internet access, in and out, when the subnet has no NAT route.",
                s(p, "subnet_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.create_flow_logs",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::EC2_VPC],
        params: &[
            ParamSpec {
                name: "vpc_id",
                ty: ParamType::Id(IdKind::Text),
                default: None,
                optional: false,
                doc: "The VPC (vpc-…); the worker checks the syntax before any call.",
            },
            ParamSpec {
                name: "log_destination",
                ty: ParamType::Id(IdKind::Arn),
                default: None,
                optional: false,
                doc: "The S3 bucket ARN (arn:aws:s3:::bucket, optionally /prefix) the flow logs are delivered to.",
            },
            ParamSpec {
                name: "traffic_type",
                ty: ParamType::Enum(&["ALL", "ACCEPT", "REJECT"]),
                default: Some(Default::Str("ALL")),
                optional: false,
                doc: "Which traffic is logged.",
            },
        ],
        permissions: &[
            "ec2:DescribeVpcs",
            "ec2:DescribeFlowLogs",
            "ec2:CreateFlowLogs",
            "ec2:CreateTags",
            "ec2:DeleteFlowLogs",
            // Delivery to S3 is set up by CloudWatch Logs on the caller's behalf.
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
        ],
        summary: "Create a VPC flow log delivered to an S3 bucket when the VPC has no active one.",
        describe: |p| {
            format!(
                "Create a flow log of {} traffic for VPC {} delivered to {} (only when the VPC has no active flow log). Nothing that runs changes; the bucket receives log objects (storage cost), and its policy must let the log delivery service write.",
                s(p, "traffic_type"),
                s(p, "vpc_id"),
                s(p, "log_destination")
            )
        },
    },
    ActionSpec {
        id: "ec2.remove_image_public_permission",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[EC2_IMAGE],
        params: &[ParamSpec {
            name: "image_id",
            ty: ParamType::Id(IdKind::Text),
            default: None,
            optional: false,
            doc: "The AMI (ami-…); the worker checks the syntax before any call.",
        }],
        permissions: &["ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute"],
        summary: "Remove the public (group `all`) launch permission of an AMI.",
        describe: |p| {
            format!(
                "Remove the public launch permission of AMI {}: other accounts can no longer find it or launch instances from it, except accounts it is shared with by id (kept). Anyone outside who launches it (a customer, a partner's Auto Scaling group) fails on the next launch.",
                s(p, "image_id")
            )
        },
    },
    ActionSpec {
        id: "ec2.enable_snapshot_block_public_access",
        category: Category::Exposure,
        reversible: true,
        resource_types: &[rt::ACCOUNT, SNAPSHOT_BLOCK_PUBLIC_ACCESS],
        params: &[ParamSpec {
            name: "state",
            ty: ParamType::Enum(&["block-all-sharing", "block-new-sharing"]),
            default: Some(Default::Str("block-all-sharing")),
            optional: false,
            doc: "block-all-sharing also makes already-public snapshots private; block-new-sharing only refuses new public sharing.",
        }],
        permissions: &[
            "ec2:GetSnapshotBlockPublicAccessState",
            "ec2:EnableSnapshotBlockPublicAccess",
            "ec2:DisableSnapshotBlockPublicAccess",
        ],
        summary: "Turn on block public access for EBS snapshots in the account and region.",
        describe: |p| {
            format!(
                "Turn on block public access for EBS snapshots in this account and region, mode {}: no snapshot can be shared publicly any more (with block-all-sharing, snapshots already public stop being publicly visible too). Whoever restores them publicly loses access.",
                s(p, "state")
            )
        },
    },
];
