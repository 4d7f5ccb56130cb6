#!/bin/bash
# The IGD lab: a real miniupnpd router (Debian miniupnpd-nftables 2.3.1) in
# Linux network namespaces, for MiniUpnp.Net's tests and demo.
#
#  [lan netns] 10.A.B.2/24 --veth-- 10.A.B.1 [igd netns: miniupnpd + nftables] 100.64.C.1/24 --veth-- 100.64.C.2 [wan netns]
#              fd00:A:B::2/64        fd00:A:B::1               2001:db8:C::1/64             2001:db8:C::2
#
# Usage: lab.sh COMMAND [options]   (see usage() below or README.md)
#
# Network rule: the lab only sends traffic between namespaces it created (or
# the adopted lan namespace); every wait is bounded; processes are ended by PID.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
export LC_ALL=C
if [[ -n ${LAB_TRACE:-} ]]; then PS4='+ ${EPOCHREALTIME} ${FUNCNAME[0]:-main}: '; set -x; fi

SELF=$(readlink -f "${BASH_SOURCE[0]}")
LAB_DIR=$(dirname "$SELF")
LAB_BASE=$(readlink -m "$LAB_DIR/../../artifacts/lab")
PYTHON=/usr/bin/python3
MINIUPNPD=/usr/sbin/miniupnpd
HTTP_PORT=5000
STUN_PORT=3478
NATPMP_PORT=5351
# Bounded waits (seconds).
HTTP_WAIT=${LAB_HTTP_WAIT:-10}
STOP_WAIT=3

SAFE_VALUE_RE='^[][A-Za-z0-9_.:/@%+=,-]*$'
ENV_KEYS=(LAB_ID LAN_NS IGD_NS WAN_NS LAN_IF IGD_LAN_IF IGD_WAN_IF WAN_IF
  LAN_ADDR IGD_LAN_ADDR IGD_WAN_ADDR WAN_ADDR LAN_ADDR6 IGD_LAN_ADDR6 IGD_WAN_ADDR6 WAN_ADDR6
  LAN_NET WAN_NET LAN_NET6 WAN_NET6 ROOTDESC_URL ROOTDESC_URL6 HTTP_PORT NATPMP_PORT STUN_PORT
  MINIUPNPD_PID STUN_PID LAN_ADOPTED LAN_CREATED IGD_CREATED WAN_CREATED
  STATE_DIR MINIUPNPD_CONF MINIUPNPD_LOG STUN_LOG UUID PROFILE EPOCH
  CARRIER INET_NS INET_IF CARRIER_IF INET_ADDR CARRIER_ADDR INET_NET INET_STUN_PID INET_CREATED
  BEHAVIOUR_STUN BEHAVIOUR_STUN_OTHER BEHAVIOUR_STUN_PID)

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: $(basename "$0") COMMAND [options]
  up [--id ID] [--state-dir DIR] [--profile P] [--epoch E] [--carrier C]
                                     create the lab (adopts an existing mu-ID-lan namespace)
  --carrier none|cgnat|double        none (the default): the wan namespace is the Internet. cgnat: the
                                     wan namespace is a carrier that masquerades the router's 100.64
                                     address to 198.18.C.1 towards a fifth namespace, mu-ID-inet
                                     (198.18.C.2, a STUN responder). double: the same, with the
                                     router's WAN address in 192.168.C.0/24 (a second router)
  down [--id ID] [--state-dir DIR] [--keep-state]
                                     end processes by PID, delete created namespaces, remove state
  status [--id ID]                   show namespaces/processes; exit 0 if all up, 1 otherwise
  restart-igd [--id ID] [--flush] [--http-port N] [--profile P] [--epoch E]
                                     restart miniupnpd (--flush: empty its nft chains first;
                                     --http-port: serve on another port, as routers that pick one per boot)
  --profile all|upnp|natpmp          what the router speaks: UPnP IGD, NAT-PMP and PCP (all, the
                                     default), UPnP only, or NAT-PMP and PCP only (enable_upnp=no);
                                     restart-igd keeps the lab's current profile unless given
  --epoch system|daemon              NAT-PMP/PCP epoch (and UPnP uptime) counted from the system's
                                     boot (system, the default: a restart keeps the epoch) or from
                                     miniupnpd's start (daemon: a restart is a new epoch)
  stop-igd [--id ID] [--flush]       stop miniupnpd
  start-igd [--id ID]                start miniupnpd with the same config, wait for HTTP
  freeze-igd [--id ID] / thaw-igd    SIGSTOP / SIGCONT miniupnpd: connections are accepted by
                                     the kernel, requests queue up unanswered
  wait-requests [--id ID] [N [SECS]] wait (bounded, default 1 request, 10 s) until N requests
                                     sit unread at miniupnpd's HTTP port (a frozen router)
  kill-igd [--id ID]                 SIGKILL miniupnpd (a crash: calls in flight are reset,
                                     its nft rules stay); start-igd brings it back
  link-down [--id ID] [lan|igd]      take the lan link down: the lan end (our interface: no
                                     route) or the igd end (no carrier: calls time out)
  link-up [--id ID] [lan|igd]        bring it up again with its addresses and routes
  exec [--id ID] lan|igd|wan CMD...  run CMD in that namespace
  selftest [--id ID] UPNPC_PATH      check the lab with a reference upnpc (brings up and
                                     tears down its own lab when no lab is up)
Without --id the commands target the lab in $LAB_BASE/current.
EOF
}

# ---------------------------------------------------------------- helpers --

# Run ip(8) namespace bookkeeping in the mount namespace that owns /run/netns.
# `ip netns exec` gives its command a private (slave) mount namespace: a
# namespace created with `ip netns add` from in there is bind-mounted only in
# that private mount namespace and is invisible (an empty file) everywhere
# else.  So when we run inside such a mount namespace, re-execute this script
# in the mount namespace that is the master of our /run/netns (found through
# /proc/PID/mountinfo peer-group ids), keeping our network namespace.
ppid_of() { # PID -> parent PID (0 if unknown); builtins only
  local line rest
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
  rest=${line##*) }; rest=${rest#* }
  echo "${rest%% *}"
}

netns_mount_prop() { # PID -> "shared:master" peer-group ids of /run/netns
  awk '$5=="/run/netns"{s="";m="";for(i=7;i<=NF&&$i!="-";i++){if($i~/^shared:/)s=substr($i,8);if($i~/^master:/)m=substr($i,8)};r=s":"m;f=1} END{if(f)print r}' \
    "/proc/$1/mountinfo" 2>/dev/null || true
}

find_mount_owner() { # prints a PID whose mount namespace owns /run/netns, or nothing
  local prop shared master want pid p level cands=() n=0
  prop=$(netns_mount_prop self)
  IFS=: read -r shared master <<<"$prop"
  [[ -z ${master:-} ]] && return 0              # already in the owning mount namespace
  want=$master
  p=$PPID
  while [[ $p =~ ^[0-9]+$ ]] && (( p > 1 && n < 64 )); do
    cands+=("$p"); n=$((n + 1))
    p=$(ppid_of "$p")
  done
  for p in /proc/[0-9]*; do cands+=("${p#/proc/}"); done
  for level in 1 2 3 4 5 6 7 8; do
    for pid in "${cands[@]}"; do
      [[ -r /proc/$pid/ns/mnt ]] || continue
      prop=$(netns_mount_prop "$pid")
      IFS=: read -r shared master <<<"$prop"
      if [[ ${shared:-} == "$want" ]]; then
        if [[ -z ${master:-} ]]; then echo "$pid"; return 0; fi
        want=$master; continue 2
      fi
    done
    return 0
  done
}

ensure_netns_mount_owner() {
  [[ -n ${MU_LAB_REEXEC:-} ]] && return 0
  local owner
  owner=$(find_mount_owner)
  [[ -z $owner ]] && return 0
  [[ -r /proc/$owner/ns/mnt ]] || die "cannot enter the mount namespace that owns /run/netns"
  exec nsenter --mount="/proc/$owner/ns/mnt" --wd="$PWD" -- env MU_LAB_REEXEC=1 "$SELF" "${ORIG_ARGS[@]}"
}

# A named namespace exists if /run/netns/NAME is a mounted nsfs (a bare file
# is what an `ip netns add` from a private mount namespace leaves behind).
# Builtins only: a fork costs ~8 ms on these machines.
ns_exists() {
  [[ -n $1 && -e /run/netns/$1 ]] || return 1
  local lines
  mapfile -t lines </proc/self/mountinfo
  [[ " ${lines[*]} " == *" /run/netns/$1 "* ]]
}

# /proc/PID exists and is not a zombie.
pid_alive() {
  local pid=$1 line state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { read -r line <"/proc/$pid/stat"; } 2>/dev/null || return 1
  state=${line##*) }; state=${state%% *}
  [[ $state != Z && $state != X ]]
}

# PID is alive and belongs to namespace NS (or, if NS is gone, has command name COMM).
pid_is_ours() {
  local pid=$1 ns=$2 comm=$3 cur=
  pid_alive "$pid" || return 1
  if ns_exists "$ns"; then
    [[ /proc/$pid/ns/net -ef /run/netns/$ns ]]   # same nsfs inode
  else
    { read -r cur <"/proc/$pid/comm"; } 2>/dev/null || true
    [[ -z $comm || $cur == "$comm" ]]
  fi
}

# Stop a process by PID: SIGTERM, wait up to STOP_WAIT s, then SIGKILL. Never fails.
stop_pid() {
  local pid=$1 ns=$2 comm=$3 what=$4 i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if ! pid_alive "$pid"; then wait "$pid" 2>/dev/null || true; return 0; fi
  if ! pid_is_ours "$pid" "$ns" "$comm"; then
    log "not stopping $what: pid $pid is not in $ns any more"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_WAIT * 20; i++)); do
    pid_alive "$pid" || break
    sleep 0.05
  done
  if pid_alive "$pid"; then
    log "$what (pid $pid) ignored SIGTERM for ${STOP_WAIT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do pid_alive "$pid" || break; sleep 0.05; done
  fi
  wait "$pid" 2>/dev/null || true
}

