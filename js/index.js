// The flagcore API that the Node and the WASM packages share: Snapshot,
// Context, SnapshotError, TokenError, EditError, FlagsState, FlagClient and
// FlagcoreProvider, classes over one engine (engine.js): the N-API module
// or the WebAssembly one, which evaluate in the Rust core with the same
// functions and answers. Each package bundles these modules into a file of
// its own (`make js`: dist/api.cjs, and for flagcore-wasm dist/api.mjs too)
// and calls `install` once.

import { install as installEngine, limits } from './engine.js'
import { Context } from './context.js'
import { EditError, FlagsState, Snapshot, SnapshotError, TokenError } from './snapshot.js'
import { FlagClient } from './client.js'
import { FlagcoreProvider } from './openfeature.js'

// For the host's own readers and writers (bindings-node: its sources, the
// LaunchDarkly sync, the S3 publisher), not the API.
export { bodyUpTo, withDeadline } from './sources.js'
export { limits } from './engine.js'

/**
 * The API over `engine` (the core's functions), with what the host adds
 * (see engine.js): `{ sources, defaults }`.
 */
export function install (engine, host) {
  installEngine(engine, host)
  return { Snapshot, Context, SnapshotError, TokenError, EditError, FlagsState, FlagClient, FlagcoreProvider, limits }
}
