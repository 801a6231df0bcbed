#!/bin/sh
# One CI job's memoized steps, warmed up by the previous job's archive and leaving one for the
# next. Run from the checkout; the store is ./.cashet (or $CASHET_DIR).
set -eu
CASHET=${CASHET:-npx cashet}
# The archive may come from another branch's or a fork's job: import verifies every object.
if [ -f cache.tar.zst ]; then $CASHET import cache.tar.zst; fi
mkdir -p out
$CASHET run steps.ts#lint @steps.ts -o out/lint.json
$CASHET run steps.ts#fixtures 5000 -o out/fixtures.json
$CASHET run steps.ts#report @README.md 5000 -o out/report.txt
# Only this job's runs of the last day, so the archive does not grow forever.
$CASHET export cache.tar.zst --since 1d
