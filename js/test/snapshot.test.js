'use strict'
// Snapshot and Context behaviour that the shared vectors do not reach.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Snapshot, Context, SnapshotError } = require('./impl.js')

const example = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'snapshot.json'))

test('prepared contexts answer like plain ones, also after the native cache evicted them', () => {
  const snapshot = Snapshot.fromJson(example)
  const users = Array.from({ length: 30 }, (_, i) => ({ kind: 'user', key: `user-${1000 + i}`, email: `u${i}@example.com` }))
  const prepared = users.map((u) => new Context(u))
  for (let round = 0; round < 3; round++) {
    users.forEach((user, i) => {
      for (const key of snapshot.flagKeys) {
        assert.deepEqual(snapshot.variationDetail(key, prepared[i], null), snapshot.variationDetail(key, user, null))
      }
    })
  }
})

test('a Context keeps what the object was when it was made', () => {
  const snapshot = Snapshot.fromJson(example)
  const user = { kind: 'user', key: 'user-1', email: 'ana@example.com' }
  const context = new Context(user)
  user.email = 'someone@else.test'
  assert.equal(snapshot.variation('checkout-theme', context, 'classic'), 'midnight')
  assert.equal(context.error, null)
  assert.match(new Context({ kind: 'user' }).error, /key/)
})

test('invalid and unserializable contexts answer USER_NOT_SPECIFIED instead of throwing', () => {
  const snapshot = Snapshot.fromJson(example)
  const cyclic = { kind: 'user', key: 'k' }
  cyclic.self = cyclic
  for (const context of [undefined, null, 'user-1', { kind: 'user' }, cyclic, { key: 'k', big: 10n }]) {
    const detail = snapshot.variationDetail('new-checkout', context, false)
    assert.deepEqual(detail, { value: false, variationIndex: null, reason: { kind: 'ERROR', errorKind: 'USER_NOT_SPECIFIED' } })
  }
})

test('values are shared and frozen, so one caller cannot change another\'s answer', () => {
  const snapshot = Snapshot.fromJson(example)
  const banner = snapshot.variation('maintenance-banner', { key: 'k' }, null)
  assert.ok(Object.isFrozen(banner))
  assert.throws(() => { 'use strict'; banner.show = true }, TypeError)
  assert.equal(snapshot.variation('maintenance-banner', { key: 'k' }, null).show, false)
})

test('snapshot errors carry a code and a path', () => {
  assert.throws(() => Snapshot.fromJson('{"flags": {"f": {"rules": [{"variation": "1"}]}}}'), (error) =>
    error instanceof SnapshotError && error.code === 'FLAG_INVALID' && error.path === '$.flags.f.rules[0].variation')
  assert.throws(() => Snapshot.fromJson('not json'), (error) => error.code === 'SNAPSHOT_INVALID_JSON')
  assert.throws(() => Snapshot.fromDynamoDbItems([{ key: { S: 'f' } }]), (error) =>
    error.code === 'DYNAMODB_ITEM_INVALID' && error.path === '$[0]')
  assert.throws(() => Snapshot.fromJson(42), TypeError)
})

test('DynamoDB items unmarshalled by the AWS SDK read like typed ones', () => {
  const flag = { key: 'f', version: 2, on: true, variations: ['a', 'b'], fallthrough: { variation: 1 } }
  const typed = Snapshot.fromDynamoDbItems([{ namespace: { S: 'p:features' }, key: { S: 'f' }, version: { N: '2' }, item: { S: JSON.stringify(flag) } }], { prefix: 'p' })
  const plain = Snapshot.fromDynamoDbItems([{ namespace: 'p:features', key: 'f', version: 2, item: JSON.stringify(flag) }], { prefix: 'p' })
  assert.equal(typed.id, plain.id)
  assert.equal(plain.variation('f', { key: 'k' }, null), 'b')
})

test('allFlagsState and check give LaunchDarkly\'s and the CLI\'s shapes', () => {
  const snapshot = Snapshot.fromJson(example)
  const state = snapshot.allFlagsState({ key: 'qa-alice' }, { withReasons: true })
  assert.equal(state.valid, true)
  assert.equal(state.getFlagValue('new-checkout'), true)
  assert.deepEqual(state.getFlagReason('new-checkout'), { kind: 'TARGET_MATCH' })
  assert.equal(Object.keys(state.allValues()).length, snapshot.flagKeys.length)
  assert.equal(snapshot.allFlagsState({ kind: 'user' }).valid, false)
  assert.deepEqual(snapshot.check(), [])
})

