"""Scrapes a /metrics URL and parses it with the official Prometheus
client's text parser (prometheus_client.parser): prints every sample as
JSON, {"families": {name: type}, "samples": [{name, labels, value}]}.
A text the parser refuses fails the program."""

import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=30) as answer:
    content_type = answer.headers.get("Content-Type", "")
    text = answer.read().decode("utf-8")

families = {}
samples = []
for family in text_string_to_metric_families(text):
    families[family.name] = family.type
    for sample in family.samples:
        samples.append(
            {"name": sample.name, "labels": sample.labels, "value": sample.value}
        )
print(json.dumps({"content_type": content_type, "families": families, "samples": samples}))
