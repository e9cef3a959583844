#!/usr/bin/env bash
# Runs the property-based tests of the parsers (form/query parameters, the NUL boundary,
# redirect-URI matching, PKCE, access-token headers in resource/) with many more cases
# than `cargo test` does, for a bounded time. cargo-fuzz would need a nightly toolchain;
# these run on stable and any failure prints a minimal input to turn into a regression
# test.
#
#   scripts/fuzz.sh                # 20,000 cases per property
#   CASES=200000 scripts/fuzz.sh   # longer
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-20000}
TIME_LIMIT=${TIME_LIMIT:-600}
PROPTEST_CASES=$CASES timeout "$TIME_LIMIT" cargo test --lib --release properties:: -- --test-threads 2
