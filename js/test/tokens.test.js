'use strict'
// Decision tokens through the package: a decision made upstream holds
// downstream after the rollout changed, refused tokens are ignored with a
// warning and decide nothing, and FlagClient refreshes when a token comes
// from another snapshot.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Snapshot, Context, TokenError, FlagClient } = require('./impl.js')

const KEY = 'a signing key for the tests, 32+ bytes'

function canary (percent, extra = {}) {
  const weight = percent * 1000
  return JSON.stringify({
    flags: {
      canary: {
        key: 'canary', version: percent, on: true, salt: 'canary', variations: [false, true], offVariation: 0,
        fallthrough: { rollout: { variations: [{ variation: 1, weight }, { variation: 0, weight: 100000 - weight }] } },
        ...extra
      },
      theme: { key: 'theme', version: 1, on: true, variations: ['classic', 'dark'], fallthrough: { variation: 1 } }
    }
  })
}

const users = Array.from({ length: 500 }, (_, i) => ({ kind: 'user', key: `user-${i}` }))

test('a decision made upstream holds downstream after the rollout changed', () => {
  const before = Snapshot.fromJson(canary(10))
  const after = Snapshot.fromJson(canary(50))
  let moved = 0
  for (const user of users) {
    const token = before.decisionToken(user, ['canary', 'theme'], { signingKey: KEY })
    assert.ok(token.startsWith('fc1.') && token.length < 1024)
    const upstream = before.variationDetail('canary', user, false)
    const carried = new Context(user, { token: `userId=x,flagcore=${token}`, signingKey: KEY })
    assert.equal(carried.tokenStatus.applied, true)
    assert.equal(carried.tokenStatus.snapshotId, before.id)
    const downstream = after.variationDetail('canary', carried, false)
    assert.deepEqual(downstream, { ...upstream, reason: { ...upstream.reason, propagated: true } })
    if (after.variation('canary', user, false) !== upstream.value) moved++
  }
  assert.ok(moved > 50, `the change moved ${moved} users: the test would prove nothing`)
})

test('refused tokens decide nothing and say why', () => {
  const snapshot = Snapshot.fromJson(canary(100))
  const user = users[0]
  const token = snapshot.decisionToken(user, ['canary'], { signingKey: KEY, now: 1_000_000 })
  const cases = [
    [{ token, signingKey: 'another key, just as long as the first' }, 'TOKEN_BAD_SIGNATURE'],
    [{ token, signingKey: KEY, now: 1_000_000 + 61_000 }, 'TOKEN_EXPIRED'],
    [{ token: token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21), signingKey: KEY, now: 1_000_000 }, 'TOKEN_BAD_SIGNATURE'],
    [{ token: 'fc1.***', signingKey: KEY }, 'TOKEN_MALFORMED'],
    [{ token, now: 1_000_000 }, 'TOKEN_NO_KEY']
  ]
  const off = Snapshot.fromJson(canary(0))
  for (const [options, code] of cases) {
    const context = new Context(user, options)
    assert.equal(context.tokenStatus.applied, false)
    assert.equal(context.tokenStatus.code, code)
    assert.deepEqual(off.variationDetail('canary', context, false), off.variationDetail('canary', user, false))
  }
  const other = new Context(users[1], { token, signingKey: KEY, now: 1_000_000 })
  assert.equal(other.tokenStatus.code, 'TOKEN_WRONG_CONTEXT')
  assert.throws(() => snapshot.decisionToken(user, ['canary'], { signingKey: 'short' }), (e) => e instanceof TokenError && e.code === 'TOKEN_NO_KEY')
  // Without a key, or with one too short, the message names the setting that fixes it.
  for (const signingKey of ['', 'short', undefined]) {
    assert.throws(() => snapshot.decisionToken(user, ['canary'], { signingKey }), (e) => e.code === 'TOKEN_NO_KEY' && /FLAGCORE_SIGNING_KEY/.test(e.message), String(signingKey))
  }
  assert.throws(() => snapshot.decisionToken({ kind: 'user' }, ['canary'], { signingKey: KEY }), (e) => e.code === 'TOKEN_INVALID_CONTEXT')
})

