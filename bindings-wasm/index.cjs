'use strict'
// flagcore-wasm for Node (tests, Lambda@Edge): the shared API over the
// WebAssembly build of the core. No FlagClient sources beyond { url }.

const { createApi } = require('./dist/api.cjs')

module.exports = createApi(require('./dist/nodejs/flagcore.js'))
module.exports.engine = 'wasm'
