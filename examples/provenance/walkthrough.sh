#!/bin/sh
# Provenance in five commands. Run in an empty directory (it makes a git repository there).
set -eu
CASHET=${CASHET:-npx cashet}
EXAMPLE=$(dirname "$0")
cp "$EXAMPLE/tasks.ts" .
git init -q && git add tasks.ts && git commit -q -m "forecast"
first=$($CASHET run --json tasks.ts#forecast oslo 3 | sed 's/.*"commit":"\([0-9a-f]*\)".*/\1/')
sed -i 's/d % 3/d % 5/' tasks.ts                       # an uncommitted change to the function
second=$($CASHET run --json tasks.ts#forecast oslo 3 | sed 's/.*"commit":"\([0-9a-f]*\)".*/\1/')
$CASHET show "$first"                                   # git: <HEAD> on <branch>, clean
$CASHET show "$second"                                  # git: … dirty, dirtyFiles ["tasks.ts"]
$CASHET diff "$first" "$second"                         # the function changed: a unified diff