test('FlagClient: tokens out, decisions in, a refresh when the token is from another snapshot', async () => {
  let text = canary(10)
  let loads = 0
  const source = { describe: () => 'memory', load: async () => { loads++; return Snapshot.fromJson(text) } }
  const warnings = []
  const logger = { warn: (m) => warnings.push(m) }
  let time = 5_000_000
  const upstream = new FlagClient({ source, signingKey: KEY, logger, now: () => time, ttlSeconds: 60 })
  const downstream = new FlagClient({ source, signingKey: KEY, logger, now: () => time, ttlSeconds: 60 })
  await downstream.snapshot()
  text = canary(50)
  const token = await upstream.decisionToken(users[3], ['canary'])
  assert.equal(loads, 2)
  time += 2000
  // Downstream still holds the 10% snapshot; the token names the 50% one.
  const context = await downstream.decide(users[3], token)
  assert.equal(loads, 3, 'downstream refreshed before evaluating')
  assert.equal((await downstream.snapshot()).id, (await upstream.snapshot()).id)
  assert.equal((await downstream.variationDetail('canary', context, false)).reason.propagated, true)
  const forged = await downstream.decide(users[3], token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))
  assert.equal(forged.tokenStatus.applied, false)
  assert.match(warnings.at(-1), /ignoring a decision token \(TOKEN_/)
  const none = new FlagClient({ source, logger, now: () => time })
  assert.equal(await none.decisionToken(users[3], ['canary']), null)
  assert.match(warnings.at(-1), /TOKEN_NO_KEY/)
  const plain = await downstream.decide(users[3], undefined)
  assert.deepEqual(plain.tokenStatus, { applied: false })
})

test('FlagClient: a token from the snapshot the handler evaluated with, whatever a refresh replaced since', async () => {
  let text = canary(10)
  const source = { describe: () => 'memory', load: async () => Snapshot.fromJson(text) }
  let time = 5_000_000
  const flags = new FlagClient({ source, signingKey: KEY, logger: { warn () {} }, now: () => time, ttlSeconds: 1 })
  const user = users.find((u) => Snapshot.fromJson(canary(10)).boolVariation('canary', u, false) !== Snapshot.fromJson(canary(90)).boolVariation('canary', u, false))
  const evaluated = await flags.snapshot()
  const answer = evaluated.boolVariationDetail('canary', user, false)
  // The time to live runs out between the evaluation and the token.
  text = canary(90)
  time += 2000
  const current = await flags.decisionToken(user, ['canary'])
  const token = await flags.decisionToken(user, ['canary'], { snapshot: evaluated })
  const downstream = (t) => new Context(user, { token: t, signingKey: KEY, now: () => time })
  assert.notEqual((await flags.snapshot()).id, evaluated.id)
  assert.equal(downstream(token).tokenStatus.snapshotId, evaluated.id)
  assert.equal(evaluated.boolVariation('canary', downstream(token), !answer.value), answer.value)
  assert.notEqual(downstream(current).tokenStatus.snapshotId, evaluated.id, 'without the option the token is the current snapshot\'s')
  await assert.rejects(flags.decisionToken(user, ['canary'], { snapshot: {} }), /the Snapshot the handler evaluated with/)
})

test('a token-carrying Context the native cache let go still decides on every path', () => {
  const before = Snapshot.fromJson(canary(100))
  const after = Snapshot.fromJson(canary(0))
  const user = users[7]
  const carried = new Context(user, { token: before.decisionToken(user, ['canary'], { signingKey: KEY }), signingKey: KEY })
  // More prepared contexts than the engine keeps.
  for (let i = 0; i < 20; i++) new Context(users[100 + i]) // eslint-disable-line no-new
  assert.equal(after.allFlagsState(carried, { withReasons: true }).getFlagReason('canary').propagated, true)
  for (let i = 0; i < 20; i++) new Context(users[200 + i]) // eslint-disable-line no-new
  assert.equal(after.variation('canary', carried, null), true)
  for (let i = 0; i < 20; i++) new Context(users[300 + i]) // eslint-disable-line no-new
  const again = after.decisionToken(carried, ['canary'], { signingKey: KEY })
  assert.equal(new Context(user, { token: again, signingKey: KEY }).tokenStatus.applied, true)
  assert.equal(after.variation('canary', new Context(user, { token: again, signingKey: KEY }), null), true)
})
