'use strict'
// The package under test: the N-API one, or the WASM one when
// FLAGCORE_IMPL=wasm, so that one test file checks both.
module.exports = process.env.FLAGCORE_IMPL === 'wasm'
  ? require('../../bindings-wasm')
  : require('..')
