'use strict'
// The shared decision-token vectors (tests/vectors/tokens), through the
// package's public API: issue upstream, tamper, receive downstream, and the
// status and answers expected there. The Rust core and Python run the same file.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('./vector-cases.js')
const { Snapshot, Context, TokenError } = require('./impl.js')

const cases = vectorCases('tokens')

// The base time every runner uses, so tokens are the same bytes everywhere.
const BASE_MS = 1_700_000_000_000
const KEY = 'a signing key for the token vectors, 32+ bytes'
const OTHER_KEY = 'another signing key for the token vectors'

function tampered (c, token) {
  if (c.replace !== undefined) return c.replace
  switch (c.tamper) {
    case 'flip-middle': {
      const i = Math.floor(token.length / 2)
      return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
    }
    case 'truncate': return token.slice(0, 20)
    case 'baggage': return `userId=alice,flagcore=${token};p=1`
    default: return token
  }
}

function holds (status, expected, issuedMs) {
  return Object.entries(expected).every(([name, want]) =>
    name === 'expiresInMs' ? status.expiresMs === issuedMs + want : JSON.stringify(status[name]) === JSON.stringify(want))
}

// Canonical JSON for comparisons: sorted keys.
function canonical (value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).filter((k) => value[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function issue (snapshot, context, spec) {
  return snapshot.decisionToken(context, spec.flags, { signingKey: KEY, now: BASE_MS + spec.atMs, ttlSeconds: spec.ttlSeconds })
}

function run (c) {
  const upstream = Snapshot.fromJson(JSON.stringify(c.upstream))
  const downstream = Snapshot.fromJson(JSON.stringify(c.downstream))
  const issuedMs = BASE_MS + c.issue.atMs
  let token
  try {
    token = issue(upstream, c.issue.context, c.issue)
  } catch (error) {
    if (c.issueError && error instanceof TokenError && error.code === c.issueError) return null
    return `issuing threw ${error.code}: ${error.message}`
  }
  if (c.issueError) return `expected ${c.issueError} when issuing, got a token`
  let clock = BASE_MS + c.receive.atMs
  const context = new Context(c.receive.context, {
    token: tampered(c, token),
    signingKey: c.tamper === 'other-key' ? OTHER_KEY : KEY,
    now: () => clock,
    maxTtlSeconds: c.receive.maxTtlSeconds
  })
  if (!holds(context.tokenStatus, c.expectStatus, issuedMs)) {
    return `status ${JSON.stringify(context.tokenStatus)}, expected ${JSON.stringify(c.expectStatus)}`
  }
  clock = BASE_MS + c.evaluateAtMs
  for (const [flag, expected] of Object.entries(c.expect)) {
    const detail = downstream.variationDetail(flag, context, null)
    if (canonical(detail) !== canonical(expected)) return `${flag}: ${canonical(detail)}, expected ${canonical(expected)}`
  }
  if (c.expectAllFlags) {
    const state = downstream.allFlagsState(context, { withReasons: true }).toJSON()
    for (const [flag, want] of Object.entries(c.expectAllFlags)) {
      const got = { value: state[flag], variation: state.$flagsState[flag].variation, reason: state.$flagsState[flag].reason }
      if (canonical(got) !== canonical(want)) return `allFlagsState ${flag}: ${canonical(got)}, expected ${canonical(want)}`
    }
  }
  if (c.reissue) {
    clock = BASE_MS + c.reissue.atMs
    const again = issue(downstream, context, c.reissue)
    const received = new Context(c.receive.context, { token: again, signingKey: KEY, now: BASE_MS + c.reissue.receiveAtMs })
    if (!holds(received.tokenStatus, c.reissue.expectStatus, issuedMs)) {
      return `re-issued status ${JSON.stringify(received.tokenStatus)}, expected ${JSON.stringify(c.reissue.expectStatus)}`
    }
  }
  return null
}

test('the shared token vectors', () => {
  const failures = []
  for (const c of cases) {
    const failure = run(c)
    if (failure) failures.push(`${c.id}: ${failure}`)
  }
  console.log(`token vectors: ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length >= 30, `only ${cases.length} token cases`)
  assert.deepEqual(failures, [])
})
