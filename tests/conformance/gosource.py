"""Go test sources read as data: their string literals, test tables, assignments, calls and checks.

A small reader for the part of Go that test files use to state vectors: literals (interpreted strings with every
escape, raw strings, integers), composite literals (test tables, struct values), `+` on strings, slicing,
conversions and a few library calls (len, strings.Repeat, strings.Replace, errors.New). Statements are parsed
into a tree (assignments, if / for / range / switch, blocks, expression statements, function literals), so that
a test's variables can be followed in source order. Anything else is parsed loosely and left unevaluated.

Values: Go strings and []byte are Python bytes; integers are ints; slices are lists; struct literals are `Struct`;
`NewVerifier(k)`, `NewSigner(k)` and `VerifierList(...)` are recorded as `Call` values naming their arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

KEYWORDS = {"break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
            "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
            "switch", "type", "var"}
_OPS = sorted([
    "<<=", ">>=", "&^=", "...", "&&", "||", "<-", "++", "--", "==", "!=", "<=", ">=", ":=", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=", "<<", ">>", "&^", "+", "-", "*", "/", "%", "&", "|", "^", "<", ">", "=", "!",
    "(", ")", "[", "]", "{", "}", ",", ";", ".", ":", "~"
], key=len, reverse=True)
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


class GoSyntaxError(ValueError):
    pass


class Unevaluated(ValueError):
    """An expression this reader does not evaluate."""


# --- tokens -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tok:
    kind: str  # ident, int, float, str, rune, op, ;, eof
    value: object
    line: int


def _unquote(body: str, line: int, quote: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES and (e != "'" or quote == "'") and (e != '"' or quote == '"'):
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e in "01234567":
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + n], 16)).encode("utf-8")
            i += 2 + n
        else:
            raise GoSyntaxError(f"line {line}: unknown escape \\{e}")
    return bytes(out)


def tokenize(source: str) -> list[Tok]:
    toks: list[Tok] = []
    i, line = 0, 1

    def semicolon_due() -> bool:
        if not toks:
            return False
        last = toks[-1]
        return (last.kind in ("ident", "int", "float", "str", "rune") and last.value not in KEYWORDS - {
            "break", "continue", "fallthrough", "return"}) or (last.kind == "op" and last.value in (")", "]", "}", "++", "--"))

    while i < len(source):
        c = source[i]
        if c == "\n":
            if semicolon_due():
                toks.append(Tok(";", "\n", line))
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif source.startswith("//", i):
            i = source.find("\n", i)
            i = len(source) if i < 0 else i
        elif source.startswith("/*", i):
            end = source.index("*/", i + 2)
            if "\n" in source[i:end] and semicolon_due():
                toks.append(Tok(";", "\n", line))
            line += source.count("\n", i, end)
            i = end + 2
        elif c == "`":
            end = source.index("`", i + 1)
            toks.append(Tok("str", source[i + 1:end].replace("\r", "").encode("utf-8"), line))
            line += source.count("\n", i, end)
            i = end + 1
        elif c in "\"'":
            j = i + 1
            while source[j] != c:
                if source[j] == "\n":
                    raise GoSyntaxError(f"line {line}: newline in a quoted literal")
                j += 2 if source[j] == "\\" else 1
            value = _unquote(source[i + 1:j], line, c)
            if c == "'":
                toks.append(Tok("rune", ord(value.decode("utf-8")) if len(value.decode("utf-8", "replace")) == 1 else value[0], line))
            else:
                toks.append(Tok("str", value, line))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < len(source) and source[i + 1].isdigit()):
            m = _NUMBER.match(source, i)
            text = m.group(0).replace("_", "")
            if re.fullmatch(r"\d+(\.\d*)?([eE][+-]?\d+)?", text) and not text.isdigit():
                toks.append(Tok("float", float(text), line))
            else:
                toks.append(Tok("int", int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 8), line))
            i = m.end()
        elif (m := _IDENT.match(source, i)) is not None:
            toks.append(Tok("ident", m.group(0), line))
            i = m.end()
        else:
            for op in _OPS:
                if source.startswith(op, i):
                    toks.append(Tok(";" if op == ";" else "op", op, line))
                    i += len(op)
                    break
            else:
                raise GoSyntaxError(f"line {line}: unexpected {c!r}")
    if semicolon_due():
        toks.append(Tok(";", "\n", line))
    toks.append(Tok("eof", None, line))
    return toks


# --- syntax tree ---------------------------------------------------------------------------------------------------


@dataclass
class Node:
    line: int = field(default=0, kw_only=True)


@dataclass
class Lit(Node):
    value: object


@dataclass
class Name(Node):
    name: str


@dataclass
class Selector(Node):
    x: Node
    name: str


@dataclass
class CallExpr(Node):
    fn: Node
    args: list
    ellipsis: bool = False


@dataclass
class IndexExpr(Node):
    x: Node
    index: Node


@dataclass
class SliceExpr(Node):
    x: Node
    lo: Node | None
    hi: Node | None


@dataclass
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass
class Unary(Node):
    op: str
    x: Node


@dataclass
class TypeExpr(Node):
    kind: str  # slice, array, map, pointer, struct, interface, func, chan, named
    name: str = ""  # for named types: "pkg.Name" or "Name"
    elem: Node | None = None


@dataclass
class Composite(Node):
    type: Node | None  # None for an elided type inside another composite
    elements: list  # (key node or None, value node)


@dataclass
class FuncLit(Node):
    body: list


@dataclass
class TypeAssert(Node):
    x: Node


@dataclass
class Assign(Node):
    lhs: list  # nodes
    op: str  # := = += ... or "var" / "const"
    rhs: list


@dataclass
class ExprStmt(Node):
    x: Node


@dataclass
class If(Node):
    init: Node | None
    cond: Node | None
    body: list
    orelse: list


@dataclass
class Range(Node):
    lhs: list
    x: Node | None
    body: list


@dataclass
class Loop(Node):
    body: list  # a for statement other than range, or a switch / select: only its body is kept


@dataclass
class Block(Node):
    body: list


@dataclass
class Other(Node):
    text: str  # a statement read loosely (return, go, defer, break, labels, ...)


@dataclass
class Func:
    name: str
    receiver: str
    body: list


class Parser:
    def __init__(self, toks: list[Tok]):
        self.toks = toks
        self.i = 0

    # helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> Tok:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def at(self, value: str, kind: str = "op") -> bool:
        return self.tok.kind == kind and self.tok.value == value

    def at_kw(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.value == word

    def next(self) -> Tok:
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, value: str, kind: str = "op") -> Tok:
        if not self.at(value, kind):
            raise GoSyntaxError(f"line {self.tok.line}: expected {value!r}, found {self.tok.value!r}")
        return self.next()

    def skip_balanced(self) -> None:
        """Skip one bracketed group starting at the current ( [ or {."""
        pairs = {"(": ")", "[": "]", "{": "}"}
        stack = [pairs[self.next().value]]
        while stack:
            tok = self.next()
            if tok.kind == "eof":
                raise GoSyntaxError("unbalanced brackets")
            if tok.kind == "op" and tok.value in pairs:
                stack.append(pairs[tok.value])
            elif tok.kind == "op" and tok.value == stack[-1]:
                stack.pop()

    def skip_to(self, *stops: str) -> None:
        """Skip to the next of `stops` (ops or ';') outside brackets, not consuming it."""
        while not (self.tok.kind in ("op", ";") and self.tok.value in stops or (";" in stops and self.tok.kind == ";")):
            if self.tok.kind == "eof":
                return
            if self.tok.kind == "op" and self.tok.value in "([{":
                self.skip_balanced()
            else:
                self.next()

    # types
    def parse_type(self) -> Node:
        tok = self.tok
        if self.at("["):
            self.next()
            if self.at("]"):
                self.next()
                return TypeExpr("slice", elem=self.parse_type(), line=tok.line)
            if self.at("..."):
                self.next()
            else:
                self.parse_expr()
            self.expect("]")
            return TypeExpr("array", elem=self.parse_type(), line=tok.line)
        if self.at("*"):
            self.next()
            return TypeExpr("pointer", elem=self.parse_type(), line=tok.line)
        if self.at("("):
            self.next()
            inner = self.parse_type()
            self.expect(")")
            return inner
        if self.at_kw("map"):
            self.next()
            self.expect("[")
            self.parse_type()
            self.expect("]")
            return TypeExpr("map", elem=self.parse_type(), line=tok.line)
        if self.at_kw("chan"):
            self.next()
            return TypeExpr("chan", elem=self.parse_type(), line=tok.line)
        if self.at_kw("struct") or self.at_kw("interface"):
            kind = self.next().value
            self.skip_balanced()
            return TypeExpr(kind, line=tok.line)
        if self.at_kw("func"):
            self.next()
            self.skip_balanced()
            self.skip_result()
            return TypeExpr("func", line=tok.line)
        if tok.kind == "ident":
            name = self.next().value
            if self.at(".") and self.peek().kind == "ident":
                self.next()
                name += "." + self.next().value
            if self.at("["):  # type arguments
                self.skip_balanced()
            return TypeExpr("named", name=name, line=tok.line)
        raise GoSyntaxError(f"line {tok.line}: expected a type, found {tok.value!r}")

    def skip_result(self) -> None:
        """Skip a function's result type(s), stopping at its body's { (or at the end of a type)."""
        if self.at("("):
            self.skip_balanced()
        elif not (self.at("{") or self.tok.kind in (";", "eof") or self.at(")") or self.at(",") or self.at("]")):
            self.parse_type()

    # expressions
    BINARY: ClassVar[dict[str, int]] = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4, "-": 4, "|": 4, "^": 4,
              "*": 5, "/": 5, "%": 5, "<<": 5, ">>": 5, "&": 5, "&^": 5}

    def parse_expr(self, no_lit: bool = False, min_prec: int = 1) -> Node:
        left = self.parse_unary(no_lit)
        while self.tok.kind == "op" and self.BINARY.get(self.tok.value, 0) >= min_prec:
            op = self.next()
            right = self.parse_expr(no_lit, self.BINARY[op.value] + 1)
            left = Binary(op.value, left, right, line=op.line)
        return left

    def parse_unary(self, no_lit: bool) -> Node:
        if self.tok.kind == "op" and self.tok.value in ("+", "-", "!", "^", "*", "&", "<-"):
            op = self.next()
            return Unary(op.value, self.parse_unary(no_lit), line=op.line)
        return self.parse_primary(no_lit)

    def parse_operand(self, no_lit: bool) -> tuple[Node, bool]:
        """(operand, whether it may be followed by a composite literal's {)."""
        tok = self.tok
        if tok.kind in ("int", "float", "str", "rune"):
            self.next()
            return Lit(tok.value, line=tok.line), False
        if self.at("("):
            self.next()
            inner = self.parse_expr()
            self.expect(")")
            return inner, False
        if self.at("[") or self.at_kw("map") or self.at_kw("struct") or self.at_kw("chan") or self.at_kw("interface"):
            return self.parse_type(), True
        if self.at_kw("func"):
            self.next()
            self.skip_balanced()
            self.skip_result()
            if not self.at("{"):
                return TypeExpr("func", line=tok.line), False
            return FuncLit(self.parse_block(), line=tok.line), False
        if tok.kind == "ident" and tok.value not in KEYWORDS:
            self.next()
            return Name(tok.value, line=tok.line), not no_lit
        raise GoSyntaxError(f"line {tok.line}: unexpected {tok.value!r}")

    def parse_primary(self, no_lit: bool) -> Node:
        x, may_compose = self.parse_operand(no_lit)
        while True:
            tok = self.tok
            if self.at("."):
                self.next()
                if self.at("("):
                    self.skip_balanced()
                    x, may_compose = TypeAssert(x, line=tok.line), False
                else:
                    x = Selector(x, self.next().value, line=tok.line)
                    may_compose = may_compose and isinstance(x.x, Name)
            elif self.at("("):
                self.next()
                args, ellipsis = [], False
                while not self.at(")"):
                    args.append(self.parse_expr())
                    if self.at("..."):
                        self.next()
                        ellipsis = True
                    if not self.at(")"):
                        self.expect(",")
                self.next()
                x, may_compose = CallExpr(x, args, ellipsis, line=tok.line), False
            elif self.at("["):
                self.next()
                lo = None if self.at(":") else self.parse_expr()
                if self.at(":"):
                    self.next()
                    hi = None if self.at("]") else self.parse_expr()
                    if self.at(":"):
                        self.next()
                        self.parse_expr()
                    x = SliceExpr(x, lo, hi, line=tok.line)
                else:
                    x = IndexExpr(x, lo, line=tok.line)
                self.expect("]")
                may_compose = False
            elif self.at("{") and may_compose:
                x, may_compose = Composite(x, self.parse_elements(), line=tok.line), False
            else:
                return x

    def parse_elements(self) -> list:
        self.expect("{")
        elements = []
        while not self.at("}"):
            key = None
            value = Composite(None, self.parse_elements(), line=self.tok.line) if self.at("{") else self.parse_expr()
            if self.at(":"):
                self.next()
                key = value
                value = Composite(None, self.parse_elements(), line=self.tok.line) if self.at("{") else self.parse_expr()
            elements.append((key, value))
            if not self.at("}"):
                self.expect(",")
        self.next()
        return elements

    # statements
    def parse_block(self) -> list:
        self.expect("{")
        body = self.parse_statements()
        self.expect("}")
        return body

    def parse_statements(self) -> list:
        body = []
        while not (self.at("}") or self.tok.kind == "eof"):
            if self.tok.kind == ";":
                self.next()
                continue
            start = self.i
            try:
                stmt = self.parse_statement()
            except (GoSyntaxError, IndexError, ValueError):
                self.i = start
                self.skip_to(";", "}")
                stmt = Other(" ".join(str(t.value) for t in self.toks[start:self.i]), line=self.toks[start].line)
            if stmt is not None:
                body.append(stmt)
        return body

    def parse_simple(self, no_lit: bool = False) -> Node:
        line = self.tok.line
        lhs = [self.parse_expr(no_lit)]
        while self.at(","):
            self.next()
            lhs.append(self.parse_expr(no_lit))
        if self.tok.kind == "op" and (self.tok.value in (":=", "=") or (self.tok.value.endswith("=") and self.tok.value not in (
                "==", "!=", "<=", ">="))):
            op = self.next().value
            if self.at_kw("range"):
                self.next()
                return Range(lhs, self.parse_expr(no_lit), [], line=line)
            rhs = [self.parse_expr(no_lit)]
            while self.at(","):
                self.next()
                rhs.append(self.parse_expr(no_lit))
            return Assign(lhs, op, rhs, line=line)
        if self.tok.kind == "op" and self.tok.value in ("++", "--"):
            op = self.next().value
            return Assign(lhs, op, [], line=line)
        if len(lhs) != 1:
            raise GoSyntaxError(f"line {line}: an expression list is not a statement")
        return ExprStmt(lhs[0], line=line)

    def parse_statement(self) -> Node | None:
        tok = self.tok
        word = tok.value if tok.kind == "ident" else None
        if self.at("{"):
            return Block(self.parse_block(), line=tok.line)
        if word == "if":
            self.next()
            init, cond = None, self.parse_simple(no_lit=True)
            if self.tok.kind == ";":
                self.next()
                init, cond = cond, self.parse_simple(no_lit=True)
            body = self.parse_block()
            orelse = []
            if self.at_kw("else"):
                self.next()
                orelse = [self.parse_statement()] if self.at_kw("if") else self.parse_block()
            return If(init, cond.x if isinstance(cond, ExprStmt) else cond, body, orelse, line=tok.line)
        if word == "for":
            self.next()
            if self.at_kw("range"):
                self.next()
                stmt = Range([], self.parse_expr(no_lit=True), [], line=tok.line)
                stmt.body = self.parse_block()
                return stmt
            start = self.i
            try:
                head = None if self.at("{") else self.parse_simple(no_lit=True)
            except GoSyntaxError:
                head = None
            if isinstance(head, Range) and self.at("{"):
                head.body = self.parse_block()
                return head
            self.i = start
            self.skip_to("{")
            return Loop(self.parse_block(), line=tok.line)
        if word in ("switch", "select"):
            self.next()
            self.skip_to("{")
            return Loop(self.parse_block(), line=tok.line)
        if word in ("case", "default"):
            self.skip_to(":")
            self.next()
            return None
        if word in ("var", "const"):
            self.next()
            if self.at("("):
                self.next()
                specs = []
                while not self.at(")"):
                    if self.tok.kind == ";":
                        self.next()
                        continue
                    specs.append(self.parse_spec(word))
                self.next()
                return Block(specs, line=tok.line)
            return self.parse_spec(word)
        if word == "type":
            self.next()
            self.skip_to(";")
            return None
        if word in ("return", "go", "defer", "break", "continue", "goto", "fallthrough"):
            self.next()
            start = self.i
            self.skip_to(";", "}")
            return Other(word + " " + " ".join(str(t.value) for t in self.toks[start:self.i]), line=tok.line)
        if tok.kind == "ident" and self.peek().kind == "op" and self.peek().value == ":" and tok.value not in KEYWORDS:
            self.next()
            self.next()
            return None  # a label
        return self.parse_simple()

    def parse_spec(self, word: str) -> Node:
        line = self.tok.line
        names = [Name(self.next().value, line=line)]
        while self.at(","):
            self.next()
            names.append(Name(self.next().value, line=line))
        if not self.at("=") and self.tok.kind != ";":
            self.parse_type()
        rhs = []
        if self.at("="):
            self.next()
            rhs.append(self.parse_expr())
            while self.at(","):
                self.next()
                rhs.append(self.parse_expr())
        return Assign(names, word, rhs, line=line)

    def parse_file(self) -> tuple[list, dict[str, Func]]:
        top, funcs = [], {}
        while self.tok.kind != "eof":
            if self.tok.kind == ";":
                self.next()
            elif self.at_kw("package") or self.at_kw("import"):
                self.next()
                if self.at("("):
                    self.skip_balanced()
                else:
                    self.skip_to(";")
            elif self.at_kw("func"):
                self.next()
                receiver = ""
                if self.at("("):
                    start = self.i
                    self.skip_balanced()
                    receiver = " ".join(str(t.value) for t in self.toks[start + 1:self.i - 1])
                name = self.next().value
                if self.at("["):
                    self.skip_balanced()
                self.skip_balanced()  # parameters
                self.skip_result()
                body = self.parse_block() if self.at("{") else []
                funcs[f"{receiver.split()[-1].lstrip('*')}.{name}" if receiver else name] = Func(name, receiver, body)
            else:
                stmt = self.parse_statement()
                if stmt is not None:
                    top.append(stmt)
        return top, funcs


# --- evaluation ---------------------------------------------------------------------------------------------------


@dataclass
class Struct:
    type: str  # "log.Checkpoint", "Signature", "" for an elided type
    fields: dict  # keyed elements
    positional: list  # unkeyed elements


@dataclass
class Call:
    """A call this reader records rather than runs, e.g. NewVerifier(key)."""

    fn: str
    args: list


@dataclass
class Each:
    """The variable of a range loop: it takes each of `values` in turn."""

    values: list


@dataclass
class GoError:
    text: str


Methods = dict  # "Type.Method" -> python function(receiver value, *args)


class Evaluator:
    def __init__(self, env: dict, methods: Methods | None = None):
        self.env = env
        self.methods = methods or {}

    def __call__(self, node: Node):
        return self.eval(node)

    def eval(self, node: Node):  # one case per node kind
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Name):
            if node.name in ("true", "false"):
                return node.name == "true"
            if node.name == "nil":
                return None
            if node.name in self.env:
                return self.env[node.name]
            raise Unevaluated(f"line {node.line}: {node.name} has no known value")
        if isinstance(node, Binary):
            left, right = self.eval(node.left), self.eval(node.right)
            ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "==": lambda a, b: a == b,
                   "!=": lambda a, b: a != b, "&&": lambda a, b: a and b, "||": lambda a, b: a or b}
            if node.op not in ops:
                raise Unevaluated(f"line {node.line}: operator {node.op}")
            return ops[node.op](left, right)
        if isinstance(node, Unary):
            x = self.eval(node.x)
            if node.op == "-":
                return -x
            if node.op == "!":
                return not x
            if node.op in ("&", "+"):
                return x
            raise Unevaluated(f"line {node.line}: unary {node.op}")
        if isinstance(node, SliceExpr):
            x = self.eval(node.x)
            lo = 0 if node.lo is None else self.eval(node.lo)
            hi = len(x) if node.hi is None else self.eval(node.hi)
            return x[lo:hi]
        if isinstance(node, IndexExpr):
            return self.eval(node.x)[self.eval(node.index)]
        if isinstance(node, Selector):
            x = self.eval(node.x)
            if isinstance(x, Struct) and node.name in x.fields:
                return x.fields[node.name]
            raise Unevaluated(f"line {node.line}: .{node.name}")
        if isinstance(node, Composite):
            return self.composite(node)
        if isinstance(node, CallExpr):
            return self.call(node)
        raise Unevaluated(f"line {node.line}: {type(node).__name__}")

    def composite(self, node: Composite, elided: Node | None = None):
        kind = node.type if node.type is not None else elided
        elem = kind.elem if isinstance(kind, TypeExpr) and kind.kind in ("slice", "array", "map") else None
        if isinstance(kind, TypeExpr) and kind.kind in ("slice", "array"):
            return [self.composite(v, elem) if isinstance(v, Composite) and v.type is None else self.eval(v)
                    for _, v in node.elements]
        if isinstance(kind, TypeExpr) and kind.kind == "map":
            return {self.eval(k): (self.composite(v, elem) if isinstance(v, Composite) and v.type is None else self.eval(v))
                    for k, v in node.elements}
        name = kind.name if isinstance(kind, TypeExpr) else _dotted(kind) if kind is not None else ""
        fields, positional = {}, []
        for key, value in node.elements:
            v = self.eval(value)
            if key is None:
                positional.append(v)
            else:
                fields[key.name if isinstance(key, Name) else self.eval(key)] = v
        return Struct(name, fields, positional)

    def call(self, node: CallExpr):
        fn = node.fn
        if isinstance(fn, TypeExpr) or (isinstance(fn, Name) and fn.name in (
                "string", "uint64", "uint32", "int", "int64", "uint", "byte")):
            (arg,) = node.args
            return self.eval(arg)
        name = _dotted(fn)
        args = [self.eval(a) for a in node.args]
        if name == "len":
            return len(args[0])
        if name == "strings.Repeat":
            return args[0] * args[1]
        if name in ("strings.Replace", "strings.ReplaceAll"):
            count = args[3] if name == "strings.Replace" else -1
            return args[0].replace(args[1], args[2], count if count >= 0 else -1)
        if name == "errors.New":
            return GoError(args[0].decode("utf-8"))
        if isinstance(fn, Selector) and not (isinstance(fn.x, Name) and fn.x.name in _PACKAGES):
            receiver = self.eval(fn.x)
            method = self.methods.get(f"{getattr(receiver, 'type', '')}.{fn.name}")
            if method is None:
                raise Unevaluated(f"line {node.line}: method {fn.name}")
            return method(receiver, *args)
        return Call(name, args)


_PACKAGES = {"note", "log", "strings", "errors", "fmt", "bytes", "strconv"}  # calls on these are not method calls


def _dotted(node: Node) -> str:
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Selector):
        return _dotted(node.x) + "." + node.name
    if isinstance(node, TypeExpr):
        return node.name
    return "?"


# --- a Go file ------------------------------------------------------------------------------------------------------


def walk(body: list, into_funcs: bool = True):
    """Every statement in `body`, in source order, descending into blocks (and function literals)."""
    for stmt in body:
        yield stmt
        children = []
        if isinstance(stmt, If):
            children = ([stmt.init] if stmt.init is not None else []) + stmt.body + stmt.orelse
        elif isinstance(stmt, (Range, Loop, Block)):
            children = stmt.body
        yield from walk(children, into_funcs)
        if into_funcs:
            for lit in _func_lits(stmt):
                yield from walk(lit.body, into_funcs)


def _func_lits(stmt: Node):
    """Function literals in a statement's own expressions (not in its nested statements)."""
    exprs = []
    if isinstance(stmt, Assign):
        exprs = stmt.lhs + stmt.rhs
    elif isinstance(stmt, ExprStmt):
        exprs = [stmt.x]
    elif isinstance(stmt, If):
        exprs = [stmt.cond] if stmt.cond is not None else []
    elif isinstance(stmt, Range):
        exprs = [stmt.x] if stmt.x is not None else []
    for expr in exprs:
        yield from (n for n in nodes(expr) if isinstance(n, FuncLit))


def nodes(node):
    """Every expression node under `node` (itself included), not entering function literals' bodies."""
    if node is None:
        return
    yield node
    if isinstance(node, (Selector, TypeAssert)):
        yield from nodes(node.x)
    elif isinstance(node, CallExpr):
        yield from nodes(node.fn)
        for a in node.args:
            yield from nodes(a)
    elif isinstance(node, (IndexExpr, SliceExpr)):
        yield from nodes(node.x)
        for part in (getattr(node, "index", None), getattr(node, "lo", None), getattr(node, "hi", None)):
            yield from nodes(part)
    elif isinstance(node, Binary):
        yield from nodes(node.left)
        yield from nodes(node.right)
    elif isinstance(node, Unary):
        yield from nodes(node.x)
    elif isinstance(node, Composite):
        for k, v in node.elements:
            yield from nodes(k)
            yield from nodes(v)


class GoFile:
    def __init__(self, source: bytes | str, methods: Methods | None = None):
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        self.top, self.funcs = Parser(tokenize(text)).parse_file()
        self.methods = methods or {}
        self.globals: dict = {}
        for stmt, _ in self._run(self.top, self.globals):
            pass

    def _run(self, body: list, env: dict):
        """Follow the assignments of `body` in source order (function literals' bodies excepted), yielding each
        statement with (a copy of) the variables as they stand just before it."""
        evaluate = Evaluator(env, self.methods)
        for stmt in walk(body, into_funcs=False):
            yield stmt, dict(env)
            if isinstance(stmt, Assign) and stmt.rhs:
                values = []
                for expr in stmt.rhs:
                    try:
                        values.append(evaluate(expr))
                    except (Unevaluated, TypeError, KeyError, IndexError, AttributeError, ValueError):
                        values.append(_UNKNOWN)
                if len(values) == 1 and len(stmt.lhs) > 1:
                    values += [_UNKNOWN] * (len(stmt.lhs) - 1)  # a call with several results: the first is kept
                for target, value in zip(stmt.lhs, values, strict=False):
                    if isinstance(target, Name) and target.name != "_":
                        if value is _UNKNOWN:
                            env.pop(target.name, None)
                        else:
                            env[target.name] = value
            elif isinstance(stmt, Range) and stmt.x is not None:
                try:
                    values = Evaluator(env, self.methods)(stmt.x)
                except (Unevaluated, TypeError, KeyError):
                    continue
                names = [t.name for t in stmt.lhs if isinstance(t, Name)]
                if len(names) == 2 and names[1] != "_":
                    env[names[1]] = Each(list(values))

    def trace(self, func: str):
        """(statement, variables before it) for each statement of `func`, in order; globals are visible."""
        yield from self._run(self.funcs[func].body, dict(self.globals))

    def variables(self, func: str) -> dict:
        """The variables of `func` as they stand at its end (globals included)."""
        env = dict(self.globals)
        for _ in self._run(self.funcs[func].body, env):
            pass
        return env

    def evaluate(self, node: Node, env: dict):
        return Evaluator(env, self.methods)(node)

    def ranges(self, func: str) -> list:
        """The values each `for ... range` of `func` walks (a test table), in order."""
        found = []
        for stmt, env in self.trace(func):
            if isinstance(stmt, Range) and stmt.x is not None:
                found.append(self.evaluate(stmt.x, env))
        return found

    def calls(self, func: str, name: str) -> list[CallExpr]:
        """Every call of `name` ("Open", "log.ParseCheckpoint", ...) in `func`, function literals included."""
        found = []
        for stmt in walk(self.funcs[func].body):
            exprs = []
            if isinstance(stmt, Assign):
                exprs = stmt.rhs
            elif isinstance(stmt, ExprStmt):
                exprs = [stmt.x]
            elif isinstance(stmt, If):
                exprs = [stmt.cond]
            for expr in exprs:
                found += [n for n in nodes(expr) if isinstance(n, CallExpr) and _dotted(n.fn) == name]
        return found


_UNKNOWN = object()