ms_since() { # EPOCHREALTIME value -> milliseconds elapsed
  local a=${1/[.,]/} b=${EPOCHREALTIME/[.,]/}
  echo $(((10#$b - 10#$a) / 1000))
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Write sysctls in a namespace: nssysctl NS key=value...
nssysctl() {
  local ns=$1; shift
  local kv script=""
  for kv in "$@"; do script+="echo ${kv#*=} > /proc/sys/${kv%%=*}; "; done
  nsx "$ns" sh -c "$script"
}

# Start "NS CMD..." detached (own session, stdin /dev/null, output appended to
# LOGFILE); prints its PID ($!, which is CMD itself: setsid and ip netns exec exec).
spawn() {
  local logfile=$1 ns=$2; shift 2
  (exec setsid ip netns exec "$ns" "$@") </dev/null >>"$logfile" 2>&1 &
  echo $!
}

# ------------------------------------------------------------------ state --

set_names() {
  [[ $LAB_ID =~ ^[A-Za-z0-9]{1,12}$ ]] || die "lab id must be 1-12 letters/digits: '$LAB_ID'"
  local tag=$LAB_ID
  if (( ${#tag} > 6 )); then tag=$(printf '%s' "$LAB_ID" | cksum | awk '{printf "%06x", $1 % 16777216}'); fi
  LAN_NS=mu-$LAB_ID-lan; IGD_NS=mu-$LAB_ID-igd; WAN_NS=mu-$LAB_ID-wan
  # interface names: at most 14 characters (limit 15)
  LAN_IF=mu-$tag-lan; IGD_LAN_IF=mu-$tag-ilan; IGD_WAN_IF=mu-$tag-iwan; WAN_IF=mu-$tag-wan
  CARRIER_IF=mu-$tag-cin; INET_IF=mu-$tag-inet
  INET_OWN_NS=mu-$LAB_ID-inet   # the carrier's Internet namespace, when the lab has one (INET_NS is the wan one otherwise)
}

set_paths() {
  [[ -n ${STATE_DIR:-} ]] || STATE_DIR=$LAB_BASE/$LAB_ID
  STATE_DIR=$(readlink -m "$STATE_DIR")
  MINIUPNPD_CONF=$STATE_DIR/miniupnpd.conf
  MINIUPNPD_LOG=$STATE_DIR/miniupnpd.log
  STUN_LOG=$STATE_DIR/stun.log
}

write_env() {
  local k v tmp=$STATE_DIR/lab.env.tmp
  {
    echo "# IGD lab $LAB_ID, written by tests/lab/lab.sh; sourceable KEY=value"
    for k in "${ENV_KEYS[@]}"; do
      v=${!k:-}
      [[ $v =~ $SAFE_VALUE_RE ]] || die "unsafe value for $k: $v"
      printf '%s=%s\n' "$k" "$v"
    done
  } >"$tmp"
  mv -f "$tmp" "$STATE_DIR/lab.env"
}

load_env() { # load STATE_DIR/lab.env if there; returns 1 if missing
  local f=$STATE_DIR/lab.env line k v
  [[ -f $f ]] || return 1
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z0-9_]+)=(.*)$ ]] || continue
    k=${BASH_REMATCH[1]}; v=${BASH_REMATCH[2]}
    [[ $k == STATE_DIR ]] && continue   # the directory we read it from wins
    printf -v "$k" '%s' "$v"
  done <"$f"
}

# Find the lab targeted by --id / --state-dir / artifacts/lab/current.
# Sets LAB_ID, names, paths, and HAVE_STATE=1 if lab.env was read.
resolve_lab() {
  HAVE_STATE=0
  if [[ -z ${OPT_ID:-} && -z ${OPT_STATE_DIR:-} ]]; then
    if [[ -L $LAB_BASE/current || -e $LAB_BASE/current ]]; then
      STATE_DIR=$(readlink -m "$LAB_BASE/current")
      [[ -d $STATE_DIR ]] || { rm -f "$LAB_BASE/current"; return 1; }
    else
      return 1
    fi
  else
    STATE_DIR=${OPT_STATE_DIR:-}
    LAB_ID=${OPT_ID:-}
  fi
  if [[ -n ${STATE_DIR:-} ]]; then
    STATE_DIR=$(readlink -m "$STATE_DIR")
    if load_env; then HAVE_STATE=1; fi
  fi
  [[ -n ${OPT_ID:-} ]] && LAB_ID=$OPT_ID
  [[ -n ${LAB_ID:-} ]] || return 1
  set_names
  if (( HAVE_STATE == 0 )); then
    STATE_DIR=${OPT_STATE_DIR:-$LAB_BASE/$LAB_ID}
    STATE_DIR=$(readlink -m "$STATE_DIR")
    if load_env; then HAVE_STATE=1; set_names; fi
  fi
  set_paths
}

# ------------------------------------------------------------- addressing --

# Text of every route and address we can see: this netns, ancestors' netns,
# and every named netns.
routes_in_use() {
  local p n=0 seen="" ns cur
  { ip -4 -o addr show; ip -4 route show table all; } 2>/dev/null || true
  p=$PPID
  while [[ $p =~ ^[0-9]+$ ]] && (( p > 1 && n < 64 )); do
    n=$((n + 1))
    if [[ -r /proc/$p/ns/net && ! /proc/$p/ns/net -ef /proc/self/ns/net ]]; then
      cur=$(readlink "/proc/$p/ns/net" 2>/dev/null || true)
      if [[ -n $cur && $seen != *"$cur"* ]]; then
        seen+=" $cur"
        { nsenter --net="/proc/$p/ns/net" ip -4 -o addr show
          nsenter --net="/proc/$p/ns/net" ip -4 route show table all; } 2>/dev/null || true
      fi
    fi
    p=$(ppid_of "$p")
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    { ip -n "$ns" -4 -o addr show; ip -n "$ns" -4 route show table all; } 2>/dev/null || true
  done
}

# Derive A, B, C from the id (retrying with a counter on collision).
choose_subnets() {
  local used try h
  used=$(routes_in_use)
  for ((try = 0; try < 64; try++)); do
    h=$(printf '%s#%d' "$LAB_ID" "$try" | cksum | awk '{print $1}')
    NET_A=$((100 + h % 150))           # 10.100.0.0 .. 10.249.255.0
    NET_B=$(((h / 150) % 256))
    NET_C=$((1 + (h / 38400) % 254))   # 100.64.1.0 .. 100.64.254.0
    if grep -Eq "(^|[^0-9.])10\.$NET_A\.$NET_B\.[0-9]" <<<"$used"; then continue; fi
    if grep -Eq "(^|[^0-9.])100\.64\.$NET_C\.[0-9]" <<<"$used"; then continue; fi
    if [[ $CARRIER != none ]] && grep -Eq "(^|[^0-9.])(198\.18|192\.168)\.$NET_C\.[0-9]" <<<"$used"; then continue; fi
    break
  done
  (( try < 64 )) || die "no free subnet found for lab $LAB_ID"
  LAN_ADDR=10.$NET_A.$NET_B.2;  IGD_LAN_ADDR=10.$NET_A.$NET_B.1;  LAN_NET=10.$NET_A.$NET_B.0/24
  IGD_WAN_ADDR=100.64.$NET_C.1; WAN_ADDR=100.64.$NET_C.2;         WAN_NET=100.64.$NET_C.0/24
  if [[ $CARRIER == double ]]; then
    IGD_WAN_ADDR=192.168.$NET_C.1; WAN_ADDR=192.168.$NET_C.2; WAN_NET=192.168.$NET_C.0/24
  fi
  # The Internet: the wan namespace itself, or behind the carrier a namespace of its own (198.18/15 is reserved
  # for benchmarking: no one's real address).
  if [[ $CARRIER == none ]]; then
    INET_NS=$WAN_NS; INET_ADDR=$WAN_ADDR; CARRIER_ADDR=; INET_NET=$WAN_NET
  else
    INET_NS=mu-$LAB_ID-inet; INET_ADDR=198.18.$NET_C.2; CARRIER_ADDR=198.18.$NET_C.1; INET_NET=198.18.$NET_C.0/24
  fi
  # An RFC 5780 STUN server in the Internet namespace, on two more addresses of its network (.3 and .4).
  BEHAVIOUR_STUN=${INET_ADDR%.*}.3:$STUN_PORT; BEHAVIOUR_STUN_OTHER=${INET_ADDR%.*}.4:$((STUN_PORT + 1))
  # the decimal digits are used as hex groups, so 10.200.31.x <-> fd00:200:31::x
  LAN_ADDR6=fd00:$NET_A:$NET_B::2; IGD_LAN_ADDR6=fd00:$NET_A:$NET_B::1; LAN_NET6=fd00:$NET_A:$NET_B::/64
  IGD_WAN_ADDR6=2001:db8:$NET_C::1; WAN_ADDR6=2001:db8:$NET_C::2;      WAN_NET6=2001:db8:$NET_C::/64
  ROOTDESC_URL=http://$IGD_LAN_ADDR:$HTTP_PORT/rootDesc.xml
  ROOTDESC_URL6=http://[$IGD_LAN_ADDR6]:$HTTP_PORT/rootDesc.xml
}

# ------------------------------------------------------------ components --

write_nft_ruleset() {
  cat >"$STATE_DIR/nftables.conf" <<EOF
# nftables for the IGD lab $LAB_ID (igd namespace). miniupnpd 2.3.1 fills the
# three *miniupnpd chains (upnp_table_name / upnp_nat_table_name = filter, inet family).
table inet filter {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "$IGD_LAN_IF" accept
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump postrouting_miniupnpd
		oifname "$IGD_WAN_IF" meta nfproto ipv4 masquerade
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
EOF
}

write_miniupnpd_conf() {
  sed -e "s|@LAB_ID@|$LAB_ID|g" -e "s|@IGD_WAN_IF@|$IGD_WAN_IF|g" -e "s|@IGD_LAN_IF@|$IGD_LAN_IF|g" \
      -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@WAN_ADDR@|$WAN_ADDR|g" -e "s|@STUN_PORT@|$STUN_PORT|g" \
      -e "s|@UUID@|$UUID|g" -e "s|@LAN_NET@|$LAN_NET|g" \
      -e "s|@ENABLE_UPNP@|$([[ $PROFILE == natpmp ]] && echo no || echo yes)|g" \
      -e "s|@ENABLE_NATPMP@|$([[ $PROFILE == upnp ]] && echo no || echo yes)|g" \
      -e "s|@SYSTEM_UPTIME@|$([[ $EPOCH == daemon ]] && echo no || echo yes)|g" \
      "$LAB_DIR/miniupnpd.conf.in" >"$MINIUPNPD_CONF"
  ! grep -n '@[A-Z0-9_]*@' "$MINIUPNPD_CONF" || die "unreplaced placeholder in $MINIUPNPD_CONF"
}

# IPv6 on a new veth is usable only once the kernel has seen its carrier
# (linkwatch may take up to a second when several links come up together);
# until then miniupnpd's IPv6 SSDP sends fail with ENETUNREACH.  Wait
# (bounded, 3 s) for a usable link-local address on the igd and lan ends.
links_ready() { # NS IF... : each IF has a non-tentative link-local address
  local o ifn
  o=$(ip -n "$1" -6 -o addr show scope link -tentative 2>/dev/null) || return 1
  shift
  for ifn in "$@"; do [[ $o == *": $ifn "*fe80:* ]] || return 1; done
}

wait_links_ready() {
  local i
  for ((i = 0; i < 60; i++)); do
    if links_ready "$IGD_NS" "$IGD_LAN_IF" "$IGD_WAN_IF" && links_ready "$LAN_NS" "$LAN_IF"; then
      [[ -z ${LAB_TRACE_LINKS:-} ]] || log "links ready after $i polls"
      return 0
    fi
    sleep 0.05
  done
  log "warning: IPv6 link-local addresses not ready after 3 s; continuing"
}

# The carrier (--carrier cgnat|double): the wan namespace forwards to mu-ID-inet and masquerades what leaves
# towards it, as a carrier-grade NAT or the first of two home routers does; the router's default route points at
# it. A STUN responder in the inet namespace sees the carrier's address.
start_carrier() {
  INET_CREATED=1; write_env
  ip netns add "$INET_NS"
  ip -n "$INET_NS" link set lo up
  nssysctl "$WAN_NS" net/ipv4/ip_forward=1
  ip -n "$WAN_NS" link add "$CARRIER_IF" type veth peer name "$INET_IF" netns "$INET_NS"
  ip -n "$WAN_NS" addr add "$CARRIER_ADDR/24" dev "$CARRIER_IF"
  ip -n "$INET_NS" addr add "$INET_ADDR/24" dev "$INET_IF"
  ip -n "$WAN_NS" link set "$CARRIER_IF" up
  ip -n "$INET_NS" link set "$INET_IF" up
  ip -n "$IGD_NS" route replace default via "$WAN_ADDR" dev "$IGD_WAN_IF"
  nsx "$WAN_NS" nft -f - <<EOF
table ip carrier {
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "$CARRIER_IF" masquerade
	}
}
EOF
  rm -f "$STATE_DIR/inet-stun.pid"
  INET_STUN_PID=$(spawn "$STATE_DIR/inet-stun.log" "$INET_NS" "$PYTHON" -u "$LAB_DIR/stun.py" serve \
    --bind "$INET_ADDR" --port "$STUN_PORT" --pidfile "$STATE_DIR/inet-stun.pid")
  write_env
  # bounded (50 x 0.1 s), and through both NATs: from the igd the responder must see the carrier's address
  local seen
  seen=$(nsx "$IGD_NS" "$PYTHON" "$LAB_DIR/stun.py" probe "$INET_ADDR" --port "$STUN_PORT" --timeout 0.1 --tries 50) \
    || { tail -n 20 "$STATE_DIR/inet-stun.log" >&2 || true; die "STUN responder does not answer on $INET_ADDR:$STUN_PORT"; }
  [[ $seen == "$CARRIER_ADDR:"* ]] || die "the inet STUN responder sees '$seen', not the carrier's $CARRIER_ADDR"
  local p; p=$(cat "$STATE_DIR/inet-stun.pid" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ && $p != "$INET_STUN_PID" ]]; then INET_STUN_PID=$p; write_env; fi
}

# The RFC 5780 server (stun.py --other) for NAT behaviour discovery, in the Internet namespace: what a LAN host's
# traffic meets there has crossed the router's masquerade (and the carrier's). Not the one miniupnpd asks.
start_behaviour_stun() {
  local ifname=$WAN_IF prefix=${INET_NET#*/}
  [[ $CARRIER == none ]] || ifname=$INET_IF
  ip -n "$INET_NS" addr add "${BEHAVIOUR_STUN%:*}/$prefix" dev "$ifname"
  ip -n "$INET_NS" addr add "${BEHAVIOUR_STUN_OTHER%:*}/$prefix" dev "$ifname"
  rm -f "$STATE_DIR/behaviour-stun.pid"
  BEHAVIOUR_STUN_PID=$(spawn "$STATE_DIR/behaviour-stun.log" "$INET_NS" "$PYTHON" -u "$LAB_DIR/stun.py" serve \
    --bind "${BEHAVIOUR_STUN%:*}" --port "${BEHAVIOUR_STUN##*:}" --other "$BEHAVIOUR_STUN_OTHER" \
    --pidfile "$STATE_DIR/behaviour-stun.pid")
  write_env
  nsx "$INET_NS" "$PYTHON" "$LAB_DIR/stun.py" probe "${BEHAVIOUR_STUN%:*}" --port "${BEHAVIOUR_STUN##*:}" \
      --timeout 0.1 --tries 50 >/dev/null \
    || { tail -n 20 "$STATE_DIR/behaviour-stun.log" >&2 || true; die "RFC 5780 STUN responder does not answer on $BEHAVIOUR_STUN"; }
  local p; p=$(cat "$STATE_DIR/behaviour-stun.pid" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ && $p != "$BEHAVIOUR_STUN_PID" ]]; then BEHAVIOUR_STUN_PID=$p; write_env; fi
}

start_stun() {
  rm -f "$STATE_DIR/stun.pid"
  STUN_PID=$(spawn "$STUN_LOG" "$WAN_NS" "$PYTHON" -u "$LAB_DIR/stun.py" serve \
    --bind "$WAN_ADDR" --port "$STUN_PORT" --pidfile "$STATE_DIR/stun.pid")
  write_env
  # bounded: the probe sends up to 50 requests, 0.1 s each
  if ! nsx "$IGD_NS" "$PYTHON" "$LAB_DIR/stun.py" probe "$WAN_ADDR" --port "$STUN_PORT" \
        --timeout 0.1 --tries 50 >/dev/null; then
    tail -n 20 "$STUN_LOG" >&2 || true
    die "STUN responder does not answer on $WAN_ADDR:$STUN_PORT"
  fi
  local p; p=$(cat "$STATE_DIR/stun.pid" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ && $p != "$STUN_PID" ]]; then STUN_PID=$p; write_env; fi
}

# Poll (from the lan namespace) until the rootDesc URL answers 200; bounded.
# Fails at once if PID (miniupnpd) dies.
wait_http() {
  local timeout=$1 pid=${2:-}
  nsx "$LAN_NS" "$PYTHON" - "$IGD_LAN_ADDR" "$HTTP_PORT" "$timeout" "$pid" <<'EOF'
import http.client, os, sys, time
host, port, timeout, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + timeout
last = "no attempt"
while True:
    try:
        c = http.client.HTTPConnection(host, port, timeout=1)
        c.request("GET", "/rootDesc.xml")
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status == 200 and b"InternetGatewayDevice" in body:
            sys.exit(0)
        last = "HTTP %d" % r.status
    except OSError as e:
        last = str(e)
    if pid and not os.path.exists("/proc/%s" % pid):
        print("miniupnpd (pid %s) exited" % pid, file=sys.stderr); sys.exit(2)
    if time.monotonic() >= deadline:
        print("no answer from http://%s:%d/rootDesc.xml within %.1fs: %s" % (host, port, timeout, last), file=sys.stderr)
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# NAT-PMP public address request to UDP 5351 until answered; same contract as wait_http.
wait_natpmp() {
  local timeout=$1 pid=${2:-}
  nsx "$LAN_NS" "$PYTHON" - "$IGD_LAN_ADDR" "$NATPMP_PORT" "$timeout" "$pid" <<'EOF'
import os, socket, sys, time
host, port, timeout, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + timeout
last = "no attempt"
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.1)
    try:
        s.sendto(b"\0\0", (host, port))
        data = s.recv(64)
        if len(data) >= 12 and data[1] == 128:
            sys.exit(0)
        last = "unexpected reply %r" % data
    except OSError as e:
        last = str(e)
    finally:
        s.close()
    if pid and not os.path.exists("/proc/%s" % pid):
        print("miniupnpd (pid %s) exited" % pid, file=sys.stderr); sys.exit(2)
    if time.monotonic() >= deadline:
        print("no NAT-PMP answer from %s:%d within %.1fs: %s" % (host, port, timeout, last), file=sys.stderr)
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# Ready as the profile says: HTTP for UPnP, UDP 5351 for NAT-PMP/PCP (both for "all").
wait_ready() {
  if [[ ${PROFILE:-all} != natpmp ]]; then wait_http "$@" || return; fi
  if [[ ${PROFILE:-all} != upnp ]]; then wait_natpmp "$@" || return; fi
}

start_igd() {
  if pid_is_ours "${MINIUPNPD_PID:-}" "$IGD_NS" miniupnpd; then
    log "miniupnpd already running (pid $MINIUPNPD_PID)"; return 0
  fi
  [[ -f $MINIUPNPD_CONF ]] || die "missing $MINIUPNPD_CONF"
  rm -f "$STATE_DIR/miniupnpd.pid"
  echo "---- $(date '+%F %T') starting miniupnpd" >>"$MINIUPNPD_LOG"
  MINIUPNPD_PID=$(spawn "$MINIUPNPD_LOG" "$IGD_NS" "$MINIUPNPD" -d -f "$MINIUPNPD_CONF" -P "$STATE_DIR/miniupnpd.pid")
  write_env
  if ! wait_ready "$HTTP_WAIT" "$MINIUPNPD_PID"; then
    tail -n 30 "$MINIUPNPD_LOG" >&2 || true
    die "miniupnpd did not come up"
  fi
  local comm=
  { read -r comm <"/proc/$MINIUPNPD_PID/comm"; } 2>/dev/null || true
  [[ $comm == miniupnpd ]] || die "pid $MINIUPNPD_PID is not miniupnpd"
}

stop_igd() {
  stop_pid "${MINIUPNPD_PID:-}" "$IGD_NS" miniupnpd miniupnpd
  MINIUPNPD_PID=
  rm -f "$STATE_DIR/miniupnpd.pid"
  [[ -d $STATE_DIR ]] && write_env
  return 0
}

flush_igd_chains() {
  nsx "$IGD_NS" nft -f - <<'EOF'
flush chain inet filter miniupnpd
flush chain inet filter prerouting_miniupnpd
flush chain inet filter postrouting_miniupnpd
EOF
}

# The running miniupnpd's PID, checked to be ours (dies otherwise).
igd_pid() {
  pid_is_ours "${MINIUPNPD_PID:-}" "$IGD_NS" miniupnpd || die "miniupnpd is not running (pid '${MINIUPNPD_PID:-}')"
  echo "$MINIUPNPD_PID"
}

# Requests sitting unread at miniupnpd's HTTP port: established connections
# (in its accept queue while it is frozen) with bytes in their receive queue.
pending_requests() {
  nsx "$IGD_NS" ss -tnH state established "( sport = :$HTTP_PORT )" 2>/dev/null \
    | awk '$1 > 0 { n++ } END { print n + 0 }'
}

# The interface, namespace and peer of one end of the lan link.
link_end() { # lan|igd -> sets L_NS L_IF
  case ${1:-lan} in
    lan) L_NS=$LAN_NS; L_IF=$LAN_IF ;;
    igd) L_NS=$IGD_NS; L_IF=$IGD_LAN_IF ;;
    *) die "the side must be lan or igd, not '$1'" ;;
  esac
}

