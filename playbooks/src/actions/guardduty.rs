//! GuardDuty actions.

use super::{ActionSpec, Category};
use crate::finding::resource_types as rt;

pub(super) static SPECS: &[ActionSpec] = &[ActionSpec {
    id: "guardduty.enable_detector",
    category: Category::Config,
    reversible: true,
    resource_types: &[rt::ACCOUNT],
    params: &[],
    permissions: &[
        "guardduty:ListDetectors",
        "guardduty:GetDetector",
        "guardduty:CreateDetector",
        "guardduty:UpdateDetector",
        "guardduty:DeleteDetector",
    ],
    summary: "Enable GuardDuty in the account and region (enable the suspended detector, or create one).",
    describe: |_| {
        "Enable GuardDuty in this account and region: a suspended detector is enabled again, and where there is none a detector is created. Nothing stops working; GuardDuty charges by analysed events and logs (30-day free trial for a new detector)."
            .to_owned()
    },
}];
