'use strict'
// The guarded canary's rule, its CloudWatch window and its controller's step
// (core/src/canary/), from the native engine: what `flagcore canary run`
// decides, for a controller in Node. Plans and windows are plain objects,
// a state is the text a run keeps; a refusal is a CanaryError with a code
// and a JSON path.
//
//   const canary = require('flagcore/canary')
//   canary.decide(plan, step, startedMs, nowMs, window)
//   canary.step(flagsJson, plan, { state, window, windowError, nowMs })
//
// And the controller itself, a ready Lambda handler for an EventBridge
// schedule (every minute), for flags published in flagcore's layout in
// DynamoDB, with their metrics in CloudWatch (createCanaryHandler):
//
//   // index.js of the controller function
//   module.exports.handler = require('flagcore/canary').createCanaryHandler()

// The rule is the native engine's: the WASM module has no room for it.
function core () {
  try {
    return require('./native.js')
  } catch (error) {
    throw new Error(`flagcore/canary needs the native engine (the flagcore package on Linux x64 or arm64): ${String(error.message).split('\n')[0]}`, { cause: error })
  }
}

/** A plan, a state or a window refused: `code` (PLAN_INVALID, STATE_INVALID, WINDOW_INVALID, METRICS_INVALID) and `path` are stable. */
class CanaryError extends Error {
  constructor (code, path, message) {
    super(`${code} at ${path}: ${message}`)
    this.name = 'CanaryError'
    this.code = code
    this.path = path
  }
}

function call (fn) {
  try {
    return fn()
  } catch (error) {
    const text = error && error.message
    if (typeof text === 'string' && text.startsWith('flagcore-canary:')) {
      const detail = JSON.parse(text.slice('flagcore-canary:'.length))
      throw new CanaryError(detail.code, detail.path, detail.message)
    }
    throw error
  }
}

const json = (value) => JSON.stringify(value ?? null)

/** The rule's decision at step `step` (from 0): `{ action, reason, figures }`. */
function decide (plan, step, startedMs, nowMs, window) {
  return JSON.parse(call(() => core().canaryDecide(json(plan), step, startedMs, nowMs, json(window))))
}

/**
 * One run of the controller on `flags` (a snapshot's JSON text or bytes, in
 * any of the formats `Snapshot.fromJson` reads): `state` is
 * the text the last run kept (or null), `window` the step's window, or
 * `windowError` why it could not be read (which holds). Answers `{ action,
 * reason, figures, edit, comment, state }`: the edit to publish (a change
 * as `snapshot.edit` takes it), its history comment, and the state's text
 * to keep (null: keep nothing).
 */
function step (flags, plan, { state = null, window = null, windowError = null, nowMs }) {
  const native = core()
  // The package's tests hand a native snapshot itself.
  const snapshot = typeof flags === 'string' || Buffer.isBuffer(flags) ? native.snapshotFromJson(flags) : flags
  const windowText = window === null ? null : json(window)
  return JSON.parse(call(() => native.canaryStep(snapshot, json(plan), state, windowText, windowError, nowMs)))
}

/** The GetMetricData request body for the step's window, or null while the step has no whole minute. */
function cloudwatchRequest (plan, { namespace = 'flagcore', functionName = null, canary, control, startMs, endMs }) {
  const text = call(() => core().canaryCloudwatchRequest(json(plan), namespace, functionName, canary, control, startMs, endMs))
  return text === null ? null : JSON.parse(text)
}

/** The window the rule reads, from every page GetMetricData answered (null: none was asked for). */
function cloudwatchWindow (plan, pages) {
  return JSON.parse(call(() => core().canaryCloudwatchWindow(json(plan), pages === null ? null : json(pages))))
}

/** Who the controller's edits name as their author, as `flagcore canary run` does. */
const AUTHOR = 'flagcore canary'
/** The most pages of GetMetricData answers one window is read from. */
const MAX_PAGES = 20

/**
 * A Lambda handler that runs the controller once an invocation: it reads
 * the canary's state (`canary/<flag>.json` beside the flags), the flags
 * (the head read strongly consistent, and its chunks) and the step's
 * window from CloudWatch (GetMetricData on the series flagcore's EMF lines
 * make); decides with the core; publishes the edit it asks for as a
 * generation with its history record, on the condition that the head is
 * still the one read (two invocations never both act); and keeps its state
 * on the condition that nobody kept one meanwhile. Answers the run's
 * `{ action, reason, figures, generation }`.
 *
 * Options, else the environment: `plan` (FLAGCORE_CANARY_PLAN, the plan's
 * JSON), `table` and `prefix` (FLAGCORE_TABLE, FLAGCORE_PREFIX), `namespace`
 * (FLAGCORE_METRICS_NAMESPACE, `flagcore`), `functionName`
 * (FLAGCORE_CANARY_FUNCTION: the function whose series count), and
 * `dynamodb`, `cloudwatch` (SDK clients), `now` and `log` for tests.
 */
