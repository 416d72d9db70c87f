"""Checks naervaer's OpenAPI document and the API's answers against it, with
validators that know nothing of naervaer or of utoipa:

    python3 openapi_check.py document DOC.json
        validates the document (OpenAPI 3.1, openapi-spec-validator);
        prints "ok" or the problems and exits 1.

    python3 openapi_check.py answers DOC.json
        then reads one JSON object per line from standard input,
        {"method", "path", "status", "content_type", "body"}, and answers each
        with one line: "ok", or "error: ..." when the path, method, status or
        content type is not documented or the body does not match its schema
        (OAS 3.1 schema validator). Objects are checked as closed: a field the
        document does not declare is an error.
"""

import copy
import json
import re
import sys

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:naervaer-openapi"


def closed(node):
    """Every object schema with declared properties refuses others."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for v in node.values():
            closed(v)
    elif isinstance(node, list):
        for v in node:
            closed(v)


def path_pattern(template):
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


def pointer(*parts):
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def answers(doc):
    strict = copy.deepcopy(doc)
    closed(strict)
    registry = Registry().with_resource(
        BASE, Resource.from_contents(strict, default_specification=DRAFT202012)
    )
    paths = [(path_pattern(t), t) for t in strict.get("paths", {})]
    for line in sys.stdin:
        if not line.strip():
            continue
        a = json.loads(line)
        print(check(strict, registry, paths, a), flush=True)


def check(doc, registry, paths, a):
    path = a["path"].split("?", 1)[0]
    templates = [t for (p, t) in paths if p.match(path)]
    if not templates:
        return f"error: {path} is not in the document"
    # The most specific template: the fewest parameters.
    template = min(templates, key=lambda t: t.count("{"))
    method = a["method"].lower()
    operation = doc["paths"][template].get(method)
    if operation is None:
        return f"error: {a['method']} {template} is not in the document"
    responses = operation.get("responses", {})
    status = str(a["status"])
    if status in responses:
        key = status
    elif "default" in responses:
        key = "default"
    else:
        return f"error: {a['method']} {template} answered {status}, which the document does not list"
    content = responses[key].get("content", {})
    media = a["content_type"].split(";", 1)[0].strip()
    if media not in content:
        return f"error: {a['method']} {template} {status} sent {media!r}; documented: {sorted(content)}"
    schema_ref = BASE + "#/" + pointer("paths", template, method, "responses", key, "content", media, "schema")
    try:
        body = json.loads(a["body"])
    except ValueError as e:
        return f"error: {a['method']} {path} {status}: the body is not JSON ({e})"
    validator = OAS31Validator({"$ref": schema_ref}, registry=registry)
    error = best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        return f"error: {a['method']} {path} {status} at /{where}: {error.message}"
    return "ok"


def main():
    mode, file = sys.argv[1], sys.argv[2]
    with open(file, encoding="utf-8") as f:
        doc = json.load(f)
    if mode == "document":
        try:
            validate(doc)
        except Exception as e:  # the validator's own error types vary
            print(f"error: {e}")
            sys.exit(1)
        print("ok")
    elif mode == "answers":
        answers(doc)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
