#!/usr/bin/env bash
# Serve the app on loopback and fuzz every operation of openapi/openapi.json as an admin:
# no 5xx, and every response must match the documented schema and content type.
set -euo pipefail

# schemathesis runs from its own venv on Python >= 3.12. On 3.11 the garbage collector can
# run (and switch threads) in the middle of ast.parse, whose AST builder keeps one
# recursion counter per interpreter: hypothesis, describing strategies with ast.parse in
# schemathesis' worker threads, then fails with "AST constructor recursion depth mismatch".
# From 3.12 the collector only runs between bytecodes. The server under test stays on the
# project's own venv.
tool_python=""
pyenv_pythons=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV || true)
for candidate in python3.14 python3.13 python3.12 $pyenv_pythons; do
  if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    tool_python="$candidate"
    break
  fi
done
if [ -z "$tool_python" ]; then
  echo "schemathesis needs Python >= 3.12 (3.11's ast.parse is not thread-safe)" >&2
  exit 1
fi
schemathesis_req=$(.venv/bin/python -c "import tomllib; d=tomllib.load(open('pyproject.toml','rb')); print(next(r for r in d['project']['optional-dependencies']['dev'] if r.startswith('schemathesis')))")
rm -rf .ci/schemathesis-venv
"$tool_python" -m venv .ci/schemathesis-venv
.ci/schemathesis-venv/bin/pip install -q "$schemathesis_req"
port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
email="ci-admin-$$@example.com"
password="ci-admin-password-$$"
.venv/bin/salesflow migrate
.venv/bin/salesflow create-user --email "$email" --password "$password" --role admin --name "CI Admin"
SALESFLOW_LOG_LEVEL=WARNING .venv/bin/salesflow serve --no-migrate --host 127.0.0.1 --port "$port" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:${port}/health/ready" >/dev/null && break; sleep 0.2; done
token=$(curl -sf -d "username=${email}" -d "password=${password}" \
  "http://127.0.0.1:${port}/api/v1/auth/token" | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
.ci/schemathesis-venv/bin/schemathesis run openapi/openapi.json \
  --url "http://127.0.0.1:${port}" \
  -H "Authorization: Bearer ${token}" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples 25 \
  --seed 20261125 \
  --workers 1 \
  --exclude-path /api/v1/auth/token \
  --max-time 240
