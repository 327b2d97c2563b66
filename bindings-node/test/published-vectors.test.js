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
  const native = require('../native.js')
  return native.snapshotPublish(native.snapshotFromJson(JSON.stringify(document)), now)
}

function readBack (vector) {
  const { head, chunks } = layOut(vector.input)
  const change = vector.change || {}
  let read = chunks.map((chunk) => Buffer.from(chunk))
  if (change.dropChunks) read = read.slice(0, Math.max(0, read.length - change.dropChunks))
  if (change.flipByte) read[change.flipByte.chunk][change.flipByte.at] ^= 1
  const headText = change.headText ?? JSON.stringify({ ...JSON.parse(head), ...(change.head || {}) })
  return { snapshot: () => Snapshot.fromPublished(headText, read), chunks: read }
}

test('published-layout vectors', () => {
  const failures = []
  let passed = 0
  for (const vector of vectorCases('published')) {
    try {
      const { snapshot, chunks } = readBack(vector)
      if (vector.expectError) {
        assert.throws(snapshot, { name: 'SnapshotError', code: vector.expectError.code, path: vector.expectError.path })
      } else {
        const back = snapshot()
        assert.equal(back.id, Snapshot.fromJson(JSON.stringify(vector.input)).id)
        assert.equal(chunks.length, vector.expect.chunks)
      }
      passed++
    } catch (error) {
      failures.push(`${vector.id}: ${error.message}`)
    }
  }
  console.log(`published vectors (${impl.testLabel}): ${passed} passed, ${failures.length} failed`)
  assert.deepEqual(failures, [])
  assert.ok(passed > 0)
})

// What a request pinned to a decision token's snapshot answers from
// (tests/vectors/pinned): the pinned flags under the held snapshot's kill
// switches, or the pinned snapshot as it is when it is the newer.
test('pinned-snapshot vectors', () => {
  const failures = []
  let passed = 0
  for (const vector of vectorCases('pinned')) {
    try {
      const pinned = Snapshot.fromJson(JSON.stringify(vector.pinned))
      const held = Snapshot.fromJson(JSON.stringify(vector.held))
      const answering = Snapshot.pinned(pinned, vector.pinnedAt, held, vector.heldAt)
      assert.equal(answering === pinned ? 'pinned' : 'composite', vector.answersFrom)
      assert.equal(answering.id, pinned.id)
      for (const evaluation of vector.evaluations) {
        const detail = answering.variationDetail(evaluation.flagKey, evaluation.context, evaluation.default)
        assert.deepEqual({ value: detail.value, variationIndex: detail.variationIndex, reason: detail.reason }, evaluation.expect, evaluation.flagKey)
      }
      passed++
    } catch (error) {
      failures.push(`${vector.id}: ${error.message}`)
    }
  }
  console.log(`pinned vectors (${impl.testLabel}): ${passed} passed, ${failures.length} failed`)
  assert.deepEqual(failures, [])
  assert.ok(passed > 0)
})
