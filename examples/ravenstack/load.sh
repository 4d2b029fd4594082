#!/bin/sh
# Loads the RavenStack data set into an uptake store through the mapping files
# of this directory (see README.md).
#   usage: examples/ravenstack/load.sh DATA_DIR [STORE_DIR]
# DATA_DIR holds the ravenstack_*.csv files; STORE_DIR defaults to
# $UPTAKE_DATA, else ./ravenstack-store. $UPTAKE names the binary (default:
# build/uptake of this repository, else uptake on the PATH).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 DATA_DIR [STORE_DIR]" >&2; exit 2; }
DATA=$1
STORE=${2:-${UPTAKE_DATA:-./ravenstack-store}}
if [ -z "${UPTAKE:-}" ]; then
    if [ -x "$HERE/../../build/uptake" ]; then UPTAKE=$HERE/../../build/uptake; else UPTAKE=uptake; fi
fi
for f in accounts churn_events subscriptions feature_usage support_tickets; do
    [ -f "$DATA/ravenstack_$f.csv" ] || { echo "$0: $DATA/ravenstack_$f.csv not found" >&2; exit 1; }
done
u() { "$UPTAKE" --data "$STORE" "$@"; }

u init --model "$HERE/model.yaml"
# 1. accounts: name, seats, signup date as contract start, plan tier as segment
u import accounts --map-file "$HERE/accounts.map" "$DATA/ravenstack_accounts.csv"
# 2. every churn event into the churn table (an account that came back and
#    left again has several; a subscription starting after a churn is its return)
u import churn --map-file "$HERE/churn.map" "$DATA/ravenstack_churn_events.csv"
# 3. subscriptions as users (usage has no user id), before the usage that needs them
u import users --map-file "$HERE/users.map" "$DATA/ravenstack_subscriptions.csv"
# 4. the same subscriptions as subscriptions: an account's seats at a date are
#    the seats of its subscriptions active then (end_date exclusive)
u import subscriptions --map-file "$HERE/subscriptions.map" "$DATA/ravenstack_subscriptions.csv"
# 5. feature usage as events; the account comes from the subscription
u import events --map-file "$HERE/usage.map" "$DATA/ravenstack_feature_usage.csv"
# 6. support tickets: volume, priority and satisfaction on the account page,
#    and friction (tickets per active user)
u import tickets --map-file "$HERE/tickets.map" "$DATA/ravenstack_support_tickets.csv"
u status
