#!/usr/bin/env bash
# Runs a throwaway MongoDB-wire server on loopback for the mongostore tests,
# CI and the demo: FerretDB v1.24 with its SQLite backend, embedded in the
# repository's own program tools/ferretdb (a module of its own). MongoDB is
# not packaged here; FerretDB needs no other service.
#
#   scripts/mongo.sh start    build it, start it in the background (if not answering) and wait until it answers
#   scripts/mongo.sh stop     stop it and remove its files
#   scripts/mongo.sh check    exit 1 unless it answers a ping
#
# Then: SESSION_TEST_SERVICES=require go test ./serverstore/mongostore/
# (the tests' default SESSION_TEST_MONGO_URL is mongodb://127.0.0.1:27017).
#
# MONGO_ADDR sets the address (default 127.0.0.1:27017; loopback only).
# The binary, the SQLite files, the log and the pid file live under
# ${TMPDIR:-/tmp}/go-sealed-mongo. The first build compiles FerretDB and
# its SQLite driver, which takes a few minutes; later ones come from Go's
# build cache.
set -euo pipefail

addr=${MONGO_ADDR:-127.0.0.1:27017}
base="${TMPDIR:-/tmp}/go-sealed-mongo"
bin="$base/ferretdb"
pidfile="$base/ferretdb.pid"
log="$base/ferretdb.log"
src="$(cd "$(dirname "$0")/../tools/ferretdb" && pwd)"

up() { [[ -x "$bin" ]] && "$bin" -ping -listen "$addr" >/dev/null 2>&1; }

running_pid() { # the pid of the server this script started, if it still runs
	local pid
	[[ -f "$pidfile" ]] || return 1
	pid=$(cat "$pidfile")
	kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
	mkdir -p "$base"
	echo "mongo: building tools/ferretdb"
	(cd "$src" && go build -o "$bin" .)
	if up; then
		echo "mongo: already running on $addr"
		return 0
	fi
	if running_pid >/dev/null; then
		echo "mongo: a server started earlier (pid $(cat "$pidfile")) does not answer; try: $0 stop && $0 start" >&2
		return 1
	fi
	mkdir -p "$base/data"
	# setsid: the server must outlive this script, and not get the
	# signals of the terminal or CI step that ran it.
	setsid "$bin" -listen "$addr" -dir "$base/data" >"$log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	local i
	for ((i = 0; i < 150; i++)); do
		if up; then
			echo "mongo: FerretDB running on $addr (pid $(cat "$pidfile"), files in $base)"
			return 0
		fi
		if ! running_pid >/dev/null; then
			echo "mongo: the server exited at start:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.2
	done
	echo "mongo: no answer on $addr within 30 s (log: $log)" >&2
	return 1
}

stop() {
	local pid i
	if pid=$(running_pid); then
		kill -TERM "$pid"
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "mongo: pid $pid still running 10 s after SIGTERM" >&2
			return 1
		fi
	fi
	rm -rf "$base"
	echo "mongo: stopped"
}

check() {
	if up; then
		echo "mongo: answering on $addr"
		return 0
	fi
	echo "mongo: not answering on $addr" >&2
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
check) check ;;
*)
	echo "usage: $0 start|stop|check" >&2
	exit 2
	;;
esac
