//! The real Slack Web API client (`redress_approvals::slack::Client`) over HTTP against the
//! local Slack stand-in: what it sends, what it makes of the answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use redress_approvals::slack::Client;
use redress_approvals::{MessageRef, SlackApi, SlackError};
use redress_tests::slack::{SlackStandIn, TOKEN};
use serde_json::json;

fn blocks(text: &str) -> serde_json::Value {
    json!([{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_a_message_and_a_thread_reply_then_updates_it() {
    let slack = SlackStandIn::start();
    let client = Client::new(&slack.api_url(), TOKEN).unwrap();

    let m = client
        .post("C0SECURITY", "approval needed", &blocks("*hi*"), None)
        .await
        .unwrap();
    assert_eq!(m.channel, "C0SECURITY");
    assert!(
        m.ts.split_once('.')
            .is_some_and(|(s, f)| s.len() == 10 && f.len() == 6),
        "{}",
        m.ts
    );

    let reply = client
        .post("C0SECURITY", "fixed", &blocks("done"), Some(&m.ts))
        .await
        .unwrap();
    assert_ne!(reply.ts, m.ts, "every message gets its own ts");

    client
        .update(&m, "approved", &blocks("approved by someone"))
        .await
        .unwrap();

    let posts = slack.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0],
        json!({
            "channel": "C0SECURITY",
            "text": "approval needed",
            "blocks": blocks("*hi*"),
            "unfurl_links": false,
            "unfurl_media": false,
        })
    );
    assert_eq!(posts[1]["thread_ts"], json!(m.ts));
    assert!(posts[0].get("thread_ts").is_none());

    assert_eq!(
        slack.updates(),
        vec![json!({
            "channel": "C0SECURITY",
            "ts": m.ts,
            "text": "approved",
            "blocks": blocks("approved by someone"),
        })]
    );
    let now = slack.message("C0SECURITY", &m.ts).unwrap();
    assert_eq!(now.text, json!("approved"));
    let thread = slack.thread("C0SECURITY", &m.ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].text, json!("fixed"));
    assert!(slack.refused().is_empty(), "{:?}", slack.refused());
}

#[tokio::test(flavor = "multi_thread")]
async fn responds_through_the_response_url_without_the_token() {
    let slack = SlackStandIn::start();
    let client = Client::new(&slack.api_url(), TOKEN).unwrap();
    let body = redress_approvals::blocks::ephemeral("Already decided.");

    client
        .respond(&slack.response_url("r1"), &body)
        .await
        .unwrap();

    let calls = slack
        .wait_for(|c| !c.responses.is_empty(), Duration::from_secs(5))
        .await;
    assert_eq!(calls.responses, vec![("r1".to_owned(), body.clone())]);
    assert_eq!(
        calls.responses_with_auth, 0,
        "the bot token went to a response_url"
    );
    assert_eq!(slack.responses_to("r1"), vec![body]);
    assert!(slack.posts().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_an_api_error_and_posts_nothing() {
    let slack = SlackStandIn::start();
    let client = Client::new(&slack.api_url(), "xoxb-wrong").unwrap();

    let err = client
        .post("C0SECURITY", "hi", &blocks("hi"), None)
        .await
        .unwrap_err();
    match &err {
        SlackError::Api { method, error } => {
            assert_eq!(*method, "chat.postMessage");
            assert_eq!(error, "invalid_auth");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(!err.to_string().contains("xoxb-wrong"), "{err}");
    assert!(slack.posts().is_empty());
    assert_eq!(
        slack.refused(),
        vec![("chat.postMessage".to_owned(), "invalid_auth".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_errors_come_back_with_their_code() {
    let slack = SlackStandIn::start();
    let client = Client::new(&slack.api_url(), TOKEN).unwrap();

    slack.fail_next("chat.postMessage", "channel_not_found");
    let err = client
        .post("C0GONE", "hi", &blocks("hi"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SlackError::Api { method: "chat.postMessage", error } if error == "channel_not_found"),
        "{err:?}"
    );

    let missing = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.999999".into(),
    };
    let err = client
        .update(&missing, "x", &blocks("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SlackError::Api { method: "chat.update", error } if error == "message_not_found"),
        "{err:?}"
    );

    // The next post goes through: an injected failure is used once.
    client
        .post("C0SECURITY", "hi", &blocks("hi"), None)
        .await
        .unwrap();
    assert_eq!(slack.posts().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stand_in_refuses_calls_without_a_token() {
    let slack = SlackStandIn::start();
    let http = reqwest::Client::new();
    let reply: serde_json::Value = http
        .post(format!("{}/chat.postMessage", slack.api_url()))
        .header("content-type", "application/json")
        .body(json!({"channel": "C1", "text": "hi"}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply, json!({"ok": false, "error": "not_authed"}));
    assert!(slack.posts().is_empty());
    assert_eq!(
        slack.refused(),
        vec![("chat.postMessage".to_owned(), "not_authed".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_api_is_an_http_error() {
    let slack = SlackStandIn::start();
    let url = slack.api_url();
    drop(slack);
    let client = Client::new(&url, TOKEN).unwrap();
    let err = client
        .post("C0SECURITY", "hi", &blocks("hi"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SlackError::Http {
                method: "chat.postMessage",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn from_env_names_the_missing_variable() {
    // Only this test touches SLACK_BOT_TOKEN in this binary; it reads it without setting it
    // when the environment already has one.
    if std::env::var_os("SLACK_BOT_TOKEN").is_some() {
        return;
    }
    let err = Client::from_env("http://127.0.0.1:9/api").unwrap_err();
    assert!(err.to_string().contains("SLACK_BOT_TOKEN"), "{err}");
}
