'use strict'
// Every evaluation case of ../shared/conformance and of tests/vectors, through
// the package as users call it: plain contexts, prepared contexts, old-style
// users and the all-flags state; and every snapshot vector, errors included.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { isDeepStrictEqual } = require('node:util')
const { Snapshot, Context, SnapshotError } = require('./impl.js')

const root = path.join(__dirname, '..', '..')
const shared = process.env.FLAGCORE_SHARED || path.join(root, '..', 'shared')
const vectors = path.join(root, 'tests', 'vectors')
const index = JSON.parse(fs.readFileSync(path.join(vectors, 'index.json'), 'utf8'))

function lines (file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
}

const files = index.evaluation.map((name) => [`vectors/${name}`, path.join(vectors, name)])
const conformance = path.join(shared, 'conformance')
if (fs.existsSync(conformance)) {
  for (const name of ['ld-eval-cases.jsonl', 'ld-bucketing-cases.jsonl']) {
    files.unshift([`shared/${name}`, path.join(conformance, name)])
  }
} else {
  console.log(`!!! ${conformance} is missing: LaunchDarkly's conformance cases were NOT run.`)
}

// In CI a missing folder is a broken checkout, not a choice.
test("LaunchDarkly's conformance cases are present in CI", { skip: process.env.CI !== 'true' && 'CI is not true' }, () => {
  assert.ok(fs.existsSync(conformance), `${conformance} is missing: the conformance cases must run in CI`)
})

const METHODS = {
  bool: 'boolVariationDetail',
  int: 'numberVariationDetail',
  double: 'numberVariationDetail',
  string: 'stringVariationDetail',
  any: 'jsonVariationDetail'
}

function compare (actual, expected) {
  try {
    assert.deepStrictEqual(
      { value: actual.value, variationIndex: actual.variationIndex, reason: { ...actual.reason } },
      expected
    )
    return null
  } catch {
    return `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
  }
}

for (const [label, file] of files) {
  test(`evaluation cases of ${label}`, () => {
    const failures = []
    let passed = 0
    for (const c of lines(file)) {
      const snapshot = Snapshot.fromJson(JSON.stringify(c.data))
      const method = METHODS[c.valueType]
      const runs = [['context', c.context], ['prepared', new Context(c.context)]]
      if (c.user !== null && c.user !== undefined) runs.push(['user', c.user])
      for (const [variant, context] of runs) {
        const why = compare(snapshot[method](c.flagKey, context, c.default), c.expect)
        if (why) failures.push(`${c.id} (${variant}): ${why}`)
        else passed++
      }
      if (!c.allFlags.skip) {
        const state = snapshot.allFlagsState(c.context).toJSON()
        const present = Object.prototype.hasOwnProperty.call(state, c.flagKey)
        const same = isDeepStrictEqual(state[c.flagKey], c.allFlags.expectedValue)
        const ok = c.allFlags.mustContainKey ? present && same : !present || same
        if (ok) passed++
        else failures.push(`${c.id} (all flags): got ${JSON.stringify(state[c.flagKey])}`)
      }
    }
    console.log(`${label}: ${passed} passed, ${failures.length} failed`)
    assert.deepStrictEqual(failures.slice(0, 20), [])
  })
}

test('snapshot vectors: error codes and paths, and one id per group of formats', () => {
  const groups = new Map()
  const failures = []
  let passed = 0
  for (const name of index.snapshots) {
    for (const v of lines(path.join(vectors, name))) {
      const input = typeof v.inputText === 'string' ? v.inputText : JSON.stringify(v.input)
      let snapshot = null
      let error = null
      try {
        snapshot = Snapshot.fromJson(input, { prefix: v.prefix })
      } catch (e) {
        error = e
      }
      if (v.expectError) {
        if (error instanceof SnapshotError && error.code === v.expectError.code && error.path === v.expectError.path) passed++
        else failures.push(`${v.id}: expected ${v.expectError.code} at ${v.expectError.path}, got ${error ? `${error.code} at ${error.path}` : 'a snapshot'}`)
        continue
      }
      if (error) {
        failures.push(`${v.id}: refused: ${error.message}`)
        continue
      }
      if (JSON.stringify(snapshot.flagKeys) === JSON.stringify(v.expect.flagKeys)) passed++
      else failures.push(`${v.id}: flag keys ${JSON.stringify(snapshot.flagKeys)}`)
      if (v.expect.idGroup) {
        const ids = groups.get(v.expect.idGroup) || new Set()
        ids.add(snapshot.id)
        groups.set(v.expect.idGroup, ids)
      }
    }
  }
  const seen = new Set()
  for (const [group, ids] of groups) {
    const [id] = ids
    if (ids.size !== 1) failures.push(`idGroup ${group}: ${ids.size} different ids`)
    else if (seen.has(id)) failures.push(`idGroup ${group}: shares its id with another group`)
    else passed++
    seen.add(id)
  }
  console.log(`snapshot vectors: ${passed} passed, ${failures.length} failed`)
  assert.deepStrictEqual(failures, [])
})
