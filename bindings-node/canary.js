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

module.exports = { decide, step, cloudwatchRequest, cloudwatchWindow, CanaryError }
