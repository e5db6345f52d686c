// GitHub Actions expressions: the forms the reusable workflow (.github/workflows/backup.yml) uses, and
// nothing more. A tokenizer and parser for the text inside `${{ }}` (and bare `if:`s) that refuse any
// other form, an evaluator with GitHub's semantics over context objects that refuse undeclared
// properties, interpolation of YAML values, and `if:` conditions with GitHub's implicit success().
// Used by the workflow runner (runner.ts) and test/workflow/reusable-workflow.test.ts.

/** Functions the evaluator knows (GitHub's names are case-insensitive). */
const FUNCTIONS = ['always', 'contains', 'fromJSON'];
/** Contexts the evaluator knows; which are available where is decided by the scope given. */
const CONTEXTS = ['inputs', 'secrets', 'github', 'needs', 'matrix', 'steps', 'jobs'];
const STATUS_FUNCTIONS = ['always', 'success', 'failure', 'cancelled'];
const ARITY: Record<string, number> = { always: 0, contains: 2, fromJSON: 1 };

export class ExpressionError extends Error {}

/** A context object: reading a property it does not declare is an error, not null (catches typos). */
export class Ctx {
  constructor(
    readonly name: string,
    /** Declared properties; undefined = declared but not set (reads as null, as on GitHub). */
    readonly fields: Record<string, Value | undefined>,
  ) {}
}

/** The result of a `*` filter (`needs.*.result`). */
export class Filtered {
  constructor(readonly items: Value[]) {}
}

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value } | Ctx | Filtered;
export type Scope = Record<string, Ctx>;

const KEYWORDS: Record<string, Value> = { true: true, false: false, null: null };

export type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'context'; name: string }
  | { kind: 'member'; object: Node; name: string }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: '||' | '&&' | '==' | '!='; left: Node; right: Node };

interface Token {
  type: 'string' | 'number' | 'ident' | 'punct';
  text: string;
}

const TOKEN =
  /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)(?![\w.])|([A-Za-z_][A-Za-z0-9_-]*)|(\|\||&&|==|!=|!|\(|\)|,|\.|\*))/y;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) {
      throw new ExpressionError(
        `"${source}": "${source.slice(at).trim()}" is a form this evaluator does not know (only ' strings, integers, names, . * ( ) , ! == != && ||)`,
      );
    }
    if (match[1] !== undefined) tokens.push({ type: 'string', text: match[1] });
    else if (match[2] !== undefined) tokens.push({ type: 'number', text: match[2] });
    else if (match[3] !== undefined) tokens.push({ type: 'ident', text: match[3] });
    else tokens.push({ type: 'punct', text: match[4] });
  }
  return tokens;
}