# -------------------------------------------------------------- commands --

cmd_up() {
  ensure_netns_mount_owner
  local t0=$EPOCHREALTIME try
  [[ -x $MINIUPNPD ]] || die "$MINIUPNPD not found (apt-get install miniupnpd-nftables)"
  command -v nft >/dev/null || die "nft not found (apt-get install nftables)"
  if [[ -n ${OPT_ID:-} ]]; then
    LAB_ID=$OPT_ID
  else
    for ((try = 0; try < 20; try++)); do
      LAB_ID=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
      ns_exists "mu-$LAB_ID-lan" || ns_exists "mu-$LAB_ID-igd" || ns_exists "mu-$LAB_ID-wan" || ns_exists "mu-$LAB_ID-inet" || break
    done
  fi
  set_names
  STATE_DIR=${OPT_STATE_DIR:-}
  set_paths
  CARRIER=${OPT_CARRIER:-none}
  [[ $CARRIER =~ ^(none|cgnat|double)$ ]] || die "--carrier must be none, cgnat or double: '$CARRIER'"
  if ns_exists "$IGD_NS" || ns_exists "$WAN_NS" || ns_exists "$INET_OWN_NS"; then
    die "lab $LAB_ID exists already ($IGD_NS, $WAN_NS or $INET_OWN_NS present): run '$0 down --id $LAB_ID' first"
  fi
  if [[ -f $STATE_DIR/lab.env ]]; then
    log "removing stale state in $STATE_DIR"
    remove_state
  fi
  choose_subnets
  UUID=$(cat /proc/sys/kernel/random/uuid)
  LAN_ADOPTED=0; LAN_CREATED=0; IGD_CREATED=0; WAN_CREATED=0; INET_CREATED=0; MINIUPNPD_PID=; STUN_PID=; INET_STUN_PID=; BEHAVIOUR_STUN_PID=
  mkdir -p "$STATE_DIR"

  UP_OK=0
  trap 'rc=$?; if [[ $UP_OK != 1 ]]; then up_failed "$rc"; fi' EXIT
  trap 'exit 130' INT TERM HUP

  if ns_exists "$LAN_NS"; then
    LAN_ADOPTED=1
    ! ip -n "$LAN_NS" link show "$LAN_IF" >/dev/null 2>&1 || die "$LAN_IF exists already in $LAN_NS"
  else
    LAN_CREATED=1; write_env; ip netns add "$LAN_NS"
  fi
  # recorded before they exist, so that a kill at any point leaves nothing behind
  IGD_CREATED=1; WAN_CREATED=1; write_env
  ip netns add "$IGD_NS"
  ip netns add "$WAN_NS"

  # no DAD anywhere (addresses, including link-local ones, usable at once)
  local ns
  nssysctl "$LAN_NS" net/ipv6/conf/all/accept_dad=0 net/ipv6/conf/default/accept_dad=0
  nssysctl "$WAN_NS" net/ipv6/conf/all/accept_dad=0 net/ipv6/conf/default/accept_dad=0
  nssysctl "$IGD_NS" net/ipv6/conf/all/accept_dad=0 net/ipv6/conf/default/accept_dad=0 \
    net/ipv4/ip_forward=1 net/ipv6/conf/all/forwarding=1
  for ns in "$LAN_NS" "$IGD_NS" "$WAN_NS"; do ip -n "$ns" link set lo up; done

  ip -n "$IGD_NS" link add "$IGD_LAN_IF" type veth peer name "$LAN_IF" netns "$LAN_NS"
  ip -n "$IGD_NS" link add "$IGD_WAN_IF" type veth peer name "$WAN_IF" netns "$WAN_NS"

  ip -n "$LAN_NS" addr add "$LAN_ADDR/24" dev "$LAN_IF"
  ip -n "$LAN_NS" addr add "$LAN_ADDR6/64" dev "$LAN_IF" nodad
  ip -n "$IGD_NS" addr add "$IGD_LAN_ADDR/24" dev "$IGD_LAN_IF"
  ip -n "$IGD_NS" addr add "$IGD_LAN_ADDR6/64" dev "$IGD_LAN_IF" nodad
  ip -n "$IGD_NS" addr add "$IGD_WAN_ADDR/24" dev "$IGD_WAN_IF"
  ip -n "$IGD_NS" addr add "$IGD_WAN_ADDR6/64" dev "$IGD_WAN_IF" nodad
  ip -n "$WAN_NS" addr add "$WAN_ADDR/24" dev "$WAN_IF"
  ip -n "$WAN_NS" addr add "$WAN_ADDR6/64" dev "$WAN_IF" nodad
  ip -n "$LAN_NS" link set "$LAN_IF" up
  ip -n "$IGD_NS" link set "$IGD_LAN_IF" up
  ip -n "$IGD_NS" link set "$IGD_WAN_IF" up
  ip -n "$WAN_NS" link set "$WAN_IF" up
  ip -n "$LAN_NS" route replace default via "$IGD_LAN_ADDR" dev "$LAN_IF"
  ip -n "$LAN_NS" -6 route replace default via "$IGD_LAN_ADDR6" dev "$LAN_IF"
  ip -n "$WAN_NS" -6 route replace "$LAN_NET6" via "$IGD_WAN_ADDR6" dev "$WAN_IF"

  write_nft_ruleset
  nsx "$IGD_NS" nft -f "$STATE_DIR/nftables.conf"
  set_profile
  write_miniupnpd_conf
  : >"$MINIUPNPD_LOG"; : >"$STUN_LOG"
  write_env

  start_stun
  [[ $CARRIER == none ]] || start_carrier
  start_behaviour_stun
  wait_links_ready
  start_igd
  write_env
  if [[ -z ${LAB_NO_CURRENT:-} ]]; then
    mkdir -p "$LAB_BASE"
    ln -sfn "$STATE_DIR" "$LAB_BASE/current"
  fi
  UP_OK=1
  trap - EXIT INT TERM HUP
  log "lab $LAB_ID up in $(ms_since "$t0") ms: lan $LAN_ADDR, igd $IGD_LAN_ADDR / $IGD_WAN_ADDR, wan $WAN_ADDR$([[ $CARRIER == none ]] || echo ", carrier $CARRIER $CARRIER_ADDR, inet $INET_ADDR"); $ROOTDESC_URL"
  echo "$STATE_DIR/lab.env"
}

