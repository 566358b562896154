# Helpers shared by redis-cluster.sh and redis-sentinel.sh, which source
# this file after setting: script (their name, for messages), host, and
# all_ports (every port they run a process on).

cli() { # port args...
	local port=$1
	shift
	redis-cli -h "$host" -p "$port" "$@"
}

node_up() { cli "$1" ping 2>/dev/null | grep -q PONG; }

all_up() {
	local p
	for p in "${all_ports[@]}"; do
		node_up "$p" || return 1
	done
}

# wait_until seconds description command...: polls command every 0.2 s.
wait_until() {
	local seconds=$1 what=$2
	shift 2
	local i
	for ((i = 0; i < seconds * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	echo "$script: $what within $seconds s (logs: $base/<port>/*.log)" >&2
	return 1
}
