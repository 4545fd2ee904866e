#!/bin/sh
# Pools one submission's shards once each has finished: waits for every shard's manifest to say `complete` (read as
# JSON), up to a deadline, then writes that submission's report and leaderboard beside them. Only this submission's
# folders are read, so earlier submissions on the same volume are neither waited for nor pooled.
#   RESULTS             the results volume (default /results)
#   ANIS_SUBMISSION     the submission's id, the prefix of its run folders
#   ANIS_SHARDS         how many shards it has
#   ANIS_POOL_DEADLINE_S  give up after this many seconds (default 21600: six hours)
#   ANIS_POOL_POLL_S    seconds between looks (default 60)
set -eu
: "${ANIS_SUBMISSION:?set ANIS_SUBMISSION to the submission id}" "${ANIS_SHARDS:?set ANIS_SHARDS to the number of shards}"
RESULTS="${RESULTS:-/results}"
deadline=$(( $(date +%s) + ${ANIS_POOL_DEADLINE_S:-21600} ))
prefix="$RESULTS/$ANIS_SUBMISSION-default-shard"
until node -e '
  const [prefix, shards] = [process.argv[1], Number(process.argv[2])];
  const status = (i) => { try { return JSON.parse(require("fs").readFileSync(`${prefix}${i}of${shards}/manifest.json`, "utf8")).status; } catch { return "missing"; } };
  const states = Array.from({ length: shards }, (_, i) => status(i + 1));
  console.error(`shards: ${states.map((s, i) => `${i + 1} ${s}`).join(", ")}`);
  process.exit(states.every((s) => s === "complete") ? 0 : 1);
' "$prefix" "$ANIS_SHARDS"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "error: not every shard of submission $ANIS_SUBMISSION completed within ${ANIS_POOL_DEADLINE_S:-21600} s; nothing pooled" >&2
    exit 1
  fi
  sleep "${ANIS_POOL_POLL_S:-60}"
done
npx tsx benchmarks/cli/main.ts report "${prefix}*of$ANIS_SHARDS" --format md > "$RESULTS/$ANIS_SUBMISSION-report.md"
npx tsx benchmarks/cli/main.ts leaderboard "${prefix}*of$ANIS_SHARDS" --out "$RESULTS/$ANIS_SUBMISSION-leaderboard"
