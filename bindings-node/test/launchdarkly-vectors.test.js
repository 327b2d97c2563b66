'use strict'
// The shared LaunchDarkly polling vectors (tests/vectors/launchdarkly):
// what flagcore/sync makes of LaunchDarkly's answers, its retries, its URL
// and a webhook's signature, through the native binding it asks. The core
// runs the same file (core/tests/launchdarkly.rs), for the CLI.

const test = require('node:test')
const assert = require('node:assert/strict')
const { isDeepStrictEqual } = require('node:util')
const { vectorCases } = require('../../js/test/vector-cases.js')

const skip = process.env.FLAGCORE_IMPL === 'wasm' && 'flagcore/sync runs on the native engine'

function got (engine, c) {
  switch (c.kind) {
    case 'status': {
      const status = engine.launchDarklyPollStatus(c.status)
      return status.kind === 'refused' ? { expect: 'refused', code: status.code } : { expect: status.kind }
    }
    case 'retry':
      return { expectDelayMs: engine.launchDarklyRetryDelayMs(c.failures, c.jitter) }
    case 'url':
      try {
        return { expectUrl: engine.launchDarklyPollUrl(c.baseUri, c.filter) }
      } catch {
        return { expectError: true }
      }
    case 'webhook':
      return { expectValid: engine.launchDarklyWebhookValid(c.secret, Buffer.from(c.body.padEnd(c.padTo ?? 0, ' ')), c.signature) }
    default:
      throw new Error(`unknown kind ${c.kind}`)
  }
}

test('every LaunchDarkly polling vector', { skip }, () => {
  const engine = require('../native.js')
  const cases = vectorCases('launchdarkly')
  const failures = []
  for (const c of cases) {
    const answer = got(engine, c)
    const expected = Object.fromEntries(Object.keys(answer).map((k) => [k, c[k]]))
    if (!isDeepStrictEqual(answer, expected)) failures.push(`${c.name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(answer)}`)
  }
  console.log(`launchdarkly vectors (node): ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length > 0, 'no launchdarkly vectors')
  assert.deepEqual(failures, [])
})
