#!/usr/bin/env python3
"""Writes tests/vectors/tokens/tokens.jsonl: the decision-token cases that the
Rust core, Node, WASM and Python runners all run.

Each case issues a token upstream, optionally tampers with it, receives it
downstream, and states the token status and the answers expected there. Times
are milliseconds relative to one base time (every runner uses the same base,
so the tokens are the same bytes everywhere):

- issue: {context, flags, ttlSeconds, atMs}; issueError: the code issuing fails with
- tamper: flip-middle | truncate | other-key | baggage; replace: a literal token text instead
- receive: {context, atMs, maxTtlSeconds?}; expectStatus: {applied, code? | flags?, expiresInMs?}
- evaluateAtMs: the clock of the evaluations; expect: {flag: detail} with a null default
- expectAllFlags: {flag: {value, variation, reason}} from allFlagsState with reasons
- reissue: a middle function issues again from the received Context:
  {flags, ttlSeconds, atMs, receiveAtMs, expectStatus}

Run it after changing a case: python3 tests/generate/token_vectors.py
"""

import json
import os

ALICE = {"kind": "user", "key": "alice"}
BOB = {"kind": "user", "key": "bob"}


def flag(on=True, fallthrough=1, **extra):
    return {"on": on, "version": 1, "salt": "s", "variations": [False, True], "offVariation": 0,
            "fallthrough": {"variation": fallthrough}, **extra}


def snapshot(**flags):
    return {"flags": flags}


UPSTREAM = snapshot(canary=flag(), theme={"on": True, "version": 1, "variations": ["classic", "dark"], "fallthrough": {"variation": 1}})
# Downstream moved on: canary's rollout now gives alice false.
MOVED = snapshot(canary=flag(fallthrough=0), theme={"on": True, "version": 2, "variations": ["classic", "dark"], "fallthrough": {"variation": 0}})

PROPAGATED_TRUE = {"value": True, "variationIndex": 1, "reason": {"kind": "FALLTHROUGH", "propagated": True}}
OWN_FALSE = {"value": False, "variationIndex": 0, "reason": {"kind": "FALLTHROUGH"}}
ISSUE = {"context": ALICE, "flags": ["canary"], "ttlSeconds": 60, "atMs": 0}
RECEIVE = {"context": ALICE, "atMs": 1000}


def case(id, name, **fields):
    out = {"id": id, "name": name, "upstream": UPSTREAM, "downstream": MOVED, "issue": ISSUE, "receive": RECEIVE,
           "evaluateAtMs": 1000}
    out.update(fields)
    return out


