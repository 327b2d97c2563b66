'use strict'
// The shared OpenFeature vectors (tests/vectors/openfeature): for each
// OpenFeature evaluation context, the resolution FlagcoreProvider gives
// (value, reason, variant, error code). Python's provider runs the same file.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')
const { FlagClient, FlagcoreProvider, Snapshot } = require('./impl.js')

const groups = vectorCases('openfeature')

const RESOLVE = { boolean: 'resolveBooleanEvaluation', string: 'resolveStringEvaluation', number: 'resolveNumberEvaluation', object: 'resolveObjectEvaluation' }

test('FlagcoreProvider resolves every OpenFeature vector', async () => {
  const failures = []
  let cases = 0
  for (const group of groups) {
    const text = JSON.stringify(group.data)
    const client = new FlagClient({ source: { describe: () => 'vectors', load: async () => Snapshot.fromJson(text) } })
    const provider = new FlagcoreProvider(client)
    for (const c of group.cases) {
      cases++
      const r = await provider[RESOLVE[c.type]](c.flag, c.default, c.context)
      const got = { value: r.value, reason: r.reason, variant: r.variant ?? null, errorCode: r.errorCode ?? null }
      try {
        assert.deepStrictEqual(got, c.expect)
      } catch {
        failures.push(`${c.name}: expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`)
      }
    }
  }
  console.log(`openfeature vectors: ${cases - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases > 0, 'no OpenFeature vectors')
  assert.deepEqual(failures, [])
})