// What a plain object converts to is kept for the next evaluations with the
// same object; these pin that a change to the object is never answered from
// what it held before.
test('a plain object changed between evaluations answers as it holds now', () => {
  const snapshot = Snapshot.fromJson(example)
  const user = { kind: 'user', key: 'user-1', email: 'ana@example.com', tags: ['a'], address: { city: 'Oslo' } }
  const fresh = () => JSON.parse(JSON.stringify(user))
  const agrees = () => {
    for (const key of snapshot.flagKeys) {
      assert.deepEqual(snapshot.variationDetail(key, user, null), snapshot.variationDetail(key, fresh(), null), `${key} for ${JSON.stringify(user)}`)
    }
  }
  assert.equal(snapshot.variation('checkout-theme', user, 'classic'), 'midnight')
  user.email = 'bo@example.com'
  assert.equal(snapshot.variation('checkout-theme', user, 'classic'), 'sunrise', 'a changed attribute')
  agrees()
  for (const change of [
    () => { user.email = 'li@example.com' },
    () => { user.tags.push('b') },
    () => { user.tags[0] = 'z' },
    () => { user.address.city = 'Bergen' },
    () => { user.address = { city: 'Bergen' } },
    () => { user.extra = 1 },
    () => { delete user.extra },
    () => { const e = user.email; delete user.email; user.email = e },
    // The same values in the same places, under another name.
    () => { const e = user.email; delete user.email; user.mail = e },
    () => { user.key = 'user-2' },
    () => { user.kind = 'org' },
    () => { delete user.key }
  ]) {
    change()
    agrees()
  }
})

test('objects that are not plain data convert as JSON.stringify reads them, at every evaluation', () => {
  const snapshot = Snapshot.fromJson(example)
  let email = 'ana@example.com'
  const withGetter = { kind: 'user', key: 'user-1', get email () { return email } }
  assert.equal(snapshot.variation('checkout-theme', withGetter, 'classic'), 'midnight')
  email = 'bo@example.com'
  assert.equal(snapshot.variation('checkout-theme', withGetter, 'classic'), 'sunrise')
  const serialized = { toJSON: () => ({ kind: 'user', key: 'user-1', email }) }
  assert.equal(snapshot.variation('checkout-theme', serialized, 'classic'), 'sunrise')
  email = 'ana@example.com'
  assert.equal(snapshot.variation('checkout-theme', serialized, 'classic'), 'midnight')
  class User { constructor (e) { this.kind = 'user'; this.key = 'user-1'; this.email = e } }
  const instance = new User('ana@example.com')
  assert.equal(snapshot.variation('checkout-theme', instance, 'classic'), 'midnight')
  instance.email = 'bo@example.com'
  assert.equal(snapshot.variation('checkout-theme', instance, 'classic'), 'sunrise')
})

test('a context answers each flag and type as alone, however many flags it is asked for', () => {
  // More flags than a snapshot evaluates at a context's first evaluation.
  const flags = {}
  for (let i = 0; i < 40; i++) flags[`f${i}`] = { key: `f${i}`, on: true, variations: [`v${i}`, i], fallthrough: { variation: i % 2 } }
  const snapshot = Snapshot.fromJson(JSON.stringify({ flags }))
  const one = Snapshot.fromJson(JSON.stringify({ flags }))
  for (let u = 0; u < 3; u++) {
    const context = new Context({ kind: 'user', key: `user-${u}` })
    for (let i = 39; i >= 0; i--) {
      // Asked for with a type, then without, then alone from a snapshot that has not seen the others.
      const typed = snapshot.stringVariationDetail(`f${i}`, context, 'default')
      assert.deepEqual(typed, i % 2 ? { value: 'default', variationIndex: null, reason: { kind: 'ERROR', errorKind: 'WRONG_TYPE' } } : { value: `v${i}`, variationIndex: 0, reason: { kind: 'FALLTHROUGH' } })
      assert.equal(snapshot.variation(`f${i}`, context, 'default'), i % 2 ? i : `v${i}`)
      assert.equal(snapshot.numberVariation(`f${i}`, context, -1), i % 2 ? i : -1)
      assert.deepEqual(Snapshot.fromJson(JSON.stringify({ flags })).variationDetail(`f${i}`, context, null), one.variationDetail(`f${i}`, { kind: 'user', key: `user-${u}` }, null))
    }
  }
  const invalid = new Context({ kind: 'user' })
  assert.equal(snapshot.variationDetail('f0', invalid, 'd').reason.errorKind, 'USER_NOT_SPECIFIED')
  assert.match(invalid.error, /key/)
})

