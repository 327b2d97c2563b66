'use strict'
// No input may trap the WebAssembly instance: a trap would take every later
// evaluation down with it. Feed it every bad snapshot of the vectors, mangled
// snapshots, odd contexts and odd arguments, then check it still answers.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Snapshot, Context, SnapshotError } = require('..')

const root = path.join(__dirname, '..', '..')
const example = fs.readFileSync(path.join(root, 'examples', 'snapshot.json'), 'utf8')

function stillAnswers () {
  const snapshot = Snapshot.fromJson(example)
  assert.deepEqual(snapshot.variationDetail('new-checkout', { key: 'qa-alice' }, false), {
    value: true, variationIndex: 0, reason: { kind: 'TARGET_MATCH' }
  })
}

test('bad snapshots throw SnapshotError and leave the instance answering', () => {
  const vectors = fs.readFileSync(path.join(root, 'tests', 'vectors', 'snapshots', 'formats.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((v) => v.expectError)
  assert.ok(vectors.length >= 10)
  for (const v of vectors) {
    const input = typeof v.inputText === 'string' ? v.inputText : JSON.stringify(v.input)
    assert.throws(() => Snapshot.fromJson(input), (e) => e instanceof SnapshotError && e.code === v.expectError.code, v.id)
  }
  stillAnswers()
})

test('mangled snapshots, odd contexts and odd arguments never trap', () => {
  let seed = 7
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  for (let i = 0; i < 2000; i++) {
    const chars = example.split('')
    for (let j = 0; j < 1 + random(5); j++) chars[random(chars.length)] = '{}[]",:0\\\u00ff'[random(11)]
    let snapshot = null
    try {
      snapshot = Snapshot.fromJson(chars.join('').slice(0, random(2) ? chars.length : random(chars.length)))
    } catch (error) {
      assert.ok(error instanceof SnapshotError, String(error))
    }
    if (snapshot) {
      for (const key of [...snapshot.flagKeys, 'missing', '']) snapshot.variationDetail(key, { key: `u${i}` }, null)
    }
  }
  const snapshot = Snapshot.fromJson(example)
  const odd = [undefined, null, 0, '', [], { kind: 'multi' }, { kind: '', key: 'k' }, { key: '\ud800' }, { kind: 'user', key: 'k', deep: { a: { b: { c: [1, [2, [3]]] } } } }]
  for (const context of odd) {
    snapshot.variationDetail('checkout-theme', context, 'x')
    snapshot.allFlagsState(context)
    snapshot.variationDetail('checkout-theme', new Context(context), 'x')
  }
  assert.throws(() => Snapshot.fromJson(42), TypeError)
  assert.throws(() => Snapshot.fromDynamoDbItems('not items'))
  assert.throws(() => Snapshot.fromDynamoDbItems([{ namespace: { N: '1' } }]), SnapshotError)
  stillAnswers()
})

test('input nested far deeper than any snapshot is refused, and the instance keeps answering', () => {
  // Thousands of levels: a recursive walk of the value would overflow the
  // module's stack, and a trap breaks every later call.
  const held = Snapshot.fromJson(example)
  for (const depth of [5_000, 100_000]) {
    let item = { S: 'leaf' }
    for (let i = 0; i < depth; i++) item = { M: { a: item } }
    const items = [{ namespace: { S: 'features' }, key: { S: 'f' }, version: { N: '1' }, item }]
    assert.throws(() => Snapshot.fromDynamoDbItems(items), { name: 'SnapshotError', code: 'SNAPSHOT_INVALID_JSON', path: '$' }, `${depth} levels`)
    stillAnswers()
  }
  const cyclic = { namespace: { S: 'features' } }
  cyclic.self = cyclic
  assert.throws(() => Snapshot.fromDynamoDbItems([cyclic]), { code: 'SNAPSHOT_INVALID_JSON' })
  stillAnswers()
  // A snapshot read before still answers.
  assert.equal(held.variation('new-checkout', { key: 'qa-alice' }, false), true)
})

test('DynamoDB items nest at most 127 levels, as a snapshot\'s text does', () => {
  // The array of items and an item are 2 levels; `extra` holds the rest.
  const items = (levels) => {
    let extra = 1
    for (let i = 0; i < levels - 2; i++) extra = [extra]
    const item = JSON.stringify({ key: 'f', on: true, variations: [true], fallthrough: { variation: 0 } })
    return [{ namespace: 'features', key: 'f', version: 1, item, extra }, { namespace: '$inited', key: '$inited' }]
  }
  assert.deepEqual(Snapshot.fromDynamoDbItems(items(127)).flagKeys, ['f'])
  assert.throws(() => Snapshot.fromDynamoDbItems(items(128)), { name: 'SnapshotError', code: 'SNAPSHOT_INVALID_JSON' })
  stillAnswers()
})
