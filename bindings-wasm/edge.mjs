// flagcore-wasm for edge runtimes (Cloudflare Workers, Vercel Edge, Deno):
// the module is compiled by the runtime from the .wasm import and
// instantiated once, when this module loads.
import * as native from './dist/web/flagcore.js'
import wasm from './dist/web/flagcore_bg.wasm'
// The shared API's modules, bundled into one ES module by `make wasm`.
import api from './dist/api.mjs'

native.initSync({ module: wasm })

const flagcore = api.createApi(native)
flagcore.engine = 'wasm'

export const { Snapshot, Context, SnapshotError, TokenError, FlagsState, FlagClient, FlagcoreProvider, limits, engine } = flagcore
export default flagcore
