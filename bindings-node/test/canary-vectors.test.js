'use strict'
// The shared canary vectors (tests/vectors/canary) through flagcore/canary
// on the native engine: the rule's decisions with their figures, the
// controller run after run against one flag (its edits made with the
// package's own edit, a person's changes between runs), and the window read
// from CloudWatch's answers. The core runs the same files
// (core/tests/canary.rs), for the CLI.

const test = require('node:test')
const assert = require('node:assert/strict')
const { vectorCases } = require('../../js/test/vector-cases.js')

const skip = process.env.FLAGCORE_IMPL === 'wasm' && 'flagcore/canary runs on the native engine'

/** Numbers alike to 1e-6 of their size, as the core's own runner compares them. */
const near = (got, want) => Math.abs(got - want) <= 1e-6 * Math.max(Math.abs(want), 1e-300) || Math.abs(got - want) < 1e-12

/** JSON values alike, numbers by value. */
function same (a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && same(a[k], b[k]))
  }
  return a === b
}

function report (name, cases, failures) {
  console.log(`${name} (node, native): ${cases.length - failures.length} passed, ${failures.length} failed`)
  assert.ok(cases.length > 0, `no ${name} ran`)
  assert.deepEqual(failures, [])
}

test('every canary decision vector', { skip }, () => {
  const canary = require('../canary.js')
  const cases = vectorCases('canary')
  const failures = []
  for (const c of cases) {
    const want = c.expect
    let decision
    try {
      decision = canary.decide(c.plan, c.step, c.startedMs, c.nowMs, c.window)
    } catch (error) {
      if (!(error instanceof canary.CanaryError) || want.action !== 'error' || error.code !== want.code || error.path !== want.path) failures.push(`${c.name}: refused: ${error.message}`)
      continue
    }
    if (decision.action !== want.action) {
      failures.push(`${c.name}: ${decision.action}: ${decision.reason}`)
      continue
    }
    const figures = decision.figures
    for (const [name, value] of Object.entries(want.sampleRatio ?? {})) {
      const got = figures.sampleRatio?.[name]
      const close = name === 'logBayesFactor' ? Math.abs(got - value) < 1e-6 : near(got, value)
      if (!close) failures.push(`${c.name}: sample ratio ${name} ${got}, not ${value}`)
    }
    for (const guard of want.guards ?? []) {
      const got = figures.guards.find((g) => g.metric === guard.metric)
      if (!got || !near(got.logLambda, guard.logLambda) || got.harm !== guard.harm) failures.push(`${c.name}: ${guard.metric}: ${JSON.stringify(got)}`)
    }
  }
  report('canary decision vectors', cases, failures)
})

