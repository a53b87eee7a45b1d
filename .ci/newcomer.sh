#!/usr/bin/env bash
# The newcomer's path, in the virtualenv `make install` made (main install only): doctor, ingest the seed, one
# answer, the article list, one quote lookup, then `make run` until its chat page is served and a chat user's
# question is answered over the Chainlit socket. Any failure ends CI here, before the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=passive HF_HUB_OFFLINE=1
BIN=.venv/bin
WORK=$(mktemp -d)
RUN_PID=
trap 'if [ -n "$RUN_PID" ]; then kill -- -"$RUN_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

step() { printf '\n== newcomer: %s\n' "$*"; }

step "assistant ingest seeds"
"$BIN/assistant" ingest seeds

step "assistant doctor"
"$BIN/assistant" doctor

step "assistant ask --json (embedded model)"
echo "Qui a revendiqué une « victoire éclatante » ?" | "$BIN/assistant" ask --json | tee "$WORK/ask.json"
"$BIN/python" - "$WORK/ask.json" <<'PY'
import json, sys
answer = json.loads(open(sys.argv[1], encoding="utf-8").readline())
assert "error" not in answer and answer["answer"].strip(), answer
print(f"answered with {len(answer['citations'])} citation(s)")
PY

step "assistant list"
"$BIN/assistant" list | grep -F "mali-wagner-tinzaouatene"

step "assistant lookup"
"$BIN/assistant" lookup "Nos forces ont définitivement anéanti ces colonnes de l’ennemi samedi"

PORT=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "make run on port $PORT"
ASSISTANT_PORT=$PORT setsid make run >"$WORK/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1 600); do
    if ! kill -0 "$RUN_PID" 2>/dev/null; then
        cat "$WORK/run.log"; echo "make run exited before serving the chat" >&2; exit 1
    fi
    if curl -fsS "http://127.0.0.1:$PORT/" -o /dev/null 2>/dev/null; then break; fi
    sleep 0.5
done
grep -F "the chat is at http://127.0.0.1:$PORT" "$WORK/run.log"
"$BIN/python" .ci/chat_once.py "http://127.0.0.1:$PORT" "Qui a revendiqué une « victoire éclatante » ?"
kill -INT -- -"$RUN_PID"
wait "$RUN_PID" || true
RUN_PID=
step "done"
