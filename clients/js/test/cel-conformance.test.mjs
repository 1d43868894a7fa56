// The expression language's conformance cases (tests/cel_conformance.json, which the
// server's tests run through app/cel) evaluated here with a JS CEL implementation,
// @marcbachmann/cel-js, so an SDK can evaluate the same filters locally with the same
// answers. cel-js is full CEL: `compile` below narrows it to the contract's subset and
// the server's cost limits (app/cel/parser.py Limits), and `matches` maps a runtime error
// to "no match" as the server does (docs/queries.md "The expression language").
// A case the two implementations answer differently carries "js_skip": the reason.
// Run: node --test test/cel-conformance.test.mjs (no server needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Environment } from '@marcbachmann/cel-js';

const cases = JSON.parse(
  readFileSync(new URL('../../../tests/cel_conformance.json', import.meta.url), 'utf8'),
);

// Mirrors app/cel/parser.py Limits.
const LIMITS = { maxLength: 4096, maxNodes: 512, maxDepth: 32, maxString: 1024, maxList: 256 };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FILTER_VARIABLES = ['doc', 'key', 'rev'];
const RULE_VARIABLES = [...FILTER_VARIABLES, 'new', 'op', 'auth'];
const TYPES = { key: 'string', rev: 'int', op: 'string' };
const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=', 'in']);
const FUNCTIONS = new Set(['has', 'size', 'int', 'double', 'string']);
const METHODS = new Set(['size', 'startsWith', 'endsWith', 'contains']);

function environment(variables) {
  const env = new Environment({
    homogeneousAggregateLiterals: false, // CEL's default: [1, "a"] is a list(dyn)
    // Its parser counts parentheses, calls and selections as nesting, as the server does.
    limits: { maxDepth: LIMITS.maxDepth, maxListElements: 1000, maxAstNodes: 100000 },
  });
  for (const name of variables) env.registerVariable(name, TYPES[name] ?? 'dyn');
  return env;
}
const ENVIRONMENTS = { filter: environment(FILTER_VARIABLES), rule: environment(RULE_VARIABLES) };

class Refused extends Error {}

// Throws Refused for what the server refuses at compile time; else a predicate.
function compile(source, kind) {
  const env = ENVIRONMENTS[kind];
  const variables = kind === 'rule' ? RULE_VARIABLES : FILTER_VARIABLES;
  if (source.length > LIMITS.maxLength) throw new Refused('too long');
  let parsed;
  try {
    parsed = env.parse(source);
  } catch (error) {
    throw new Refused(`syntax: ${error.message}`);
  }
  const counter = { nodes: 0 };
  checkSubset(parsed.ast, variables, 0, counter);
  const checked = env.check(source);
  if (!checked.valid) throw new Refused(`type: ${checked.error?.message}`);
  if (checked.type !== 'bool' && checked.type !== 'dyn') throw new Refused('not a condition');
  return (vars) => {
    try {
      return parsed(toCel(vars)) === true;
    } catch {
      return false; // a runtime error (missing field, no such overload) is no match
    }
  };
}

function checkSubset(node, variables, depth, counter) {
  if (++counter.nodes > LIMITS.maxNodes) throw new Refused('too many nodes');
  if (depth > LIMITS.maxDepth) throw new Refused('too deep');
  const { op, args } = node;
  const walk = (child) => checkSubset(child, variables, depth + 1, counter);
  switch (op) {
    case 'value':
      return checkLiteral(args);
    case 'id':
      if (!variables.includes(args)) throw new Refused(`unknown variable ${args}`);
      return;
    case '.':
      return walk(args[0]);
    case '[]':
      return args.forEach(walk);
    case '&&':
    case '||': // a chain `a && b && c` is one level, as in the server's flattened tree
      return args.forEach((child) =>
        checkSubset(child, variables, child.op === op ? depth : depth + 1, counter),
      );
    case '!_':
      return walk(args);
    case '-_':
      if (args.op !== 'value' || !['bigint', 'number'].includes(typeof args.args)) {
        throw new Refused('"-" only before a number');
      }
      if (typeof args.args === 'bigint' && -args.args < INT64_MIN) throw new Refused('int range');
      return;
    case 'list':
      if (args.length > LIMITS.maxList) throw new Refused('list too long');
      return args.forEach(walk);
    case 'call': {
      const [name, callArgs] = args;
      if (!FUNCTIONS.has(name)) throw new Refused(`unknown function ${name}`);
      if (name === 'has' && callArgs[0]?.op !== '.') throw new Refused('has() takes a.field');
      return callArgs.forEach(walk);
    }
    case 'rcall': {
      const [name, receiver, callArgs] = args;
      if (!METHODS.has(name)) throw new Refused(`unknown method ${name}`);
      walk(receiver);
      return callArgs.forEach(walk);
    }
    default:
      if (COMPARISONS.has(op)) return args.forEach(walk);
      throw new Refused(`not in the subset: ${op}`);
  }
}

function checkLiteral(value) {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'bigint') {
    if (value > INT64_MAX) throw new Refused('int range');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Refused('double range');
    return;
  }
  if (typeof value === 'string') {
    if ([...value].length > LIMITS.maxString) throw new Refused('string too long');
    return;
  }
  throw new Refused('literal not in the subset'); // bytes, uint
}

// JSON numbers without a fraction are CEL ints (bigint in cel-js), as the server reads them.
function toCel(value) {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

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
