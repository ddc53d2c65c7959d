# shellcheck shell=bash
# deploy/local/lib.sh: shared helpers for deploy/local/{up,down,demo,test}.
#
# Sourced, not run. It finds the repository root, sets the BF_* environment
# that the services and bfctl read (only where the caller has not set a
# value), and defines:
#   ensure_infra      make sure build tools, Chromium and chromedriver (for the
#                     browser tests), PostgreSQL and RabbitMQ are here and
#                     answering on loopback (installs only what is missing)
#   ensure_databases  create the gateway's and the claims' databases if missing
#   build_bins        build the service binaries (debug, as the tests use)
#   start_service / stop_service / wait_healthy / gateway_url
# Why: one place for this logic, so a developer's machine, a fresh container
# and CI get the same checks. Everything is idempotent and loopback-only;
# containers have no systemd, so services are started directly.
#
# Progress messages go to stderr, so a script's stdout stays for its result.

bf_root() {
    # This file lives in deploy/local/, two levels below the root.
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
}

BF_ROOT="$(bf_root)"
BF_RUN_DIR="$BF_ROOT/.bf-run"
export BF_ROOT BF_RUN_DIR

export BF_GATEWAY_DATABASE_URL="${BF_GATEWAY_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/bf_gateway}"
export BF_CLAIMS_DATABASE_URL="${BF_CLAIMS_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/bf_claims}"
export BF_AMQP_URL="${BF_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export BF_OBJECT_STORE="${BF_OBJECT_STORE:-$BF_RUN_DIR/objects}"
export BF_HTTP_ADDR="${BF_HTTP_ADDR:-127.0.0.1:8080}"
export BF_GRPC_ADDR="${BF_GRPC_ADDR:-127.0.0.1:50051}"
export BF_CLAIMS_URL="${BF_CLAIMS_URL:-http://127.0.0.1:50051}"
export BF_JWT_SECRET="${BF_JWT_SECRET:-bf-local-dev-secret}"

# ---------------------------------------------------------------------------
# Messages and small utilities
# ---------------------------------------------------------------------------

bf_log() { printf '==> %s\n' "$*" >&2; }
bf_warn() { printf 'warning: %s\n' "$*" >&2; }
bf_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
bf_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        bf_die "root is needed for: $*  (run as root, or install sudo)"
    fi
}

# True when something accepts TCP connections on HOST PORT.
bf_port_open() {
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# HOST:PORT -> the host to connect to ("0.0.0.0" means this machine).
bf_addr_host() {
    local host=${1%:*}
    host=${host#\[}
    host=${host%\]}
    case $host in
    '' | 0.0.0.0) host=127.0.0.1 ;;
    '::') host=::1 ;;
    esac
    printf '%s' "$host"
}

bf_addr_port() { printf '%s' "${1##*:}"; }

# bf_wait_for SECONDS WHAT COMMAND...: retries COMMAND every second.
bf_wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            bf_warn "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------------------
# Packages (Debian): apt-get update at most once per run, and only when
# something has to be installed.
# ---------------------------------------------------------------------------

BF_APT_UPDATED=0

bf_pkg_installed() {
    # shellcheck disable=SC2016 # ${Status} is dpkg-query's format, not ours.
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

bf_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        bf_die "missing: $*. These scripts install with apt-get (Debian/Ubuntu); install them by hand."
    if [ "$BF_APT_UPDATED" != 1 ]; then
        bf_log "apt-get update"
        bf_as_root apt-get update -qq >&2
        BF_APT_UPDATED=1
    fi
    bf_log "installing: $*"
    bf_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >&2
}

# ---------------------------------------------------------------------------
# Build tools
# ---------------------------------------------------------------------------

bf_require_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
        export PATH
    fi
    command -v cargo >/dev/null 2>&1 ||
        bf_die "cargo not found. Install Rust with rustup (https://rustup.rs), then open a new shell. Debian's cargo package is too old for this workspace."
}

# Commands a build or these scripts need, each with the Debian package that
# brings it. psql and pg_isready come with postgresql-client.
bf_ensure_build_tools() {
    bf_require_cargo
    local pair cmd pkg missing=()
    for pair in protoc:protobuf-compiler pkg-config:pkg-config gcc:gcc curl:curl \
        psql:postgresql-client pg_isready:postgresql-client; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        if ! "$cmd" --version >/dev/null 2>&1 && [[ " ${missing[*]} " != *" $pkg "* ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} > 0)); then
        bf_apt_install "${missing[@]}"
    else
        bf_log "build tools present (cargo, protoc, pkg-config, gcc, curl, psql)"
    fi
}

