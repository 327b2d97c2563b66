// The modules of an edge Worker that uses flagcore-wasm, for Miniflare:
// the Worker's entry, and the package's edge entry with what it imports.
// Both chain demos (`make demo`, `make demo-canary`) start theirs with it.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const wasm = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bindings-wasm')

/** Miniflare's `modules` for the Worker whose entry is the file `entry`. */
export function edgeModules (entry) {
  const module = (name, file, type = 'ESModule') => ({ type, path: name, contents: fs.readFileSync(file) })
  return [
    module('edge.mjs', entry),
    module('flagcore-wasm', path.join(wasm, 'edge.mjs')),
    module('dist/web/flagcore.js', path.join(wasm, 'dist', 'web', 'flagcore.js')),
    module('dist/web/flagcore_bg.wasm', path.join(wasm, 'dist', 'web', 'flagcore_bg.wasm'), 'CompiledWasm'),
    module('dist/api.mjs', path.join(wasm, 'dist', 'api.mjs'))
  ]
}
