#!/usr/bin/env python3
"""Write the compact description of OCSF that mptrace relies on.

    ocsf_describe.py SCHEMA_DIR > events/ocsf-1.8.0.json

SCHEMA_DIR is an OCSF schema definition checkout (classes in events/, objects
in objects/, types and enums in dictionary.json). For the classes mptrace
emits and the objects it fills, each attribute is resolved as OCSF resolves
it: following `extends` up to base_event (or object), merging `$include`d
profiles (their attributes are marked with the profile's name), the type and
enum from the dictionary, overrides from the class or object. The result is
committed, so a clone without the schema still checks its output against it
(tests/check_ocsf.py); CTest re-runs this where the schema exists and
compares (test ocsf_description).
"""
import json
import os
import sys

CLASSES = ["memory_activity", "detection_finding", "evidence_info"]
# the objects mptrace fills; anything else in its output is an error
OBJECTS = ["actor", "analytic", "attack", "container", "device", "evidences", "file",
           "finding_info", "image", "metadata", "observable", "os", "process", "process_entity",
           "product", "query_evidence", "related_event", "sub_technique", "tactic", "technique", "user"]


def load(root, rel):
    with open(os.path.join(root, rel)) as f:
        return json.load(f)


def find(root, sub, name):
    for dirpath, _, files in os.walk(os.path.join(root, sub)):
        if name + ".json" in files:
            return os.path.relpath(os.path.join(dirpath, name + ".json"), root)
    sys.exit("ocsf_describe: no %s/%s.json" % (sub, name))


def merge(into, attrs, profile=None):
    for name, spec in attrs.items():
        if name.startswith("$"):
            continue
        cur = dict(into.get(name, {}))
        enum = dict(cur.get("enum", {}))
        cur.update({k: v for k, v in spec.items() if v is not None})
        # "profile": null takes an attribute out of its profile (system's actor, device)
        if "profile" in spec and spec["profile"] is None:
            cur.pop("profile", None)
        # an enum is extended, never replaced: a class adds its values to 0 and 99
        if "enum" in spec:
            enum.update(spec["enum"])
            cur["enum"] = enum
        if profile and "profile" not in cur:
            cur["profile"] = profile
        into[name] = cur


def resolve(root, sub, name):
    """Attributes of a class or object, and the record itself, following extends."""
    doc = load(root, find(root, sub, name))
    attrs, chain = {}, [doc]
    while chain[-1].get("extends") and chain[-1]["extends"] != chain[-1]["name"]:
        chain.append(load(root, find(root, sub, chain[-1]["extends"])))
    for d in reversed(chain):
        for inc in d.get("attributes", {}).get("$include", []):
            prof = load(root, inc)
            merge(attrs, prof.get("attributes", {}), prof.get("name"))
        merge(attrs, d.get("attributes", {}))
    return chain, attrs


def describe_attrs(attrs, dictionary, base_types):
    out = {}
    for name in sorted(attrs):
        spec = dict(dictionary["attributes"].get(name, {}))
        enum = dict(spec.get("enum", {}))
        spec.update(attrs[name])
        if "enum" in attrs[name]:
            enum.update(attrs[name]["enum"])
            spec["enum"] = enum
        t = spec.get("type")
        entry = {"requirement": spec.get("requirement", "optional")}
        if t in base_types:
            entry["type"] = base_types[t]
        elif t == "object":
            entry["type"] = "json"
        elif t:
            entry["object"] = t
        else:
            sys.exit("ocsf_describe: attribute %s has no type" % name)
        if spec.get("is_array"):
            entry["array"] = True
        if "enum" in spec:
            entry["enum"] = sorted(int(k) for k in spec["enum"])
        if spec.get("profile"):
            entry["profile"] = spec["profile"]
        out[name] = entry
    return out


def main():
    root = sys.argv[1]
    dictionary = load(root, "dictionary.json")
    categories = load(root, "categories.json")["attributes"]
    types = dictionary["types"]["attributes"]
    kinds = {"string_t": "string", "integer_t": "integer", "long_t": "integer",
             "timestamp_t": "integer", "boolean_t": "boolean", "float_t": "number",
             "json_t": "json"}
    base_types = {}
    for t, spec in types.items():
        b = t
        while b not in kinds and types.get(b, {}).get("type"):
            b = types[b]["type"]
        if b not in kinds:
            sys.exit("ocsf_describe: type %s has no base" % t)
        base_types[t] = kinds[b]

    out = {"ocsf_version": load(root, "version.json")["version"] if os.path.exists(
        os.path.join(root, "version.json")) else "1.8.0", "classes": {}, "objects": {}}
    for name in CLASSES:
        chain, attrs = resolve(root, "events", name)
        category = next(d["category"] for d in chain if d.get("category"))
        cat_uid = categories[category]["uid"]
        uid = cat_uid * 1000 + chain[0]["uid"]
        described = describe_attrs(attrs, dictionary, base_types)
        # base_event's enums hold 0 (Base Event); a class's ids are its own, as OCSF derives them
        described["class_uid"]["enum"] = [uid]
        described["category_uid"]["enum"] = [cat_uid]
        described["type_uid"]["enum"] = [uid * 100 + a for a in described["activity_id"]["enum"]]
        out["classes"][name] = {"class_uid": uid, "category_uid": cat_uid,
                                "attributes": described}
    for name in OBJECTS:
        _, attrs = resolve(root, "objects", name)
        out["objects"][name] = {"attributes": describe_attrs(attrs, dictionary, base_types)}
    # an observable's type_id: the schema lists 0 and 99; the rest are the observable
    # numbers its types, attributes and objects carry, as OCSF's compiled schema has them
    ids = {v["observable"] for part in (types, dictionary["attributes"]) for v in part.values()
           if "observable" in v}
    for dirpath, _, files in os.walk(os.path.join(root, "objects")):
        for f in files:
            with open(os.path.join(dirpath, f)) as fh:
                ids |= {json.load(fh).get("observable")} - {None}
    obs = out["objects"]["observable"]["attributes"]["type_id"]
    obs["enum"] = sorted(set(obs["enum"]) | ids)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
