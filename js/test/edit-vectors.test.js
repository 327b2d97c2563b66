'use strict'
// The shared edit vectors (tests/vectors/edits) through `snapshot.edit`:
// changes named as the `flagcore flag` commands name them, and the flags
// and snapshot id they give, or the refusal's code. The Rust core and
// Python run the same file. On the WASM engine, `edit` throws: the module
// has no room for the edits (its size budget), which the last test checks.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')
const impl = require('./impl.js')
const { Snapshot, EditError } = impl

const cases = vectorCases('edits')
const native = impl.engine === 'native'

/** Whether `actual` holds `expected`: objects by the expected keys, arrays element by element. */
function holds (actual, expected) {
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => holds(actual[i], e))
  if (expected !== null && typeof expected === 'object') return actual !== null && typeof actual === 'object' && Object.entries(expected).every(([k, v]) => holds(actual[k], v))
  return actual === expected
}

/** The snapshot's flags as its canonical JSON holds them: its published chunks, joined. */
function flagsOf (snapshot) {
  const { chunks } = snapshot.publish({ now: 1 })
  return JSON.parse(Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8')).flags
}

function problems (c) {
  let snapshot = Snapshot.fromJson(JSON.stringify(c.snapshot))
  try {
    for (const change of c.changes) snapshot = snapshot.edit(change)
  } catch (error) {
    if (!(error instanceof EditError)) return `threw ${error}`
    return error.code === c.expect.error ? null : `refused with ${error.code}`
  }
  if (c.expect.error) return `made, where ${c.expect.error} was expected`
  if (c.expect.id && snapshot.id !== c.expect.id) return `snapshot id ${snapshot.id}, not ${c.expect.id}`
  const flags = flagsOf(snapshot)
  for (const [key, wanted] of Object.entries(c.expect.flags ?? {})) {
    if (!holds(flags[key], wanted)) return `flag ${key} is ${JSON.stringify(flags[key])}`
  }
  for (const key of c.expect.absent ?? []) if (key in flags) return `flag ${key} is still there`
  return null
}

test(`every edit vector (${impl.testLabel})`, { skip: !native && 'the WASM engine has no edits (its size budget)' }, () => {
  const failures = cases.map((c) => [c.id, problems(c)]).filter(([, p]) => p)
  console.log(`edit vectors (${impl.testLabel}): ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length > 0, 'no edit vectors ran')
  assert.deepEqual(failures, [])
})

test('an edit leaves the snapshot it was made to as it was, and a change that is not an object is a TypeError', { skip: !native && 'the WASM engine has no edits (its size budget)' }, () => {
  const before = Snapshot.fromJson(JSON.stringify(cases[0].snapshot))
  const after = before.edit({ create: 'another' })
  assert.equal(before.flagKeys.includes('another'), false)
  assert.equal(after.flagKeys.includes('another'), true)
  assert.throws(() => before.edit('on canary'), TypeError)
  assert.throws(() => before.edit({ on: 'nope' }), (e) => e instanceof EditError && e.code === 'FLAG_NOT_FOUND' && /flagcore flag list/.test(e.message))
})

test('on the WASM engine, edit says what it needs', { skip: native && 'the native engine edits' }, () => {
  const snapshot = Snapshot.fromJson('{"flags": {}}')
  assert.throws(() => snapshot.edit({ create: 'x' }), /editing flags needs the native engine/)
})