# EXIT trap of a failed up: show the logs (they go with the state), tear down.
up_failed() {
  local f
  for f in "$STUN_LOG" "$MINIUPNPD_LOG"; do
    if [[ -s $f ]]; then log "last lines of $f:"; tail -n 15 "$f" | sed 's/^/    /' >&2 || true; fi
  done
  log "up failed (exit $1): tearing down lab $LAB_ID"
  do_down || true
}

remove_state() {
  local f
  for f in lab.env lab.env.tmp miniupnpd.conf miniupnpd.log miniupnpd.pid stun.log stun.pid stun.pid.tmp nftables.conf \
           inet-stun.log inet-stun.pid inet-stun.pid.tmp behaviour-stun.log behaviour-stun.pid behaviour-stun.pid.tmp; do
    rm -f "${STATE_DIR:?}/$f"
  done
  rmdir "$STATE_DIR" 2>/dev/null || true
  if [[ -L $LAB_BASE/current && $(readlink -m "$LAB_BASE/current") == "$STATE_DIR" ]]; then
    rm -f "$LAB_BASE/current"
  fi
}

# Tear down whatever exists; never fails. Uses the variables set by up / resolve_lab.
do_down() {
  (
    set +e
    local ns pid
    stop_pid "${MINIUPNPD_PID:-}" "$IGD_NS" miniupnpd miniupnpd
    stop_pid "${STUN_PID:-}" "$WAN_NS" python3 "stun responder"
    # Without state (INET_CREATED unknown) a mu-ID-inet namespace is the lab's own, as igd and wan are.
    local own_inet=${INET_CREATED:-1}
    [[ $own_inet != 0 ]] && stop_pid "${INET_STUN_PID:-}" "$INET_OWN_NS" python3 "inet stun responder"
    [[ -n ${BEHAVIOUR_STUN_PID:-} ]] && stop_pid "$BEHAVIOUR_STUN_PID" "${INET_NS:-$WAN_NS}" python3 "RFC 5780 stun responder"
    # anything else still inside the namespaces we created (started by the lab's users)
    for ns in "$IGD_NS" "$WAN_NS" $([[ $own_inet != 0 ]] && echo "$INET_OWN_NS") $([[ ${LAN_CREATED:-0} == 1 ]] && echo "$LAN_NS"); do
      ns_exists "$ns" || continue
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        stop_pid "$pid" "$ns" "" "process $pid in $ns"
      done
    done
    if ns_exists "$LAN_NS"; then
      ip -n "$LAN_NS" link del "$LAN_IF" 2>/dev/null
    fi
    if [[ ${IGD_CREATED:-1} != 0 ]] && ns_exists "$IGD_NS"; then ip netns del "$IGD_NS"; fi
    if [[ ${WAN_CREATED:-1} != 0 ]] && ns_exists "$WAN_NS"; then ip netns del "$WAN_NS"; fi
    if [[ $own_inet != 0 ]] && ns_exists "$INET_OWN_NS"; then ip netns del "$INET_OWN_NS"; fi
    if [[ ${LAN_CREATED:-0} == 1 && ${LAN_ADOPTED:-0} != 1 ]] && ns_exists "$LAN_NS"; then
      ip netns del "$LAN_NS"
    elif [[ ${HAVE_STATE:-1} == 0 ]] && ns_exists "$LAN_NS"; then
      log "no state for lab $LAB_ID: kept $LAN_NS (cannot tell whether it was adopted)"
    fi
    if [[ ${KEEP_STATE:-0} == 1 ]]; then
      log "state kept in $STATE_DIR"
    elif [[ -n ${STATE_DIR:-} ]]; then
      remove_state
    fi
    exit 0
  )
}

