#!/bin/sh
# Switch a TLS server to its renewed certificate only once DANE clients can verify it (RFC 7671
# section 8.1, "current + next"): publish the next certificate's TLSA record beside the current
# one, wait until every authoritative server has served it signed for a TTL, then switch and
# remove the old record. Run it after each renewal (certbot's deploy hook, acme.sh's reload
# command) and from a timer every few minutes: until the gate opens, it leaves the server as it
# is, and each run is safe to repeat.
#
# The server must use $DANE_DIR/current.pem and current.key, never the ACME client's files.
set -eu

: "${DANE_HOST:=www.example.com}"
: "${DANE_PORT:=443}"
: "${DANE_SERVER:=192.0.2.53}"
: "${DANE_TSIG_KEY:=/etc/txdane/update.key}"
: "${DANE_TTL:=300}"
: "${DANE_DIR:=/etc/ssl/dane}"
: "${DANE_RELOAD:=systemctl reload nginx}"
: "${DANE_CHECK_OPTIONS:=}"

publish() {
    txdane publish "$DANE_HOST" "$DANE_PORT" --server "$DANE_SERVER" \
        --tsig-key "$DANE_TSIG_KEY" --ttl "$DANE_TTL" --state "$DANE_DIR/ready.json" "$@"
}

# certbot sets RENEWED_LINEAGE for its deploy hooks: the renewed certificate is the next one.
# (acme.sh installs it there itself: --cert-file/--fullchain-file and --key-file.)
if [ -n "${RENEWED_LINEAGE:-}" ]; then
    cp "$RENEWED_LINEAGE/fullchain.pem" "$DANE_DIR/next.pem"
    (umask 077 && cp "$RENEWED_LINEAGE/privkey.pem" "$DANE_DIR/next.key")
fi
if [ ! -e "$DANE_DIR/next.pem" ]; then
    exit 0
fi

# 1. Current + next (repeating it changes nothing).
publish --cert "$DANE_DIR/current.pem" --cert "$DANE_DIR/next.pem"

# 2. The gate: every authoritative server, signed, for at least the TTL (the largest the
# records have had: publish keeps the TTL of those it replaced in the gate's state file).
# shellcheck disable=SC2086
if ! txdane check "$DANE_HOST" "$DANE_PORT" --ready "$DANE_DIR/next.pem" \
        --state "$DANE_DIR/ready.json" $DANE_CHECK_OPTIONS; then
    echo "dane-rollover: $DANE_HOST:$DANE_PORT keeps its current certificate for now" >&2
    exit 0
fi

# 3. Switch, then 4. remove the old record.
mv "$DANE_DIR/next.key" "$DANE_DIR/current.key"
mv "$DANE_DIR/next.pem" "$DANE_DIR/current.pem"
$DANE_RELOAD
publish --cert "$DANE_DIR/current.pem"
