// Validates an AsyncAPI document with @asyncapi/parser: exits 1 on any error,
// and also on warnings (an unused component, a bad example, a missing field),
// so the description stays clean. Usage: node validate-asyncapi.mjs asyncapi.yaml
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const file = resolve(process.argv[2] ?? 'asyncapi.yaml');
const parser = new Parser();
const source = await readFile(file, 'utf8');
const { document, diagnostics } = await parser.parse(source, { source: file });

const names = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };
const serious = diagnostics.filter(
  (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
);
for (const d of diagnostics.filter((x) => x.severity <= DiagnosticSeverity.Warning)) {
  const where = d.path?.length ? d.path.join('.') : '(document)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  console.log(`${names[d.severity] ?? d.severity} ${d.code} ${file}${line} ${where}: ${d.message}`);
}
if (document === undefined || serious.length > 0) {
  console.error(`asyncapi: ${file} is not valid (${serious.length} errors or warnings)`);
  process.exit(1);
}

// The parser checks the document's shape; check every example against its payload too.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
let bad = 0;
for (const message of document.allMessages()) {
  const schema = message.payload()?.json();
  if (schema === undefined) continue;
  const validate = ajv.compile(schema);
  for (const example of message.examples()) {
    if (!example.hasPayload()) continue;
    if (!validate(example.payload())) {
      bad += 1;
      const label = `${message.id()}${example.name() ? ` (${example.name()})` : ''}`;
      console.log(`error example ${label}: ${ajv.errorsText(validate.errors)}`);
    }
  }
}
if (bad > 0) {
  console.error(`asyncapi: ${bad} example(s) do not match their payload schema`);
  process.exit(1);
}
const ops = document.operations().length;
const messages = document.allMessages().length;
console.log(`asyncapi: ${file} is valid AsyncAPI ${document.version()} (${ops} operations, ${messages} messages)`);
