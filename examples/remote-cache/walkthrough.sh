#!/bin/sh
# Two "machines" (two store directories) share results through one `cashet serve`.
# Run in an empty directory.
set -eu
CASHET=${CASHET:-npx cashet}
EXAMPLE=$(cd "$(dirname "$0")" && pwd)
RW=rw-secret-$$ RO=ro-secret-$$
$CASHET serve --port 0 --store server/.cashet --token "$RW" --read-token "$RO" --tasks "$EXAMPLE/tasks.ts" 2>serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url=
while [ -z "$url" ]; do sleep 0.1; url=$(sed -n 's/^cashet serve: \(http[^ ]*\) .*/\1/p' serve.log); done

echo "# machine A (read-write token) runs the step and uploads it"
CASHET_DIR=a/.cashet CASHET_REMOTE=$url CASHET_REMOTE_TOKEN=$RW $CASHET run --json "$EXAMPLE/tasks.ts#render" teapot 24
echo "# machine B (a read-only token: an untrusted CI job) gets it from the server"
CASHET_DIR=b/.cashet CASHET_REMOTE=$url CASHET_REMOTE_TOKEN=$RO $CASHET run --json "$EXAMPLE/tasks.ts#render" teapot 24
echo "# B's own new step runs; its token cannot upload it"
CASHET_DIR=b/.cashet CASHET_REMOTE=$url CASHET_REMOTE_TOKEN=$RO $CASHET run --json "$EXAMPLE/tasks.ts#render" teapot 48
echo "# the server answers the same call over HTTP, from what A uploaded"
curl -s -H "Authorization: Bearer $RW" -d '{"task":"render","args":["teapot",24]}' "$url/submit"
echo
kill $server
wait $server 2>/dev/null || true
echo "# server gone: B still has its copy"
CASHET_DIR=b/.cashet $CASHET run --json "$EXAMPLE/tasks.ts#render" teapot 24