# ---------------------------------------------------------------------------
# PostgreSQL on 127.0.0.1:5432, user postgres with password postgres
# ---------------------------------------------------------------------------

bf_pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 -t 3 >/dev/null 2>&1; }

bf_pg_login_ok() {
    PGPASSWORD=postgres PGCONNECT_TIMEOUT=5 \
        psql -X -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1
}

bf_pg_server_installed() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

# Installs (if needed), configures (only what we installed or created) and
# starts the cluster that uses port 5432, without systemd.
bf_start_postgres() {
    local configure=0 version='' cluster='' v
    if ! bf_pg_server_installed; then
        bf_apt_install postgresql
        configure=1
    fi

    read -r version cluster < <(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }') || true
    if [ -z "$version" ]; then
        if [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
            bf_die "PostgreSQL clusters exist, but none uses port 5432 (see pg_lsclusters); start one on 127.0.0.1:5432 by hand."
        fi
        for v in /usr/lib/postgresql/*/bin/postgres; do
            v=${v#/usr/lib/postgresql/}
            v=${v%%/*}
            if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$version" "$v" | sort -V | tail -n1)" = "$v" ]; then
                version=$v
            fi
        done
        cluster=main
        bf_log "creating PostgreSQL cluster $version/$cluster"
        bf_as_root pg_createcluster --port 5432 "$version" "$cluster" >&2
        configure=1
    fi

    local running=0
    if bf_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" status >/dev/null 2>&1; then
        running=1
    fi

    if [ "$configure" = 1 ]; then
        bf_log "PostgreSQL $version/$cluster: listen on 127.0.0.1 only"
        printf '%s\n' "# Written by deploy/local/lib.sh: local development, loopback only." \
            "listen_addresses = '127.0.0.1'" |
            bf_as_root tee "/etc/postgresql/$version/$cluster/conf.d/90-bf-local.conf" >/dev/null
        if [ "$running" = 1 ]; then
            # The package may have started it already with its defaults.
            bf_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart >&2
        fi
    fi

    if [ "$running" = 0 ]; then
        bf_log "starting PostgreSQL $version/$cluster"
        bf_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2
    fi

    bf_wait_for 60 "PostgreSQL on 127.0.0.1:5432" bf_pg_ready ||
        bf_die "PostgreSQL did not become ready; see /var/log/postgresql/postgresql-$version-$cluster.log"
}

bf_ensure_postgres() {
    local rc=0
    pg_isready -q -h 127.0.0.1 -p 5432 -t 3 >/dev/null 2>&1 || rc=$?
    case $rc in
    0) bf_log "PostgreSQL already answering on 127.0.0.1:5432" ;;
    1) # Answering, but still starting up (or shutting down).
        bf_log "PostgreSQL on 127.0.0.1:5432 is starting; waiting"
        bf_wait_for 60 "PostgreSQL on 127.0.0.1:5432" bf_pg_ready || bf_die "PostgreSQL did not become ready" ;;
    *) bf_start_postgres ;;
    esac

    # The services log in over TCP as postgres/postgres. Where the server
    # trusts loopback the password is ignored, so this only acts when needed.
    if ! bf_pg_login_ok; then
        bf_log "setting the password of PostgreSQL user postgres"
        bf_as_root su postgres -c "cd / && psql -X -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
        bf_pg_login_ok ||
            bf_die "cannot log in to PostgreSQL at 127.0.0.1:5432 as postgres/postgres; check pg_hba.conf"
    fi
}

# ---------------------------------------------------------------------------
# RabbitMQ on 127.0.0.1:5672, guest/guest (allowed on loopback by default)
# ---------------------------------------------------------------------------

bf_rabbitmqctl() { bf_as_root rabbitmqctl "$@"; }

# The node's Erlang process is up (it may not be accepting AMQP yet).
bf_rabbit_node_up() {
    bf_pkg_installed rabbitmq-server && bf_rabbitmqctl -q -t 5 ping >/dev/null 2>&1
}

bf_rabbit_ready() {
    bf_port_open 127.0.0.1 5672 && bf_rabbitmqctl -q -t 5 await_startup >/dev/null 2>&1
}

# bf_replace_conf_lines FILE ERE: drops the lines of FILE matching ERE (and
# our own marker comment), then appends stdin. Running it twice changes
# nothing more.
bf_replace_conf_lines() {
    local file=$1 pattern=$2 tmp
    tmp=$(mktemp)
    if [ -f "$file" ]; then
        grep -Ev "$pattern|^# Written by deploy/local/lib\.sh" "$file" >"$tmp" || true
    fi
    cat >>"$tmp"
    bf_as_root install -m 0644 "$tmp" "$file"
    rm -f "$tmp"
}

# Loopback only: AMQP listener, Erlang distribution and epmd. A fixed node
# name (rabbit@localhost) keeps rabbitmqctl working whatever the hostname.
# The management plugin stays off.
bf_configure_rabbitmq() {
    bf_log "RabbitMQ: listen on 127.0.0.1 only, management off"
    bf_as_root mkdir -p /etc/rabbitmq
    bf_replace_conf_lines /etc/rabbitmq/rabbitmq.conf '^[[:space:]]*listeners\.tcp\.' <<'EOF'
# Written by deploy/local/lib.sh: local development, loopback only.
listeners.tcp.default = 127.0.0.1:5672
EOF
    bf_replace_conf_lines /etc/rabbitmq/rabbitmq-env.conf \
        '^[[:space:]]*(export[[:space:]]+)?(NODENAME|NODE_IP_ADDRESS|ERL_EPMD_ADDRESS|ERL_FLAGS)=' <<'EOF'
# Written by deploy/local/lib.sh: local development, loopback only.
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
    if [ ! -f /etc/rabbitmq/enabled_plugins ] || grep -q rabbitmq_management /etc/rabbitmq/enabled_plugins; then
        printf '[].\n' | bf_as_root tee /etc/rabbitmq/enabled_plugins >/dev/null
    fi
}

bf_start_rabbitmq() {
    if bf_rabbit_node_up; then
        bf_log "RabbitMQ node is running; waiting for its AMQP listener"
    else
        # Configure first: should the package start the broker on install,
        # it already starts on loopback.
        bf_configure_rabbitmq
        if ! bf_pkg_installed rabbitmq-server; then
            bf_apt_install rabbitmq-server
        fi
        if bf_port_open 127.0.0.1 5672 || bf_rabbit_node_up; then
            bf_log "RabbitMQ was started by its package"
        else
            bf_log "starting RabbitMQ"
            bf_as_root rabbitmq-server -detached >&2
        fi
    fi
    bf_wait_for 120 "RabbitMQ on 127.0.0.1:5672" bf_rabbit_ready ||
        bf_die "RabbitMQ did not start; see /var/log/rabbitmq/"
}

bf_ensure_rabbitmq() {
    if bf_port_open 127.0.0.1 5672; then
        bf_log "RabbitMQ already answering on 127.0.0.1:5672"
    else
        bf_start_rabbitmq
    fi
    # The integration tests (run as root) create a vhost per test with
    # rabbitmqctl, so check that it reaches the node.
    if [ "$(id -u)" -eq 0 ] && ! rabbitmqctl -q -t 10 list_vhosts >/dev/null 2>&1; then
        bf_warn "rabbitmqctl cannot reach the local RabbitMQ node; the integration tests need it to create vhosts"
    fi
}

# ---------------------------------------------------------------------------
# Chromium and chromedriver, for the browser tests (tests/browser.rs)
# ---------------------------------------------------------------------------

# Debian's chromium and chromium-driver: the versions always match, and
# nothing is downloaded at test time (the tests have no network).
bf_ensure_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    if ((${#missing[@]} > 0)); then
        bf_apt_install "${missing[@]}"
    else
        bf_log "Chromium and chromedriver present"
    fi
}

# ---------------------------------------------------------------------------
# The entry points used by the scripts
# ---------------------------------------------------------------------------

ensure_infra() {
    bf_ensure_build_tools
    bf_ensure_browser
    bf_ensure_postgres
    bf_ensure_rabbitmq
}

# Creates the database named in URL when missing, connecting to the
# "postgres" database of the same server with the same credentials.
bf_ensure_database() {
    local url=$1 base query db admin exists
    base=${url%%\?*}
    query=${url#"$base"}
    db=${base##*/}
    admin="${base%/*}/postgres$query"
    [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || bf_die "unexpected database name '$db' in a BF_*_DATABASE_URL"
    exists=$(PGCONNECT_TIMEOUT=10 psql -X "$admin" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'") ||
        bf_die "cannot connect to PostgreSQL to check database $db"
    if [ "$exists" = 1 ]; then
        bf_log "database $db exists"
    else
        bf_log "creating database $db"
        PGCONNECT_TIMEOUT=10 psql -X "$admin" -qc "CREATE DATABASE \"$db\"" >&2
    fi
}

ensure_databases() {
    bf_ensure_database "$BF_GATEWAY_DATABASE_URL"
    bf_ensure_database "$BF_CLAIMS_DATABASE_URL"
}

build_bins() {
    bf_require_cargo
    bf_log "building the binaries (cargo build --workspace --bins)"
    (cd "$BF_ROOT" && cargo build --workspace --bins) >&2
}

# ---------------------------------------------------------------------------
# Services: pid files in .bf-run/<name>.pid, logs in .bf-run/logs/<name>.log
# ---------------------------------------------------------------------------

bf_bin() { printf '%s/debug/%s' "${CARGO_TARGET_DIR:-$BF_ROOT/target}" "$1"; }
bf_pidfile() { printf '%s/%s.pid' "$BF_RUN_DIR" "$1"; }
bf_logfile() { printf '%s/logs/%s.log' "$BF_RUN_DIR" "$1"; }

# True if process PID runs program NAME: its command line has an argument
# named NAME or ending in /NAME (the binary, or a script run by an
# interpreter). Guards against an unrelated process that reused the pid.
bf_pid_runs() {
    local pid=$1 name=$2 arg
    [ -r "/proc/$pid/cmdline" ] || return 0 # no /proc: trust the pid file
    while IFS= read -r -d '' arg; do
        case $arg in
        "$name" | */"$name") return 0 ;;
        esac
    done <"/proc/$pid/cmdline"
    return 1
}

# Prints the pid of service NAME if its pid file names a live process that is
# that service.
bf_service_pid() {
    local name=$1 pidfile pid
    pidfile=$(bf_pidfile "$name")
    [ -f "$pidfile" ] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    bf_pid_runs "$pid" "$name" || return 1
    printf '%s\n' "$pid"
}

gateway_url() { printf 'http://%s' "${BF_HTTP_ADDR/#0.0.0.0:/127.0.0.1:}"; }

# start_service NAME [ARGS...]: runs target/debug/NAME in the background, in
# its own session (a Ctrl-C in this terminal does not reach it).
start_service() {
    local name=$1 bin pid log
    shift
    bin=$(bf_bin "$name")
    [ -x "$bin" ] || bf_die "$bin not found; build it first (cargo build --workspace --bins)"
    if pid=$(bf_service_pid "$name"); then
        bf_log "$name already running (pid $pid)"
        return 0
    fi
    mkdir -p "$BF_RUN_DIR/logs"
    log=$(bf_logfile "$name")
    bf_log "starting $name (log: $log)"
    if command -v setsid >/dev/null 2>&1; then
        setsid nohup "$bin" "$@" </dev/null >"$log" 2>&1 &
    else
        nohup "$bin" "$@" </dev/null >"$log" 2>&1 &
    fi
    printf '%s\n' "$!" >"$(bf_pidfile "$name")"
}

# stop_service NAME: SIGTERM, up to 15s to exit, then SIGKILL. Idempotent.
stop_service() {
    local name=$1 pid deadline
    if pid=$(bf_service_pid "$name"); then
        bf_log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 15))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            bf_warn "$name did not stop within 15s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
                sleep 0.2
            done
        fi
    else
        bf_log "$name is not running"
    fi
    rm -f "$(bf_pidfile "$name")"
}

