'use strict'
// The shared vectors of flagcore's published layout (tests/vectors/published):
// each snapshot published, changed as the vector says, and read back.

const test = require('node:test')
const assert = require('node:assert/strict')
const impl = require('./impl.js')
const { vectorCases } = require('./vector-cases.js')
const { Snapshot } = impl

// The writer is the native engine's (the edge only reads): the package under
// test's when it runs on one; otherwise this checkout's native module, called
// directly, whatever engine FLAGCORE_ENGINE asks the package for.
function layOut (document) {
  const now = 1_700_000_000_000
  if (impl.engine === 'native') return Snapshot.fromJson(JSON.stringify(document)).publish({ now })
  const native = require('../../bindings-node/native.js')
  return native.snapshotPublish(native.snapshotFromJson(JSON.stringify(document)), now)
}

function readBack (vector) {
  const { head, chunks } = layOut(vector.input)
  const change = vector.change || {}
  let read = chunks.map((chunk) => Buffer.from(chunk))
  if (change.dropChunks) read = read.slice(0, Math.max(0, read.length - change.dropChunks))
  if (change.flipByte) read[change.flipByte.chunk][change.flipByte.at] ^= 1
  let headText = change.headText ?? JSON.stringify({ ...JSON.parse(head), ...(change.head || {}) })
  if (change.padHeadTo) headText += ' '.repeat(Math.max(0, change.padHeadTo - headText.length))
  return { snapshot: () => Snapshot.fromPublished(headText, read), chunks: read }
}

// Runs `check` on every vector of `kind`, prints `N passed, M failed` as
// every runner does, and fails on any failure.
function runVectors (kind, check) {
  const failures = []
  let passed = 0
  for (const vector of vectorCases(kind)) {
    try {
      check(vector)
      passed++
    } catch (error) {
      failures.push(`${vector.id}: ${error.message}`)
    }
  }
  console.log(`${kind} vectors (${impl.testLabel}): ${passed} passed, ${failures.length} failed`)
  assert.deepEqual(failures, [])
  assert.ok(passed > 0)
}

test('published-layout vectors', () => runVectors('published', (vector) => {
  const { snapshot, chunks } = readBack(vector)
  if (vector.expectError) {
    assert.throws(snapshot, { name: 'SnapshotError', code: vector.expectError.code, path: vector.expectError.path })
    return
  }
  const back = snapshot()
  assert.equal(back.id, Snapshot.fromJson(JSON.stringify(vector.input)).id)
  assert.equal(chunks.length, vector.expect.chunks)
  if (vector.expect.sourceProblems) assert.deepEqual(back.sourceProblems().map((p) => p.code), vector.expect.sourceProblems)
}))

// What a request pinned to a decision token's snapshot answers from
// (tests/vectors/pinned): the pinned flags under the held snapshot's kill
// switches, or the pinned snapshot as it is when it is the newer.
test('pinned-snapshot vectors', () => runVectors('pinned', (vector) => {
  const pinned = Snapshot.fromJson(JSON.stringify(vector.pinned))
  const held = Snapshot.fromJson(JSON.stringify(vector.held))
  const answering = Snapshot.pinned(pinned, vector.pinnedSequence, held, vector.heldSequence)
  assert.equal(answering === pinned ? 'pinned' : 'composite', vector.answersFrom)
  assert.equal(answering.id, pinned.id)
  for (const evaluation of vector.evaluations) {
    const detail = answering.variationDetail(evaluation.flagKey, evaluation.context, evaluation.default)
    assert.deepEqual({ value: detail.value, variationIndex: detail.variationIndex, reason: detail.reason }, evaluation.expect, evaluation.flagKey)
  }
}))

// The publishes of tests/vectors/publish: the core's plan over the head
// there before, as every publisher follows it (the native engine's: the
// edge does not publish).
test('publish vectors', { skip: impl.engine !== 'native' && 'the edge does not publish' }, () => runVectors('publish', (vector) => {
  let previous = null
  if (vector.previous && vector.previous.headText !== undefined) {
    previous = vector.previous.headText
  } else if (vector.previous) {
    const before = Snapshot.fromJson(JSON.stringify(vector.previous.input)).publishPlan(null, { now: vector.previous.at, force: true })
    const head = { ...JSON.parse(before.head), ...(vector.previous.head || {}) }
    for (const name of vector.previous.dropHeadFields || []) delete head[name]
    previous = JSON.stringify(head)
  }
  const snapshot = Snapshot.fromJson(JSON.stringify(vector.input))
  const plan = () => snapshot.publishPlan(previous, { now: vector.at, force: Boolean(vector.force) })
  if (vector.expectError) {
    assert.throws(plan, { name: 'SnapshotError', code: vector.expectError.code, path: vector.expectError.path })
  } else if (vector.expect.unchanged) {
    assert.equal(plan().unchanged, true)
  } else {
    const planned = plan()
    const head = Snapshot.publishedHead(planned.head)
    assert.deepEqual({ sequence: head.sequence, replaced: planned.replaced.length }, { sequence: vector.expect.sequence, replaced: vector.expect.replaced })
    if (vector.expect.sourceProblems) {
      const back = Snapshot.fromPublished(planned.head, planned.chunks)
      assert.deepEqual(back.sourceProblems().map((p) => p.code), vector.expect.sourceProblems)
    }
  }
}))
