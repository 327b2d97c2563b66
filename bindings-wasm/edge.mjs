// flagcore-wasm for edge runtimes (Cloudflare Workers, Vercel Edge, Deno):
// the module is compiled by the runtime from the .wasm import and
// instantiated once, when this module loads.
import * as webEngine from './dist/web/flagcore.js'
import wasm from './dist/web/flagcore_bg.wasm'
// The shared API (js/), bundled into one ES module by `make js`.
import { install } from './dist/api.mjs'

webEngine.initSync({ module: wasm })

// A request's I/O is its own in workerd: no request waits on another's load.
const flagcore = install(webEngine, { ownIo: true })
flagcore.engine = 'wasm'

export const { Snapshot, Context, SnapshotError, TokenError, EditError, FlagsState, FlagClient, FlagcoreProvider, limits, engine } = flagcore
export default flagcore