/** Parses one expression (the text inside `${{ }}`, or an `if:`); throws on any form not listed above. */
export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const fail = (problem: string): never => {
    throw new ExpressionError(`"${source}": ${problem}`);
  };
  const peek = () => tokens[pos];
  const accept = (text: string) => {
    if (peek()?.type === 'punct' && peek().text === text) {
      pos++;
      return true;
    }
    return false;
  };
  const expect = (text: string) => accept(text) || fail(`expected "${text}" at token ${pos + 1}`);

  const or = (): Node => {
    let left = and();
    while (accept('||')) left = { kind: 'binary', op: '||', left, right: and() };
    return left;
  };
  const and = (): Node => {
    let left = equality();
    while (accept('&&')) left = { kind: 'binary', op: '&&', left, right: equality() };
    return left;
  };
  const equality = (): Node => {
    const left = unary();
    for (const op of ['==', '!='] as const) {
      if (accept(op)) return { kind: 'binary', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Node => (accept('!') ? { kind: 'not', operand: unary() } : postfix());
  const postfix = (): Node => {
    let node = primary();
    while (accept('.')) {
      const token = tokens[pos++];
      if (token?.type === 'ident' || (token?.type === 'punct' && token.text === '*')) {
        node = { kind: 'member', object: node, name: token.text };
      } else {
        fail('a property name or * must follow "."');
      }
    }
    return node;
  };
  const primary = (): Node => {
    const token = tokens[pos++];
    if (!token) return fail('unexpected end');
    if (token.type === 'string') {
      return { kind: 'literal', value: token.text.slice(1, -1).replace(/''/g, "'") };
    }
    if (token.type === 'number') return { kind: 'literal', value: Number(token.text) };
    if (token.type === 'punct' && token.text === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.type !== 'ident') return fail(`"${token.text}" is a form this evaluator does not know`);
    if (Object.hasOwn(KEYWORDS, token.text)) return { kind: 'literal', value: KEYWORDS[token.text] };
    if (accept('(')) {
      const name = FUNCTIONS.find((known) => known.toLowerCase() === token.text.toLowerCase());
      if (!name) {
        fail(
          `the function ${token.text}() is not known to this evaluator (it knows ${FUNCTIONS.join(', ')})`,
        );
      }
      const args: Node[] = [];
      if (!accept(')')) {
        do args.push(or());
        while (accept(','));
        expect(')');
      }
      return { kind: 'call', name: name!, args };
    }
    if (!CONTEXTS.includes(token.text)) {
      fail(`the context "${token.text}" is not known to this evaluator (it knows ${CONTEXTS.join(', ')})`);
    }
    return { kind: 'context', name: token.text };
  };

  const node = or();
  if (pos < tokens.length) fail(`unexpected "${tokens[pos].text}"`);
  return node;
}

export function truthy(value: Value): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '';
  return true;
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? 0 : Number(value.trim());
  return NaN;
}

const kindOf = (value: Value) =>
  value === null ? 'null' : typeof value === 'object' ? 'object' : (typeof value as string);

/** GitHub's ==: different types compare as numbers; strings ignore case; objects by identity. */
export function equals(a: Value, b: Value): boolean {
  if (kindOf(a) !== kindOf(b)) return toNumber(a) === toNumber(b);
  if (typeof a === 'string') return a.toUpperCase() === (b as string).toUpperCase();
  return a === b;
}

/** A value written into a string (`with:` inputs, text around `${{ }}`). */
export function toText(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  throw new ExpressionError('an object or array would be written into a string: not a form this file uses');
}

function member(object: Value, name: string): Value {
  if (object instanceof Filtered) {
    return new Filtered(
      object.items.flatMap((item) => {
        const value = member(item, name);
        return value instanceof Filtered ? value.items : value === null ? [] : [value];
      }),
    );
  }
  if (object instanceof Ctx) {
    if (name === '*') return new Filtered(Object.values(object.fields).map((value) => value ?? null));
    const key = Object.keys(object.fields).find((field) => field.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      const known = Object.keys(object.fields);
      throw new ExpressionError(
        `${object.name}.${name} does not exist (${object.name} has ${known.length ? known.join(', ') : 'nothing'})`,
      );
    }
    return object.fields[key] ?? null;
  }
  if (object === null || typeof object !== 'object') return null;
  if (name === '*') return new Filtered(Array.isArray(object) ? object : Object.values(object));
  if (Array.isArray(object)) return null;
  const key = Object.keys(object).find((field) => field.toLowerCase() === name.toLowerCase());
  return key === undefined ? null : object[key];
}

export function evaluate(node: Node, scope: Scope): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'context': {
      const context = scope[node.name];
      if (!context) throw new ExpressionError(`the ${node.name} context is not available here`);
      return context;
    }
    case 'member':
      return member(evaluate(node.object, scope), node.name);
    case 'not':
      return !truthy(evaluate(node.operand, scope));
    case 'binary': {
      const left = evaluate(node.left, scope);
      if (node.op === '||') return truthy(left) ? left : evaluate(node.right, scope);
      if (node.op === '&&') return truthy(left) ? evaluate(node.right, scope) : left;
      const same = equals(left, evaluate(node.right, scope));
      return node.op === '==' ? same : !same;
    }
    case 'call': {
      const args = node.args.map((arg) => evaluate(arg, scope));
      if (args.length !== ARITY[node.name]) {
        throw new ExpressionError(`${node.name}() takes ${ARITY[node.name]} arguments`);
      }
      if (node.name === 'always') return true;
      if (node.name === 'fromJSON') return JSON.parse(toText(args[0])) as Value;
      const [search, item] = args;
      if (search instanceof Filtered || Array.isArray(search)) {
        return (search instanceof Filtered ? search.items : search).some((element) => equals(element, item));
      }
      return toText(search).toUpperCase().includes(toText(item).toUpperCase());
    }
  }
}

