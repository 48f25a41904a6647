"""Prints what a local run did, from the evidence store: fixes (before → after), holds and
why, the rest, and where the evidence is."""
import glob
import json
import os
import sys

store = sys.argv[1]
records = []
for path in glob.glob(os.path.join(store, "evidence", "**", "*.json"), recursive=True):
    with open(path) as f:
        r = json.load(f)
    r["_path"] = path
    records.append(r)
records.sort(key=lambda r: r["started_at"])


def resource(r):
    f = r.get("finding") or {}
    return f"{f.get('resource_type', '-')} {f.get('resource_id', '-')}"


def brief(state):
    text = json.dumps(state, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


print(f"\n{len(records)} evidence record(s) in {store}/evidence\n")
for r in records:
    pb = (r.get("playbook") or {}).get("id", "-")
    print(f"[{r['outcome']}] {pb}  {resource(r)}")
    if r["outcome"] in ("fixed", "verify-failed"):
        for i, step in enumerate(r.get("steps", [])):
            before = r["before"][i] if i < len(r["before"]) else None
            after = (r.get("after") or [None] * (i + 1))[i]
            print(f"    {step['action']}")
            print(f"      before: {brief(before)}")
            print(f"      after:  {brief(after)}")
        for c in r["calls"]:
            print(f"      call:   {c['action']} {json.dumps(c['params'], sort_keys=True)}")
        print(f"      verified: {r['verified']}")
        if r.get("approval"):
            a = r["approval"]
            print(f"      approved by {a['by']} at {a['at']} (request {a['request']})")
    elif r["outcome"] == "held":
        print(f"    held for approval: {r['reason']}")
        for s in r.get("steps", []):
            print(f"    would: {s['description']}")
    else:
        print(f"    {r['decision']}: {r['reason']}")
    print(f"    record: {r['_path']}")
    print()
