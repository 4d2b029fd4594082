#!/bin/sh
# A two-shard ClickHouse cluster on 127.0.0.1 for the tests: two
# clickhouse-server processes with their own config, data directory and free
# ports, and a remote_servers section naming the cluster uptake_test.
#   cluster.sh start DIR   starts both, waits (at most 60 s) until both answer
#                          SELECT 1 over HTTP; writes DIR/urls (the two HTTP
#                          URLs, comma-separated) and DIR/s1/pid, DIR/s2/pid
#   cluster.sh stop DIR    stops both (TERM, then KILL after 20 s)
#   cluster.sh stop-shard DIR N / start-shard DIR N
#                          stops one server (N = 1 or 2), or starts it again
#                          on its old ports and data, waiting (at most 60 s)
#                          until it answers
set -eu
cmd=${1:?usage: cluster.sh start|stop DIR | stop-shard|start-shard DIR N}
dir=${2:?usage: cluster.sh start|stop DIR | stop-shard|start-shard DIR N}
shard=${3:-}
SERVER=${CLICKHOUSE_SERVER:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {   # write_config N HTTP TCP INTERSERVER TCP1 TCP2
    d=$dir/s$1
    mkdir -p "$d/data" "$d/tmp"
    cat > "$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <uptake_pw>
      <password>pw of the test</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </uptake_pw>
  </users>
  <quotas><default></default></quotas>
</yandex>
XML
    cat > "$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$2</http_port>
  <tcp_port>$3</tcp_port>
  <interserver_http_port>$4</interserver_http_port>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <remote_servers>
    <uptake_test>
      <shard><replica><host>127.0.0.1</host><port>$5</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$6</port></replica></shard>
    </uptake_test>
  </remote_servers>
</yandex>
XML
}

answers() {   # answers PORT: 0 when the server says 1 to SELECT 1
    [ "$(curl -s --max-time 2 "http://127.0.0.1:$1/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

start() {
    mkdir -p "$dir"
    h1=$(free_port); h2=$(free_port); t1=$(free_port); t2=$(free_port); i1=$(free_port); i2=$(free_port)
    write_config 1 "$h1" "$t1" "$i1" "$t1" "$t2"
    write_config 2 "$h2" "$t2" "$i2" "$t1" "$t2"
    for n in 1 2; do
        "$SERVER" --config-file="$dir/s$n/config.xml" > "$dir/s$n/stdout.log" 2>&1 &
        echo $! > "$dir/s$n/pid"
    done
    echo "http://127.0.0.1:$h1,http://127.0.0.1:$h2" > "$dir/urls"
    i=0
    until answers "$h1" && answers "$h2"; do
        i=$((i + 1))
        if [ $i -ge 120 ]; then
            echo "cluster.sh: the servers did not answer SELECT 1 within 60 s; see $dir/s*/error.log" >&2
            tail -5 "$dir"/s*/error.log "$dir"/s*/stdout.log >&2 2>/dev/null || true
            stop
            return 1
        fi
        sleep 0.5
    done
}

start_shard() {   # start_shard N: the server of shard N again, on its config
    [ -f "$dir/s$1/pid" ] && kill -0 "$(cat "$dir/s$1/pid")" 2>/dev/null && return 0
    "$SERVER" --config-file="$dir/s$1/config.xml" >> "$dir/s$1/stdout.log" 2>&1 &
    echo $! > "$dir/s$1/pid"
    port=$(sed -n 's:.*<http_port>\(.*\)</http_port>.*:\1:p' "$dir/s$1/config.xml")
    i=0
    until answers "$port"; do
        i=$((i + 1))
        if [ $i -ge 120 ]; then
            echo "cluster.sh: shard $1 did not answer SELECT 1 within 60 s; see $dir/s$1/error.log" >&2
            return 1
        fi
        sleep 0.5
    done
}

stop() {
    for n in ${1:-1 2}; do
        [ -f "$dir/s$n/pid" ] || continue
        pid=$(cat "$dir/s$n/pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 40 ]; do
            sleep 0.5
            i=$((i + 1))
        done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/s$n/pid"
    done
}

case $cmd in
    start) start ;;
    stop) stop ;;
    stop-shard) stop "${shard:?stop-shard DIR N}" ;;
    start-shard) start_shard "${shard:?start-shard DIR N}" ;;
    *) echo "usage: cluster.sh start|stop DIR | stop-shard|start-shard DIR N" >&2; exit 2 ;;
esac
