//! KMS actions.

use super::{ActionSpec, Category, ParamSpec, ParamType, s};
use crate::finding::resource_types as rt;
use crate::ids::IdKind;

pub(super) static SPECS: &[ActionSpec] = &[ActionSpec {
    id: "kms.enable_key_rotation",
    category: Category::Config,
    reversible: true,
    resource_types: &[rt::KMS_KEY],
    params: &[ParamSpec {
        name: "key_id",
        // No id kind for KMS keys yet: the worker checks the syntax (key id, key ARN or
        // multi-Region key id) before any call.
        ty: ParamType::Id(IdKind::Text),
        default: None,
        optional: false,
        doc: "The customer managed symmetric KMS key (key id, mrk-… id or key ARN).",
    }],
    permissions: &[
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:EnableKeyRotation",
        "kms:DisableKeyRotation",
    ],
    summary: "Turn on automatic yearly rotation of a customer managed symmetric KMS key.",
    describe: |p| {
        format!(
            "Turn on automatic rotation of KMS key {}: KMS makes new key material every year and keeps the old material to decrypt existing data, so nothing that uses the key breaks; each rotation adds the monthly cost of one more key version.",
            s(p, "key_id")
        )
    },
}];
