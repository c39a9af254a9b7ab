#!/usr/bin/env python3
"""Fails when a module imports one it must not (docs/architecture.md, "Layout").

Two checks over `swift package dump-package` and every target's sources:
1. a target imports only targets it declares in Package.swift (a transitive import compiles, then
   fails to link in another product, and hides an arrow the architecture does not draw);
2. every declared dependency between the platform's modules points down the layers below, plus the
   few rules the layers alone do not say.
Usage: scripts/check-layering.py  (from the repository root; exit 1 and one line per violation)
"""
import json
import os
import re
import subprocess
import sys

# Lower layers never depend on higher ones; a module may depend on any lower layer.
LAYERS = [
    ["SensorModel", "CCRC32C", "CMosquitto", "CLibPQ", "CLibCrypto"],
    ["WireFormats", "BlockCodec", "MQTT", "Postgres", "Settings"],
    ["StorageCore"],
    ["StorageEvents"],
    ["StorageWriter", "StorageReader"],
    ["StorageOperations", "DeviceIdentity"],
    ["IngestService", "QueryService"],
    ["DeviceEmulator", "FuzzSupport", "TestSupport", "SparkplugProtobuf"],
    # executables: the platform's, the fuzzers and the benchmarks
    ["telemetry", "FuzzTM", "FuzzLPP", "FuzzSenMLJSON", "FuzzSenMLCBOR", "FuzzJSON", "FuzzText", "FuzzChirpStack", "FuzzTTN", "FuzzSparkplug", "FuzzBlocks",
     "EndToEndBenchmark", "DecodeBenchmark", "QueryBenchmark", "DashboardBenchmark", "DeviceStatusBenchmark", "AlertLatencyBenchmark", "CompactionBenchmark"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# Arrows the layers would allow but the architecture forbids: (importer, imported, why). Checked over
# everything a module links (its dependencies' dependencies too), not only what it declares.
FORBIDDEN = [
    ("QueryService", "MQTT", "the query service never talks to the broker"),
    ("QueryService", "StorageWriter", "the query service reads; only ingest writes readings"),
    ("IngestService", "StorageReader", "ingest writes; reads are the query service's"),
    ("IngestService", "DeviceIdentity", "identity is the query service's and broker-sync's"),
    ("DeviceEmulator", "IngestService", "the emulator is a device: it speaks MQTT"),
    ("DeviceEmulator", "QueryService", "the emulator is a device: it speaks MQTT"),
    ("DeviceEmulator", "StorageWriter", "the emulator's verifier only reads"),
]
# Only the storage and identity modules speak to PostgreSQL; the services and the executable go through
# them (tests, fuzzers and benchmarks may reach under them).
POSTGRES_USERS = {"StorageCore", "StorageEvents", "StorageWriter", "StorageReader", "StorageOperations", "DeviceIdentity"}
# Settings are read by one layer: the services and the executable, never the libraries under them.
SETTINGS_READERS = {"IngestService", "QueryService", "telemetry"}
# Modules the toolchain brings; anything else must be declared.
SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization",
          "Testing", "XCTest", "_Concurrency", "os", "CoreFoundation", "FoundationNetworking",
          # swift-configuration's API takes its FilePath
          "SystemPackage"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+|@preconcurrency\s+)*import\s+(?:(?:struct|enum|class|func|var|protocol)\s+)?(\w+)", re.M)


# The platform's own modules, as opposed to the tools that drive it from outside.
PLATFORM = set(name for names in LAYERS[:7] for name in names) | {"telemetry", "DeviceEmulator"}


def declared_dependencies(target) -> set:
    names = set()
    for dependency in target["dependencies"]:
        _, value = next(iter(dependency.items()))
        names.add(value[0])
    return names


def closure(name: str, declarations: dict) -> set:
    """Every target `name` links: its declared dependencies and theirs."""
    seen, stack = set(), list(declarations.get(name, ()))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(declarations.get(current, ()))
    return seen


def path_to(start: str, goal: str, declarations: dict) -> str:
    """One chain of declared dependencies from start to goal, for the message."""
    previous, queue = {start: None}, [start]
    while queue:
        current = queue.pop(0)
        if current == goal:
            break
        for next_name in sorted(declarations.get(current, ())):
            if next_name not in previous:
                previous[next_name] = current
                queue.append(next_name)
    chain, current = [], goal
    while current is not None:
        chain.append(current)
        current = previous.get(current)
    return " -> ".join(reversed(chain))


def main() -> int:
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], check=True, capture_output=True, text=True).stdout)
    targets = {target["name"]: target for target in package["targets"]}
    declarations = {name: declared_dependencies(target) for name, target in targets.items()}
    problems = []
    for name, target in targets.items():
        declared = declarations[name]
        linked = closure(name, declarations)
        # 1. imports against declarations
        path = target.get("path") or ""
        for root, _, files in os.walk(path):
            for file in files:
                if not file.endswith(".swift"):
                    continue
                source = open(os.path.join(root, file), encoding="utf-8").read()
                for imported in set(IMPORT.findall(source)):
                    if imported in SYSTEM or imported in declared or imported == name:
                        continue
                    problems.append(f"{os.path.join(root, file)}: imports {imported}, which {name} does not declare in Package.swift")
        # 2. declared arrows against the layers (tests may use any library)
        if target["type"] == "test":
            if "telemetry" in declared:
                problems.append(f"{name}: depends on the executable")
            continue
        if name not in RANK:
            problems.append(f"{name}: not in a layer (add it to LAYERS in scripts/check-layering.py and to docs/architecture.md)")
            continue
        for dependency in declared & set(RANK):
            if RANK[dependency] >= RANK[name]:
                problems.append(f"{name} (layer {RANK[name]}) depends on {dependency} (layer {RANK[dependency]}): arrows point down")
        for importer, imported, why in FORBIDDEN:
            if name == importer and imported in linked:
                via = "" if imported in declared else f" (through {path_to(name, imported, declarations)})"
                problems.append(f"{name} depends on {imported}{via}: {why}")
        if "Postgres" in declared and name not in POSTGRES_USERS and name in PLATFORM:
            problems.append(f"{name} depends on Postgres: only the Storage modules and DeviceIdentity speak to PostgreSQL")
        if "Settings" in declared and name not in SETTINGS_READERS:
            problems.append(f"{name} depends on Settings: settings are read by the services and the executable only")
    missing = sorted(set(RANK) - set(targets))
    for name in missing:
        problems.append(f"{name}: in the layers but not a target (update scripts/check-layering.py with the architecture)")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check-layering: {len(problems)} violation(s); the layers are drawn in docs/architecture.md", file=sys.stderr)
        return 1
    print(f"check-layering: {len(targets)} targets, imports declared, arrows point down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
