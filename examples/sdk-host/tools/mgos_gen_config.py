#!/usr/bin/env python3
"""Configuration generator of the host SDK (standard library only).

Reads config schemas (YAML lists of entries, as mos writes mos_conf_schema.yml)
and writes <c_name>.h and <c_name>.c into --dest_dir: a struct holding every
setting, a global instance with the defaults, and inline getters and setters
named <c_global_name>_get_<path> / _set_<path>. A file is rewritten only when
its text changes.

Schema entries, later ones winning:
  [path, "o", {attrs}]               an object (parents are created as needed)
  [path, type, default, {attrs}?]    a setting; types: i ui d f b s
  [path, type, {attrs}]              a setting with a zero default
  [path, default]                    new default for an existing setting
Only the "title" attribute is used (as a comment).

Python has no YAML module, so this reads the subset mos produces: block
sequences and mappings (yaml.v2 style, including "- - item" and long plain
scalars folded over lines), flow [..] and {..} collections, plain, single-
and double-quoted scalars and comments. Block scalars (| and >), anchors,
aliases, tags and multiple documents are rejected with an error.
"""

import argparse
import os
import re
import sys


class SchemaError(Exception):
    pass


# ---- YAML subset -------------------------------------------------------------

_BOOL = {
    "y": True, "Y": True, "yes": True, "Yes": True, "YES": True,
    "true": True, "True": True, "TRUE": True, "on": True, "On": True, "ON": True,
    "n": False, "N": False, "no": False, "No": False, "NO": False,
    "false": False, "False": False, "FALSE": False,
    "off": False, "Off": False, "OFF": False,
}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
            "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
            "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0"}


def resolve_plain(s):
    """Type of an unquoted scalar, as yaml.v2 decodes it."""
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in _BOOL:
        return _BOOL[s]
    if _INT.match(s):
        return int(s.replace("_", ""))
    m = re.match(r"^([-+]?)0(x[0-9a-fA-F_]+|o[0-7_]+|b[01_]+|[0-7_]+)$", s)
    if m:
        digits = m.group(2).replace("_", "")
        base = {"x": 16, "o": 8, "b": 2}.get(digits[0], 8)
        v = int(digits[1:] if base != 8 or digits[0] == "o" else digits, base)
        return -v if m.group(1) == "-" else v
    if _FLOAT.match(s) and any(c.isdigit() for c in s):
        return float(s.replace("_", ""))
    if s.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        return float(s.lower().replace(".", ""))
    return s


