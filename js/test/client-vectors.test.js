'use strict'
// The shared client vectors (tests/vectors/clients): scenarios a FlagClient
// plays against an in-memory store of flagcore's published layout, given as
// `{ published: { store } }`: publishes (the core's plan), lagging head
// reads, failures, tampered and bombed chunks, and the pinned requests,
// refreshes and evaluations that must follow. Python runs the same file
// (tests/test_client_vectors.py), so the two clients' reading and pinning
// rules cannot drift apart.

const test = require('node:test')
const assert = require('node:assert/strict')
const zlib = require('node:zlib')
const impl = require('./impl.js')
const { vectorCases } = require('./vector-cases.js')
const { FlagClient, Snapshot, Context } = impl

const SIGNING_KEY = 'flagcore-test-signing-key-0123456789'
const T0 = 1_700_000_000_000
const USER = { kind: 'user', key: 'u1' }
const quiet = { warn () {} }

// The writer is the native engine's (the edge only reads): the package
// under test's when it runs on one; otherwise this checkout's native module.
function plan (document, previous, now) {
  const text = JSON.stringify(document)
  if (impl.engine === 'native') return Snapshot.fromJson(text).publishPlan(previous, { now })
  const native = require('../../bindings-node/native.js')
  return native.snapshotPublishPlan(native.snapshotFromJson(text), previous, now, false)
}

/** A published store in memory, with the faults a scenario asks for. */
function memoryStore () {
  const store = {
    items: new Map(),
    // The head's text; what the client's head reads answer while they lag.
    current: null,
    frozen: null,
    failing: false,
    reads: { calls: 0, generationHeads: 0, chunks: 0 },
    describe: () => 'memory',
    call () {
      store.reads.calls++
      if (store.failing) throw new Error('the store is unavailable')
    },
    async head (tag) {
      store.call()
      const text = store.frozen ?? store.current
      if (text === null) throw new Error('nothing is published')
      return text === tag ? null : { text, tag: text }
    },
    async chunks (names) {
      store.call()
      store.reads.chunks += names.length
      return names.map((name) => store.items.get(name) ?? null)
    },
    async generationHead (name) {
      store.call()
      store.reads.generationHeads++
      return store.items.get(name) ?? null
    }
  }
  return store
}

function publish (store, document, now) {
  const planned = plan(document, store.current, now)
  if (planned.unchanged) return
  planned.chunkNames.forEach((name, n) => store.items.set(name, zlib.gzipSync(planned.chunks[n])))
  store.items.set(planned.generationHead, planned.head)
  store.current = planned.head
}

function headOf (store, label, ids) {
  const id = ids[label]
  return JSON.parse(store.items.get(`snapshots/${id}/head.json`))
}

function tamper (store, change, ids) {
  const head = headOf(store, change.snapshot, ids)
  const chunk = head.chunks[change.chunk]
  if (change.inflatesTo) {
    store.items.set(chunk.name, zlib.gzipSync(Buffer.alloc(change.inflatesTo), { level: 1 }))
  } else if (change.storedBytes) {
    store.items.set(chunk.name, Buffer.alloc(change.storedBytes, 7))
  } else if (change.padStoredTo) {
    // A gzip member padded to the size with a header comment (FCOMMENT).
    const gz = zlib.gzipSync(zlib.gunzipSync(store.items.get(chunk.name)))
    const comment = Buffer.alloc(change.padStoredTo - gz.length - 1, 0x78)
    const header = Buffer.from(gz.subarray(0, 10))
    header[3] |= 0x10
    store.items.set(chunk.name, Buffer.concat([header, comment, Buffer.from([0]), gz.subarray(10)]))
  } else if (change.appendPlain) {
    const plain = zlib.gunzipSync(store.items.get(chunk.name))
    store.items.set(chunk.name, zlib.gzipSync(Buffer.concat([plain, Buffer.alloc(change.appendPlain, 0x20)])))
  } else if (change.plainFlip !== undefined) {
    const plain = zlib.gunzipSync(store.items.get(chunk.name))
    plain[change.plainFlip] ^= 1
    store.items.set(chunk.name, zlib.gzipSync(plain))
  }
}

function pad (text, total) {
  return text + ' '.repeat(Math.max(0, total - text.length))
}

// The pinned bytes a vector gives: a number, or a snapshot's published size
// less `minus`.
function pinnedOptions (pinned, documents) {
  if (!pinned || typeof pinned.maxBytes !== 'object') return pinned
  const { sizeOf, minus } = pinned.maxBytes
  const size = JSON.parse(plan(documents[sizeOf], null, T0).head).size
  return { ...pinned, maxBytes: size - minus }
}

