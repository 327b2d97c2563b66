'use strict'
// Writes flagcore-wasm's typings from the flagcore package's: the same file
// without the declarations marked `// node only` (a line) or between
// `// node only: begin` and `// node only: end`, so that flagcore-wasm
// declares exactly what it exports and the two never drift.
// Usage: node types.js <flagcore's index.d.ts> <out>
const fs = require('node:fs')

const [input, output] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node types.js <index.d.ts> <out>')
  process.exit(2)
}
const kept = []
let skipping = false
for (const line of fs.readFileSync(input, 'utf8').split('\n')) {
  if (line.trim() === '// node only: begin') {
    if (skipping) throw new Error(`${input}: "node only: begin" inside another`)
    skipping = true
  } else if (line.trim() === '// node only: end') {
    if (!skipping) throw new Error(`${input}: "node only: end" without a begin`)
    skipping = false
  } else if (!skipping && !line.endsWith('// node only')) {
    kept.push(line)
  }
}
if (skipping) throw new Error(`${input}: "node only: begin" is never ended`)
const header = '// Types of the `flagcore-wasm` package, written by types.js from those of the\n// `flagcore` package (whose API it shares) without what only Node has.\n'
const body = kept.join('\n').replace(/^(\/\/[^\n]*\n)+/, '')
fs.writeFileSync(output, header + body.replace(/\n{3,}/g, '\n\n'))
