// The engine every class of this API evaluates with: the core's functions,
// from the N-API module (the flagcore package) or the WebAssembly one
// (flagcore-wasm), with the same names and the same answers (js-glue). Each
// package bundles these modules into a file of its own and installs its
// engine there once, when it loads (index.js), before anything evaluates.

/** The core's functions. */
export let engine = null

/**
 * What the host adds: `sources`, the FlagClient sources beyond `{ url }`
 * and `{ published: { url | store } }` by option name (`make(options,
 * Snapshot, limits)` answers `{ load, describe }`; Node: a file, DynamoDB,
 * the published layout in a directory or a table), and `defaults`, what a
 * client falls back on, as functions: `signingKey()` (Node:
 * FLAGCORE_SIGNING_KEY), `functionName()` for metrics (Node:
 * AWS_LAMBDA_FUNCTION_NAME), `trace()` for span events (Node:
 * @opentelemetry/api's `trace`, or null without it). `ownIo`: whether a
 * request's I/O is its own (workerd, where a request that waits on
 * another's fetch is canceled as hung): a client then never makes one
 * request wait on a load another started.
 */
export let host = { sources: {}, defaults: {}, ownIo: false }

/** The bounds on what sources read, the core's: `{ headBytes, storedChunkBytes, snapshotBytes }`. */
export let limits = null

/** Makes `core` the engine, once. */
export function install (core, { sources = {}, defaults = {}, ownIo = false } = {}) {
  if (engine !== null) throw new Error('flagcore: this copy of the API has its engine already')
  const [headBytes, storedChunkBytes, snapshotBytes] = core.publishedLimits()
  limits = Object.freeze({ headBytes, storedChunkBytes, snapshotBytes })
  host = { sources, defaults, ownIo }
  engine = core
}
