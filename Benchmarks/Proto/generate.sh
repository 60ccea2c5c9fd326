#!/usr/bin/env bash
# Regenerates Benchmarks/Sources/DatelineBenchmarks/Generated/ from protocol/dateline.proto and
# Benchmarks/Proto/bench.proto. Needs protoc (Debian: protobuf-compiler) and the two plugins, built once from the
# packages' own sources (they take minutes to build, which is why the output is committed):
#   git clone --branch 2.4.1 https://github.com/grpc/grpc-swift-protobuf && cd grpc-swift-protobuf
#   swift build -c release --product protoc-gen-grpc-swift-2 && swift build -c release --product protoc-gen-swift
# Usage: Benchmarks/Proto/generate.sh PLUGIN_DIR   (the .build/release folder holding both plugins)
set -euo pipefail
plugins="${1:?usage: generate.sh PLUGIN_DIR}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/Benchmarks/Sources/DatelineBenchmarks/Generated"
mkdir -p "$out"
protoc -I "$root/protocol" -I "$root/Benchmarks/Proto" \
  --plugin=protoc-gen-swift="$plugins/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Internal \
  --plugin=protoc-gen-grpc-swift="$plugins/protoc-gen-grpc-swift-2" --grpc-swift_out="$out" \
  --grpc-swift_opt=Visibility=Internal,Client=true,Server=true \
  dateline.proto bench.proto
rm -f "$out/dateline.grpc.swift"  # dateline.proto declares no services
echo "generated into $out"
