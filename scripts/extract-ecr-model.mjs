#!/usr/bin/env node
// Extracts the parts of botocore's Amazon ECR service model that Wharf's ECR API needs
// (operations, shapes, constraints, errors; no documentation) into src/ecr-api/model.json.
//
//   node scripts/extract-ecr-model.mjs <path to botocore/data/ecr/2015-09-21/service-2.json[.gz]> [out]
//
// The botocore package (https://github.com/boto/botocore) is Apache-2.0 licensed; the model
// is Amazon's machine-readable description of the ECR API, the same one the AWS CLI and the
// AWS SDKs are generated from.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const [input, output = resolve(dirname(fileURLToPath(import.meta.url)), '../src/ecr-api/model.json')] = process.argv.slice(2);
if (!input) {
  process.stderr.write('usage: node scripts/extract-ecr-model.mjs <service-2.json[.gz]> [out.json]\n');
  process.exit(2);
}

const raw = readFileSync(input);
const model = JSON.parse((input.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'));

const ref = (r) => r.shape;
const pick = (obj, keys) => Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));

const operations = {};
for (const [name, op] of Object.entries(model.operations).sort(([a], [b]) => a.localeCompare(b))) {
  operations[name] = {
    ...(op.input ? { input: ref(op.input) } : {}),
    ...(op.output ? { output: ref(op.output) } : {}),
    errors: (op.errors ?? []).map(ref),
    ...(op.deprecated ? { deprecated: true } : {}),
  };
}

const shapes = {};
for (const [name, shape] of Object.entries(model.shapes).sort(([a], [b]) => a.localeCompare(b))) {
  const out = pick(shape, ['type', 'required', 'min', 'max', 'pattern', 'enum']);
  if (shape.members) out.members = Object.fromEntries(Object.entries(shape.members).map(([m, r]) => [m, ref(r)]));
  if (shape.member) out.member = ref(shape.member);
  if (shape.key) out.key = ref(shape.key);
  if (shape.value) out.value = ref(shape.value);
  if (shape.exception) {
    out.exception = true;
    // botocore's `error.httpStatusCode` when the model gives one; otherwise the JSON
    // protocol's convention: 500 for faults (server errors), 400 for the rest.
    out.httpStatusCode = shape.error?.httpStatusCode ?? (shape.fault ? 500 : 400);
    if (shape.fault) out.fault = true;
  }
  shapes[name] = out;
}

const result = {
  _origin:
    'Extracted by scripts/extract-ecr-model.mjs from botocore (Apache-2.0, https://github.com/boto/botocore), ' +
    `data/ecr/${model.metadata.apiVersion}/service-2.json; documentation strings removed.`,
  metadata: pick(model.metadata, ['apiVersion', 'jsonVersion', 'protocol', 'serviceId', 'signingName', 'targetPrefix', 'uid']),
  operations,
  shapes,
};
writeFileSync(output, `${JSON.stringify(result, null, 1)}\n`);
process.stdout.write(`wrote ${output}: ${Object.keys(operations).length} operations, ${Object.keys(shapes).length} shapes\n`);
