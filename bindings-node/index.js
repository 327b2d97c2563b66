'use strict'
// flagcore for Node: the shared API (js/, bundled into dist/api.cjs by
// `make js`) over the core's engine, with the Node-only FlagClient sources
// (a file, DynamoDB, and flagcore's published layout in a directory or a
// DynamoDB table) and the DynamoDB publisher. The engine is the native
// module where one loads here, and flagcore-wasm's build elsewhere
// (engine.js).

const { install } = require('./dist/api.cjs')
const { loadEngine } = require('./engine.js')
const sources = require('./sources.js')
const published = require('./published.js')

const { name, engine } = loadEngine()

const flagcore = install(engine, {
  sources: { file: sources.file, dynamodb: sources.dynamodb, published: published.publishedStore },
  defaults: {
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
Object.defineProperty(flagcore, 'engine', { value: name, enumerable: true })

module.exports = flagcore