cmd_down() {
  ensure_netns_mount_owner
  local t0=$EPOCHREALTIME
  if ! resolve_lab; then log "no lab to tear down"; return 0; fi
  do_down
  log "lab $LAB_ID down in $(ms_since "$t0") ms"
}

need_lab() {
  resolve_lab || die "no lab found (give --id, or run '$0 up')"
  (( HAVE_STATE == 1 )) || die "no state for lab $LAB_ID in $STATE_DIR"
}

cmd_status() {
  if ! resolve_lab; then echo "no lab"; return 1; fi
  local ok=0 ns
  echo "lab $LAB_ID (state: $STATE_DIR$([[ $HAVE_STATE == 1 ]] || echo ', missing'))"
  for ns in "$LAN_NS" "$IGD_NS" "$WAN_NS"; do
    if ns_exists "$ns"; then
      echo "namespace $ns: present$([[ $ns == "$LAN_NS" && ${LAN_ADOPTED:-0} == 1 ]] && echo ' (adopted)')"
    else
      echo "namespace $ns: MISSING"; ok=1
    fi
  done
  if pid_is_ours "${MINIUPNPD_PID:-}" "$IGD_NS" miniupnpd; then
    echo "miniupnpd pid $MINIUPNPD_PID: alive"
  else
    echo "miniupnpd pid ${MINIUPNPD_PID:-none}: NOT running"; ok=1
  fi
  if [[ ${CARRIER:-none} != none ]]; then
    if ns_exists "$INET_OWN_NS"; then echo "namespace $INET_OWN_NS: present (carrier ${CARRIER})"; else echo "namespace $INET_OWN_NS: MISSING"; ok=1; fi
    if pid_is_ours "${INET_STUN_PID:-}" "$INET_OWN_NS" python3; then echo "inet stun.py pid $INET_STUN_PID: alive"
    else echo "inet stun.py pid ${INET_STUN_PID:-none}: NOT running"; ok=1; fi
  fi
  if [[ -n ${BEHAVIOUR_STUN:-} ]]; then
    if pid_is_ours "${BEHAVIOUR_STUN_PID:-}" "${INET_NS:-$WAN_NS}" python3; then echo "RFC 5780 stun.py pid $BEHAVIOUR_STUN_PID ($BEHAVIOUR_STUN): alive"
    else echo "RFC 5780 stun.py pid ${BEHAVIOUR_STUN_PID:-none}: NOT running"; ok=1; fi
  fi
  if pid_is_ours "${STUN_PID:-}" "$WAN_NS" python3; then
    echo "stun.py pid $STUN_PID: alive"
  else
    echo "stun.py pid ${STUN_PID:-none}: NOT running"; ok=1
  fi
  if [[ $ok == 0 ]]; then
    PROFILE=${PROFILE:-all}
    echo "profile $PROFILE, epoch ${EPOCH:-system}"
    if [[ $PROFILE != natpmp ]]; then
      if wait_http 1 >/dev/null 2>&1; then echo "http $ROOTDESC_URL: answers"
      else echo "http $ROOTDESC_URL: NO answer"; ok=1; fi
    fi
    if [[ $PROFILE != upnp ]]; then
      if wait_natpmp 1 >/dev/null 2>&1; then echo "nat-pmp $IGD_LAN_ADDR:$NATPMP_PORT: answers"
      else echo "nat-pmp $IGD_LAN_ADDR:$NATPMP_PORT: NO answer"; ok=1; fi
    fi
  fi
  return $ok
}

