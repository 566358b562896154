#!/usr/bin/env bash
# Starts the services the backend tests use (PostgreSQL, MariaDB, Redis on
# loopback) if they are not answering, and waits until they are.
#
#   scripts/services.sh start    start what is down, wait for all
#   scripts/services.sh check    exit non-zero if any is down
#
# It uses the Debian packages' own commands; on another system start the
# services your way and point the tests at them with SESSION_TEST_REDIS_URL,
# SESSION_TEST_POSTGRES_URL and SESSION_TEST_MYSQL_DSN.
set -euo pipefail

redis_up()    { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
postgres_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
mariadb_up()  { mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

start_redis() {
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_postgres() { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start; }
start_mariadb()  { start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; }

wait_for() { # name check-function
	for _ in $(seq 1 60); do
		"$2" && return 0
		sleep 1
	done
	echo "services: $1 did not come up within 60 s" >&2
	return 1
}

case "${1:-start}" in
start)
	redis_up    || { echo "services: starting Redis";      start_redis; }
	postgres_up || { echo "services: starting PostgreSQL"; start_postgres; }
	mariadb_up  || { echo "services: starting MariaDB";    start_mariadb; }
	wait_for Redis redis_up
	wait_for PostgreSQL postgres_up
	wait_for MariaDB mariadb_up
	# The tests use database "test" on both SQL servers.
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 ||
		psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'
	mariadb -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test' 2>/dev/null ||
		mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test'
	echo "services: Redis, PostgreSQL and MariaDB are up"
	;;
check)
	redis_up && postgres_up && mariadb_up
	;;
*)
	echo "usage: $0 start|check" >&2
	exit 2
	;;
esac
