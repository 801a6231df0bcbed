#!/bin/sh
# One CI job's memoized steps. Run from the checkout; the store is ./.cashet (or $CASHET_DIR).
# With the store restored from an earlier job (see README.md), every step is a cache hit.
set -eu
CASHET=${CASHET:-npx cashet}
mkdir -p out
$CASHET run steps.ts#lint @steps.ts -o out/lint.json
$CASHET run steps.ts#fixtures 5000 -o out/fixtures.json
$CASHET run steps.ts#report @README.md 5000 -o out/report.txt
