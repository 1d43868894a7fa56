// Filters evaluated locally exactly as the server evaluates them (hand-written).
//
//   const matches = compileFilter('doc.public || doc.owner == "alice"');
//   matches({ doc: { public: true }, key: 'n1', rev: 7 }); // true
//
// @marcbachmann/cel-js is full CEL: `compileFilter` narrows it to the contract's subset
// and the server's cost limits (app/cel/parser.py Limits), and maps a runtime error to
// "no match" as the server does (docs/queries.md "The expression language"). The shared
// conformance cases (tests/cel_conformance.json) run through it in
// test/cel-conformance.test.mjs. The offline replica uses it to keep a live query's
// local view exact while writes are only local.
import { Environment, type ASTNode } from '@marcbachmann/cel-js';

/** The server refuses this expression at compile time (syntax, subset, limits, types). */
export class FilterRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterRefusedError';
  }
}

/** The variables of a filter (`doc`, `key`, `rev`) or, for a rule, also `new`, `op`, `auth`. */
export type FilterVariables = Record<string, unknown>;
export type FilterKind = 'filter' | 'rule';
export type Predicate = (variables: FilterVariables) => boolean;

// Mirrors app/cel/parser.py Limits.
const LIMITS = { maxLength: 4096, maxNodes: 512, maxDepth: 32, maxString: 1024, maxList: 256 };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FILTER_VARIABLES = ['doc', 'key', 'rev'];
const RULE_VARIABLES = [...FILTER_VARIABLES, 'new', 'op', 'auth'];
const TYPES: Record<string, string> = { key: 'string', rev: 'int', op: 'string' };
const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=', 'in']);
const FUNCTIONS = new Set(['has', 'size', 'int', 'double', 'string']);
const METHODS = new Set(['size', 'startsWith', 'endsWith', 'contains']);

function environment(variables: string[]): Environment {
  const env = new Environment({
    homogeneousAggregateLiterals: false, // CEL's default: [1, "a"] is a list(dyn)
    // Its parser counts parentheses, calls and selections as nesting, as the server does.
    limits: { maxDepth: LIMITS.maxDepth, maxListElements: 1000, maxAstNodes: 100000 },
  } as ConstructorParameters<typeof Environment>[0]);
  for (const name of variables) env.registerVariable(name, (TYPES[name] ?? 'dyn') as never);
  return env;
}

let environments: Record<FilterKind, Environment> | null = null;
const compiled = new Map<string, Predicate>();

/** A predicate for `source`, or `FilterRefusedError` where the server would refuse it (422). */
export function compileFilter(source: string, kind: FilterKind = 'filter'): Predicate {
  const cacheKey = `${kind}\u0000${source}`;
  const cached = compiled.get(cacheKey);
  if (cached !== undefined) return cached;
  environments ??= { filter: environment(FILTER_VARIABLES), rule: environment(RULE_VARIABLES) };
  const env = environments[kind];
  const variables = kind === 'rule' ? RULE_VARIABLES : FILTER_VARIABLES;
  if (source.length > LIMITS.maxLength) throw new FilterRefusedError('too long');
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (error) {
    throw new FilterRefusedError(`syntax: ${(error as Error).message}`);
  }
  checkSubset(parsed.ast, variables, 0, { nodes: 0 });
  const checked = env.check(source);
  if (!checked.valid) throw new FilterRefusedError(`type: ${checked.error?.message}`);
  if (checked.type !== 'bool' && checked.type !== 'dyn') throw new FilterRefusedError('not a condition');
  const predicate: Predicate = (vars) => {
    try {
      return parsed(toCel(vars) as Record<string, unknown>) === true;
    } catch {
      return false; // a runtime error (missing field, no such overload) is no match
    }
  };
  if (compiled.size > 256) compiled.clear();
  compiled.set(cacheKey, predicate);
  return predicate;
}

function checkSubset(node: ASTNode, variables: string[], depth: number, counter: { nodes: number }): void {
  if (++counter.nodes > LIMITS.maxNodes) throw new FilterRefusedError('too many nodes');
  if (depth > LIMITS.maxDepth) throw new FilterRefusedError('too deep');
  const { op } = node;
  const args = node.args as never as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const walk = (child: ASTNode): void => checkSubset(child, variables, depth + 1, counter);
  switch (op) {
    case 'value':
      return checkLiteral(args);
    case 'id':
      if (!variables.includes(args)) throw new FilterRefusedError(`unknown variable ${args}`);
      return;
    case '.':
      return walk(args[0]);
    case '[]':
      return (args as ASTNode[]).forEach(walk);
    case '&&':
    case '||': // a chain `a && b && c` is one level, as in the server's flattened tree
      return (args as ASTNode[]).forEach((child) =>
        checkSubset(child, variables, child.op === op ? depth : depth + 1, counter),
      );
    case '!_':
      return walk(args);
    case '-_':
      if (args.op !== 'value' || !['bigint', 'number'].includes(typeof args.args)) {
        throw new FilterRefusedError('"-" only before a number');
      }
      if (typeof args.args === 'bigint' && -args.args < INT64_MIN) throw new FilterRefusedError('int range');
      return;
    case 'list':
      if (args.length > LIMITS.maxList) throw new FilterRefusedError('list too long');
      return (args as ASTNode[]).forEach(walk);
    case 'call': {
      const [name, callArgs] = args as [string, ASTNode[]];
      if (!FUNCTIONS.has(name)) throw new FilterRefusedError(`unknown function ${name}`);
      if (name === 'has' && callArgs[0]?.op !== '.') throw new FilterRefusedError('has() takes a.field');
      return callArgs.forEach(walk);
    }
    case 'rcall': {
      const [name, receiver, callArgs] = args as [string, ASTNode, ASTNode[]];
      if (!METHODS.has(name)) throw new FilterRefusedError(`unknown method ${name}`);
      walk(receiver);
      return callArgs.forEach(walk);
    }
    default:
      if (COMPARISONS.has(op)) return (args as ASTNode[]).forEach(walk);
      throw new FilterRefusedError(`not in the subset: ${op}`);
  }
}

function checkLiteral(value: unknown): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'bigint') {
    if (value > INT64_MAX) throw new FilterRefusedError('int range');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new FilterRefusedError('double range');
    return;
  }
  if (typeof value === 'string') {
    if ([...value].length > LIMITS.maxString) throw new FilterRefusedError('string too long');
    return;
  }
  throw new FilterRefusedError('literal not in the subset'); // bytes, uint
}

// JSON numbers without a fraction are CEL ints (bigint in cel-js), as the server reads them.
function toCel(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}
