'use strict'
// flagcore for Node: the shared API (flagcore-wasm's js/ modules, bundled
// into one file, since this package depends on flagcore-wasm for its WASM
// engine anyway) over the core, with the
// Node-only FlagClient sources (a file, DynamoDB). The core is the native
// module where one loads here, and flagcore-wasm's build elsewhere (engine.js).

const { createApi } = require('flagcore-wasm/api')
const { loadEngine } = require('./engine.js')

const { engine, binding } = loadEngine()

const flagcore = createApi(binding, require('./sources.js'), {
  signingKey: () => process.env.FLAGCORE_SIGNING_KEY,
  functionName: () => process.env.AWS_LAMBDA_FUNCTION_NAME,
  // An optional peer dependency: loaded only by clients made with { tracing: true }.
  trace: () => {
    try {
      return require('@opentelemetry/api').trace
    } catch {
      return null
    }
  }
})

/** 'native' or 'wasm': which engine evaluates in this process. */
Object.defineProperty(flagcore, 'engine', { value: engine, enumerable: true })

module.exports = flagcore
