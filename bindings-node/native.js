'use strict'
// Loads the native module for the platforms flagcore ships: Linux on x64
// and arm64, with glibc (AWS Lambda's two architectures). It is the file
// `make node` builds beside this one, or else the platform package npm
// installed (flagcore-linux-x64-gnu, flagcore-linux-arm64-gnu).
// FLAGCORE_NATIVE_MODULE names a module file to load instead. Whatever
// fails is thrown with every attempt's first line, and engine.js then runs
// the WASM engine and says why.

const TARGETS = { 'linux-x64': 'linux-x64-gnu', 'linux-arm64': 'linux-arm64-gnu' }

function candidates (env = process.env, platform = `${process.platform}-${process.arch}`) {
  if (env.FLAGCORE_NATIVE_MODULE) return [env.FLAGCORE_NATIVE_MODULE]
  const target = TARGETS[platform]
  return target ? [`./flagcore.${target}.node`, `flagcore-${target}`] : []
}

function load () {
  const tried = []
  for (const candidate of candidates()) {
    try {
      return require(candidate)
    } catch (error) {
      tried.push(String(error.message ?? error).split('\n')[0])
    }
  }
  const why = tried.length > 0 ? tried.join('; ') : `flagcore ships native builds for ${Object.keys(TARGETS).join(' and ')} only`
  throw new Error(why)
}

module.exports = load()