async function play (vector) {
  const store = memoryStore()
  let now = T0
  const options = vector.client
  const client = new FlagClient({
    source: { published: { store } },
    ttlSeconds: options.ttlSeconds,
    retryMs: options.retrySeconds * 1000,
    pinned: pinnedOptions(options.pinned, vector.snapshots),
    signingKey: SIGNING_KEY,
    logger: quiet,
    now: () => now
  })
  const documents = vector.snapshots
  const ids = {}
  for (const [label, document] of Object.entries(documents)) ids[label] = Snapshot.fromJson(JSON.stringify(document)).id
  const label = (id) => Object.keys(ids).find((key) => ids[key] === id) ?? id
  const kept = {}
  const problems = []
  const check = (step, what, got, expected) => {
    try {
      assert.deepEqual(got, expected)
    } catch {
      problems.push(`at ${step.at} s, ${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`)
    }
  }
  async function answers (step, context, expect) {
    for (const [key, detail] of Object.entries(expect.details ?? {})) {
      const got = await client.variationDetail(key, context, null)
      check(step, `${key}`, { value: got.value, variationIndex: got.variationIndex, reason: got.reason }, detail)
    }
    if (expect.allFlags) {
      const state = await client.allFlagsState(context)
      const values = state.allValues()
      check(step, 'allFlagsState', Object.fromEntries(Object.keys(expect.allFlags).map((k) => [k, values[k]])), expect.allFlags)
    }
  }
  for (const step of vector.steps) {
    now = T0 + step.at * 1000
    const expect = step.expect ?? {}
    store.reads = { calls: 0, generationHeads: 0, chunks: 0 }
    if (step.publish) publish(store, documents[step.publish], now + (step.clockSkewMs ?? 0))
    if (step.lag !== undefined) store.frozen = step.lag ? store.current : null
    if (step.fail !== undefined) store.failing = step.fail
    if (step.tamper) tamper(store, step.tamper, ids)
    if (step.expire) {
      const head = headOf(store, step.expire, ids)
      for (const chunk of head.chunks) store.items.delete(chunk.name)
      store.items.delete(`snapshots/${ids[step.expire]}/head.json`)
    }
    if (step.editHead) store.current = JSON.stringify({ ...JSON.parse(store.current), ...step.editHead })
    if (step.padHeadTo) store.current = pad(store.current.trimEnd(), step.padHeadTo)
    if (step.refresh) {
      await client.refresh()
      const status = client.status()
      if ('snapshot' in expect) check(step, 'the snapshot held', label(status.snapshotId), expect.snapshot)
      if ('lastError' in expect) check(step, 'the refresh error', status.lastError && (status.lastError.code ?? 'no code'), expect.lastError)
      if (expect.failed) check(step, 'the refresh failed', status.lastError !== null, true)
      if (expect.warnings) check(step, 'the warnings', status.warnings.map((w) => w.code), expect.warnings)
    }
    if (step.decide) {
      const upstream = Snapshot.fromJson(JSON.stringify(documents[step.decide.tokenFrom]))
      const token = upstream.decisionToken(USER, step.decide.flags, { signingKey: SIGNING_KEY, now })
      const decided = await client.decide(USER, token)
      const reads = { ...store.reads }
      if (step.decide.keep) kept[step.decide.keep] = decided
      if ('pinnedTo' in expect) check(step, 'pinned to', decided.pinnedSnapshotId === null ? null : label(decided.pinnedSnapshotId), expect.pinnedTo)
      if (expect.reads) check(step, 'reads', Object.fromEntries(Object.keys(expect.reads).map((k) => [k, reads[k]])), expect.reads)
      if (expect.pinError) check(step, 'the pin error', client.status().pinned.lastError && client.status().pinned.lastError.code, expect.pinError)
      if (expect.pinFailed) check(step, 'a pin error', client.status().pinned.lastError !== null, true)
      await answers(step, decided, expect)
      if (expect.onward) {
        const onward = await client.decisionToken(decided, step.decide.flags)
        const status = new Context(USER, { token: onward, signingKey: SIGNING_KEY, now: () => now }).tokenStatus
        check(step, 'the onward token\'s snapshot', label(status.snapshotId), expect.onward.pinnedTo)
      }
    }
    if (step.evaluate) await answers(step, kept[step.evaluate], expect)
  }
  return problems
}

test('client vectors', async () => {
  const failures = []
  let passed = 0
  for (const vector of vectorCases('clients')) {
    try {
      const problems = await play(vector)
      if (problems.length === 0) passed++
      else failures.push(`${vector.id}: ${problems.join('; ')}`)
    } catch (error) {
      failures.push(`${vector.id}: ${error.stack}`)
    }
  }
  console.log(`client vectors (${impl.testLabel}): ${passed} passed, ${failures.length} failed`)
  assert.deepEqual(failures, [])
  assert.ok(passed > 0)
})
