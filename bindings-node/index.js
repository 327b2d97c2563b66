'use strict'
// flagcore for Node: the shared API (api.js) over the N-API module, with the
// Node-only FlagClient sources (a file, DynamoDB).

const { createApi } = require('./api.js')

module.exports = createApi(require('./native.js'), require('./sources.js'), {
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
