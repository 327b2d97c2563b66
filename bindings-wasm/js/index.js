'use strict'
// The flagcore API that the Node and the WASM packages share: Snapshot,
// Context, SnapshotError, TokenError, FlagsState, FlagClient and
// FlagcoreProvider, over an engine (`native`): the N-API module or the WASM
// one, which evaluate in the Rust core with the same functions and answers.
// `make wasm` bundles them into one file each way: dist/api.cjs for Node,
// dist/api.mjs for edge runtimes.

const { createContexts } = require('./context.js')
const { createSnapshots } = require('./snapshot.js')
const { createSources } = require('./sources.js')
const { createMetrics } = require('./metrics.js')
const { createOpenFeature } = require('./openfeature.js')
const { createClient } = require('./client.js')

/**
 * @param native the engine's functions
 * @param hostSources FlagClient sources beyond `{ url }` that the host offers,
 *   by option name: `make(options, Snapshot)` answers `{ load, describe }`
 * @param hostDefaults what a client falls back on, as functions: `signingKey()`
 *   (Node: FLAGCORE_SIGNING_KEY), `functionName()` for metrics (Node:
 *   AWS_LAMBDA_FUNCTION_NAME), `trace()` for span events (Node:
 *   @opentelemetry/api's `trace`, or null without it)
 */
function createApi (native, hostSources = {}, hostDefaults = {}) {
  const contexts = createContexts(native)
  const snapshots = createSnapshots(native, contexts)
  const [headBytes, storedChunkBytes, snapshotBytes] = native.publishedLimits()
  const limits = Object.freeze({ headBytes, storedChunkBytes, snapshotBytes })
  const sources = createSources(snapshots.Snapshot, hostSources, limits)
  const metrics = createMetrics(native)
  const openFeature = createOpenFeature(native, contexts)
  const { FlagClient } = createClient({ native, contexts, snapshots, sources, metrics, openFeature, hostDefaults })
  const { Snapshot, SnapshotError, TokenError, FlagsState } = snapshots
  return { Snapshot, Context: contexts.Context, SnapshotError, TokenError, FlagsState, FlagClient, FlagcoreProvider: openFeature.FlagcoreProvider, limits }
}

module.exports = { createApi }
