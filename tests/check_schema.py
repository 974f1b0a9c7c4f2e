#!/usr/bin/env python3
"""Validate JSON lines against events/events.schema.json.

usage: check_schema.py SCHEMA FILE [MIN_LINES]
       check_schema.py --expect-invalid SCHEMA FILE
Every line must parse as JSON and validate; at least MIN_LINES (default 1)
lines must be present, so an empty file cannot pass.

With --expect-invalid each line is {"why": TEXT, "event": EVENT}: EVENT must
be rejected, and for the reason TEXT names (a part of the validator's
message), so a schema that rejects it for another reason, or a crash, fails.
"""
import json
import sys

import jsonschema


def validator_for(schema_path):
    with open(schema_path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def expect_invalid(validator, data_path):
    n = 0
    with open(data_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            case = json.loads(line)
            messages = [e.message for e in validator.iter_errors(case["event"])]
            if not messages:
                print(f"{data_path}:{lineno}: accepted, but should fail: {case['why']}")
                return 1
            if not any(case["why"] in m for m in messages):
                print(f"{data_path}:{lineno}: rejected for another reason: {messages}")
                return 1
            n += 1
    if n == 0:
        print(f"{data_path}: no cases")
        return 1
    print(f"{data_path}: all {n} bad events rejected for the reason named")
    return 0


def main():
    if sys.argv[1] == "--expect-invalid":
        return expect_invalid(validator_for(sys.argv[2]), sys.argv[3])
    schema_path, data_path = sys.argv[1], sys.argv[2]
    min_lines = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    validator = validator_for(schema_path)
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
