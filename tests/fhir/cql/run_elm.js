// Runs an ELM library (JSON) over a FHIR R4 patient bundle with the reference CQL engine and
// prints each definition's value for the patient as JSON: Dates as ISO strings, Codes as
// {system, code}, lists as arrays. Usage: node run_elm.js library.elm.json bundle.json
'use strict';
const fs = require('fs');
const cql = require('cql-execution');
const cqlfhir = require('cql-exec-fhir');

function plain(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(plain);
  if (value.isDate || value.isDateTime) return value.toString();
  if (value.isCode) return { system: value.system, code: value.code };
  if (typeof value === 'object' && typeof value.toJSON === 'function') return value.toJSON();
  return value;
}

async function main() {
  const [elmPath, bundlePath] = process.argv.slice(2);
  const elm = JSON.parse(fs.readFileSync(elmPath, 'utf8'));
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
  const library = new cql.Library(elm);
  const executor = new cql.Executor(library);
  const source = cqlfhir.PatientSource.FHIRv401();
  source.loadBundles([bundle]);
  const results = await executor.exec(source);
  const out = {};
  for (const [patientId, values] of Object.entries(results.patientResults)) {
    out[patientId] = {};
    for (const [name, value] of Object.entries(values)) {
      if (name !== 'Patient') out[patientId][name] = plain(value);
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
