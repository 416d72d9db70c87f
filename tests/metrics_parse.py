"""Parses a Prometheus scrape (OpenMetrics text) from standard input with the
Prometheus project's own Python client parser, and prints its samples as
JSON: [{"family", "type", "name", "labels", "value"}]. A scrape the parser
refuses exits 1 with its message."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

text = sys.stdin.read()
try:
    out = [
        {
            "family": family.name,
            "type": family.type,
            "name": s.name,
            "labels": s.labels,
            "value": s.value,
        }
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
except Exception as e:  # the parser raises ValueError and others
    print(f"not a valid scrape: {e}", file=sys.stderr)
    sys.exit(1)
json.dump(out, sys.stdout)
