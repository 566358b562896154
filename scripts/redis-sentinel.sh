#!/usr/bin/env bash
# Runs a throwaway Redis Sentinel setup on loopback for the redisstore tests:
# a primary on port 7101, its replica on 7102, and three Sentinels on
# 7111-7113 watching them as master "go-sealed" (quorum 2), no persistence.
#
#   scripts/redis-sentinel.sh start    start it (if not healthy) and wait until it is
#   scripts/redis-sentinel.sh stop     shut everything down and remove its files
#   scripts/redis-sentinel.sh status   print each process and what it sees; exit 1 unless healthy
#
# Then: SESSION_TEST_SERVICES=require go test ./serverstore/redisstore/ -run TestSentinel
# (the tests' default SESSION_TEST_REDIS_SENTINEL is these three Sentinels).
#
# Healthy means: every process answers; every Sentinel names the same
# primary, sees it as up, knows the other data node as its replica (in sync)
# and the two other Sentinels; that replica is connected and done syncing.
# After a failover the primary is on 7102 and the replica on 7101: that is
# healthy too, and start leaves it so. stop then start always gives a fresh
# setup with the primary on 7101.
#
# The timeouts are short so that failovers are quick: a primary is down
# after 1 s without an answer, a failover times out after 5 s.
#
# The files live under ${TMPDIR:-/tmp}/go-sealed-redis-sentinel/<port>.
# Needs redis-server and redis-cli 7 or newer (redis-server --sentinel).
set -euo pipefail

name=go-sealed
data_ports=(7101 7102)
sentinel_ports=(7111 7112 7113)
all_ports=("${data_ports[@]}" "${sentinel_ports[@]}")
base="${TMPDIR:-/tmp}/go-sealed-redis-sentinel"
host=127.0.0.1
script=redis-sentinel
# shellcheck source=scripts/redis-common.sh
source "$(dirname "$0")/redis-common.sh"

