#!/usr/bin/env python3
"""Validate JSON lines against events/move_pages.schema.json.

usage: check_schema.py SCHEMA FILE [MIN_LINES]
Every line must parse as JSON and validate; at least MIN_LINES (default 1)
lines must be present, so an empty file cannot pass.
"""
import json
import sys

import jsonschema


def main():
    schema_path, data_path = sys.argv[1], sys.argv[2]
    min_lines = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with open(schema_path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    n = 0
    with open(data_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{data_path}:{lineno}: not JSON: {e}")
                return 1
            errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
            if errors:
                for e in errors:
                    print(f"{data_path}:{lineno}: {list(e.path)}: {e.message}")
                return 1
            n += 1
    if n < min_lines:
        print(f"{data_path}: {n} lines, expected at least {min_lines}")
        return 1
    print(f"{data_path}: {n} lines valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
