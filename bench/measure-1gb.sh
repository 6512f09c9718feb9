#!/usr/bin/env bash
# Times one backup and one restore of a ~1 GB Open WebUI-shaped data set and reports peak memory
# (GNU time's maximum resident set size of the owui-backup process). Needs the fixture images
# (test/fixtures/build-images.sh) and GNU time (apt-get install time).
# Usage: bench/measure-1gb.sh [size-in-MB, default 1024] [local|s3, default local]
# With s3, the store is a bucket on the local S3 test server (test/helpers/s3-server.mjs, s3rver on
# 127.0.0.1), started here and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
kind=${2:-local}
name=owui-bench-$$
store=$(mktemp -d)
s3pid=
trap 'docker rm -f -v "$name" >/dev/null 2>&1; docker volume rm -f "$name-data" >/dev/null 2>&1; [ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null; rm -rf "$store"' EXIT

docker run -d --name "$name" --network none -v "$name-data:/app/backend/data" -e FIXTURE_WRITE_MS=20 \
  owui-backup-test/open-webui:0.6.5 >/dev/null
for _ in $(seq 1 60); do [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ] && break; sleep 0.5; done

# 30 % chats in webui.db (JSON text), 20 % uploads (half random, half text), 50 % an Ollama-like blob (random).
docker exec "$name" python3 -c '
import os, sqlite3, sys, json, random
mb = int(sys.argv[1]); d = "/app/backend/data"
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("BEGIN")
words = "the quick brown fox jumps over a lazy dog while open webui answers questions about rag".split()
body = lambda: json.dumps({"messages": [{"role": "user", "content": " ".join(random.choices(words, k=200))}] * 4})
row = len(body())
for i in range(mb * 3 // 10 * (1 << 20) // row):
    db.execute("INSERT INTO chat (user_id, title, chat, created_at) VALUES (?, ?, ?, ?)", ("u", f"chat {i}", body(), i))
db.execute("COMMIT")
os.makedirs(f"{d}/uploads", exist_ok=True)
for i in range(mb * 2 // 10 // 8):
    with open(f"{d}/uploads/doc-{i}.pdf", "wb") as f:
        f.write(os.urandom(4 << 20)); f.write((" ".join(random.choices(words, k=100)) * 400).encode()[: 4 << 20])
os.makedirs(f"{d}/models/blobs", exist_ok=True)
with open(f"{d}/models/blobs/sha256-model", "wb") as f:
    for _ in range(mb // 2): f.write(os.urandom(1 << 20))
' "$size_mb"
echo "data set: $(docker exec "$name" du -sm /app/backend/data | cut -f1) MB in /app/backend/data" >&2

measure() {
  /usr/bin/time -f "%e s wall, %M KB max RSS" -o "$store/time.txt" node runner/bin/owui-backup.js "$@" >"$store/out.txt" 2>"$store/err.txt" \
    || { cat "$store/err.txt" >&2; exit 1; }
  cat "$store/time.txt"
}
export OWUI_BACKUP_CONTAINER=$name OWUI_BACKUP_STORE=$store/store OWUI_BACKUP_LOG_DIR=$store/logs
if [ "$kind" = s3 ]; then
  node --openssl-legacy-provider test/helpers/s3-server.mjs "$store/s3" owui-bench >"$store/s3.json" &
  s3pid=$!
  for _ in $(seq 1 50); do [ -s "$store/s3.json" ] && break; sleep 0.1; done
  endpoint=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).endpoint)' "$store/s3.json")
  export OWUI_BACKUP_STORE=s3://owui-bench/snapshots OWUI_BACKUP_S3_ENDPOINT=$endpoint AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
fi
echo "store: $OWUI_BACKUP_STORE"
echo "backup (online, gzip ${OWUI_BACKUP_COMPRESSION_LEVEL:-6}, chats written every 20 ms): $(measure backup)"
echo "snapshot size: $(node runner/bin/owui-backup.js list --json | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(Math.round(JSON.parse(s)[0].sizeBytes/1048576)))') MB"
echo "verify: $(measure verify)"
echo "restore latest (verify + safety snapshot + restore + start): $(measure restore latest --yes)"
echo "restore latest --no-safety-snapshot: $(measure restore latest --yes --no-safety-snapshot)"
