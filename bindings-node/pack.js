'use strict'
// `make dist`: the npm tarballs, packed with `npm pack` from staging folders.
//   flagcore                   the JS API (js/, bundled), typings and loader; flagcore-wasm as
//                              its WASM engine, one optional package per native build
//   flagcore-linux-<cpu>-gnu   one native module, with the os, cpu and libc npm installs it for
//   flagcore-wasm              the edge package, packed as it is
// Usage: node pack.js <staging dir> <out dir> <cpu>=<native module> ...

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const [staging, out, ...natives] = process.argv.slice(2)
if (!staging || !out || natives.length === 0) {
  console.error('usage: node pack.js <staging dir> <out dir> <cpu>=<native module> ...')
  process.exit(2)
}
const here = __dirname
const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'))
const wasmManifest = JSON.parse(fs.readFileSync(path.join(here, '..', 'bindings-wasm', 'package.json'), 'utf8'))
const { version, license } = manifest

function pack (dir) {
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', path.resolve(out)], { cwd: dir, encoding: 'utf8' })
  return name.trim().split('\n').pop()
}

function write (file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n')
}

fs.rmSync(staging, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })
const packed = []

const platformPackages = {}
for (const spec of natives) {
  const [cpu, module] = spec.split('=')
  if (!cpu || !module || !fs.existsSync(module)) throw new Error(`pack.js: no native module for ${spec}`)
  const name = `${manifest.name}-linux-${cpu}-gnu`
  const dir = path.join(staging, name)
  fs.mkdirSync(dir, { recursive: true })
  const file = `${manifest.napi.binaryName}.linux-${cpu}-gnu.node`
  fs.copyFileSync(module, path.join(dir, file))
  write(path.join(dir, 'package.json'), {
    name,
    version,
    description: `flagcore's native module for Linux on ${cpu} (glibc 2.17 or later)`,
    license,
    main: file,
    files: [file],
    os: ['linux'],
    cpu: [cpu],
    libc: ['glibc'],
    engines: manifest.engines
  })
  fs.writeFileSync(path.join(dir, 'README.md'), `# ${name}\n\nThe native module of [flagcore](https://www.npmjs.com/package/flagcore) for Linux on ${cpu} with glibc 2.17 or later. Install \`flagcore\`, which depends on it where it fits.\n`)
  platformPackages[name] = version
  packed.push(pack(dir))
}

// The main package: what package.json lists, minus native modules (they live
// in the platform packages), with the dependencies a user installs.
const dir = path.join(staging, manifest.name)
fs.mkdirSync(dir, { recursive: true })
const files = manifest.files.filter((f) => !f.endsWith('.node'))
for (const file of files) {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
  fs.copyFileSync(path.join(here, file), path.join(dir, file))
}
fs.copyFileSync(path.join(here, '..', 'README.md'), path.join(dir, 'README.md'))
const { devDependencies, scripts, ...published } = manifest
write(path.join(dir, 'package.json'), {
  ...published,
  files,
  dependencies: { [wasmManifest.name]: wasmManifest.version },
  optionalDependencies: platformPackages
})
packed.push(pack(dir))

packed.push(pack(path.join(here, '..', 'bindings-wasm')))
for (const name of packed) console.log(path.join(out, name))
