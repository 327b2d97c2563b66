'use strict'
// flagcore for Node: the shared API (flagcore-wasm's js/ modules, bundled
// into one file, since this package depends on flagcore-wasm for its WASM
// engine anyway) over the core, with the
// Node-only FlagClient sources (a file, DynamoDB, and flagcore's published
// layout in a directory or a DynamoDB table) and the DynamoDB publisher. The core is the native
// module where one loads here, and flagcore-wasm's build elsewhere (engine.js).

const { createApi } = require('flagcore-wasm/api')
const { loadEngine } = require('./engine.js')

const { engine, binding } = loadEngine()

const sources = require('./sources.js')
const published = require('./published.js')

const flagcore = createApi(binding, { file: sources.file, dynamodb: sources.dynamodb, published: published.publishedStore }, {
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

/**
 * Publishes a snapshot in flagcore's layout to a DynamoDB table: see
 * published.js. Answers `{ id, unchanged, chunks, bytes }`.
 */
flagcore.publish = published.publish
/** What `publish` throws when another publisher replaced the head meanwhile. */
flagcore.PublishRace = published.PublishRace

/** 'native' or 'wasm': which engine evaluates in this process. */
Object.defineProperty(flagcore, 'engine', { value: engine, enumerable: true })

module.exports = flagcore