/** The `${{ }}` in a string: where each is and the expression inside (quotes may hold `}}`). */
export function expressionsIn(text: string): Array<{ start: number; end: number; source: string }> {
  const found: Array<{ start: number; end: number; source: string }> = [];
  let from = 0;
  for (let start = text.indexOf('${{', from); start >= 0; start = text.indexOf('${{', from)) {
    let i = start + 3;
    let quoted = false;
    for (; i < text.length; i++) {
      if (text[i] === "'") quoted = !quoted;
      else if (!quoted && text.startsWith('}}', i)) break;
    }
    if (i >= text.length) throw new ExpressionError(`"${text}": a \${{ without its }}`);
    found.push({ start, end: i + 2, source: text.slice(start + 3, i).trim() });
    from = i + 2;
  }
  return found;
}

/** Every expression evaluated during the runs (to show that none went unchecked). */
export const evaluatedSources = new Set<string>();

export function evaluateSource(source: string, scope: Scope): Value {
  evaluatedSources.add(source);
  return evaluate(parseExpression(source), scope);
}

/** A YAML value with `${{ }}`: one expression alone keeps its type (matrix, max-parallel); else text. */
export function interpolate(text: unknown, scope: Scope): Value {
  if (typeof text !== 'string') return text as Value;
  const expressions = expressionsIn(text);
  if (expressions.length === 1 && expressions[0].start === 0 && expressions[0].end === text.length) {
    return evaluateSource(expressions[0].source, scope);
  }
  let result = '';
  let at = 0;
  for (const { start, end, source } of expressions) {
    result += text.slice(at, start) + toText(evaluateSource(source, scope));
    at = end;
  }
  return result + text.slice(at);
}

/** Step inputs are strings, whatever the expression's type. */
export const inputText = (text: unknown, scope: Scope) => toText(interpolate(text, scope));

/** The expression of an `if:` (bare, or one `${{ }}` around all of it). */
export function conditionSource(value: unknown): string {
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new ExpressionError(`if: ${String(value)} is not an expression`);
  const expressions = expressionsIn(value);
  if (expressions.length === 0) return value.trim();
  const whole = expressions.length === 1 && value.slice(0, expressions[0].start).trim() === '';
  if (!whole || value.slice(expressions[0].end).trim() !== '') {
    // GitHub would take this as a non-empty string: always true.
    throw new ExpressionError(`if: ${value} has text around \${{ }}: it would always be true`);
  }
  return expressions[0].source;
}

function usesStatusFunction(node: Node): boolean {
  switch (node.kind) {
    case 'call':
      return STATUS_FUNCTIONS.includes(node.name) || node.args.some(usesStatusFunction);
    case 'member':
      return usesStatusFunction(node.object);
    case 'not':
      return usesStatusFunction(node.operand);
    case 'binary':
      return usesStatusFunction(node.left) || usesStatusFunction(node.right);
    default:
      return false;
  }
}

/** An `if:`; without a status function GitHub prepends `success() &&` (everything before succeeded). */
export function condition(value: unknown, scope: Scope, succeeded: boolean): boolean {
  if (value === undefined) return succeeded;
  const source = conditionSource(value);
  evaluatedSources.add(source);
  const node = parseExpression(source);
  if (!usesStatusFunction(node) && !succeeded) return false;
  return truthy(evaluate(node, scope));
}

/** Every expression of a YAML tree: each `${{ }}`, and every bare `if:`. */
export function allExpressions(
  value: unknown,
  where: string,
  out: Array<{ where: string; source: string }> = [],
) {
  if (typeof value === 'string') {
    for (const { source } of expressionsIn(value)) out.push({ where, source });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => allExpressions(item, `${where}[${index}]`, out));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'if') out.push({ where: `${where}.if`, source: conditionSource(item) });
      else allExpressions(item, `${where}.${key}`, out);
    }
  }
  return out;
}
