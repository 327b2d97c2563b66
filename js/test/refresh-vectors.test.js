'use strict'
// The shared refresh vectors (tests/vectors/refresh): when a FlagClient
// refreshes, through the binding's refreshDeadlines, which FlagClient asks
// after each load and failure. The core and Python run the same file;
// test/client.test.js and test/faults.test.js check the client around it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')

const engine = process.env.FLAGCORE_IMPL === 'wasm'
  ? require('../../bindings-wasm/dist/nodejs/flagcore.js')
  : require('../../bindings-node/native.js')
const cases = vectorCases('refresh')

test('every refresh vector', () => {
  const failures = []
  for (const c of cases) {
    const [call, token, pin] = engine.refreshDeadlines(c.ttlMs, c.retryMs, c.hasSnapshot, c.checkedAtMs, c.failedAtMs)
    const got = [c.nowMs >= call, c.nowMs >= token, c.nowMs >= pin]
    const expected = [c.due, c.dueForToken, c.mayReadPinned]
    if (got.some((g, i) => g !== expected[i])) failures.push(`${c.name}: expected ${expected}, got ${got}`)
  }
  console.log(`refresh vectors: ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length > 0, 'no refresh vectors')
  assert.deepEqual(failures, [])
})