# --profile / --epoch over what the lab had (defaults: all, system), checked.
set_profile() {
  PROFILE=${OPT_PROFILE:-${PROFILE:-all}}
  EPOCH=${OPT_EPOCH:-${EPOCH:-system}}
  [[ $PROFILE =~ ^(all|upnp|natpmp)$ ]] || die "--profile must be all, upnp or natpmp: '$PROFILE'"
  [[ $EPOCH =~ ^(system|daemon)$ ]] || die "--epoch must be system or daemon: '$EPOCH'"
}

cmd_restart_igd() {
  need_lab
  ns_exists "$IGD_NS" || die "$IGD_NS does not exist"
  local t0=$EPOCHREALTIME
  stop_igd
  if [[ ${OPT_FLUSH:-0} == 1 ]]; then flush_igd_chains; fi
  if [[ -n ${OPT_HTTP_PORT:-} ]]; then
    [[ $OPT_HTTP_PORT =~ ^[0-9]{1,5}$ ]] && (( OPT_HTTP_PORT >= 1024 && OPT_HTTP_PORT <= 65535 )) \
      || die "--http-port must be 1024-65535: '$OPT_HTTP_PORT'"
    HTTP_PORT=$OPT_HTTP_PORT
    ROOTDESC_URL=http://$IGD_LAN_ADDR:$HTTP_PORT/rootDesc.xml
    ROOTDESC_URL6=http://[$IGD_LAN_ADDR6]:$HTTP_PORT/rootDesc.xml
  fi
  set_profile
  write_miniupnpd_conf
  start_igd
  write_env
  log "miniupnpd restarted (profile $PROFILE, epoch $EPOCH)$([[ ${OPT_FLUSH:-0} == 1 ]] && echo ' (flushed)') in $(ms_since "$t0") ms, pid $MINIUPNPD_PID"
}

cmd_stop_igd() {
  need_lab
  stop_igd
  if [[ ${OPT_FLUSH:-0} == 1 ]] && ns_exists "$IGD_NS"; then flush_igd_chains; fi
  log "miniupnpd stopped"
}

cmd_start_igd() {
  need_lab
  ns_exists "$IGD_NS" || die "$IGD_NS does not exist"
  start_igd
  write_env
  log "miniupnpd running, pid $MINIUPNPD_PID"
}

cmd_freeze_igd() {
  need_lab
  kill -STOP "$(igd_pid)"
  log "miniupnpd (pid $MINIUPNPD_PID) frozen"
}

cmd_thaw_igd() {
  need_lab
  kill -CONT "$(igd_pid)"
  log "miniupnpd (pid $MINIUPNPD_PID) resumed"
}

cmd_wait_requests() {
  need_lab
  local want=${1:-1} secs=${2:-10} n=0 t0=$EPOCHREALTIME
  [[ $want =~ ^[0-9]+$ && $secs =~ ^[0-9]+$ ]] || die "usage: wait-requests [N [SECS]]"
  while true; do
    n=$(pending_requests)
    (( n >= want )) && { echo "$n"; return 0; }
    (( $(ms_since "$t0") < secs * 1000 )) || break
    sleep 0.02
  done
  echo "$n"
  die "$n of $want requests pending at $IGD_LAN_ADDR:$HTTP_PORT after ${secs}s"
}

cmd_kill_igd() {
  need_lab
  local pid i
  pid=$(igd_pid)
  kill -KILL "$pid"
  for ((i = 0; i < 40; i++)); do pid_alive "$pid" || break; sleep 0.05; done
  pid_alive "$pid" && die "miniupnpd (pid $pid) still alive 2 s after SIGKILL"
  wait "$pid" 2>/dev/null || true
  MINIUPNPD_PID=
  rm -f "$STATE_DIR/miniupnpd.pid"
  write_env
  log "miniupnpd (pid $pid) killed"
}

