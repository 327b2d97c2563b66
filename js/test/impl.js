'use strict'
// The package under test: the N-API one; the WASM one when
// FLAGCORE_IMPL=wasm; or an installed copy when FLAGCORE_PACKAGE names its
// folder (make test-dist), so that one test file checks each.
const pkg = process.env.FLAGCORE_PACKAGE
  ? require(process.env.FLAGCORE_PACKAGE)
  : process.env.FLAGCORE_IMPL === 'wasm'
    ? require('../../bindings-wasm')
    : require('../../bindings-node')

/** What the runners print: the package and the engine it runs on. */
Object.defineProperty(pkg, 'testLabel', {
  value: process.env.FLAGCORE_IMPL === 'wasm' && !process.env.FLAGCORE_PACKAGE
    ? 'wasm'
    : `node, ${pkg.engine}${process.env.FLAGCORE_PACKAGE ? ', installed' : ''}`
})
module.exports = pkg
