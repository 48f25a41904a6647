//! AWS Config: the re-evaluation nudge after a verified fix.
//!
//! Re-evaluation is best effort: the fix was already verified by re-reading the resource,
//! so a failure here is logged by the caller and changes no outcome. (moto does not
//! implement StartConfigRulesEvaluation; against it this returns a classified error.)

use crate::aws::{AwsError, Clients};

/// Asks Config to evaluate `rule_name` again now (StartConfigRulesEvaluation), so that the
/// rule's compliance reflects the fix without waiting for the next periodic run.
pub async fn reevaluate(clients: &Clients, rule_name: &str) -> Result<(), AwsError> {
    clients
        .config
        .start_config_rules_evaluation()
        .config_rule_names(rule_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("config:StartConfigRulesEvaluation", e))?;
    Ok(())
}
