//! CloudTrail actions.

use super::{ActionSpec, Category, ParamSpec, ParamType, s};
use crate::finding::resource_types as rt;
use crate::ids::IdKind;

/// The trail a step acts on: a name or a trail ARN. No id kind for trails yet: the worker
/// checks the syntax before any call.
const TRAIL: ParamSpec = ParamSpec {
    name: "trail",
    ty: ParamType::Id(IdKind::Text),
    default: None,
    optional: false,
    doc: "The trail (name, or trail ARN).",
};

pub(super) static SPECS: &[ActionSpec] = &[
    ActionSpec {
        id: "cloudtrail.start_logging",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::CLOUDTRAIL_TRAIL, rt::ACCOUNT, rt::IAM_ACCESS_KEY],
        params: &[ParamSpec {
            optional: true,
            doc: "The trail to restart (name, or trail ARN). Left out: every trail whose home region is the finding's region and that is not logging.",
            ..TRAIL
        }],
        permissions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:GetTrailStatus",
            "cloudtrail:StartLogging",
            "cloudtrail:StopLogging",
        ],
        summary: "Start logging on a trail that was stopped (or on every stopped trail of the region).",
        describe: |p| {
            match p.get("trail") {
            Some(_) => format!(
                "Start logging on CloudTrail trail {}: API activity is recorded again to its S3 bucket (and CloudWatch Logs, if set). Nothing stops working; storage and delivery costs resume.",
                s(p, "trail")
            ),
            None => "Start logging on every CloudTrail trail of this region that is stopped: API activity is recorded again. Nothing stops working; storage and delivery costs resume.".to_owned(),
        }
        },
    },
    ActionSpec {
        id: "cloudtrail.enable_log_file_validation",
        category: Category::Config,
        reversible: true,
        resource_types: &[rt::CLOUDTRAIL_TRAIL],
        params: &[TRAIL],
        permissions: &["cloudtrail:DescribeTrails", "cloudtrail:UpdateTrail"],
        summary: "Turn on log file integrity validation (signed digest files) for a trail.",
        describe: |p| {
            format!(
                "Turn on log file validation for CloudTrail trail {}: CloudTrail writes an hourly signed digest file next to the logs, so tampering can be detected. Nothing stops working; the digests add a few small objects to the bucket.",
                s(p, "trail")
            )
        },
    },
];