# info_field port name: a field of INFO replication.
info_field() {
	cli "$1" info replication 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

# pairs_field name: the value following the line "name" in a flat list of
# alternating names and values, as redis-cli prints SENTINEL MASTER.
pairs_field() {
	awk -v k="$1" 'NR % 2 == 1 && $0 == k { getline; print; exit }'
}

# sentinel_field port command name: a field of SENTINEL <command> go-sealed.
sentinel_field() {
	cli "$1" sentinel "$2" "$name" 2>/dev/null | tr -d '\r' | pairs_field "$3"
}

# master_of port: the primary the Sentinel on port names, as host:port.
master_of() {
	cli "$1" sentinel get-master-addr-by-name "$name" 2>/dev/null | tr -d '\r' | paste -sd: -
}

all_down() {
	local p
	for p in "${all_ports[@]}"; do
		! node_up "$p" || return 1
	done
}

any_up() { ! all_down; }

replica_synced() { # replica_port primary_port
	[[ "$(info_field "$1" role)" == slave &&
		"$(info_field "$1" master_host)" == "$host" &&
		"$(info_field "$1" master_port)" == "$2" &&
		"$(info_field "$1" master_link_status)" == up &&
		"$(info_field "$1" master_sync_in_progress)" == 0 ]]
}

# sentinel_ok port primary replica: the Sentinel on port sees primary up,
# replica in sync with it, and the two other Sentinels.
sentinel_ok() {
	local s=$1 primary=$2 replica=$3 replicas
	[[ "$(master_of "$s")" == "$primary" &&
		"$(sentinel_field "$s" master flags)" == master &&
		"$(sentinel_field "$s" master num-slaves)" == 1 &&
		"$(sentinel_field "$s" master num-other-sentinels)" == $((${#sentinel_ports[@]} - 1)) ]] || return 1
	replicas=$(cli "$s" sentinel replicas "$name" 2>/dev/null | tr -d '\r') || return 1
	[[ "$(pairs_field name <<<"$replicas")" == "$replica" &&
		"$(pairs_field flags <<<"$replicas")" == slave &&
		"$(pairs_field role-reported <<<"$replicas")" == slave &&
		"$(pairs_field master-link-status <<<"$replicas")" == ok ]]
}

healthy() {
	all_up || return 1
	local primary replica p
	primary=$(master_of "${sentinel_ports[0]}")
	case "$primary" in
	"$host:${data_ports[0]}") replica="$host:${data_ports[1]}" ;;
	"$host:${data_ports[1]}") replica="$host:${data_ports[0]}" ;;
	*) return 1 ;;
	esac
	[[ "$(info_field "${primary##*:}" role)" == master ]] || return 1
	replica_synced "${replica##*:}" "${primary##*:}" || return 1
	for p in "${sentinel_ports[@]}"; do
		sentinel_ok "$p" "$primary" "$replica" || return 1
	done
}

# Each start writes fresh config files: a Sentinel rewrites its own with
# what it has learnt (other Sentinels, replicas, epochs), and a data node's
# is rewritten by Sentinel when it is promoted or demoted.
start_data_node() { # port [primary_port]
	local port=$1 dir="$base/$1"
	mkdir -p "$dir"
	cat >"$dir/redis.conf" <<EOF
port $port
bind $host
daemonize yes
dir $dir
logfile $dir/redis.log
pidfile $dir/redis.pid
save ""
appendonly no
repl-diskless-sync yes
repl-diskless-sync-delay 0
EOF
	if (($# > 1)); then
		echo "replicaof $host $2" >>"$dir/redis.conf"
	fi
	redis-server "$dir/redis.conf"
}

start_sentinel() { # port primary_port
	local port=$1 dir="$base/$1"
	mkdir -p "$dir"
	cat >"$dir/sentinel.conf" <<EOF
port $port
bind $host
daemonize yes
dir $dir
logfile $dir/sentinel.log
pidfile $dir/sentinel.pid
sentinel monitor $name $host $2 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 5000
sentinel parallel-syncs $name 1
EOF
	redis-server "$dir/sentinel.conf" --sentinel
}

start() {
	if healthy; then
		echo "redis-sentinel: already running: primary $(master_of "${sentinel_ports[0]}"), Sentinels on ports ${sentinel_ports[0]}-${sentinel_ports[-1]}"
		return 0
	fi
	# Everything up but not healthy may be a setup settling after a
	# failover (Sentinel demotes the old primary some seconds after it
	# promoted the new one): give it time. Anything else, or a setup that
	# does not settle, is replaced by a fresh one.
	if all_up; then
		echo "redis-sentinel: running but not healthy; waiting for it to settle" >&2
		if wait_until 45 "not healthy" healthy 2>/dev/null; then
			echo "redis-sentinel: running: primary $(master_of "${sentinel_ports[0]}"), Sentinels on ports ${sentinel_ports[0]}-${sentinel_ports[-1]}"
			return 0
		fi
	fi
	if any_up; then
		echo "redis-sentinel: found a setup that is not healthy; starting afresh" >&2
		stop >/dev/null
	fi
	rm -rf "$base"
	local primary=${data_ports[0]} replica=${data_ports[1]} p
	start_data_node "$primary"
	start_data_node "$replica" "$primary"
	wait_until 10 "the data nodes did not answer" node_up "$primary"
	wait_until 10 "the data nodes did not answer" node_up "$replica"
	wait_until 20 "the replica on $replica did not sync with the primary on $primary" replica_synced "$replica" "$primary"
	for p in "${sentinel_ports[@]}"; do
		start_sentinel "$p" "$primary"
	done
	wait_until 30 "the Sentinels did not all see the primary, the replica and each other" healthy
	echo "redis-sentinel: running: primary $host:$primary, replica $host:$replica, Sentinels on ports ${sentinel_ports[0]}-${sentinel_ports[-1]} ($base)"
}

stop() {
	local p
	# The Sentinels first, so that none fails over a stopping primary.
	for p in "${sentinel_ports[@]}" "${data_ports[@]}"; do
		if node_up "$p"; then
			cli "$p" shutdown nosave >/dev/null 2>&1 || true
		fi
	done
	wait_until 10 "some processes still answer" all_down
	rm -rf "$base"
	echo "redis-sentinel: stopped"
}

status() {
	local p
	for p in "${data_ports[@]}"; do
		if node_up "$p"; then
			if [[ "$(info_field "$p" role)" == master ]]; then
				echo "$host:$p up, primary, connected_slaves:$(info_field "$p" connected_slaves)"
			else
				echo "$host:$p up, replica of $(info_field "$p" master_host):$(info_field "$p" master_port), master_link_status:$(info_field "$p" master_link_status)"
			fi
		else
			echo "$host:$p down"
		fi
	done
	for p in "${sentinel_ports[@]}"; do
		if node_up "$p"; then
			echo "$host:$p up, Sentinel: master $(master_of "$p") flags:$(sentinel_field "$p" master flags)" \
				"replicas:$(sentinel_field "$p" master num-slaves) other-sentinels:$(sentinel_field "$p" master num-other-sentinels)"
		else
			echo "$host:$p down"
		fi
	done
	if healthy; then
		echo "redis-sentinel: healthy"
		return 0
	fi
	echo "redis-sentinel: not healthy"
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