test('contexts cross whole at any length and in any script', () => {
  // The native module reads a context's text into a buffer it reuses:
  // around that buffer's length a character must never be cut or lost.
  const flags = {
    tail: {
      key: 'tail', on: true, variations: ['cut', 'whole'], fallthrough: { variation: 0 }, offVariation: 0, salt: 's',
      rules: [{ id: 'r', variation: 1, clauses: [{ attribute: 'key', op: 'endsWith', values: ['😀é-END'], negate: false }] }]
    }
  }
  const snapshot = Snapshot.fromJson(JSON.stringify({ flags }))
  for (const filler of ['a', 'é', '日', '😀']) {
    for (let length = 960; length < 1100; length++) {
      const key = filler.repeat(Math.ceil((length - 30) / Buffer.byteLength(filler))) + '😀é-END'
      for (const context of [{ kind: 'user', key }, new Context({ kind: 'user', key })]) {
        const detail = snapshot.variationDetail('tail', context, 'default')
        assert.deepEqual(detail, { value: 'whole', variationIndex: 1, reason: { kind: 'RULE_MATCH', ruleIndex: 0, ruleId: 'r' } }, `${filler} × ${key.length}`)
      }
      assert.equal(new Context({ kind: 'user', key }).error, null)
    }
  }
  // Far larger than the kept buffer, and after it the small ones again.
  const long = { kind: 'user', key: '😀'.repeat(40000) + '😀é-END' }
  assert.equal(snapshot.variation('tail', long, 'default'), 'whole')
  assert.equal(snapshot.variation('tail', { kind: 'user', key: 'x😀é-END' }, 'default'), 'whole')
})

test('a Context of one package answers in the other as one of its own, decision token and all', () => {
  const packages = [require('../../bindings-node'), require('../../bindings-wasm')]
  const signingKey = 'a signing key of 32 bytes, here.'
  for (const [from, to] of [packages, [...packages].reverse()]) {
    const snapshot = to.Snapshot.fromJson(example)
    const user = { kind: 'user', key: 'user-1', email: 'ana@example.com' }
    const foreign = new from.Context(user)
    assert.ok(!(foreign instanceof to.Context))
    for (const key of snapshot.flagKeys) {
      assert.deepEqual(snapshot.variationDetail(key, foreign, null), snapshot.variationDetail(key, user, null), key)
    }
    assert.deepEqual(snapshot.allFlagsState(foreign).toJSON(), snapshot.allFlagsState(user).toJSON())
    assert.equal(new to.Context(foreign).json, foreign.json)
    const token = snapshot.decisionToken(user, ['checkout-theme'], { signingKey })
    const carried = new from.Context(user, { token, signingKey })
    assert.equal(carried.tokenStatus.applied, true)
    assert.deepEqual(snapshot.variationDetail('checkout-theme', carried, null).reason, { kind: 'RULE_MATCH', ruleIndex: 0, ruleId: 'staff', propagated: true })
    assert.equal(snapshot.variationDetail('checkout-theme', foreign, null).reason.propagated, undefined)
  }
})

test("each package's copy of the API takes its engine once, and only its own factories make snapshots", () => {
  const packages = { flagcore: require('../../bindings-node'), 'flagcore-wasm': require('../../bindings-wasm') }
  for (const [name, pkg] of Object.entries(packages)) {
    const api = require(path.join(__dirname, '..', '..', name === 'flagcore' ? 'bindings-node' : 'bindings-wasm', 'dist', 'api.cjs'))
    // The package installed its engine when it loaded: a second install would
    // change what every Snapshot and Context of that package evaluates with.
    assert.throws(() => api.install(require('../../bindings-wasm/dist/nodejs/flagcore.js')), /has its engine already/, name)
    assert.throws(() => new pkg.Snapshot({}), /use Snapshot.fromJson/, name)
    assert.ok(pkg.Snapshot.fromJson(example).flagKeys.length > 0, name)
  }
  // Each package's classes are its own: the two copies share no class.
  assert.notEqual(packages.flagcore.Snapshot, packages['flagcore-wasm'].Snapshot)
})
