"""The YAML subset of hybrid quantization's ``<model>.quantization.cfg`` (quant_hybrid_cfg.py), read and written
here so that model preparation needs no YAML package.

What it reads: block mappings nested by indentation (spaces only), ``key: value`` lines, keys and values plain or
quoted ("..." with JSON escapes, '...' with '' for a quote), the empty mapping ``{}``, flow lists of scalars
``[1, 2.5]``, and ``#`` comments. Every value is kept as text. Anything else (``- item`` lists, flow mappings,
anchors, multi-line scalars) is refused with the file's name and the line number. The files it writes are valid
YAML, so any YAML tool reads them too.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

_PLAIN_KEY = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@\-]*")
# Plain scalars YAML would read as something other than a string.
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


class Mapping(dict):
    """A parsed mapping: str -> str | list | Mapping, with the line number of each key in ``lines``."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: Dict[str, int] = {}


def quote(text: str) -> str:
    """`text` as a YAML key or value: plain where YAML reads it back as the same string, else double-quoted."""
    if _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def number(value: float) -> str:
    """A float32 in as few digits as give it back exactly."""
    return format(float(value), ".9g")


def parse(text: str, where: str) -> Mapping:
    """The mapping `text` holds; `where` (the file name) starts every error message."""
    root = Mapping()
    stack: List[Tuple[int, Mapping]] = [(-1, root)]
    child_indent: Dict[int, int] = {}  # id(mapping) -> the indent of its keys
    previous = (-1, "", 0)  # indent, key and line of the last key given a value on its own line
    for line_no, raw in enumerate(text.splitlines(), 1):
        def fail(why: str) -> ValueError:
            return ValueError(f"{where} line {line_no}: {why}: {raw.strip()!r}")

        body = _strip_comment(raw, fail).rstrip()
        if not body.strip():
            continue
        stripped = body.lstrip(" ")
        indent = len(body) - len(stripped)
        if stripped.startswith("\t"):
            raise fail("a tab in the indentation (YAML indents with spaces)")
        if stripped.startswith(("- ", "-\t")) or stripped == "-":
            raise fail("'- item' lists are not supported here; write one 'key: value' per line")
        if indent > previous[0] >= 0:
            raise fail(f"indented under {previous[1]!r}, which already has a value on line {previous[2]} (a key "
                       f"holds either a value or indented keys)")
        while indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        expected = child_indent.setdefault(id(parent), indent)
        if indent != expected:
            raise fail(f"indented by {indent} spaces where this mapping's keys are indented by {expected}")
        key, rest = _split_key(stripped, fail)
        if key in parent:
            raise fail(f"{key!r} is given twice (first on line {parent.lines[key]})")
        parent.lines[key] = line_no
        if rest:
            parent[key] = _value(rest, fail)
            previous = (indent, key, line_no)
        else:
            previous = (-1, "", 0)
            child = Mapping()
            parent[key] = child
            stack.append((indent, child))
    return root


def _strip_comment(line: str, fail) -> str:
    """`line` without its comment: a '#' at the start or after a blank, outside quotes."""
    quote_char = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote_char:
            if c == "\\" and quote_char == '"':
                i += 1
            elif c == quote_char:
                quote_char = ""
        elif c in "\"'" and (i == 0 or line[i - 1] in " \t[,:{"):
            quote_char = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
        i += 1
    if quote_char:
        raise fail(f"a {quote_char} quote is not closed")
    return line


def _split_key(text: str, fail) -> Tuple[str, str]:
    if text[0] in "\"'":
        key, end = _quoted(text, fail)
        rest = text[end:]
        if not rest.startswith(":") or (len(rest) > 1 and rest[1] != " "):
            raise fail("expected ':' after the quoted key")
        return key, rest[1:].strip()
    if text.startswith(("{", "[", "&", "*", "!", "|", ">", "?", "%", "@", "`")):
        raise fail(f"a key cannot start with {text[0]!r} here (quote it)")
    match = re.search(r":( |$)", text)
    if match is None:
        raise fail("expected 'key: value' or 'key:'")
    key = text[:match.start()].strip()
    if not key:
        raise fail("a key is missing before ':'")
    return key, text[match.end():].strip()


def _quoted(text: str, fail) -> Tuple[str, int]:
    """The string of the quoted scalar at the start of `text`, and where it ends."""
    if text[0] == '"':
        match = re.match(r'"(?:[^"\\]|\\.)*"', text)
        if match is None:
            raise fail('a " quote is not closed')
        try:
            return json.loads(match.group(0)), match.end()
        except ValueError:
            raise fail("a bad escape in a double-quoted string") from None
    match = re.match(r"'(?:[^']|'')*'", text)
    if match is None:
        raise fail("a ' quote is not closed")
    return match.group(0)[1:-1].replace("''", "'"), match.end()


def _scalar(text: str, fail) -> str:
    if not text:
        raise fail("a value is missing")
    if text[0] in "\"'":
        value, end = _quoted(text, fail)
        if text[end:].strip():
            raise fail("text after a quoted value")
        return value
    if text.startswith(("{", "[", "&", "*", "!", "|", ">", "%", "@", "`")):
        raise fail(f"a value starting with {text[0]!r} is not supported here (quote it)")
    if ": " in text or text.endswith(":"):
        raise fail("a second ':' on the line (quote a value that contains ': ')")
    return text


def _value(text: str, fail) -> Any:
    if text == "{}":
        return Mapping()
    if text.startswith("{"):
        raise fail("flow mappings ({a: b}) are not supported; write one 'key: value' per line, indented")
    if text.startswith("["):
        if not text.endswith("]"):
            raise fail("a '[' list is not closed on its line")
        inner = text[1:-1].strip()
        return [_scalar(item.strip(), fail) for item in inner.split(",")] if inner else []
    return _scalar(text, fail)
