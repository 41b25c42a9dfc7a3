/**
 * A small arithmetic evaluator for the math verifier: numbers, + - * / ^ and parentheses, unary minus. Returns
 * null for anything else (or a division by zero), never throws and never evaluates code.
 */

type Token = { kind: "num"; value: number } | { kind: "op"; value: string };

export function evaluate(expression: string): number | null {
  const tokens = tokenize(expression);
  if (!tokens) return null;
  const parser = new Parser(tokens);
  const value = parser.expression();
  return value !== null && parser.done() && Number.isFinite(value) ? value : null;
}

function tokenize(text: string): Token[] | null {
  const tokens: Token[] = [];
  const re = /\s*(\d+(?:\.\d+)?|\.\d+|\*\*|[-+*/^()])/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m?.[1]) return null;
    const t = m[1];
    tokens.push(/^[\d.]/.test(t) ? { kind: "num", value: Number(t) } : { kind: "op", value: t === "**" ? "^" : t });
    at = re.lastIndex;
  }
  return tokens;
}

/** expression := term (('+'|'-') term)*; term := power (('*'|'/') power)*; power := unary ('^' power)? */
class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  done(): boolean {
    return this.at === this.tokens.length;
  }

  expression(): number | null {
    let left = this.term();
    while (left !== null && this.peekOp("+", "-")) {
      const op = this.next();
      const right = this.term();
      left = right === null ? null : op === "+" ? left + right : left - right;
    }
    return left;
  }

  private term(): number | null {
    let left = this.power();
    while (left !== null && this.peekOp("*", "/")) {
      const op = this.next();
      const right = this.power();
      if (right === null || (op === "/" && right === 0)) return null;
      left = op === "*" ? left * right : left / right;
    }
    return left;
  }

  private power(): number | null {
    const base = this.unary();
    if (base === null || !this.peekOp("^")) return base;
    this.next();
    const exponent = this.power();
    return exponent === null ? null : base ** exponent;
  }

  private unary(): number | null {
    if (this.peekOp("-")) {
      this.next();
      const v = this.unary();
      return v === null ? null : -v;
    }
    return this.primary();
  }

  private primary(): number | null {
    const t = this.tokens[this.at];
    if (t?.kind === "num") {
      this.at++;
      return t.value;
    }
    if (!this.peekOp("(")) return null;
    this.next();
    const v = this.expression();
    if (!this.peekOp(")")) return null;
    this.next();
    return v;
  }

  private peekOp(...ops: string[]): boolean {
    const t = this.tokens[this.at];
    return t?.kind === "op" && ops.includes(t.value);
  }

  private next(): string {
    const t = this.tokens[this.at++];
    return t?.kind === "op" ? t.value : "";
  }
}
