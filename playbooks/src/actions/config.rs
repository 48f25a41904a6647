//! AWS Config actions.

use super::{ActionSpec, Category};
use crate::finding::resource_types as rt;

pub(super) static SPECS: &[ActionSpec] = &[ActionSpec {
    id: "config.start_configuration_recorder",
    category: Category::Config,
    reversible: true,
    resource_types: &[rt::ACCOUNT],
    params: &[],
    permissions: &[
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "config:StartConfigurationRecorder",
        "config:StopConfigurationRecorder",
    ],
    summary: "Start the account's stopped AWS Config configuration recorder in the region.",
    describe: |_| {
        "Start the AWS Config configuration recorder of this account and region: configuration changes are recorded and rules evaluated again. Nothing stops working; Config charges per recorded item resume. A region with no recorder at all is not changed (setting one up needs a role and a delivery channel)."
            .to_owned()
    },
}];