class Yaml:
    """A small reader for the YAML subset described in the module comment."""

    def __init__(self, text, name):
        self.name = name
        self.lines = text.split("\n")
        self.pos = 0

    def err(self, msg, pos=None):
        line = (pos if pos is not None else self.pos) + 1
        return SchemaError("%s:%d: %s" % (self.name, line, msg))

    # Lines.
    def indent(self, i):
        line = self.lines[i]
        n = len(line) - len(line.lstrip(" "))
        if line[n:n + 1] == "\t":
            raise self.err("tab in indentation", i)
        return n

    def blank(self, i):
        s = self.lines[i].strip()
        return s == "" or s.startswith("#")

    def skip_blank(self):
        while self.pos < len(self.lines) and self.blank(self.pos):
            self.pos += 1
        return self.pos < len(self.lines)

    def parse(self):
        if self.skip_blank() and self.lines[self.pos].strip() == "---":
            self.pos += 1
        if not self.skip_blank():
            return None
        v = self.block(self.indent(self.pos), -1)
        if self.skip_blank():
            if self.lines[self.pos].strip() in ("---", "..."):
                raise self.err("only one document is supported")
            raise self.err("unexpected text")
        return v

    # Block structure.
    def block(self, col, parent):
        """The node starting at self.pos, whose first line is at column col."""
        text = self.lines[self.pos][col:]
        if text.startswith(("&", "*", "!")):
            raise self.err("anchors, aliases and tags are not supported")
        if text == "-" or text.startswith("- "):
            return self.seq(col)
        if self.key_end(text) is not None:
            return self.mapping(col)
        return self.inline(col, parent)

    def seq(self, col):
        items = []
        while self.skip_blank():
            ind = self.indent(self.pos)
            text = self.lines[self.pos][ind:]
            if ind < col or not (text == "-" or text.startswith("- ")):
                if ind > col:
                    raise self.err("bad indentation")
                break
            if ind > col:
                raise self.err("bad indentation of a list item")
            rest = text[1:]
            body = rest.lstrip(" ")
            if body == "" or body.startswith("#"):
                self.pos += 1
                if self.skip_blank() and self.indent(self.pos) > col:
                    items.append(self.block(self.indent(self.pos), col))
                else:
                    items.append(None)
                continue
            # "- x": x is a node at the column where it starts.
            sub = col + 1 + len(rest) - len(body)
            self.lines[self.pos] = " " * sub + body
            items.append(self.block(sub, col))
        return items

    @staticmethod
    def key_end(text):
        """Index of the ':' ending a mapping key at the start of text, or None."""
        if text[:1] in ('"', "'"):
            end = Yaml.quote_end(text, 0)
            if end is None:
                return None
            rest = text[end:]
            if rest.startswith(":") and (len(rest) == 1 or rest[1] in " \t"):
                return end
            return None
        if text[:1] in "[{#|>" or text.startswith("- "):
            return None
        m = re.search(r":(\s|$)", text)
        if not m or " #" in text[:m.start()]:
            return None
        return m.start()

    @staticmethod
    def quote_end(text, i):
        """Index just past the quoted scalar starting at text[i], or None."""
        q = text[i]
        j = i + 1
        while j < len(text):
            c = text[j]
            if q == '"' and c == "\\":
                j += 2
                continue
            if c == q:
                if q == "'" and text[j + 1:j + 2] == "'":
                    j += 2
                    continue
                return j + 1
            j += 1
        return None

    def mapping(self, col):
        d = {}
        while self.skip_blank():
            ind = self.indent(self.pos)
            if ind != col:
                if ind > col:
                    raise self.err("bad indentation of a mapping entry")
                break
            text = self.lines[self.pos][col:]
            end = self.key_end(text)
            if end is None:
                raise self.err("expected 'key: value'")
            key = self.scalar_text(text[:end].strip())
            if key in d:
                raise self.err("duplicate key %r" % (key,))
            body = text[end + 1:].lstrip(" ")
            if body == "" or body.startswith("#"):
                self.pos += 1
                nxt = self.skip_blank()
                if nxt and self.indent(self.pos) > col:
                    d[key] = self.block(self.indent(self.pos), col)
                elif nxt and self.indent(self.pos) == col and \
                        re.match(r"-( |$)", self.lines[self.pos][col:]):
                    d[key] = self.seq(col)  # yaml.v2 puts a list under its key
                else:
                    d[key] = None
                continue
            sub = col + len(text) - len(body)
            self.lines[self.pos] = " " * sub + body
            d[key] = self.inline(sub, col)
        return d

    def scalar_text(self, s):
        if s[:1] == '"':
            return self.unquote_double(s[1:-1])
        if s[:1] == "'":
            return s[1:-1].replace("''", "'")
        return resolve_plain(s)

    # Scalars and flow collections that start at self.pos, column col.
    def inline(self, col, parent):
        text = self.lines[self.pos][col:]
        c = text[:1]
        if c in "|>":
            raise self.err("block scalars (| and >) are not supported")
        if c in "&*!":
            raise self.err("anchors, aliases and tags are not supported")
        if c in "[{":
            src = self.gather_flow(col)
            v, i = self.flow(src, 0)
            rest = src[i:].strip()
            if rest and not rest.startswith("#"):
                raise self.err("unexpected text after a flow collection")
            return v
        if c in "\"'":
            src = self.gather_quoted(col)
            end = self.quote_end(src, 0)
            rest = src[end:].strip()
            if rest and not rest.startswith("#"):
                raise self.err("unexpected text after a quoted scalar")
            return self.scalar_text(src[:end])
        # A plain scalar, maybe folded over more-indented lines.
        words = [self.strip_comment(text)]
        self.pos += 1
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.strip() == "":
                words.append("\n")
                self.pos += 1
                continue
            if self.indent(self.pos) <= parent or line.strip().startswith("#"):
                break
            words.append(self.strip_comment(line.strip()))
            self.pos += 1
        while words and words[-1] == "\n":
            words.pop()
        out = ""
        for w in words:
            out += w if (w == "\n" or out == "" or out.endswith("\n")) else " " + w
        return resolve_plain(out.strip())

    @staticmethod
    def strip_comment(s):
        m = re.search(r"\s#", s)
        return (s[:m.start()] if m else s).strip()

    def gather_quoted(self, col):
        """The quoted scalar at self.pos (folded over lines) and what follows it."""
        start = self.pos
        src = self.lines[self.pos][col:]
        self.pos += 1
        while self.quote_end(src, 0) is None:
            if self.pos >= len(self.lines):
                raise self.err("unterminated quoted scalar", start)
            line = self.lines[self.pos].strip()
            self.pos += 1
            if line == "":
                src += "\n"
            elif src.endswith("\n"):
                src += line
            elif src.endswith("\\") and src[0] == '"':
                src = src[:-1] + line  # escaped line break
            else:
                src += " " + line
        return src

    def gather_flow(self, col):
        """Text of the flow collection at self.pos, lines joined with spaces."""
        start = self.pos
        src = self.strip_comment_quoted(self.lines[self.pos][col:])
        self.pos += 1
        while not self.flow_closed(src):
            if self.pos >= len(self.lines):
                raise self.err("unterminated flow collection", start)
            src += " " + self.strip_comment_quoted(self.lines[self.pos].strip())
            self.pos += 1
        return src

    @staticmethod
    def strip_comment_quoted(s):
        """s without a trailing comment; '#' inside quotes is kept."""
        i = 0
        while i < len(s):
            c = s[i]
            if c in "\"'":
                end = Yaml.quote_end(s, i)
                if end is None:
                    return s
                i = end
                continue
            if c == "#" and (i == 0 or s[i - 1] in " \t"):
                return s[:i].rstrip()
            i += 1
        return s

    @staticmethod
    def flow_closed(s):
        depth, i = 0, 0
        while i < len(s):
            c = s[i]
            if c in "\"'":
                end = Yaml.quote_end(s, i)
                if end is None:
                    return False
                i = end
                continue
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return True
            i += 1
        return depth == 0

    def flow(self, s, i, in_map_key=False):
        """Parses a flow node at s[i]; returns (value, index after it)."""
        while i < len(s) and s[i] in " \t":
            i += 1
        if i >= len(s):
            raise self.err("unexpected end of a flow collection")
        c = s[i]
        if c == "[":
            items, i = [], i + 1
            while True:
                i = self.skip_ws(s, i)
                if s[i:i + 1] == "]":
                    return items, i + 1
                v, i = self.flow(s, i)
                items.append(v)
                i = self.skip_ws(s, i)
                if s[i:i + 1] == ",":
                    i += 1
                elif s[i:i + 1] != "]":
                    raise self.err("expected ',' or ']' in a flow list")
        if c == "{":
            d, i = {}, i + 1
            while True:
                i = self.skip_ws(s, i)
                if s[i:i + 1] == "}":
                    return d, i + 1
                k, i = self.flow(s, i, in_map_key=True)
                i = self.skip_ws(s, i)
                if s[i:i + 1] != ":":
                    raise self.err("expected ':' in a flow mapping")
                v, i = self.flow(s, i + 1)
                d[k] = v
                i = self.skip_ws(s, i)
                if s[i:i + 1] == ",":
                    i += 1
                elif s[i:i + 1] != "}":
                    raise self.err("expected ',' or '}' in a flow mapping")
        if c in "\"'":
            end = self.quote_end(s, i)
            return self.scalar_text(s[i:end]), end
        if c in "&*!|>":
            raise self.err("unsupported YAML in a flow collection: %r" % c)
        j = i
        while j < len(s) and s[j] not in ",]}":
            if s[j] == ":" and (j + 1 == len(s) or s[j + 1] in " ,]}") and in_map_key:
                break
            j += 1
        return resolve_plain(s[i:j].strip()), j

    @staticmethod
    def skip_ws(s, i):
        while i < len(s) and s[i] in " \t":
            i += 1
        return i

    def unquote_double(self, s):
        out, i = [], 0
        while i < len(s):
            c = s[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = s[i + 1:i + 2]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
            elif e in ("x", "u", "U"):
                n = {"x": 2, "u": 4, "U": 8}[e]
                try:
                    out.append(chr(int(s[i + 2:i + 2 + n], 16)))
                except ValueError:
                    raise self.err("bad escape \\%s in a quoted scalar" % e)
                i += 2 + n
            else:
                raise self.err("bad escape \\%s in a quoted scalar" % e)
        return "".join(out)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return Yaml(f.read(), path).parse()


# ---- Schema ------------------------------------------------------------------

# Schema type -> (C type, kind of default)
TYPES = {
    "i": ("int", "int"),
    "ui": ("unsigned int", "int"),
    "d": ("double", "float"),
    "f": ("float", "float"),
    "b": ("int", "bool"),
    "s": ("const char *", "str"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Node:
    def __init__(self, path, typ, default=None, title=""):
        self.path = path
        self.type = typ
        self.default = default
        self.title = title
        self.children = []  # names, in schema order (objects only)


def check_default(where, node, value):
    kind = TYPES[node.type][1]
    if value is None:
        return None
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise SchemaError("%s: %s: default %r is not an integer" % (where, node.path, value))
    if kind == "int" and node.type == "ui" and value < 0:
        raise SchemaError("%s: %s: default %r is negative" % (where, node.path, value))
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SchemaError("%s: %s: default %r is not a number" % (where, node.path, value))
    if kind == "bool" and not isinstance(value, bool):
        raise SchemaError("%s: %s: default %r is not a boolean" % (where, node.path, value))
    if kind == "str" and not isinstance(value, str):
        if isinstance(value, (bool, list, dict)):
            raise SchemaError("%s: %s: default %r is not a string" % (where, node.path, value))
        value = str(value)
    return value


class Schema:
    def __init__(self):
        self.nodes = {"": Node("", "o")}

    def add(self, where, entry):
        if not isinstance(entry, list) or len(entry) < 2 or not isinstance(entry[0], str):
            raise SchemaError("%s: entry %r: want [path, type, ...]" % (where, entry))
        path = entry[0]
        segs = path.split(".")
        if not all(_IDENT.match(s) for s in segs):
            raise SchemaError("%s: %r: path parts must be C identifiers" % (where, path))
        rest = entry[1:]
        attrs = {}
        if isinstance(rest[-1], dict):
            attrs, rest = rest[-1], rest[:-1]
        if not rest:
            raise SchemaError("%s: %s: no type" % (where, path))
        old = self.nodes.get(path)
        if len(entry) == 2 and old is not None and old.type != "o":
            # [path, default]: a new default for an existing setting.
            old.default = check_default(where, old, entry[1])
            return
        typ = rest[0]
        if not isinstance(typ, str) or (typ != "o" and typ not in TYPES):
            raise SchemaError("%s: %s: unknown type %r (want o, %s)" %
                              (where, path, typ, ", ".join(sorted(TYPES))))
        if typ == "o" and len(rest) > 1:
            raise SchemaError("%s: %s: an object has no default" % (where, path))
        if len(rest) > 2:
            raise SchemaError("%s: %s: too many items" % (where, path))
        parent = ".".join(segs[:-1])
        self.ensure_object(where, parent)
        if old is not None and (old.type == "o") != (typ == "o"):
            raise SchemaError("%s: %s: redefined as %s" % (where, path,
                              "an object" if typ == "o" else "a setting"))
        node = Node(path, typ, title=str(attrs.get("title", "") or ""))
        if old is not None:
            node.children = old.children
        else:
            self.nodes[parent].children.append(segs[-1])
        if typ != "o":
            node.default = check_default(where, node, rest[1] if len(rest) > 1 else None)
        self.nodes[path] = node

    def ensure_object(self, where, path):
        if path in self.nodes:
            if self.nodes[path].type != "o":
                raise SchemaError("%s: %s is a setting, not an object" % (where, path))
            return
        segs = path.split(".")
        parent = ".".join(segs[:-1])
        self.ensure_object(where, parent)
        self.nodes[path] = Node(path, "o")
        self.nodes[parent].children.append(segs[-1])


# ---- C output ----------------------------------------------------------------


def c_string(s):
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127 and c != "?":
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def c_default(node):
    kind = TYPES[node.type][1]
    v = node.default
    if kind == "str":
        return "NULL" if v is None else c_string(v)
    if kind == "bool":
        return "1" if v else "0"
    if kind == "float":
        return repr(float(v or 0))
    return "%d%s" % (v or 0, "U" if node.type == "ui" else "")


def comment(text):
    return text.replace("*/", "* /").replace("\n", " ")


def gen(schema, c_name, g_name, sources):
    def struct_name(path):
        return c_name if path == "" else c_name + "_" + path.replace(".", "_")

    def child_path(path, name):
        return name if path == "" else path + "." + name

    objects = []  # post-order, so a struct is defined before its use

    def walk(path):
        for name in schema.nodes[path].children:
            p = child_path(path, name)
            if schema.nodes[p].type == "o":
                walk(p)
        objects.append(path)

    walk("")
    guard = c_name.upper() + "_H_"
    h = ["/* Generated by mgos_gen_config.py from %s. Do not edit. */" % " ".join(sources),
         "#ifndef " + guard, "#define " + guard, "",
         "#include <stddef.h>", "", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    for path in objects:
        node = schema.nodes[path]
        if node.title:
            h.append("/* %s */" % comment(node.title))
        h.append("struct %s {" % struct_name(path))
        if not node.children:
            h.append("  int unused_;")
        for name in node.children:
            ch = schema.nodes[child_path(path, name)]
            if ch.type == "o":
                h.append("  struct %s %s;" % (struct_name(ch.path), name))
            else:
                ct = TYPES[ch.type][0]
                h.append("  %s%s%s;" % (ct, "" if ct.endswith("*") else " ", name))
        h.append("};")
        h.append("")
    h.append("extern struct %s %s;" % (c_name, g_name))
    h.append("")
    for path in sorted(p for p in schema.nodes if p):
        node = schema.nodes[path]
        fn = path.replace(".", "_")
        if node.title:
            h.append("/* %s: %s */" % (path, comment(node.title)))
        if node.type == "o":
            h.append("static inline const struct %s *%s_get_%s(void) { return &%s.%s; }" %
                     (struct_name(path), g_name, fn, g_name, path))
        else:
            ct = TYPES[node.type][0]
            sep = "" if ct.endswith("*") else " "
            h.append("static inline %s%s%s_get_%s(void) { return %s.%s; }" %
                     (ct, sep, g_name, fn, g_name, path))
            h.append("static inline void %s_set_%s(%s%sv) { %s.%s = v; }" %
                     (g_name, fn, ct, sep, g_name, path))
    h += ["", "#ifdef __cplusplus", "}", "#endif", "", "#endif /* %s */" % guard, ""]

    def init(path, depth):
        lines = []
        pad = "  " * depth
        for name in schema.nodes[path].children:
            ch = schema.nodes[child_path(path, name)]
            if ch.type == "o":
                lines.append("%s.%s = {" % (pad, name))
                lines += init(ch.path, depth + 1)
                lines.append("%s}," % pad)
            else:
                lines.append("%s.%s = %s," % (pad, name, c_default(ch)))
        return lines

    c = ["/* Generated by mgos_gen_config.py from %s. Do not edit. */" % " ".join(sources),
         '#include "%s.h"' % c_name, "",
         "struct %s %s = {" % (c_name, g_name)]
    c += init("", 1)
    c += ["};", ""]
    return "\n".join(h), "\n".join(c)


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main():
    ap = argparse.ArgumentParser(description="Generate C configuration code from schemas.")
    ap.add_argument("--c_name", default="mgos_config", help="struct and file name")
    ap.add_argument("--c_global_name", default="mgos_sys_config", help="global variable name")
    ap.add_argument("--dest_dir", required=True)
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args()
    try:
        schema = Schema()
        for path in args.schemas:
            data = load_yaml(path)
            if data is None:
                continue
            if not isinstance(data, list):
                raise SchemaError("%s: want a list of entries" % path)
            for i, entry in enumerate(data):
                schema.add("%s: entry %d" % (path, i), entry)
        h, c = gen(schema, args.c_name, args.c_global_name,
                   [os.path.basename(p) for p in args.schemas])
    except (OSError, SchemaError) as e:
        print("mgos_gen_config.py: %s" % e, file=sys.stderr)
        sys.exit(1)
    os.makedirs(args.dest_dir, exist_ok=True)
    write_if_changed(os.path.join(args.dest_dir, args.c_name + ".h"), h)
    write_if_changed(os.path.join(args.dest_dir, args.c_name + ".c"), c)


if __name__ == "__main__":
    main()
