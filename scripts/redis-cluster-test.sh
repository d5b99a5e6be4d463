#!/usr/bin/env bash
# Ensures a local Redis Cluster for meshbot's tests and prints its URL:
#
#   export MESHBOT_TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster-test.sh)
#   scripts/redis-cluster-test.sh stop     # stop the nodes and forget the cluster
#   scripts/redis-cluster-test.sh running  # exit 0 when a node answers on the first port
#
# Six redis-server nodes on 127.0.0.1, ports ${MESHBOT_TEST_REDIS_CLUSTER_PORT:-7001}
# and the five after it: three masters with one replica each, so that a
# killed master fails over (the store's tests kill one). Running it again
# changes nothing on a healthy cluster; nodes that are down (killed by a
# test) are started again and rejoin from their nodes.conf, as replicas of
# whoever took over. It waits, with a bounded deadline, until every node
# reports cluster_state:ok with all 16384 slots served and every replica's
# link to its master is up. Nodes keep nothing on disk but their cluster
# configuration (--save "" --appendonly no). Everything but the URL goes to
# stderr. redis-server is installed as scripts/redis-test.sh installs it.
set -euo pipefail

base=${MESHBOT_TEST_REDIS_CLUSTER_PORT:-7001}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.run/redis-cluster
ports=()
for i in 0 1 2 3 4 5; do ports+=($((base + i))); done

say() { echo "redis-cluster-test: $*" >&2; }
cli() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@" 2>/dev/null; }
ping() { [ "$(cli "$1" ping)" = PONG ]; }

if [ "${1:-}" = running ]; then
	# Exit 0 when a node answers on the first port: `make test` then leaves
	# the cluster as it found it.
	ping "${ports[0]}"
	exit
fi

if [ "${1:-}" = stop ]; then
	# A pid is read once per node: redis-server removes its pid file as it
	# exits, so reading it again could race with the exit.
	pids=()
	for p in "${ports[@]}"; do
		pid=$(cat "$dir/$p/redis.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			say "stopping node $p"
			kill "$pid" || true
			pids+=("$pid")
		fi
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
	rm -rf "$dir"
	exit 0
fi

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	"$root/scripts/redis-test.sh" >/dev/null # installs redis-server, or says how
fi

# The cluster bus uses port+10000: those must be free too.
for p in "${ports[@]}"; do
	if ping "$p"; then continue; fi
	mkdir -p "$dir/$p"
	say "starting node 127.0.0.1:$p (log: $dir/$p/redis.log)"
	# cluster-node-timeout 3s: a dead master is failed over within seconds,
	# while a node stalled by a busy machine for less is not.
	redis-server --port "$p" --bind 127.0.0.1 --daemonize yes \
		--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 3000 \
		--cluster-require-full-coverage no \
		--save "" --appendonly no --dir "$dir/$p" \
		--pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log" >&2
done
for p in "${ports[@]}"; do
	for _ in $(seq 1 100); do ping "$p" && break; sleep 0.1; done
	if ! ping "$p"; then
		say "node $p did not answer PING within 10s; its log:"
		tail -n 20 "$dir/$p/redis.log" >&2 || true
		exit 1
	fi
done

# Only the slots of a lost master stop serving, not the whole cluster: the
# store's failover test shows the rest keeps working. (Redis' default, yes,
# stops every slot while one is uncovered.) Set at run time too, so that a
# cluster started by an older copy of this script gets it.
for p in "${ports[@]}"; do
	cli "$p" config set cluster-require-full-coverage no >/dev/null
done

info() { cli "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }

if [ "$(info "${ports[0]}" cluster_slots_assigned)" = 0 ]; then
	say "creating the cluster: 3 masters, 3 replicas"
	addrs=()
	for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >&2
fi

# Ready means: every node sees state ok and all slots served, three masters
# hold slots, and every replica's replication link is up.
ready() {
	local p masters=0 role link
	for p in "${ports[@]}"; do
		[ "$(info "$p" cluster_state)" = ok ] || return 1
		[ "$(info "$p" cluster_slots_ok)" = 16384 ] || return 1
		role=$(cli "$p" info replication | tr -d '\r' | sed -n 's/^role://p')
		if [ "$role" = slave ]; then
			link=$(cli "$p" info replication | tr -d '\r' | sed -n 's/^master_link_status://p')
			[ "$link" = up ] || return 1
		else
			masters=$((masters + 1))
		fi
	done
	[ "$masters" = 3 ]
}
deadline=$((SECONDS + 60))
until ready; do
	if [ $SECONDS -ge $deadline ]; then
		say "the cluster is not ready after 60s; its view from 127.0.0.1:${ports[0]}:"
		cli "${ports[0]}" cluster info >&2 || true
		cli "${ports[0]}" cluster nodes >&2 || true
		say "start afresh with: $0 stop; $0"
		exit 1
	fi
	sleep 0.2
done

url=redis+cluster://
sep=
for p in "${ports[@]}"; do url+="${sep}127.0.0.1:$p"; sep=,; done
echo "$url"