CASES = [
    case("decide/propagated", "a decision made upstream holds downstream after the rollout moved",
         issue={**ISSUE, "flags": ["canary", "theme"]},
         expectStatus={"applied": True, "flags": 2, "expiresInMs": 60000},
         expect={"canary": PROPAGATED_TRUE,
                 "theme": {"value": "dark", "variationIndex": 1, "reason": {"kind": "FALLTHROUGH", "propagated": True}}}),
    case("decide/undecided-flag", "a flag the token does not carry is evaluated downstream",
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": PROPAGATED_TRUE, "theme": {"value": "classic", "variationIndex": 0, "reason": {"kind": "FALLTHROUGH"}}}),
    case("kill/off", "a flag turned off downstream answers OFF, whatever the token says",
         downstream=snapshot(canary=flag(on=False)),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": {"value": False, "variationIndex": 0, "reason": {"kind": "OFF"}}}),
    case("kill/prerequisite-off", "a prerequisite turned off downstream wins too",
         upstream=snapshot(canary=flag(prerequisites=[{"key": "gate", "variation": 1}]), gate=flag()),
         downstream=snapshot(canary=flag(prerequisites=[{"key": "gate", "variation": 1}]), gate=flag(on=False)),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": {"value": False, "variationIndex": 0, "reason": {"kind": "PREREQUISITE_FAILED", "prerequisiteKey": "gate"}}}),
    case("kill/deleted", "a flag deleted downstream is not found, whatever the token says",
         downstream=snapshot(theme={"on": True, "variations": ["classic"], "fallthrough": {"variation": 0}}),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": {"value": None, "variationIndex": None, "reason": {"kind": "ERROR", "errorKind": "FLAG_NOT_FOUND"}}}),
    case("change/variations", "variations changed downstream: the token cannot rebuild the answer, so downstream evaluates",
         downstream=snapshot(canary={"on": True, "variations": [True, False], "fallthrough": {"variation": 1}}),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": {"value": False, "variationIndex": 1, "reason": {"kind": "FALLTHROUGH"}}}),
    case("change/targets", "targets changed after upstream decided: the chain keeps upstream's decision until the token expires",
         downstream=snapshot(canary=flag(targets=[{"values": ["alice"], "variation": 0}])),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": PROPAGATED_TRUE}),
    case("time/expired", "an expired token is refused and decides nothing",
         receive={**RECEIVE, "atMs": 60000}, evaluateAtMs=60000,
         expectStatus={"applied": False, "code": "TOKEN_EXPIRED"},
         expect={"canary": OWN_FALSE}),
    case("time/expires-at-evaluation", "a Context kept past its token's expiry stops deciding",
         receive={**RECEIVE, "atMs": 30000}, evaluateAtMs=60000,
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": OWN_FALSE}),
    case("time/last-millisecond", "the last millisecond of a token's life still decides",
         evaluateAtMs=59999, expectStatus={"applied": True, "flags": 1}, expect={"canary": PROPAGATED_TRUE}),
    case("time/not-yet-valid", "a token issued further ahead than clocks drift is refused",
         issue={**ISSUE, "atMs": 120000},
         expectStatus={"applied": False, "code": "TOKEN_NOT_YET_VALID"},
         expect={"canary": OWN_FALSE}),
    case("time/lifetime-too-long", "a token issued for longer than the receiver accepts (300 s by default) is refused",
         issue={**ISSUE, "ttlSeconds": 600},
         expectStatus={"applied": False, "code": "TOKEN_LIFETIME_TOO_LONG"},
         expect={"canary": OWN_FALSE}),
    case("time/lifetime-allowed", "a receiver that accepts longer lifetimes takes it",
         issue={**ISSUE, "ttlSeconds": 600}, receive={**RECEIVE, "maxTtlSeconds": 900},
         expectStatus={"applied": True, "flags": 1, "expiresInMs": 600000},
         expect={"canary": PROPAGATED_TRUE}),
    case("forged/flipped", "a changed character breaks the signature",
         tamper="flip-middle", expectStatus={"applied": False, "code": "TOKEN_BAD_SIGNATURE"}, expect={"canary": OWN_FALSE}),
    case("forged/other-key", "a token signed with another key is refused",
         tamper="other-key", expectStatus={"applied": False, "code": "TOKEN_BAD_SIGNATURE"}, expect={"canary": OWN_FALSE}),
    case("forged/truncated", "a truncated token is refused",
         tamper="truncate", expectStatus={"applied": False, "code": "TOKEN_MALFORMED"}, expect={"canary": OWN_FALSE}),
    case("forged/not-base64", "a token that is not URL-safe base64 is refused",
         replace="fc1.***", expectStatus={"applied": False, "code": "TOKEN_MALFORMED"}, expect={"canary": OWN_FALSE}),
    case("forged/oversized", "a token longer than any real one is refused before it is decoded",
         replace="fc1." + "A" * 4100, expectStatus={"applied": False, "code": "TOKEN_TOO_LARGE"}, expect={"canary": OWN_FALSE}),
    case("forged/not-a-token", "a header with no flagcore member is no token at all",
         replace="userId=alice,other=1", expectStatus={"applied": False}, expect={"canary": OWN_FALSE}),
    case("context/foreign", "a token for another user is refused",
         receive={**RECEIVE, "context": BOB},
         expectStatus={"applied": False, "code": "TOKEN_WRONG_CONTEXT"},
         expect={"canary": OWN_FALSE}),
    case("context/colliding-binding", "a key holding NUL separators does not bind a multi-kind context",
         issue={**ISSUE, "context": {"kind": "org", "key": "acme\u0000user\u0000alice"}},
         receive={**RECEIVE, "context": {"kind": "multi", "org": {"key": "acme"}, "user": {"key": "alice"}}},
         expectStatus={"applied": False, "code": "TOKEN_WRONG_CONTEXT"},
         expect={"canary": OWN_FALSE}),
    case("context/multi-kind", "a multi-kind context binds every kind and key",
         issue={**ISSUE, "context": {"kind": "multi", "org": {"key": "acme"}, "user": {"key": "alice"}}},
         receive={**RECEIVE, "context": {"kind": "multi", "user": {"key": "alice", "name": "Alice"}, "org": {"key": "acme"}}},
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": PROPAGATED_TRUE}),
    case("context/baggage", "the token as the flagcore member of a baggage header",
         tamper="baggage", expectStatus={"applied": True, "flags": 1}, expect={"canary": PROPAGATED_TRUE}),
    case("all-flags/propagated", "allFlagsState answers the token's decisions, as variation does",
         issue={**ISSUE, "flags": ["canary", "theme"]},
         expectStatus={"applied": True, "flags": 2},
         expect={"canary": PROPAGATED_TRUE},
         expectAllFlags={"canary": {"value": True, "variation": 1, "reason": {"kind": "FALLTHROUGH", "propagated": True}},
                         "theme": {"value": "dark", "variation": 1, "reason": {"kind": "FALLTHROUGH", "propagated": True}}}),
    case("all-flags/kill-switch", "allFlagsState lets the kill switch win too",
         downstream=snapshot(canary=flag(on=False)),
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": {"value": False, "variationIndex": 0, "reason": {"kind": "OFF"}}},
         expectAllFlags={"canary": {"value": False, "variation": 0, "reason": {"kind": "OFF"}}}),
    case("all-flags/expired", "allFlagsState after the token's expiry answers from the snapshot",
         receive={**RECEIVE, "atMs": 30000}, evaluateAtMs=60000,
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": OWN_FALSE},
         expectAllFlags={"canary": {"value": False, "variation": 0, "reason": {"kind": "FALLTHROUGH"}}}),
    case("reissue/keeps-expiry", "a middle function re-issuing from a token-carrying Context keeps the original expiry",
         downstream=UPSTREAM,
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": PROPAGATED_TRUE},
         reissue={"flags": ["canary"], "ttlSeconds": 60, "atMs": 50000, "receiveAtMs": 55000,
                  "expectStatus": {"applied": True, "flags": 1, "expiresInMs": 60000}}),
    case("reissue/extension-refused", "the re-issued token is expired when the original is",
         downstream=UPSTREAM,
         expectStatus={"applied": True, "flags": 1},
         expect={"canary": PROPAGATED_TRUE},
         reissue={"flags": ["canary"], "ttlSeconds": 60, "atMs": 50000, "receiveAtMs": 60000,
                  "expectStatus": {"applied": False, "code": "TOKEN_EXPIRED"}}),
    case("issue/negative-ttl", "a negative time to live is refused when issuing",
         issue={**ISSUE, "ttlSeconds": -1}, issueError="TOKEN_INVALID_TTL"),
    case("issue/zero-ttl", "a zero time to live is refused when issuing",
         issue={**ISSUE, "ttlSeconds": 0}, issueError="TOKEN_INVALID_TTL"),
    case("issue/ttl-over-an-hour", "a time to live over an hour is refused when issuing",
         issue={**ISSUE, "ttlSeconds": 3601}, issueError="TOKEN_INVALID_TTL"),
    case("issue/ttl-a-fraction-over-an-hour", "a time to live over an hour by a fraction of a millisecond is refused, not cut to an hour",
         issue={**ISSUE, "ttlSeconds": 3600.0005}, issueError="TOKEN_INVALID_TTL"),
    case("issue/too-many-flags", "a token decides at most 128 flags",
         upstream=snapshot(**{f"flag-{i:03}": flag() for i in range(129)}),
         issue={**ISSUE, "flags": [f"flag-{i:03}" for i in range(129)]}, issueError="TOKEN_TOO_LARGE"),
    case("issue/invalid-context", "no token for a context that cannot be evaluated",
         issue={**ISSUE, "context": {"kind": "user"}}, issueError="TOKEN_INVALID_CONTEXT"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "vectors", "tokens", "tokens.jsonl")
    with open(path, "w", encoding="utf-8") as out:
        for c in CASES:
            out.write(json.dumps(c, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{len(CASES)} token cases written to {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
