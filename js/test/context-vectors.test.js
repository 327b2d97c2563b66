'use strict'
// The shared context vectors (tests/vectors/contexts): the canonical key of
// each context, as a prepared Context says it. FlagClient's spans take
// feature_flag.context.id from the same core rule (test/observability.test.js).
// The core and Python run the same file.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')
const { Context } = require('./impl.js')

const cases = vectorCases('contexts')

test('the canonical key of every context vector', () => {
  const failures = []
  for (const c of cases) {
    const got = new Context(c.context).canonicalKey
    if (got !== c.canonicalKey) failures.push(`${c.name}: expected ${JSON.stringify(c.canonicalKey)}, got ${JSON.stringify(got)}`)
  }
  console.log(`context vectors: ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length > 0, 'no context vectors')
  assert.deepEqual(failures, [])
})
