#!/usr/bin/env bash
# Runs a throwaway Redis Cluster on loopback for the redisstore tests:
# ports 7001-7006, three primaries and three replicas, no persistence.
#
#   scripts/redis-cluster.sh start    start it (if not running) and wait until it serves every slot
#   scripts/redis-cluster.sh stop     shut every node down and remove its files
#   scripts/redis-cluster.sh status   print each node and the cluster state; exit 1 unless healthy
#
# Then: SESSION_TEST_SERVICES=require go test ./serverstore/redisstore/ -run TestCluster
# (the tests' default SESSION_TEST_REDIS_CLUSTER is these six addresses).
#
# The nodes' files live under ${TMPDIR:-/tmp}/go-sealed-redis-cluster/<port>.
# Needs redis-server and redis-cli 7 or newer.
set -euo pipefail

script=redis-cluster
all_ports=(7001 7002 7003 7004 7005 7006)
base="${TMPDIR:-/tmp}/go-sealed-redis-cluster"
host=127.0.0.1
# shellcheck source=scripts/redis-common.sh
source "$(dirname "$0")/redis-common.sh"

# cluster_field port name: a field of CLUSTER INFO as the node sees it.
cluster_field() {
	cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

node_ok() {
	[[ "$(cluster_field "$1" cluster_state)" == ok && "$(cluster_field "$1" cluster_slots_assigned)" == 16384 ]]
}

cluster_ok() {
	local p
	for p in "${all_ports[@]}"; do
		node_ok "$p" || return 1
	done
}

start_node() {
	local port=$1 dir="$base/$1"
	mkdir -p "$dir"
	redis-server --port "$port" --bind "$host" \
		--cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 \
		--appendonly no --save "" --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
}

start() {
	if cluster_ok; then
		echo "redis-cluster: already running on ports ${all_ports[0]}-${all_ports[-1]}"
		return 0
	fi
	local p
	for p in "${all_ports[@]}"; do
		if ! node_up "$p"; then
			start_node "$p"
		fi
	done
	wait_until 10 "not every node answered" all_up
	# Create the cluster unless it exists (nodes restarted from their
	# config files, or a start interrupted after the create): a node
	# that knows others or serves slots is already in one.
	if [[ "$(cluster_field "${all_ports[0]}" cluster_known_nodes)" == 1 &&
		"$(cluster_field "${all_ports[0]}" cluster_slots_assigned)" == 0 ]]; then
		local addrs=()
		for p in "${all_ports[@]}"; do
			addrs+=("$host:$p")
		done
		redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$base/create.log" 2>&1 || {
			cat "$base/create.log" >&2
			echo "redis-cluster: create failed; try: $0 stop && $0 start" >&2
			return 1
		}
	fi
	wait_until 30 "cluster not healthy (state ok, 16384 slots on every node)" cluster_ok
	echo "redis-cluster: running on ports ${all_ports[0]}-${all_ports[-1]} ($base)"
}

stop() {
	local p
	for p in "${all_ports[@]}"; do
		if node_up "$p"; then
			cli "$p" shutdown nosave >/dev/null 2>&1 || true
		fi
	done
	down() {
		local p
		for p in "${all_ports[@]}"; do
			! node_up "$p" || return 1
		done
	}
	wait_until 10 "some nodes still answer" down
	rm -rf "$base"
	echo "redis-cluster: stopped"
}

status() {
	local p healthy=0
	for p in "${all_ports[@]}"; do
		if node_up "$p"; then
			echo "$host:$p up, $(cli "$p" role 2>/dev/null | head -1), cluster_state:$(cluster_field "$p" cluster_state)"
		else
			echo "$host:$p down"
			healthy=1
		fi
	done
	if ((healthy == 0)) && cluster_ok; then
		echo "redis-cluster: healthy"
		return 0
	fi
	echo "redis-cluster: not healthy"
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
