#!/usr/bin/env bash
# Ensures a redis-server for meshbot's tests and prints its URL:
#
#   export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh)
#
# It installs redis-server when missing (as root, through apt-get), starts a
# dedicated instance on 127.0.0.1:${MESHBOT_TEST_REDIS_PORT:-6391} unless one
# already answers there, and waits until it answers PING. The instance keeps
# nothing on disk (--save "" --appendonly no): tests use a key prefix of their
# own and clean up after themselves. Running it again changes nothing.
# Everything but the URL goes to stderr.
#
#   scripts/redis-test.sh [start]   as above
#   scripts/redis-test.sh running   exit 0 when something answers PING on the port
#   scripts/redis-test.sh stop      stop the instance this script started on the
#                                   port (its pid file says which); an instance
#                                   it did not start is left alone
#
# `make test` asks `running` first and stops only what it started.
set -euo pipefail

port=${MESHBOT_TEST_REDIS_PORT:-6391}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.run/redis-test/$port
url=redis://127.0.0.1:$port/0

say() { echo "redis-test: $*" >&2; }

# ping works before redis-cli is installed: RESP over bash's /dev/tcp.
ping() {
	if command -v redis-cli >/dev/null; then
		[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]
		return
	fi
	local reply
	reply=$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf 'PING\r\n' >&3
		timeout 2 head -c 7 <&3
	) || return 1
	[ "${reply%$'\r'}" = +PONG ]
}

# ours prints the pid of the redis-server this script started on the port,
# if it still runs: the pid file must name a live redis-server on that port,
# so a stale file whose pid was reused names nothing.
ours() {
	local pid
	[ -f "$dir/redis.pid" ] || return 1
	pid=$(<"$dir/redis.pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^redis-server 127.0.0.1:$port\b" || return 1
	echo "$pid"
}

start() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		if [ "$(id -u)" -ne 0 ]; then
			say "redis-server is not installed and installing it needs root."
			say "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),"
			say "or point the tests at a Redis you have: MESHBOT_TEST_REDIS_URL=redis://host:port/db go test ./internal/store/"
			exit 1
		fi
		say "installing redis-server"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq redis-server >&2
		# The package may start a system instance on 6379; ours is separate.
	fi
	if ! ping; then
		mkdir -p "$dir"
		say "starting redis-server on 127.0.0.1:$port (log: $dir/redis.log)"
		redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
			--save "" --appendonly no --dir "$dir" \
			--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
		for _ in $(seq 1 100); do
			ping && break
			sleep 0.1
		done
		if ! ping; then
			say "redis-server did not answer PING on port $port within 10s; its log:"
			tail -n 20 "$dir/redis.log" >&2 || true
			exit 1
		fi
	fi
	echo "$url"
}

stop() {
	local pid
	if ! pid=$(ours); then
		say "no redis-server started by this script runs on port $port; nothing to stop"
		return 0
	fi
	say "stopping redis-server on 127.0.0.1:$port (pid $pid)"
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || {
			rm -f "$dir/redis.pid"
			return 0
		}
		sleep 0.1
	done
	say "redis-server (pid $pid) did not stop within 10s"
	return 1
}

case ${1:-start} in
start) start ;;
running) ping ;;
stop) stop ;;
*)
	say "usage: $0 [start|running|stop]"
	exit 2
	;;
esac