cmd_link_down() {
  need_lab
  link_end "${1:-lan}"
  # Keep the IPv6 addresses (the kernel drops them with the link otherwise); routes go with the link.
  nssysctl "$L_NS" "net/ipv6/conf/$L_IF/keep_addr_on_down=1"
  ip -n "$L_NS" link set "$L_IF" down
  log "lan link down at the ${1:-lan} end ($L_IF in $L_NS)"
}

cmd_link_up() {
  need_lab
  link_end "${1:-lan}"
  ip -n "$L_NS" link set "$L_IF" up
  if [[ $L_NS == "$LAN_NS" ]]; then
    ip -n "$LAN_NS" addr replace "$LAN_ADDR6/64" dev "$LAN_IF" nodad
    ip -n "$LAN_NS" route replace default via "$IGD_LAN_ADDR" dev "$LAN_IF"
    ip -n "$LAN_NS" -6 route replace default via "$IGD_LAN_ADDR6" dev "$LAN_IF"
  else
    ip -n "$IGD_NS" addr replace "$IGD_LAN_ADDR6/64" dev "$IGD_LAN_IF" nodad
  fi
  wait_links_ready
  log "lan link up at the ${1:-lan} end ($L_IF in $L_NS)"
}

cmd_exec() {
  local which=${1:-}; shift || true
  [[ $# -gt 0 ]] || die "usage: exec lan|igd|wan CMD..."
  if ! resolve_lab; then die "no lab found (give --id)"; fi
  case $which in
    lan) exec ip netns exec "$LAN_NS" "$@" ;;
    igd) exec ip netns exec "$IGD_NS" "$@" ;;
    wan) exec ip netns exec "$WAN_NS" "$@" ;;
    *) die "exec: namespace must be lan, igd or wan" ;;
  esac
}

# ------------------------------------------------------------- selftest --

ST_PIDS=()
st_step() { printf '\n[selftest] %s\n' "$*"; }
st_fail() { printf '[selftest] FAIL: %s\n' "$*"; exit 1; }
st_ok() { printf '[selftest] ok: %s\n' "$*"; }

# TCP listener on [::]:PORT (dual stack) in lan; answers "lab-hello"; ends by itself after 60 s.
st_listener() {
  local port=$1 ready=$STATE_DIR/listener.$1.ready i
  rm -f "$ready"
  ( exec setsid ip netns exec "$LAN_NS" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1]))); s.listen(8); s.settimeout(0.5)
open(sys.argv[2], "w").close()
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.sendall(b"lab-hello\n"); c.close()
' "$port" "$ready" ) </dev/null >/dev/null 2>&1 &
  ST_PIDS+=("$!")
  for ((i = 0; i < 100; i++)); do [[ -e $ready ]] && break; sleep 0.05; done
  rm -f "$ready"
  (( i < 100 )) || st_fail "listener on $port did not start"
}

# Connect from wan; prints the banner; exit 0 on success.
st_connect() { # HOST PORT TIMEOUT
  nsx "$WAN_NS" "$PYTHON" -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    s.settimeout(float(sys.argv[3]))
    print(s.recv(64).decode().strip())
except OSError as e:
    print("connect failed: %s" % e); sys.exit(1)
' "$@"
}

cmd_selftest() {
  local upnpc=${1:-}
  [[ -n $upnpc ]] || die "usage: selftest [--id ID] UPNPC_PATH"
  upnpc=$(readlink -f "$upnpc"); [[ -x $upnpc ]] || die "not executable: $upnpc"
  local out t0=$SECONDS env
  ST_OWN=0
  # Without --id/--state-dir the selftest never touches a lab someone else may
  # be using (it restarts miniupnpd): it brings up and tears down its own.
  if [[ -z $OPT_ID && -z $OPT_STATE_DIR ]] || ! resolve_lab || ! cmd_status >/dev/null 2>&1; then
    st_step "bringing up a lab${OPT_ID:+ $OPT_ID} for the selftest"
    env=$(LAB_NO_CURRENT=1 "$SELF" up ${OPT_ID:+--id "$OPT_ID"} ${OPT_STATE_DIR:+--state-dir "$OPT_STATE_DIR"}) || st_fail "lab.sh up"
    ST_OWN=1
    OPT_STATE_DIR=$(dirname "$env"); OPT_ID=
    resolve_lab || st_fail "cannot read $env"
  fi
  trap 'for p in "${ST_PIDS[@]}"; do stop_pid "$p" "$LAN_NS" python3 listener; done
        if [[ $ST_OWN == 1 ]]; then "$SELF" down --state-dir "$STATE_DIR" >/dev/null 2>&1; echo "[selftest] lab $LAB_ID torn down"; fi' EXIT
  trap 'exit 130' INT TERM HUP

  st_step "0. lab $LAB_ID status"
  cmd_status || st_fail "lab not healthy"

  st_step "1. upnpc -s (SSDP discovery from $LAN_NS)"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -s 2>&1) || { echo "$out"; st_fail "upnpc -s exit code"; }
  echo "$out" | sed 's/^/    /'
  grep -qF "desc: $ROOTDESC_URL" <<<"$out" || st_fail "discovery did not find $ROOTDESC_URL"
  grep -qF "Found an IGD with a reserved IP address ($IGD_WAN_ADDR)" <<<"$out" \
    || st_fail "expected the 'reserved IP address' (UPNP_PRIVATEIP_IGD) state"
  grep -qxF "ExternalIPAddress = $IGD_WAN_ADDR" <<<"$out" || st_fail "external address is not $IGD_WAN_ADDR"
  st_ok "IGD found, external address $IGD_WAN_ADDR (private/reserved state)"

  st_step "1b. NAT-PMP public address request to $IGD_LAN_ADDR:$NATPMP_PORT"
  out=$(nsx "$LAN_NS" "$PYTHON" -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.25)
for _ in range(8):
    s.sendto(b"\0\0", (sys.argv[1], int(sys.argv[2])))
    try:
        d = s.recv(64)
    except socket.timeout:
        continue
    v, op, rc, epoch = struct.unpack("!BBHI", d[:8])
    print("version=%d op=%d result=%d epoch=%d address=%s" % (v, op, rc, epoch, socket.inet_ntoa(d[8:12])))
    sys.exit(0 if (v, op, rc) == (0, 128, 0) else 1)
