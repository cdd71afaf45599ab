# shellcheck shell=bash
# Helpers shared by kind-up.sh and kind-down.sh. Apart from the prerequisite checks at the end,
# they are pure (no Docker, no kind), so they can be tried on any machine:
# `source scripts/kind-lib.sh; carve_lb_ranges 172.18.0.0/16`.

# Exit codes of the kind scripts, documented in docs/quickstart.md and docs/troubleshooting.md.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EXIT_FAILED=1 EXIT_MISSING_TOOL=2 EXIT_NO_DOCKER_DAEMON=3 EXIT_USAGE=64

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
err() { printf 'ERROR: %s\n' "$*" >&2; }

# True for a DNS-1123 label: kind cluster names become container and context names, and the mesh
# uses the same names as Istio cluster IDs.
is_dns_label() {
    [[ ${#1} -le 63 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]
}

# Dotted IPv4 address -> integer. Fails on anything that is not four octets of 0-255.
ipv4_to_int() {
    local a b c d
    [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
    a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]})) c=$((10#${BASH_REMATCH[3]})) d=$((10#${BASH_REMATCH[4]}))
    ((a <= 255 && b <= 255 && c <= 255 && d <= 255)) || return 1
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ipv4() {
    echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# carve_lb_ranges CIDR [COUNT]
# Prints COUNT (default 2) disjoint address ranges "first-last", one per line, for MetalLB pools
# inside the IPv4 subnet CIDR. Docker hands out container addresses from the bottom of the subnet,
# so the pools sit at the top: in the subnet's last /24 when the subnet is bigger than a /24, else
# in its upper half; 50 addresses each, fewer when the space is short. The broadcast address is never
# used. Example: 172.18.0.0/16 -> 172.18.255.1-172.18.255.50 and 172.18.255.51-172.18.255.100.
carve_lb_ranges() {
    local cidr=$1 count=${2:-2}
    if ! [[ $cidr =~ ^([0-9.]+)/([0-9]{1,2})$ ]]; then
        err "not an IPv4 subnet in CIDR notation: '$cidr'"
        return 1
    fi
    local prefix=$((10#${BASH_REMATCH[2]})) ip
    if ! ip=$(ipv4_to_int "${BASH_REMATCH[1]}") || ((prefix > 32)); then
        err "not an IPv4 subnet in CIDR notation: '$cidr'"
        return 1
    fi
    if ! [[ $count =~ ^[1-9][0-9]*$ ]]; then
        err "the number of ranges must be a positive integer, got '$count'"
        return 1
    fi
    local size=$((1 << (32 - prefix)))
    local network=$((ip & ~(size - 1) & 0xFFFFFFFF))
    local broadcast=$((network + size - 1))
    local start per
    if ((size > 256)); then
        start=$((broadcast - 255))
        per=$((254 / count))
    else
        start=$((network + size / 2))
        per=$(((size / 2 - 2) / count))
    fi
    per=$((per < 50 ? per : 50))
    if ((per < 1)); then
        err "subnet $cidr is too small for $count load-balancer address ranges; use a /28 or bigger Docker network"
        return 1
    fi
    local i first
    for ((i = 0; i < count; i++)); do
        first=$((start + 1 + i * per))
        echo "$(int_to_ipv4 "$first")-$(int_to_ipv4 $((first + per - 1)))"
    done
}

# first_ipv4_subnet "SUBNET SUBNET ..." -> the first IPv4 CIDR of a list that may also hold IPv6
# subnets (a dual-stack kind network). Fails when there is none.
first_ipv4_subnet() {
    local s
    for s in $1; do
        if [[ $s == *.*/* && $s != *:* ]]; then
            echo "$s"
            return 0
        fi
    done
    return 1
}

# set_stack_api_server FILE NAME URL
# Rewrites the value of every `apiServer:` line of FILE that ends with the marker comment
# `# kind-up: NAME` (commented-out lines included, so the primary-remote variant stays in step).
# Returns 1, leaving FILE untouched, when there is no such line. The file keeps its permissions.
set_stack_api_server() {
    local file=$1 name=$2 url=$3 tmp
    is_dns_label "$name" || return 1
    [[ $url =~ ^https://[][0-9A-Za-z.:-]+$ ]] || return 1
    grep -Eq "^[[:space:]#]*apiServer:.*# kind-up: ${name}[[:space:]]*\$" "$file" || return 1
    tmp=$(mktemp "${file}.XXXXXX") || return 1
    if ! sed -E "s|^([[:space:]#]*)apiServer:.*# kind-up: ${name}[[:space:]]*\$|\\1apiServer: ${url} # kind-up: ${name}|" \
        "$file" >"$tmp"; then
        rm -f "$tmp"
        return 1
    fi
    cat "$tmp" >"$file"
    rm -f "$tmp"
}

install_hint() {
    case $1 in
    docker) echo "Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/" ;;
    kind) echo "kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    kubectl) echo "kubectl: https://kubernetes.io/docs/tasks/tools/" ;;
    *) echo "$1" ;;
    esac
}

# require_tools TOOL... -> exits with EXIT_MISSING_TOOL, naming every missing tool at once.
# Uses shell builtins only, so it also works when PATH holds nothing useful.
require_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]} == 0)); then return 0; fi
    err "required tool(s) not found on PATH: ${missing[*]}"
    for tool in "${missing[@]}"; do
        printf '  install %s\n' "$(install_hint "$tool")" >&2
    done
    exit "$EXIT_MISSING_TOOL"
}

# Exits with EXIT_NO_DOCKER_DAEMON when the docker CLI cannot talk to a daemon.
require_docker_daemon() {
    if ! docker info >/dev/null 2>&1; then
        err "the Docker daemon is not running or not reachable ('docker info' failed)."
        printf '  start Docker (Docker Desktop, or: sudo systemctl start docker), check that your user may\n' >&2
        printf '  use it (member of the docker group), then run this script again.\n' >&2
        exit "$EXIT_NO_DOCKER_DAEMON"
    fi
}
