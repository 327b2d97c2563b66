'use strict'
// Metrics: what a FlagClient counts during an invocation (each evaluation,
// per flag and variation, and the handler's own measurements) until flush()
// hands it to the core, which writes CloudWatch Embedded Metric Format lines
// (core/src/metrics.rs; the counting is pinned by tests/vectors/metrics).

/** A client's Metrics class, over the engine `native`. */
function createMetrics (native) {
  class Metrics {
    #evaluations = new Map()
    #measurements = []

    /** Counts an evaluation of `key` that answered `variationIndex` (null: the default). */
    count (key, variationIndex) {
      let perFlag = this.#evaluations.get(key)
      if (!perFlag) this.#evaluations.set(key, (perFlag = new Map()))
      const variation = variationIndex === null || variationIndex === undefined ? 'default' : String(variationIndex)
      perFlag.set(variation, (perFlag.get(variation) ?? 0) + 1)
    }

    /** Keeps a measurement of the handler's own. */
    measure (name, value, unit) {
      this.#measurements.push({ name: String(name), value: Number(value), unit: String(unit) })
    }

    /** The EMF lines for what was counted since the last call, which starts counting afresh. */
    flush (namespace, functionName, nowMs) {
      const evaluations = {}
      for (const [key, perFlag] of this.#evaluations) evaluations[key] = Object.fromEntries(perFlag)
      const lines = native.renderMetrics({ evaluations, measurements: this.#measurements }, namespace, functionName ?? undefined, nowMs)
      this.#evaluations = new Map()
      this.#measurements = []
      return lines
    }
  }

  return { Metrics }
}

module.exports = { createMetrics }
