#!/usr/bin/env python3
"""Seeds each fuzz target's corpus from the project's own vectors, so that
libFuzzer starts from real snapshots, contexts and tokens' neighbours:
fuzz/corpus/<target>/ (ignored by git; libFuzzer adds what it finds)."""

import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def lines(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def put(target, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main():
    for path in ("examples/snapshot.json", "examples/chain/flags.json"):
        with open(os.path.join(ROOT, path), "rb") as f:
            put("snapshot", f.read())
    for vector in lines("tests/vectors/snapshots/formats.jsonl"):
        if "input" in vector:
            data = json.dumps(vector["input"]).encode()
            put("snapshot", (b"p" if vector.get("prefix") else b"") + data)
    contexts = set()
    for vector in lines("tests/vectors/evaluation/flagcore-eval.jsonl"):
        put("snapshot", json.dumps(vector["data"]).encode())
        contexts.add(json.dumps(vector["context"]))
    for case in lines("tests/vectors/tokens/tokens.jsonl"):
        for side in ("issue", "receive"):
            contexts.add(json.dumps(case[side]["context"]))
        if "replace" in case:
            put("token", case["replace"].encode())
    for context in contexts:
        put("context", context.encode())
    # Signed-payload seeds: a version-2 header and one decision (see fuzz_targets/token.rs).
    header = bytes([2]) + bytes(8) + bytes(16) + (1_700_000_000_000).to_bytes(6, "big") + (60_000).to_bytes(4, "big")
    put("token", b"\x03" + header + b"\x01" + bytes(6) + b"\x81\x80\x04" + bytes(6))
    put("token", b"\x01" + header + b"\x00")
    put("token", b"userId=alice,flagcore=fc1.AAAA")
    published()
    print("seeded fuzz/corpus/{snapshot,context,token,published}")


def published():
    """Published-layout seeds (see fuzz_targets/published.rs): a head's text,
    0xff, then its chunks' plain bytes, laid out by the flagcore command
    (`flagcore publish`) when it is built; and the vectors' broken heads."""
    for vector in lines("tests/vectors/published/layout.jsonl"):
        text = vector.get("change", {}).get("headText")
        if text:
            put("published", text.encode())
    cli = os.path.join(ROOT, "target", "debug", "flagcore")
    if not os.path.exists(cli):
        print("fuzz/seed.py: target/debug/flagcore is not built: the published target starts from broken heads only")
        return
    import gzip
    import subprocess
    import tempfile

    for path in ("examples/snapshot.json", "examples/chain/flags.json"):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([cli, "publish", "--snapshot", os.path.join(ROOT, path), "--to", out], check=True, capture_output=True)
            with open(os.path.join(out, "head.json"), "rb") as f:
                head = f.read()
            chunks = b""
            for chunk in json.loads(head)["chunks"]:
                with open(os.path.join(out, chunk["name"]), "rb") as f:
                    chunks += gzip.decompress(f.read())
            put("published", head + b"\xff" + chunks)


if __name__ == "__main__":
    main()
