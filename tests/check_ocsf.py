#!/usr/bin/env python3
"""Check OCSF lines against mptrace's description of OCSF 1.8.0.

    check_ocsf.py DESCRIPTION FILE [MIN_LINES]
    check_ocsf.py --expect-invalid DESCRIPTION FILE

DESCRIPTION is events/ocsf-1.8.0.json (scripts/ocsf_describe.py writes it from
the schema). Every line must be an event of a class it describes, with every
required attribute (and those of the profiles metadata.profiles names), no
attribute OCSF does not have for that class or object (free-form data only in
`unmapped` and in json attributes), every value of its type, every enum
value one the schema lists, and type_uid = class_uid * 100 + activity_id.
At least MIN_LINES (default 1) lines must be present.

With --expect-invalid each line is {"why": TEXT, "event": EVENT}: EVENT must
be rejected for the reason TEXT names, so the checker itself is tested.
"""
import json
import sys


class Invalid(Exception):
    pass


def check_value(desc, spec, value, path, profiles):
    if spec.get("array"):
        if not isinstance(value, list):
            raise Invalid("%s: not an array" % path)
        for i, v in enumerate(value):
            check_scalar(desc, spec, v, "%s[%d]" % (path, i), profiles)
    else:
        check_scalar(desc, spec, value, path, profiles)


def check_scalar(desc, spec, value, path, profiles):
    if "object" in spec:
        obj = desc["objects"].get(spec["object"])
        if obj is None:
            raise Invalid("%s: object %s is not in mptrace's description" % (path, spec["object"]))
        check_object(desc, obj["attributes"], value, path, profiles)
        return
    t = spec["type"]
    ok = {"string": lambda v: isinstance(v, str),
          "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "boolean": lambda v: isinstance(v, bool),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "json": lambda v: True}[t](value)
    if not ok:
        raise Invalid("%s: %r is not of type %s" % (path, value, t))
    if "enum" in spec and value not in spec["enum"]:
        raise Invalid("%s: %r is not one of the enum values %s" % (path, value, spec["enum"]))


def check_object(desc, attrs, value, path, profiles):
    if not isinstance(value, dict):
        raise Invalid("%s: not an object" % path)
    for name, v in value.items():
        spec = attrs.get(name)
        if spec is None:
            raise Invalid("%s.%s: unknown attribute (extras belong in unmapped)" % (path, name))
        if spec.get("profile") and spec["profile"] not in profiles:
            raise Invalid("%s.%s: of profile %s, which metadata.profiles does not name" %
                          (path, name, spec["profile"]))
        check_value(desc, spec, v, "%s.%s" % (path, name), profiles)
    for name, spec in attrs.items():
        if spec["requirement"] != "required" or name in value:
            continue
        if spec.get("profile") and spec["profile"] not in profiles:
            continue
        raise Invalid("%s.%s: required attribute missing" % (path, name))


def check_event(desc, ev):
    if not isinstance(ev, dict):
        raise Invalid("not an object")
    classes = {c["class_uid"]: (name, c) for name, c in desc["classes"].items()}
    if ev.get("class_uid") not in classes:
        raise Invalid("class_uid %r is not a class mptrace emits" % ev.get("class_uid"))
    name, cls = classes[ev["class_uid"]]
    profiles = ev.get("metadata", {}).get("profiles", [])
    check_object(desc, cls["attributes"], ev, name, profiles)
    if ev["category_uid"] != cls["category_uid"]:
        raise Invalid("%s: category_uid %r, not %d" % (name, ev["category_uid"],
                                                       cls["category_uid"]))
    if ev["type_uid"] != ev["class_uid"] * 100 + ev["activity_id"]:
        raise Invalid("%s: type_uid %r is not class_uid * 100 + activity_id" %
                      (name, ev["type_uid"]))
    if ev["metadata"]["version"] != desc["ocsf_version"]:
        raise Invalid("metadata.version %r, not %s" % (ev["metadata"]["version"],
                                                      desc["ocsf_version"]))
    # evidence carried as data is an event of its own: it must hold up too
    for i, e in enumerate(ev.get("evidences", [])):
        if isinstance(e.get("data"), dict) and "class_uid" in e["data"]:
            check_event(desc, e["data"])


def main():
    expect_invalid = sys.argv[1] == "--expect-invalid"
    args = sys.argv[2:] if expect_invalid else sys.argv[1:]
    with open(args[0]) as f:
        desc = json.load(f)
    min_lines = int(args[2]) if len(args) > 2 else 1
    n, classes = 0, {}
    with open(args[1], encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            obj = json.loads(line)
            if expect_invalid:
                try:
                    check_event(desc, obj["event"])
                except Invalid as e:
                    if obj["why"] not in str(e):
                        print("%s:%d: rejected for another reason: %s" % (args[1], lineno, e))
                        return 1
                else:
                    print("%s:%d: accepted, but should fail: %s" % (args[1], lineno, obj["why"]))
                    return 1
            else:
                try:
                    check_event(desc, obj)
                except Invalid as e:
                    print("%s:%d: %s" % (args[1], lineno, e))
                    return 1
                classes[obj["class_name"]] = classes.get(obj["class_name"], 0) + 1
            n += 1
    if n < min_lines:
        print("%s: %d lines, expected at least %d" % (args[1], n, min_lines))
        return 1
    if expect_invalid:
        print("%s: all %d bad events rejected for the reason named" % (args[1], n))
    else:
        print("%s: %d OCSF events valid (%s)" % (args[1], n, ", ".join(
            "%d %s" % (v, k) for k, v in sorted(classes.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
