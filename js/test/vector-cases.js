'use strict'
// Every line of the files that tests/vectors/index.json lists under a kind,
// for the runners of the shared vectors.

const fs = require('node:fs')
const path = require('node:path')

const vectors = path.join(__dirname, '..', '..', 'tests', 'vectors')

function vectorCases (kind) {
  const index = JSON.parse(fs.readFileSync(path.join(vectors, 'index.json'), 'utf8'))
  return index[kind].flatMap((name) =>
    fs.readFileSync(path.join(vectors, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)))
}

module.exports = { vectorCases }