print("no NAT-PMP answer"); sys.exit(1)
' "$IGD_LAN_ADDR" "$NATPMP_PORT")  || { echo "    $out"; st_fail "NAT-PMP"; }
  echo "    $out"
  grep -qF "address=$IGD_WAN_ADDR" <<<"$out" || st_fail "NAT-PMP public address is not $IGD_WAN_ADDR"
  st_ok "NAT-PMP answers"

  st_step "2. upnpc -u ROOTDESC_URL -a $LAN_ADDR 8080 18080 TCP; -l"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -e selftest -a "$LAN_ADDR" 8080 18080 TCP 2>&1) \
    || { echo "$out"; st_fail "upnpc -a"; }
  echo "$out" | sed 's/^/    /'
  grep -qF "external $IGD_WAN_ADDR:18080 TCP is redirected to internal $LAN_ADDR:8080" <<<"$out" || st_fail "mapping not confirmed"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -l 2>&1) || { echo "$out"; st_fail "upnpc -l"; }
  echo "$out" | sed 's/^/    /'
  grep -Eq "TCP +18080->$LAN_ADDR:8080 " <<<"$out" || st_fail "mapping not listed"
  st_ok "mapping added and listed"

  st_step "3. TCP from $WAN_NS to $IGD_WAN_ADDR:18080 reaches the listener on $LAN_ADDR:8080"
  st_listener 8080
  out=$(st_connect "$IGD_WAN_ADDR" 18080 2) || { echo "    $out"; st_fail "no connection through the mapping"; }
  echo "    received: $out"
  [[ $out == lab-hello ]] || st_fail "unexpected answer"
  st_ok "traffic crosses the mapping"

  st_step "4. upnpc -d 18080 TCP; the connection then fails"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -d 18080 TCP 2>&1) || { echo "$out"; st_fail "upnpc -d"; }
  echo "$out" | sed 's/^/    /'
  if out=$(st_connect "$IGD_WAN_ADDR" 18080 2); then st_fail "still reachable after delete: $out"; fi
  echo "    $out"
  st_ok "mapping gone"

  st_step "5. upnpc -6 -S (IPv6 discovery, IGD:2 WANIPv6FirewallControl)"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -6 -S 2>&1) || { echo "$out"; st_fail "upnpc -6 -S"; }
  echo "$out" | sed 's/^/    /'
  grep -qF "desc: $ROOTDESC_URL6" <<<"$out" || st_fail "IGD not discovered over IPv6"
  grep -qF "FirewallEnabled: 1 & Inbound Pinhole Allowed: 1" <<<"$out" || st_fail "WANIPv6FirewallControl status"
  # upnpc's "st:" echoes the search target (IGD:1 first); the description itself is IGD:2
  out=$(nsx "$LAN_NS" "$PYTHON" -c '
import http.client, re, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=2)
c.request("GET", "/rootDesc.xml")
body = c.getresponse().read().decode()
print(" ".join(t.rsplit(":", 2)[-2] + ":" + t.rsplit(":", 1)[-1] for t in re.findall(r"<(?:deviceType|serviceType)>([^<]*)<", body)))
' "$IGD_LAN_ADDR6" "$HTTP_PORT") || st_fail "fetching the description over IPv6"
  echo "    description: $out"
  grep -qw "InternetGatewayDevice:2" <<<"$out" || st_fail "description is not IGD:2"
  grep -qw "WANIPv6FirewallControl:1" <<<"$out" || st_fail "no WANIPv6FirewallControl in the description"
  st_ok "IPv6 discovery finds IGD:2 with WANIPv6FirewallControl"

  st_step "6. IPv6 pinhole: $WAN_NS -> [$LAN_ADDR6]:8080 blocked, pinhole added, passes, deleted"
  if out=$(st_connect "$LAN_ADDR6" 8080 1); then st_fail "reachable without pinhole: $out"; fi
  echo "    before: $out"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -6 -u "$ROOTDESC_URL6" -A "" 0 "$LAN_ADDR6" 8080 TCP 3600 2>&1) \
    || { echo "$out"; st_fail "upnpc -A"; }
  echo "$out" | sed 's/^/    /'
  local uid
  uid=$(sed -n 's/.*Pinhole ID = \([0-9][0-9]*\).*/\1/p' <<<"$out" | head -n1)
  [[ -n $uid ]] || st_fail "no pinhole id"
  out=$(st_connect "$LAN_ADDR6" 8080 2) || { echo "    $out"; st_fail "no IPv6 connection through the pinhole"; }
  echo "    through pinhole $uid: $out"
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -6 -u "$ROOTDESC_URL6" -D "$uid" 2>&1) || { echo "$out"; st_fail "upnpc -D"; }
  echo "$out" | sed 's/^/    /'
  if out=$(st_connect "$LAN_ADDR6" 8080 1); then st_fail "reachable after pinhole delete: $out"; fi
  st_ok "pinhole works"

  st_step "7. restart-igd --flush removes mappings"
  nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -a "$LAN_ADDR" 8081 18081 UDP >/dev/null 2>&1 || st_fail "upnpc -a (UDP)"
  "$SELF" restart-igd --state-dir "$STATE_DIR" --flush || st_fail "restart-igd"
  load_env
  out=$(nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -l 2>&1) || { echo "$out"; st_fail "upnpc -l"; }
  if grep -q -- "->$LAN_ADDR:8081" <<<"$out"; then echo "$out"; st_fail "mapping survived --flush"; fi
  st_ok "router restarted empty (miniupnpd pid $MINIUPNPD_PID)"

  st_step "8. faults: a request held by a frozen miniupnpd fails when it is killed; the lan link down and up at each end"
  local held side ms
  "$SELF" freeze-igd --state-dir "$STATE_DIR" || st_fail "freeze-igd"
  ( nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -s >"$STATE_DIR/selftest.held" 2>&1 ) &
  held=$!
  "$SELF" wait-requests --state-dir "$STATE_DIR" 1 10 >/dev/null || { kill -CONT "$MINIUPNPD_PID"; st_fail "no request reached the frozen router"; }
  ms=$EPOCHREALTIME
  "$SELF" kill-igd --state-dir "$STATE_DIR" || st_fail "kill-igd"
  if wait "$held"; then cat "$STATE_DIR/selftest.held"; st_fail "upnpc succeeded against a killed router"; fi
  echo "    held request failed $(ms_since "$ms") ms after kill-igd was started: $(grep -m1 -i 'no valid\|error' "$STATE_DIR/selftest.held")"
  rm -f "$STATE_DIR/selftest.held"
  "$SELF" start-igd --state-dir "$STATE_DIR" || st_fail "start-igd"
  load_env
  nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -s >/dev/null 2>&1 || st_fail "upnpc -s after start-igd"
  for side in lan igd; do
    "$SELF" link-down --state-dir "$STATE_DIR" "$side" || st_fail "link-down $side"
    ms=$EPOCHREALTIME
    if nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -s >/dev/null 2>&1; then
      "$SELF" link-up --state-dir "$STATE_DIR" "$side"; st_fail "upnpc -s succeeded with the link down at the $side end"
    fi
    echo "    link down at the $side end: upnpc -s failed after $(ms_since "$ms") ms"
    "$SELF" link-up --state-dir "$STATE_DIR" "$side" || st_fail "link-up $side"
    nsx "$LAN_NS" timeout 20 "$upnpc" -u "$ROOTDESC_URL" -s >/dev/null 2>&1 || st_fail "upnpc -s after link-up $side"
  done
  st_ok "router killed mid-request and restarted, link flapped at both ends: service back each time"

  printf '\n[selftest] PASS (lab %s, %ss)\n' "$LAB_ID" "$((SECONDS - t0))"
}

# ----------------------------------------------------------------- main --

ORIG_ARGS=("$@")
CMD=${1:-}
[[ $# -gt 0 ]] && shift
OPT_ID=; OPT_STATE_DIR=; OPT_FLUSH=0; OPT_HTTP_PORT=; OPT_PROFILE=; OPT_EPOCH=; OPT_CARRIER=; KEEP_STATE=0
POS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --id) [[ $# -ge 2 ]] || die "--id needs a value"; OPT_ID=$2; shift 2 ;;
    --id=*) OPT_ID=${1#--id=}; shift ;;
    --state-dir) [[ $# -ge 2 ]] || die "--state-dir needs a value"; OPT_STATE_DIR=$(readlink -m "$2"); shift 2 ;;
    --state-dir=*) OPT_STATE_DIR=$(readlink -m "${1#--state-dir=}"); shift ;;
    --flush) OPT_FLUSH=1; shift ;;
    --http-port) [[ $# -ge 2 ]] || die "--http-port needs a value"; OPT_HTTP_PORT=$2; shift 2 ;;
    --profile) [[ $# -ge 2 ]] || die "--profile needs a value"; OPT_PROFILE=$2; shift 2 ;;
    --epoch) [[ $# -ge 2 ]] || die "--epoch needs a value"; OPT_EPOCH=$2; shift 2 ;;
    --carrier) [[ $# -ge 2 ]] || die "--carrier needs a value"; OPT_CARRIER=$2; shift 2 ;;
    --keep-state) KEEP_STATE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; POS+=("$@"); break ;;
    *) if [[ $CMD == exec ]]; then POS+=("$@"); break; fi
       POS+=("$1"); shift ;;
  esac
done
[[ -z $OPT_ID || $OPT_ID =~ ^[A-Za-z0-9]{1,12}$ ]] || die "lab id must be 1-12 letters/digits: '$OPT_ID'"
[[ $(id -u) == 0 ]] || die "must run as root"

case $CMD in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart-igd) ensure_netns_mount_owner; cmd_restart_igd ;;
  stop-igd) cmd_stop_igd ;;
  start-igd) ensure_netns_mount_owner; cmd_start_igd ;;
  freeze-igd) cmd_freeze_igd ;;
  thaw-igd) cmd_thaw_igd ;;
  wait-requests) cmd_wait_requests "${POS[@]}" ;;
  kill-igd) cmd_kill_igd ;;
  link-down) cmd_link_down "${POS[@]}" ;;
  link-up) cmd_link_up "${POS[@]}" ;;
  exec) cmd_exec "${POS[@]}" ;;
  selftest) cmd_selftest "${POS[@]}" ;;
  ""|help) usage; [[ -n $CMD ]] ;;
  *) usage >&2; die "unknown command: $CMD" ;;
esac
