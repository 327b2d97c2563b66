'use strict'
// Which engine runs the core (its functions, and its name: 'native' or
// 'wasm'): the native module where a build for this
// platform loads, otherwise the WebAssembly build from flagcore-wasm, with
// the same API and the same answers. FLAGCORE_ENGINE=native|wasm forces one;
// NODE_DEBUG=flagcore logs the choice and its reason.

const debug = require('node:util').debuglog('flagcore')

const FORCED = ['native', 'wasm']

/** Why the native module did not load, in one line: the platform, then the first line of the error and of its causes. */
function nativeFailure (error) {
  const lines = []
  for (let e = error; e && lines.length < 4; e = e.cause) lines.push(String(e.message ?? e).split('\n')[0])
  return `no native build loads on ${process.platform}-${process.arch} (${lines.join('; ')})`
}

function selectEngine (env = process.env, load = { native: () => require('./native.js'), wasm: () => require('flagcore-wasm/engine') }) {
  const forced = env.FLAGCORE_ENGINE || undefined
  if (forced !== undefined && !FORCED.includes(forced)) {
    throw new Error(`flagcore: FLAGCORE_ENGINE must be "native" or "wasm", not ${JSON.stringify(forced)}`)
  }
  let reason
  if (forced !== 'wasm') {
    try {
      const engine = load.native()
      return { name: 'native', engine, reason: forced ? 'FLAGCORE_ENGINE=native' : `the native build for ${process.platform}-${process.arch}` }
    } catch (error) {
      if (forced === 'native') throw new Error(`flagcore: FLAGCORE_ENGINE=native, but ${nativeFailure(error)}`, { cause: error })
      reason = nativeFailure(error)
    }
  } else {
    reason = 'FLAGCORE_ENGINE=wasm'
  }
  try {
    return { name: 'wasm', engine: load.wasm(), reason }
  } catch (error) {
    // flagcore-wasm is a dependency of flagcore: missing, it was left out of the install.
    throw new Error(`flagcore: no engine loads: ${reason}, and the WASM engine (flagcore-wasm) does not either (${String(error.message).split('\n')[0]})`, { cause: error })
  }
}

function loadEngine () {
  const selected = selectEngine()
  debug('engine %s: %s', selected.name, selected.reason)
  return selected
}

module.exports = { loadEngine, selectEngine }
