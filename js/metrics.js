// Metrics: what a FlagClient counts during an invocation (each evaluation,
// per flag and variation, and the handler's own measurements) until flush()
// hands it to the core, which writes CloudWatch Embedded Metric Format lines
// (core/src/metrics.rs; the counting is pinned by tests/vectors/metrics).

import { engine } from './engine.js'

// A lone surrogate (a flag key or a metric's name made of broken text)
// has no UTF-8 form: written as U+FFFD, so that one such name does not
// take the invocation's other metrics down with it.
const wellFormed = (value) => {
  const text = String(value)
  return typeof text.toWellFormed === 'function' ? text.toWellFormed() : text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')
}

class Metrics {
  #evaluations = new Map()
  #measurements = []

  /** Counts an evaluation of `key` that answered `variationIndex` (null: the default). */
  count (key, variationIndex) {
    // Per flag, the count of each variation by its index, and then the
    // default's: counted on every evaluation, named only at flush.
    let perFlag = this.#evaluations.get(key)
    if (perFlag === undefined) this.#evaluations.set(key, (perFlag = [0]))
    const at = Number.isInteger(variationIndex) && variationIndex >= 0 ? variationIndex + 1 : 0
    while (perFlag.length <= at) perFlag.push(0)
    perFlag[at]++
  }

  /** Keeps a measurement of the handler's own. */
  measure (name, value, unit) {
    this.#measurements.push({ name: String(name), value: Number(value), unit: String(unit) })
  }

  /** The EMF lines for what was counted since the last call, which starts counting afresh. */
  flush (namespace, functionName, nowMs) {
    const evaluations = {}
    for (const [key, perFlag] of this.#evaluations) {
      const counts = {}
      perFlag.forEach((count, at) => {
        if (count > 0) counts[at === 0 ? 'default' : String(at - 1)] = count
      })
      // Keys that read alike once made well-formed add up.
      const name = wellFormed(key)
      const merged = evaluations[name] ?? {}
      for (const [variation, count] of Object.entries(counts)) merged[variation] = (merged[variation] ?? 0) + count
      evaluations[name] = merged
    }
    const measurements = this.#measurements.map((m) => ({ name: wellFormed(m.name), value: m.value, unit: wellFormed(m.unit) }))
    const lines = engine.renderMetrics({ evaluations, measurements }, namespace, functionName ?? undefined, nowMs)
    this.#evaluations = new Map()
    this.#measurements = []
    return lines
  }
}

export { Metrics }
