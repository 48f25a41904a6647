"""Plays an approver's click as Slack would send it: finds the request message for a
playbook in the stand-in's log, builds the block_actions payload for its Approve button,
signs it with the signing secret (v0 HMAC-SHA256) and POSTs it to the approvals endpoint.
Usage: click.py LOGFILE PLAYBOOK ENDPOINT USER RESPONSE_URL [approve|reject]"""
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse
import urllib.request

log_path, playbook, endpoint, user, response_url = sys.argv[1:6]
action = sys.argv[6] if len(sys.argv) > 6 else "approve"
secret = os.environ["SLACK_SIGNING_SECRET"].encode()

value = ts = channel = None
with open(log_path) as f:
    for line in f:
        call = json.loads(line)
        if not call["path"].endswith("chat.postMessage") or call["body"].get("thread_ts"):
            continue
        text = json.dumps(call["body"])
        if playbook not in text:
            continue
        for block in call["body"].get("blocks", []):
            for el in block.get("elements", []) if block.get("type") == "actions" else []:
                if el.get("action_id") == action:
                    value, ts, channel = el["value"], call["reply"]["ts"], call["reply"]["channel"]
if value is None:
    sys.exit(f"no {action} button for {playbook} in {log_path}")

payload = {
    "type": "block_actions",
    "user": {"id": user, "username": "local.approver", "team_id": "T0LOCAL"},
    "api_app_id": "A0LOCAL",
    "team": {"id": "T0LOCAL"},
    "channel": {"id": channel},
    "container": {"type": "message", "message_ts": ts, "channel_id": channel},
    "message": {"ts": ts},
    "response_url": response_url,
    "trigger_id": "1.2.3",
    "actions": [{"action_id": action, "block_id": "decision", "type": "button",
                 "value": value, "action_ts": f"{time.time():.6f}"}],
}
body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
stamp = str(int(time.time()))
signature = "v0=" + hmac.new(secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
req = urllib.request.Request(endpoint, data=body, headers={
    "Content-Type": "application/x-www-form-urlencoded",
    "X-Slack-Request-Timestamp": stamp,
    "X-Slack-Signature": signature,
})
with urllib.request.urlopen(req, timeout=10) as resp:
    print(f"   {user} clicked {action} on the {playbook} request: HTTP {resp.status}")
