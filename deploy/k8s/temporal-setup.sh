#!/bin/sh
# One-shot setup of the Temporal namespace the service runs in: the namespace with its
# retention, then the case search attributes (models/search_attributes.py). Idempotent:
# run it on every deploy. Needs only the `temporal` CLI (temporalio/admin-tools has it).
#
#   TEMPORAL_ADDRESS     frontend host:port                        (required)
#   TEMPORAL_NAMESPACE   the namespace; MEDIATION_TEMPORAL_NAMESPACE of the workers and API
#   NAMESPACE_RETENTION  how long closed cases' histories are kept  (default 90d)
#
# Used by deploy/compose.yaml (service temporal-setup) and by the Job in deploy/k8s/base.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
NS="${TEMPORAL_NAMESPACE:-mediation}"
RETENTION="${NAMESPACE_RETENTION:-90d}"

echo "waiting for the Temporal frontend at $TEMPORAL_ADDRESS"
tries=0
until temporal operator cluster health >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
        echo "Temporal did not become healthy within 4 minutes" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --namespace "$NS" >/dev/null 2>&1; then
    echo "namespace $NS exists; setting its retention to $RETENTION"
    temporal operator namespace update --namespace "$NS" --retention "$RETENTION"
else
    echo "creating namespace $NS (retention $RETENTION)"
    temporal operator namespace create --namespace "$NS" --retention "$RETENTION" \
        --description "Dispute-mediation cases"
fi

# A new namespace takes a moment to reach every frontend; retry until it is known.
tries=0
until temporal operator namespace describe --namespace "$NS" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -ge 30 ] && { echo "namespace $NS did not appear" >&2; exit 1; }
    sleep 2
done

# Search attributes are per namespace on SQL visibility (PostgreSQL). Only the missing ones
# are created, one per call, and the loop retries until all five are listed: a namespace
# just created can take a few seconds to reach every frontend's cache.
ATTRIBUTES="CaseStatus:Keyword DisputeType:Keyword RiskLevel:Keyword OrgId:Keyword Overdue:Bool"
tries=0
while :; do
    listing="$(temporal operator search-attribute list --namespace "$NS" 2>/dev/null || true)"
    missing=""
    for pair in $ATTRIBUTES; do
        name="${pair%%:*}"
        printf '%s\n' "$listing" | grep -qw "$name" || missing="$missing $pair"
    done
    [ -z "$missing" ] && break
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "search attributes still missing in namespace $NS:$missing" >&2
        exit 1
    fi
    for pair in $missing; do
        temporal operator search-attribute create --namespace "$NS" \
            --name "${pair%%:*}" --type "${pair#*:}" || true
    done
    sleep 2
done
echo "namespace $NS ready: retention $RETENTION; search attributes CaseStatus, DisputeType,"
echo "RiskLevel, OrgId (Keyword) and Overdue (Bool) registered"
