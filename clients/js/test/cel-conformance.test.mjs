// The expression language's conformance cases (tests/cel_conformance.json, which the
// server's tests run through app/cel) evaluated by the SDK's own local evaluator
// (src/cel.ts: @marcbachmann/cel-js narrowed to the contract's subset and limits), so a
// filter the offline replica evaluates locally answers as the server does.
// A case the two implementations answer differently carries "js_skip": the reason.
// Run: npm run build && node --test test/cel-conformance.test.mjs (no server needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileFilter as compile, FilterRefusedError as Refused } from '../dist/index.js';

const cases = JSON.parse(
  readFileSync(new URL('../../../tests/cel_conformance.json', import.meta.url), 'utf8'),
);

test('the conformance file is the one the server runs', () => {
  assert.ok(cases.length >= 120);
  const skipped = cases.filter((c) => c.js_skip);
  assert.ok(skipped.length <= 5, `keep the js_skip cases few: ${skipped.length}`);
});

cases.forEach((c, index) => {
  const name = `${index}: ${c.expr.slice(0, 60)}`;
  const kind = c.variables === 'rule' ? 'rule' : 'filter';
  test(name, { skip: c.js_skip }, () => {
    if (c.error === 'compile') {
      assert.throws(() => compile(c.expr, kind), Refused);
      return;
    }
    const matches = compile(c.expr, kind);
    assert.equal(matches(c.vars), c.result);
  });
});