test('every canary run vector: the controller run after run, its edits published', { skip }, () => {
  const canary = require('../canary.js')
  const native = require('../native.js')
  const cases = vectorCases('canaryRuns')
  const failures = []
  for (const c of cases) {
    let snapshot = native.snapshotFromJson(JSON.stringify(c.data))
    let state = null
    const problem = (() => {
      for (const [n, run] of c.runs.entries()) {
        const want = run.expect
        if (run.person) snapshot = native.editSnapshot(snapshot, JSON.stringify(run.person))
        let outcome
        try {
          outcome = canary.step(snapshot, c.plan, { state, window: run.window ?? null, windowError: run.windowError ?? null, nowMs: run.nowMs })
        } catch (error) {
          if (!(error instanceof canary.CanaryError) || error.code !== want.error || error.path !== want.path) return `run ${n}: refused: ${error.message}`
          continue
        }
        if (outcome.action !== want.action) return `run ${n}: ${outcome.action}: ${outcome.reason}`
        if (want.reasonHas && !outcome.reason.includes(want.reasonHas)) return `run ${n}: the reason ${JSON.stringify(outcome.reason)} does not say ${JSON.stringify(want.reasonHas)}`
        if (want.recorded) {
          const got = outcome.decisions.map((d) => d.action)
          if (!same(got, want.recorded)) return `run ${n}: the record holds ${JSON.stringify(got)}`
          const last = outcome.decisions.at(-1)
          if (last && (last.reason !== outcome.reason || !same(last.figures ?? null, outcome.figures))) return `run ${n}: the record's last decision is ${JSON.stringify(last)}`
        }
        if (outcome.edit) {
          if (!outcome.comment) return `run ${n}: an edit with no comment`
          snapshot = native.editSnapshot(snapshot, JSON.stringify(outcome.edit))
        }
        state = outcome.state
        const kept = state === null ? null : JSON.parse(state)
        if ((kept?.status ?? null) !== want.status || (kept?.step ?? null) !== want.step) return `run ${n}: status ${kept?.status} at step ${kept?.step}`
        const { share, weights } = defaultRule(native, snapshot, c.plan)
        if (share !== want.share) return `run ${n}: the canary's share is ${share}`
        if (want.weights && !same(weights, want.weights)) return `run ${n}: the default rule gives ${JSON.stringify(weights)}`
      }
      return null
    })()
    if (problem) failures.push(`${c.name}: ${problem}`)
  }
  report('canary run vectors', cases, failures)
  // The public form: the flags as JSON text.
  const first = cases[0]
  assert.equal(canary.step(JSON.stringify(first.data), first.plan, { nowMs: first.runs[0].nowMs }).action, first.runs[0].expect.action)
  // What is not a plan's or a window's form is refused with a path, not a crash.
  assert.throws(() => canary.decide(first.plan, 0, 0, 0, undefined), { name: 'CanaryError', code: 'WINDOW_INVALID', path: '$.users' })
  assert.throws(() => canary.cloudwatchWindow(first.plan, { MetricDataResults: [] }), { name: 'CanaryError', code: 'METRICS_INVALID', path: '$' })
})

/** The flag's default rule from the snapshot's own JSON (its published chunks): the canary's share and each value's, in percent; the share is null when the flag is off or gone. */
function defaultRule (native, snapshot, plan) {
  const { chunks } = native.snapshotPublish(snapshot, 0)
  const flag = JSON.parse(Buffer.concat(chunks).toString()).flags[plan.flag]
  if (!flag) return { share: null, weights: null }
  const weights = flag.variations.map(() => 0)
  if (typeof flag.fallthrough.variation === 'number') weights[flag.fallthrough.variation] = 100
  else for (const v of flag.fallthrough.rollout.variations) weights[v.variation] += v.weight / 1000
  const index = flag.variations.findIndex((v) => same(v, plan.canary ?? true))
  return { share: flag.on === true ? weights[index] : null, weights }
}

test('every canary CloudWatch vector: the request sent and the window made of the answers', { skip }, () => {
  const canary = require('../canary.js')
  const cases = vectorCases('canaryCloudwatch')
  const failures = []
  for (const c of cases) {
    const request = canary.cloudwatchRequest(c.plan, { namespace: c.namespace, functionName: c.function, canary: c.canary, control: c.control, startMs: c.startMs, endMs: c.endMs })
    if (!same(request, c.expectRequest)) {
      failures.push(`${c.name}: sends ${JSON.stringify(request)}`)
      continue
    }
    try {
      const window = canary.cloudwatchWindow(c.plan, c.pages)
      if (c.expectError) failures.push(`${c.name}: makes ${JSON.stringify(window)}, where it is refused`)
      else if (!same(window, c.expectWindow)) failures.push(`${c.name}: makes ${JSON.stringify(window)}`)
    } catch (error) {
      if (!(error instanceof canary.CanaryError) || !c.expectError || error.code !== c.expectError.code || error.path !== c.expectError.path) failures.push(`${c.name}: refused: ${error.message}`)
    }
  }
  report('canary CloudWatch vectors', cases, failures)
})
