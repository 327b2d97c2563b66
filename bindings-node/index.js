'use strict'
// flagcore for Node: the shared API (api.js) over the N-API module, with the
// Node-only FlagClient sources (a file, DynamoDB).

const { createApi } = require('./api.js')

module.exports = createApi(require('./native.js'), require('./sources.js'), {
  signingKey: () => process.env.FLAGCORE_SIGNING_KEY
})
