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
set -euo pipefail

port=${MESHBOT_TEST_REDIS_PORT:-6391}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.run/redis-test
url=redis://127.0.0.1:$port/0

say() { echo "redis-test: $*" >&2; }

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

ping() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

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
