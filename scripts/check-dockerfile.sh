#!/usr/bin/env bash
# Keeps docker/Dockerfile honest on machines without a Docker engine: replays the build
# stage's COPY and RUN steps in a scratch folder, then starts the runtime stage's CMD with its
# ENV and probes it with the HEALTHCHECK command. Fails if any step fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dockerfile="$root/docker/Dockerfile"
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
health=$(awk '/^FROM /{n++} n==2' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | awk '/^HEALTHCHECK /' | sed -e 's/.* CMD //')
echo "check-dockerfile: start '$cmd' (production dependencies only) and probe it"
(cd "$work" && NODE_ENV=production AUTH_JWT_SECRET="$(head -c 48 /dev/urandom | base64)" HOST=127.0.0.1 PORT=$port LOG_LEVEL=warn bash -c "exec $cmd") &
pid=$!
for _ in $(seq 1 50); do
  if (cd "$work" && PORT=$port bash -c "$health"); then
    echo "check-dockerfile: HEALTHCHECK passed"
    kill -TERM "$pid"
    wait "$pid"
    echo "check-dockerfile: SIGTERM -> exit 0"
    exit 0
  fi
  sleep 0.2
done
echo "check-dockerfile: the service did not become healthy" >&2
exit 1
