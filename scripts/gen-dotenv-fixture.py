#!/usr/bin/env python3
"""Writes tests/fixtures/dotenv-cases.json: tricky .env files and what python-dotenv makes of them.

The original Python script loaded its .env with python-dotenv; src/envfile.rs reads .env files the
same way, and its tests compare against this table. Made with:

    pip install python-dotenv==1.2.2
    python3 scripts/gen-dotenv-fixture.py > tests/fixtures/dotenv-cases.json

Each case is written to a file and read as `load_dotenv(path, encoding="utf-8-sig")` reads it
(the values it would set before skipping variables the environment already has; interpolation of
${VAR} prefers the environment). That is load_dotenv's default except that a leading byte-order mark
is dropped (with plain "utf-8" the first key would start with U+FEFF; we deliberately accept the BOM
that Windows editors write). `errors` lists the lines python-dotenv could not parse (it warns and
skips them; we refuse them), as the line where the statement starts.
"""

import io
import json
import os
import sys
import tempfile

from importlib.metadata import version

from dotenv.main import DotEnv
from dotenv.parser import parse_stream

# Interpolation reads the process environment; the Rust test gives its resolver the same one.
ENVIRONMENT = {"FIXTURE_FROM_ENV": "from-env"}

CASES = [
    ("plain", "A=1\nB=two\n"),
    ("unquoted inner spaces (old SERVER_NAME)", "SERVER_NAME=华为 新加坡\n"),
    ("unquoted list with spaces", "FREE_RESOURCE_IDS=a1, b2\n"),
    ("spaces around the equals sign", "A = spaced  \nB\t=\ttab\n"),
    ("inline comment needs a space before #", "A=value # comment\nB=value#not-a-comment\nC=x\t# tab comment\n"),
    ("value that starts with #", "A=#hash\nB= #hash\n"),
    ("comment lines and blank lines", "# comment\n\n   # indented comment\nA=1\n\n\n"),
    ("export prefix", "export A=1\nexport\tB=2\nexport=3\n"),
    ("empty values", "A=\nB=''\nC=\"\"\nD= \nE= # only a comment\n"),
    ("key without equals sign", "A\nB=1\n"),
    ("equals signs in values", "A=b=c\nB='x=y'\nC=\"==\"\nTOKEN=abc==\n"),
    ("single quotes are literal except \\' and \\\\", "A='a b # c'\nB='it\\'s'\nC='back\\\\slash'\nD='\\n stays'\n"),
    ("double quotes with escapes", "A=\"a\\tb\"\nB=\"line\\nbreak\"\nC=\"say \\\"hi\\\"\"\nD=\"back\\\\slash\"\nE=\"\\x41 kept\"\n"),
    ("quoted value then comment", "A=\"quoted\" # comment\nB='single'   # comment\n"),
    ("multi-line double-quoted value", "A=\"first\nsecond\"\nB=after\n"),
    ("CRLF line endings", "A=1\r\nB=two words\r\nC=\"q\"\r\n# c\r\n"),
    ("old Mac CR line endings", "A=1\rB=2\r"),
    ("byte-order mark", "\ufeffA=1\nB=2\n"),
    ("no newline at the end", "A=1\nB=last"),
    ("duplicate keys: the last wins", "A=1\nA=2\n"),
    ("single-quoted key", "'A'=1\n"),
    ("unicode values", "SERVER_NAME=\"东京 1\"\nB=ünï\n"),
    ("interpolation", "A=1\nB=${A}-x\nC=\"${A}\"\nD='${A}'\nE=${MISSING}\nF=${MISSING:-fallback}\nG=$A\nH=${FIXTURE_FROM_ENV}\n"),
    ("trailing whitespace and tabs", "A=value \t \nB='quoted' \t\n"),
    ("text after the closing quote is an error", "A=\"x\" y\nB=1\n"),
    ("unterminated quote is an error", "A=1\nB=\"open\nC=2\n"),
    ("line without a key is an error", "A=1\n=nokey\nC=3\n"),
    ("error after blank lines names the statement's line", "A=1\n\n\nB='x' junk\nC=2\n"),
    ("unquoted value with quotes inside", "A=it's\nB=say \"hi\"\n"),
    ("backslashes in unquoted values stay", "A=C:\\path\\n\nB=\\\"\n"),
    ("a SK-like secret", "HUAWEICLOUD_SDK_SK=aB3+/x9$Zk#q==\n"),
    ("the environment wins in interpolation", "FIXTURE_FROM_ENV=file\nX=${FIXTURE_FROM_ENV}\n"),
    ("a quoted value ending in a backslash", "A='abc\\'\nB=1\n"),
    ("escaped quote then more text", "A='a\\' b'\nB=\"x\\\" y\" # c\n"),
]


def read(text):
    with tempfile.NamedTemporaryFile("wb", suffix=".env", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        values = DotEnv(path, encoding="utf-8-sig", interpolate=True, override=False).dict()
        errors = []
        with open(path, encoding="utf-8-sig") as stream:
            for binding in parse_stream(stream):
                if binding.error:
                    s = binding.original.string
                    lead = s[: len(s) - len(s.lstrip())]
                    errors.append(binding.original.line + lead.count("\n"))
        return values, errors
    finally:
        os.unlink(path)


def main():
    for k in list(os.environ):
        if k.startswith("FIXTURE_") or k in ("A", "B", "C", "MISSING"):
            del os.environ[k]
    os.environ.update(ENVIRONMENT)
    out = {
        "generated_by": "python3 scripts/gen-dotenv-fixture.py (python-dotenv %s)" % version("python-dotenv"),
        "environment": ENVIRONMENT,
        "cases": [],
    }
    for name, text in CASES:
        values, errors = read(text)
        out["cases"].append(
            {"name": name, "input": text, "values": [[k, v] for k, v in values.items()], "error_lines": errors}
        )
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
