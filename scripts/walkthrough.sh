#!/usr/bin/env bash
# A first session with the running service, to read along: each command is printed, then run.
#
#   make run                              # first terminal: the service on http://127.0.0.1:8000
#   scripts/walkthrough.sh                # second terminal, from the project folder
#   PORT=8080 scripts/walkthrough.sh      # after `make run PORT=8080`
#   PRIORAUTH_URL=https://pa.example.org scripts/walkthrough.sh
#
# It creates its own tokens with the command line, in the database the service uses (var/priorauth.db,
# or DATABASE_URL / PRIORAUTH_HOME as for the service), submits the pended example request dated today
# with an Idempotency-Key (and retries it, to show that a retry is safe), adds the missing fact, lets a
# reviewer decide, reads the audit trail and checks its hash chain. Needs curl; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

export PRIORAUTH_URL=${PRIORAUTH_URL:-http://127.0.0.1:${PORT:-8000}}
PRIORAUTH=.venv/bin/priorauth
PYTHON=.venv/bin/python
if [ ! -x "$PRIORAUTH" ]; then PRIORAUTH=priorauth; PYTHON=python3; fi

bold=; plain=
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s# %s%s\n' "$bold" "$*" "$plain"; }
# Print a command as written (variables unexpanded, so it can be pasted), then run it.
run() { printf '$ %s\n' "$1"; eval "$1"; }
# field NAME JSON: one value of a JSON answer (a dotted NAME reaches inside: determination.decision).
field() {
  "$PYTHON" -c 'import json, sys
value = json.loads(sys.argv[2])
for part in sys.argv[1].split("."):
    value = value.get(part) if isinstance(value, dict) else None
print(value if isinstance(value, str) else json.dumps(value))' "$1" "$2"
}
# A JSON answer, indented, at most 30 lines (the rest is elided).
show() { "$PYTHON" -m json.tool <<<"$1" | awk 'NR <= 30 { print } NR == 31 { print "    ..." }'; }
# events: one line per audit event of a /v1/requests/ID/audit answer on standard input.
events() {
  "$PYTHON" -c 'import json, sys
for e in json.load(sys.stdin)["events"]:
    print(e["seq"], e["at"][:19], e["actor_role"], e["action"], e["policy_version"] or "", json.dumps(e["detail"]))'
}

command -v curl >/dev/null || { echo "walkthrough: curl is needed (Debian: apt-get install curl)" >&2; exit 2; }
if ! curl -sf "$PRIORAUTH_URL/readyz" >/dev/null; then
  echo "walkthrough: no service answers at $PRIORAUTH_URL: start it with \`make run\` (or \`make run PORT=8080\`" \
       "and then PORT=8080 scripts/walkthrough.sh)" >&2
  exit 2
fi

echo "A first session with the service at $PRIORAUTH_URL. Each command is printed (\$ ...), then run."
echo "field, show and events are small helpers defined at the top of $0."

step "1. Is the service up? /healthz: the process answers; /readyz: database migrated, policies loaded"
run 'curl -s "$PRIORAUTH_URL/readyz"; echo'

step "2. Tokens for provider staff and a reviewer, made by the command line in the service's database"
run 'SUBMITTER=$($PRIORAUTH tokens create --role submitter --org demo-clinic --label walkthrough); export SUBMITTER'
run 'REVIEWER=$($PRIORAUTH tokens create --role reviewer --org demo-plan --label walkthrough); export REVIEWER'
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SUBMITTER" "$PRIORAUTH_URL/v1/policies")" != 200 ]; then
  echo "walkthrough: the service at $PRIORAUTH_URL does not know the new token: it uses another database than" \
       "this command line. Run the walkthrough with the service's DATABASE_URL (or PRIORAUTH_HOME)." >&2
  exit 2
fi

step "3. Submit a request as provider staff: the pended example, dated today; the Idempotency-Key makes a retry safe"
run 'TODAY=$(date -u +%F); KEY=walkthrough-$(date +%s)-$$'
run "$(cat <<'EOF'
REQUEST='{"policy": "besponsa", "urgency": "standard", "facts": {"request_type": "initial", "request_date": "'$TODAY'", "birth_date": "1966-11-02", "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.00"], "cd22_positive": true, "prior_inotuzumab": false, "baseline_ecg_normal": true, "ecg_monitoring_planned": true, "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd", "ph_status": "negative", "with_rituximab": true}}'
EOF
)"
run 'SUBMITTED=$(curl -s "$PRIORAUTH_URL/v1/requests" -H "Authorization: Bearer $SUBMITTER" -H "Content-Type: application/json" -H "Idempotency-Key: $KEY" -d "$REQUEST")'
run 'show "$(field determination "$SUBMITTED")"'
run 'REQUEST_ID=$(field id "$SUBMITTED"); echo "$REQUEST_ID is $(field status "$SUBMITTED"), version $(field version "$SUBMITTED"); missing facts: $(field determination.missing_facts "$SUBMITTED")"'

step "4. The same submission again (a client retrying after a timeout): the same request comes back, nothing new is stored"
run 'curl -s -o /dev/null -D - "$PRIORAUTH_URL/v1/requests" -H "Authorization: Bearer $SUBMITTER" -H "Content-Type: application/json" -H "Idempotency-Key: $KEY" -d "$REQUEST" | grep -i -e "^HTTP" -e "^idempotent-replayed"'

step "5. Add the missing fact as provider staff: the engine decides again"
run "$(cat <<'EOF'
UPDATED=$(curl -s "$PRIORAUTH_URL/v1/requests/$REQUEST_ID/information" -H "Authorization: Bearer $SUBMITTER" -H "Content-Type: application/json" -d '{"facts": {"substantial_comorbidities": true}, "expected_version": 1}')
EOF
)"
run 'echo "$REQUEST_ID is $(field status "$UPDATED"), version $(field version "$UPDATED")"'

step "6. The engine's denial is a recommendation: a clinical reviewer reads it and decides, naming the version read"
run 'CASE=$(curl -s "$PRIORAUTH_URL/v1/requests/$REQUEST_ID" -H "Authorization: Bearer $REVIEWER")'
run 'echo "engine recommends: $(field engine_decision "$CASE"); version $(field version "$CASE")"'
run "$(cat <<'EOF'
REVIEWED=$(curl -s "$PRIORAUTH_URL/v1/requests/$REQUEST_ID/review" -H "Authorization: Bearer $REVIEWER" -H "Content-Type: application/json" -d '{"action": "deny", "note": "Substantial comorbidities: criteria not met", "expected_version": 2}')
EOF
)"
run 'echo "$REQUEST_ID is $(field status "$REVIEWED"), decided by $(field decided_by "$REVIEWED")"'

step "7. The request's audit events, as the reviewer: who did what, under which policy version (never the facts)"
run 'curl -s "$PRIORAUTH_URL/v1/requests/$REQUEST_ID/audit" -H "Authorization: Bearer $REVIEWER" | events'

step "8. Check the whole hash chain of the audit trail, from the command line"
run '$PRIORAUTH audit verify'

step "9. Read it in the browser: sign in with the REVIEWER token and open the request"
run 'echo "REVIEWER=$REVIEWER"; echo "$PRIORAUTH_URL/web/requests/$REQUEST_ID"'
