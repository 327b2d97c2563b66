'use strict'
// Writes a package's typings from the shared API's (js/index.d.ts): for
// flagcore, the whole file; for flagcore-wasm, the file without the
// declarations marked `// node only` (a line) or between `// node only: begin`
// and `// node only: end`. Each package then declares exactly what it
// exports, and the two never drift. `make js` runs it.
// Usage: node types.js flagcore|flagcore-wasm <out>
const fs = require('node:fs')
const path = require('node:path')

const [pkg, output] = process.argv.slice(2)
if (!['flagcore', 'flagcore-wasm'].includes(pkg) || !output) {
  console.error('usage: node types.js flagcore|flagcore-wasm <out>')
  process.exit(2)
}
const input = path.join(__dirname, 'index.d.ts')
const nodeOnly = pkg === 'flagcore'
const kept = []
let inside = false
for (const line of fs.readFileSync(input, 'utf8').split('\n')) {
  if (line.trim() === '// node only: begin') {
    if (inside) throw new Error(`${input}: "node only: begin" inside another`)
    inside = true
  } else if (line.trim() === '// node only: end') {
    if (!inside) throw new Error(`${input}: "node only: end" without a begin`)
    inside = false
  } else if (line.endsWith('// node only')) {
    if (nodeOnly) kept.push(line.slice(0, -'// node only'.length).trimEnd())
  } else if (nodeOnly || !inside) {
    kept.push(line)
  }
}
if (inside) throw new Error(`${input}: "node only: begin" is never ended`)
const header = `// Types of the \`${pkg}\` package, written by js/types.js from js/index.d.ts\n` +
  (nodeOnly ? '' : '// without what only the flagcore package (Node) has.\n')
// The source's own opening comment is about the source.
const body = kept.join('\n').replace(/^(\/\/[^\n]*\n)+/, '')
fs.mkdirSync(path.dirname(output), { recursive: true })
fs.writeFileSync(output, header + body.replace(/\n{3,}/g, '\n\n'))
