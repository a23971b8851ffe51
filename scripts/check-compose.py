#!/usr/bin/env python3
"""Checks deploy/compose/compose.yml without a container engine.

- validates it against the Compose Specification's JSON schema (tests/fixtures/compose-spec.json,
  from github.com/compose-spec/compose-spec, Apache-2.0), after interpolating ${VAR:-default};
- every relative bind-mount source and the build context exist, and the files the images read
  from them are there (prometheus.yml with its rule file, alertmanager.yml, Grafana provisioning);
- every service but the namespace holder joins the holder's network namespace, and only the holder
  publishes ports, each on 127.0.0.1.

Needs PyYAML and jsonschema (pip install pyyaml jsonschema).
"""

import json
import os
import re
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPOSE = os.path.join(ROOT, "deploy", "compose", "compose.yml")
SCHEMA = os.path.join(ROOT, "tests", "fixtures", "compose-spec.json")


def interpolate(text):
    """${VAR:-default} and ${VAR-default} become the default, ${VAR} an empty string."""
    text = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", text)
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", "", text)


def fail(msg):
    print(f"check-compose: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    with open(COMPOSE, encoding="utf-8") as f:
        doc = yaml.safe_load(interpolate(f.read()))
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail("; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors))

    base = os.path.dirname(COMPOSE)
    services = doc["services"]
    expected = {"net", "exporter", "prometheus", "alertmanager", "grafana"}
    if set(services) != expected:
        fail(f"services are {sorted(services)}, expected {sorted(expected)}")

    context = os.path.normpath(os.path.join(base, services["exporter"]["build"]["context"]))
    if not os.path.isfile(os.path.join(context, "Dockerfile")):
        fail(f"no Dockerfile in the build context {context}")

    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if source.startswith("."):
                path = os.path.normpath(os.path.join(base, source))
                # ./.env is the user's configuration, made from .env.example before `up`.
                if source != "./.env" and not os.path.exists(path):
                    fail(f"{name}: the mounted {source} does not exist ({path})")
        if name == "net":
            for port in svc.get("ports", []):
                if not str(port).startswith("127.0.0.1:"):
                    fail(f"net publishes {port} beyond loopback")
        else:
            if svc.get("network_mode") != "service:net":
                fail(f"{name} is not in the shared network namespace (network_mode: service:net)")
            if "ports" in svc:
                fail(f"{name} publishes ports; only net may")

    needed = [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/flexus-rules.yml",
        "deploy/alertmanager/alertmanager.yml",
        "deploy/grafana/provisioning/datasources/prometheus.yml",
        "deploy/grafana/provisioning/dashboards/flexus.yml",
        "deploy/grafana/dashboards/flexus-traffic.json",
    ]
    for rel in needed:
        if not os.path.isfile(os.path.join(ROOT, rel)):
            fail(f"{rel} is missing")
    am = [c["target"] for c in services["alertmanager"].get("configs", [])]
    with open(os.path.join(ROOT, "deploy/alertmanager/alertmanager.yml"), encoding="utf-8") as f:
        for token_file in re.findall(r"credentials_file:\s*(\S+)", f.read()):
            if token_file not in am:
                fail(f"alertmanager.yml reads {token_file}, which compose does not provide")
    print("compose: ok (schema, mounts, shared namespace, loopback ports)")


if __name__ == "__main__":
    main()
