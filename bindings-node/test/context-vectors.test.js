'use strict'
// The shared context vectors (tests/vectors/contexts): the canonical key of
// each context, as a prepared Context says it. FlagClient's spans take
// feature_flag.context.id from the same core rule (test/observability.test.js).
// The core and Python run the same file.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Context } = require('./impl.js')

const vectors = path.join(__dirname, '..', '..', 'tests', 'vectors')
const index = JSON.parse(fs.readFileSync(path.join(vectors, 'index.json'), 'utf8'))
const cases = index.contexts.flatMap((name) =>
  fs.readFileSync(path.join(vectors, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)))

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
