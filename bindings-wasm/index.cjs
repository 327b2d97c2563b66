'use strict'
// flagcore-wasm for Node (tests, Lambda@Edge): the shared API (js/, bundled
// into dist/api.cjs by `make js`) over the WebAssembly build of the core.
// No FlagClient sources beyond { url } and { published: { url | store } }.

const { install } = require('./dist/api.cjs')

module.exports = install(require('./dist/nodejs/flagcore.js'))
module.exports.engine = 'wasm'
