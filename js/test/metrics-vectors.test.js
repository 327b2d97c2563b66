'use strict'
// The shared metrics vectors (tests/vectors/metrics): a sequence of
// FlagClient calls, and the evaluation counts per flag and variation that
// flush() writes as EMF. Python's client runs the same file.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')
const { FlagClient, Snapshot } = require('./impl.js')

const groups = vectorCases('metrics')

const METHODS = {
  variation: 'variation',
  variationDetail: 'variationDetail',
  bool: 'boolVariation',
  boolDetail: 'boolVariationDetail',
  string: 'stringVariation',
  stringDetail: 'stringVariationDetail',
  number: 'numberVariation',
  numberDetail: 'numberVariationDetail',
  json: 'jsonVariation'
}

/** The counts of EMF lines: { flag: { variation: evaluations } }. */
function counts (lines) {
  const out = {}
  for (const doc of lines.map((l) => JSON.parse(l)).filter((d) => 'Evaluations' in d)) {
    out[doc.FlagKey] = { ...out[doc.FlagKey], [doc.Variation]: doc.Evaluations }
  }
  return out
}

test('FlagClient counts every metrics vector as flush() writes it', async () => {
  const failures = []
  for (const group of groups) {
    const text = group.data === null ? null : JSON.stringify(group.data)
    const client = new FlagClient({
      source: { describe: () => 'vectors', load: async () => { if (text === null) throw new Error('no snapshot'); return Snapshot.fromJson(text) } },
      metrics: { write: () => {} },
      logger: { warn: () => {} }
    })
    for (const call of group.calls) {
      if (call.method === 'allFlagsState') await client.allFlagsState(call.context)
      else await client[METHODS[call.method]](call.flag, call.context, call.default)
    }
    const got = counts(client.flush())
    try {
      assert.deepStrictEqual(got, group.expect)
    } catch {
      failures.push(`${group.name}: expected ${JSON.stringify(group.expect)}, got ${JSON.stringify(got)}`)
    }
  }
  console.log(`metrics vectors: ${groups.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(groups.length > 0, 'no metrics vectors')
  assert.deepEqual(failures, [])
})