function createCanaryHandler (options = {}) {
  const env = process.env
  const planText = options.plan === undefined ? env.FLAGCORE_CANARY_PLAN : JSON.stringify(options.plan)
  if (!planText) throw new TypeError('flagcore/canary needs its plan: { plan } or FLAGCORE_CANARY_PLAN (the plan\'s JSON)')
  let plan
  try {
    plan = JSON.parse(planText)
  } catch (error) {
    throw new TypeError(`FLAGCORE_CANARY_PLAN is not JSON (${error.message}): give the plan's JSON`)
  }
  // A plan that does not read fails the cold start, not every run.
  decide(plan, 0, 0, 0, { users: { canary: 0, control: 0 }, metrics: {} })
  const table = options.table ?? env.FLAGCORE_TABLE
  if (!table) throw new TypeError('flagcore/canary needs the table the flags are published in: { table } or FLAGCORE_TABLE')
  const target = { table, prefix: options.prefix ?? env.FLAGCORE_PREFIX ?? undefined, client: options.dynamodb }
  const config = {
    plan,
    target,
    namespace: options.namespace ?? env.FLAGCORE_METRICS_NAMESPACE ?? 'flagcore',
    functionName: options.functionName ?? env.FLAGCORE_CANARY_FUNCTION ?? null,
    cloudwatch: options.cloudwatch ?? null,
    now: options.now ?? Date.now,
    log: options.log ?? ((line) => console.log(line))
  }
  return async function handler () {
    return runCanary(config, 0)
  }
}

/** How many times a run starts again when another kept the canary's state while it ran. */
const MAX_RUNS = 4

async function runCanary (config, attempt) {
  const { plan, target, namespace, functionName, cloudwatch, now, log } = config
  const flagcore = require('./index.js')
  const { dynamoDbStore } = require('./published.js')
  const zlib = require('node:zlib')
  const store = dynamoDbStore(target)
  const nowMs = now()
  const name = `canary/${plan.flag}.json`
  // The state before the flags: a run that acted published before it kept its state.
  const stateText = await store.readText(name)
  const headText = await store.currentHead()
  const place = target.prefix ? `dynamodb:${target.table}/${target.prefix}` : `dynamodb:${target.table}`
  if (headText === null) throw new Error(`${store.describe()}: nothing is published there: publish the flags first (flagcore flag create --at ${place})`)
  const head = flagcore.Snapshot.publishedHead(headText)
  const stored = await store.chunks(head.chunks.map((chunk) => chunk.name))
  const plain = stored.map((bytes, n) => {
    const chunk = head.chunks[n]
    if (bytes === null) throw new Error(`${store.describe()}: chunk ${chunk.name} is missing (a publish under way? the next run reads it again)`)
    try {
      // No more than the size the head gives, and one byte: a bomb is never held.
      return zlib.gunzipSync(bytes, { maxOutputLength: chunk.size + 1 })
    } catch (error) {
      throw new Error(`${store.describe()}: chunk ${chunk.name} does not inflate to its ${chunk.size} bytes: ${error.message}`)
    }
  })
  const snapshot = flagcore.Snapshot.fromPublished(headText, plain)
  const flagsText = Buffer.concat(plain)
  const state = parseState(stateText)
  let window = null
  let windowError = null
  if (state && (state.status === 'running' || state.status === 'halted')) {
    try {
      window = await readWindow({ plan, flagsText, namespace, functionName, cloudwatch, startMs: state.stepStartedMs, endMs: nowMs })
    } catch (error) {
      windowError = String(error.message ?? error)
    }
  }
  let outcome
  try {
    outcome = step(flagsText, plan, { state: stateText, window, windowError, nowMs })
  } catch (error) {
    if (error.code !== 'STATE_INVALID') throw error
    throw new CanaryError(error.code, error.path, `${store.describe()}: ${name}: ${error.message.replace(/`flagcore canary run --restart`/, `\`flagcore canary run PLAN --at ${place} --restart --once\`, or delete the item`)}`)
  }
  let generation = null
  if (outcome.edit) {
    const native = core()
    const change = native.editSummary(native.snapshotFromJson(flagsText), JSON.stringify(outcome.edit))
    try {
      const published = await flagcore.publish(snapshot.edit(outcome.edit), target, { now: nowMs, expect: headText, record: { author: AUTHOR, comment: outcome.comment, changes: [change], decisions: outcome.decisions, decisionsLeftOut: outcome.decisionsLeftOut } })
      generation = published.id
    } catch (error) {
      if (error.name !== 'PublishRace') throw error
      const lost = { action: 'none', reason: `${error.message}: this run did nothing (${outcome.action} not made); the next run decides on what is there then`, figures: null, generation: null }
      log(`flagcore canary: ${plan.flag}: ${lost.action}: ${lost.reason}`)
      return lost
    }
  }
  if (outcome.state !== null && !(await keepState(store, name, outcome.state, stateText, generation, log))) {
    // Another run kept the canary's state while this one ran, and this one
    // did not act: it runs again on what is there now.
    if (attempt + 1 < MAX_RUNS) return runCanary(config, attempt + 1)
    throw new Error(`${store.describe()}: ${name}: other runs kept the canary's state ${MAX_RUNS} times while this one ran: it did nothing`)
  }
  log(`flagcore canary: ${plan.flag}: ${outcome.action}: ${outcome.reason}${generation ? ` [published ${generation}]` : ''}`)
  if (['rollback', 'halt', 'stop'].includes(outcome.action)) {
    log(`flagcore canary: ALERT: ${plan.flag}: ${outcome.action}: ${outcome.reason}`)
    const alert = core().canaryAlertLine(namespace, plan.flag, outcome.action, nowMs)
    if (alert) log(alert)
  }
  return { action: outcome.action, reason: outcome.reason, figures: outcome.figures, generation }
}