# bf_service_healthy NAME PID STARTED_AT: one health probe.
bf_service_healthy() {
    local name=$1 pid=$2 started=$3
    case $name in
    gateway) curl -fsS -m 2 -o /dev/null "$(gateway_url)/readyz" >/dev/null 2>&1 ;;
    claims) bf_port_open "$(bf_addr_host "$BF_GRPC_ADDR")" "$(bf_addr_port "$BF_GRPC_ADDR")" ;;
    *) ((SECONDS - started >= 2)) && kill -0 "$pid" 2>/dev/null ;; # validator: alive for 2s
    esac
}

# wait_healthy NAME [TIMEOUT]: waits until NAME answers; on failure prints
# the last 40 lines of its log and returns 1.
wait_healthy() {
    local name=$1 timeout=${2:-120} pid started=$SECONDS problem=''
    pid=$(<"$(bf_pidfile "$name")")
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            problem="$name exited"
            break
        fi
        if bf_service_healthy "$name" "$pid" "$started"; then
            bf_log "$name is healthy"
            return 0
        fi
        if ((SECONDS - started >= timeout)); then
            problem="$name not healthy after ${timeout}s"
            break
        fi
        sleep 1
    done
    bf_warn "$problem; last 40 lines of $(bf_logfile "$name"):"
    tail -n 40 "$(bf_logfile "$name")" >&2 || true
    return 1
}
