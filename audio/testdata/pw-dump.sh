#!/usr/bin/env bash
# Writes audio/testdata/pw-dump.json, read by TestParsePWDump: pw-dump of the
# headless PipeWire that scripts/pipewire starts, keeping the Node and Metadata
# objects that belong to no application (the devices and the defaults).
#   scripts/pipewire start dump && audio/testdata/pw-dump.sh dump && scripts/pipewire stop dump
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(scripts/pipewire env "${1:?usage: $0 INSTANCE}")"
pw-dump | /usr/bin/python3 -c '
import json, sys
keep = [o for o in json.load(sys.stdin)
        if o["type"] in ("PipeWire:Interface:Node", "PipeWire:Interface:Metadata")
        and not o.get("info", {}).get("props", {}).get("application.name")]
json.dump(keep, sys.stdout, indent=2)' >audio/testdata/pw-dump.json