// JSON values alike: numbers by value, objects whatever their keys' order.
function same (a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]))
  }
  return a === b
}

// The state as kept, for where the step started; the core reads it whole.
function parseState (text) {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

// Keeps the run's state on the condition that it is still the text read:
// false when a run that did not act finds another's state (it runs again).
// A run that acted (`generation`) replaces only a state behind its step (a
// run that held, or took the step up), and says what failed rather than
// fail: its step is live.
async function keepState (store, name, text, previous, generation, log) {
  let seen = previous
  const kept = JSON.parse(text)
  for (let attempt = 0; attempt < MAX_RUNS; attempt++) {
    try {
      if (await store.writeText(name, text, seen)) return true
      if (!generation) return false
      seen = await store.readText(name)
    } catch (error) {
      if (!generation) throw error
      log(`flagcore canary: ${store.describe()}: ${name}: ${error.message}`)
      continue
    }
    const theirs = parseState(seen)
    if (theirs === null) continue
    const behind = kept.status === 'rolledBack'
      ? !['rolledBack', 'stopped'].includes(theirs.status)
      : theirs.status === 'running' && theirs.step <= kept.step
    if (!behind) return true
  }
  throw new Error(`${store.describe()}: published generation ${generation}, but its state (${name}) could not be kept: the next run reads the flags as they are`)
}

// The step's window from CloudWatch: the core's request, each page asked
// for, and the window the core makes of the answers.
async function readWindow ({ plan, flagsText, namespace, functionName, cloudwatch, startMs, endMs }) {
  const flag = JSON.parse(flagsText).flags[plan.flag]
  if (!flag) throw new Error(`there is no flag ${plan.flag}`)
  const index = (value) => {
    const at = flag.variations.findIndex((v) => same(v, value))
    if (at < 0) throw new Error(`flag ${plan.flag} has no variation ${JSON.stringify(value)}`)
    return at
  }
  const request = cloudwatchRequest(plan, { namespace, functionName, canary: index(plan.canary ?? true), control: index(plan.control ?? false), startMs, endMs })
  if (request === null) return cloudwatchWindow(plan, null)
  const { awsSdk } = require('./sources.js')
  const sdk = awsSdk('@aws-sdk/client-cloudwatch')
  const client = cloudwatch ?? new sdk.CloudWatchClient({})
  const pages = []
  let NextToken
  do {
    if (pages.length === MAX_PAGES) throw new Error(`GetMetricData answered more than ${MAX_PAGES} pages`)
    const answer = await client.send(new sdk.GetMetricDataCommand({ ...request, StartTime: new Date(request.StartTime * 1000), EndTime: new Date(request.EndTime * 1000), NextToken }))
    // The SDK answers Dates; the core reads seconds.
    pages.push({ MetricDataResults: (answer.MetricDataResults ?? []).map((r) => ({ Id: r.Id, Timestamps: (r.Timestamps ?? []).map((t) => new Date(t).getTime() / 1000), Values: r.Values ?? [] })) })
    NextToken = answer.NextToken
  } while (NextToken)
  return cloudwatchWindow(plan, pages)
}

module.exports = { decide, step, cloudwatchRequest, cloudwatchWindow, createCanaryHandler, CanaryError }
