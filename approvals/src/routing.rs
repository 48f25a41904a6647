//! Which Slack channel an approval request goes to: the owning team's.
//!
//! Rules, first match wins:
//! 1. the resource's owner tag (`[slack] owner_tag`), its value mapped through
//!    `channels_by_tag`;
//! 2. the account, through `channels_by_account`;
//! 3. `default_channel`.
//!
//! A tag value with no mapped channel falls through to the account rule, so an unknown or
//! misspelt team still lands somewhere a human reads.

use std::collections::BTreeMap;

use redress_playbooks::config::SlackConfig;

/// Where a request goes, and which rule picked it (for logs and the evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The Slack channel id.
    pub channel: String,
    /// Which rule picked it, e.g. "owner tag team=payments".
    pub why: String,
}

/// The channel for a resource with these tags in this account.
pub fn route(cfg: &SlackConfig, tags: &BTreeMap<String, String>, account: &str) -> Route {
    if let Some(tag) = cfg.owner_tag.as_deref() {
        match tags.get(tag) {
            Some(value) => {
                if let Some(channel) = cfg.channels_by_tag.get(value) {
                    return Route {
                        channel: channel.clone(),
                        why: format!("owner tag {tag}={value}"),
                    };
                }
                return fallback(
                    cfg,
                    account,
                    &format!("owner tag {tag}={value} has no channel in channels_by_tag"),
                );
            }
            None => {
                return fallback(cfg, account, &format!("the resource has no {tag} tag"));
            }
        }
    }
    fallback(cfg, account, "no owner_tag is configured")
}

/// The account rule, else the default channel; `before` says why the tag rule did not pick.
fn fallback(cfg: &SlackConfig, account: &str, before: &str) -> Route {
    if let Some(channel) = cfg.channels_by_account.get(account) {
        return Route {
            channel: channel.clone(),
            why: format!("account {account} ({before})"),
        };
    }
    Route {
        channel: cfg.default_channel.clone(),
        why: format!(
            "default channel ({before}; account {account} has no channel in channels_by_account)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SlackConfig {
        SlackConfig {
            api_url: "https://slack.com/api".into(),
            default_channel: "C0SECURITY".into(),
            owner_tag: Some("team".into()),
            channels_by_tag: BTreeMap::from([("payments".into(), "C0PAYMENTS".into())]),
            channels_by_account: BTreeMap::from([("111122223333".into(), "C0ACCOUNT1".into())]),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_mapped_owner_tag_picks_the_team_channel() {
        let r = route(&cfg(), &tags(&[("team", "payments")]), "111122223333");
        assert_eq!(r.channel, "C0PAYMENTS");
        assert_eq!(r.why, "owner tag team=payments");
    }

    #[test]
    fn an_unmapped_owner_tag_falls_through_to_the_account() {
        let r = route(&cfg(), &tags(&[("team", "unknown")]), "111122223333");
        assert_eq!(r.channel, "C0ACCOUNT1");
        assert!(r.why.starts_with("account 111122223333"), "{}", r.why);
        assert!(r.why.contains("team=unknown has no channel"), "{}", r.why);
    }

    #[test]
    fn a_missing_owner_tag_falls_through_to_the_account() {
        let r = route(&cfg(), &tags(&[("env", "prod")]), "111122223333");
        assert_eq!(r.channel, "C0ACCOUNT1");
        assert!(r.why.contains("no team tag"), "{}", r.why);
    }

    #[test]
    fn an_unmapped_account_falls_back_to_the_default_channel() {
        let r = route(&cfg(), &tags(&[("team", "unknown")]), "444455556666");
        assert_eq!(r.channel, "C0SECURITY");
        assert!(r.why.starts_with("default channel"), "{}", r.why);
        let r = route(&cfg(), &BTreeMap::new(), "444455556666");
        assert_eq!(r.channel, "C0SECURITY");
    }

    #[test]
    fn without_an_owner_tag_setting_tags_are_ignored() {
        let mut c = cfg();
        c.owner_tag = None;
        let r = route(&c, &tags(&[("team", "payments")]), "111122223333");
        assert_eq!(r.channel, "C0ACCOUNT1");
        assert!(r.why.contains("no owner_tag is configured"), "{}", r.why);
        let r = route(&c, &tags(&[("team", "payments")]), "444455556666");
        assert_eq!(r.channel, "C0SECURITY");
    }

    #[test]
    fn tag_values_match_exactly() {
        let r = route(&cfg(), &tags(&[("team", "Payments")]), "444455556666");
        assert_eq!(r.channel, "C0SECURITY");
        let r = route(&cfg(), &tags(&[("Team", "payments")]), "444455556666");
        assert_eq!(r.channel, "C0SECURITY");
    }
}
