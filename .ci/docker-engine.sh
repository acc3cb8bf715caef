#!/usr/bin/env bash
# Make sure a Docker engine answers, and that the base image named by the Dockerfile's `ARG BASE_IMAGE` exists
# in it, so that the unmodified Dockerfile builds on a machine that has only the docker client and no registry.
#
#   eval "$(.ci/docker-engine.sh)"     # starts what is missing, then exports DOCKER_HOST
#
# Progress goes to stderr; stdout carries only the `export DOCKER_HOST=...` line. Safe to run again: a running
# engine and an existing base image are reused; a dead engine's leftovers (pid file, socket, netns mount) are cleared.
#
# What it does, only where needed:
#   1. an engine answering at $DOCKER_HOST (or the default socket) is used as it is;
#   2. otherwise dockerd (apt package docker.io) is started in the background with all of its state under
#      $DS_DOCKER_DIR (default /tmp/ds-docker), no bridge and no iptables: containers use `--network host`;
#   3. if the base image is missing and cannot be pulled, a stand-in is built: a debootstrap'd minbase bookworm
#      (cached as a tarball under $DS_DOCKER_DIR/cache) with Debian's python3 in a venv first on PATH, user
#      airbyte (uid 1000), /airbyte owned by it, and this machine's CA certificates (HTTPS goes through an
#      intercepting proxy here). It is tagged with the exact reference of `ARG BASE_IMAGE`; a digest reference
#      cannot be made with `docker tag`, so it is written into the engine's reference store (engine stopped)
#      when the engine is ours.
# None of this belongs in the product's Dockerfile: it only stands in for a registry this machine cannot reach.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
W="${DS_DOCKER_DIR:-/tmp/ds-docker}"
SOCK="$W/docker.sock"
OUR_HOST="unix://$SOCK"
STANDIN_ROOTFS_TAG="local/debian:bookworm"
ROOTFS_TAR="$W/cache/debian-bookworm-minbase-python3.tar"

log() { printf '[docker-engine] %s\n' "$*" >&2; }
die() {
    printf '[docker-engine] ERROR: %s\n' "$*" >&2
    exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

answers() { DOCKER_HOST="$1" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
    mkdir -p "$W"
    log "apt-get install ${missing[*]} (log: $W/apt.log)"
    apt-get update -qq >"$W/apt.log" 2>&1 || { tail -n 20 "$W/apt.log" >&2; die "apt-get update failed"; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$W/apt.log" 2>&1 \
        || { tail -n 20 "$W/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# Is $1 a live (not zombie) dockerd of ours? Guards against a recycled pid and a killed engine not yet reaped.
our_dockerd_alive() {
    local pid="$1"
    [ -n "$pid" ] && [ -r "/proc/$pid/status" ] || return 1
    [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != "Z" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "dockerd.*--data-root $W/data"
}

clear_dead_engine() {
    if [ -f "$W/docker.pid" ]; then
        local pid
        pid="$(cat "$W/docker.pid")"
        for _ in $(seq 1 75); do # an engine being killed or starting: give it 15 s to go or to answer
            our_dockerd_alive "$pid" || break
            answers "$OUR_HOST" && return 0
            sleep 0.2
        done
        if our_dockerd_alive "$pid"; then
            die "dockerd (pid $pid, state in $W) runs but does not answer at $OUR_HOST; see $W/dockerd.log; stop it with: kill $pid"
        fi
        log "clearing a dead engine's leftovers in $W"
        rm -f "$W/docker.pid"
    fi
    rm -f "$SOCK"
    if mountpoint -q "$W/exec/netns/default" 2>/dev/null; then umount "$W/exec/netns/default" || true; fi
    rm -rf "$W/exec"
}

stop_our_engine() {
    local pid
    pid="$(cat "$W/docker.pid" 2>/dev/null || true)"
    if our_dockerd_alive "$pid"; then
        log "stopping dockerd (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 100); do
            our_dockerd_alive "$pid" || break
            sleep 0.2
        done
        our_dockerd_alive "$pid" && die "dockerd (pid $pid) did not stop within 20 s"
    fi
    clear_dead_engine
}

start_our_engine() {
    apt_install docker.io
    command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
    clear_dead_engine
    if answers "$OUR_HOST"; then
        log "engine at $OUR_HOST answers now"
        return 0
    fi
    mkdir -p "$W/data" "$W/exec"
    log "starting dockerd, state under $W (log: $W/dockerd.log)"
    # setsid + closed stdio: the engine outlives this script and never holds the caller's pipes open.
    setsid dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false --bridge=none --ip-forward=false \
        --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" --host "$OUR_HOST" \
        </dev/null >>"$W/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do
        answers "$OUR_HOST" && { log "engine up at $OUR_HOST"; return 0; }
        sleep 0.2
    done
    tail -n 20 "$W/dockerd.log" >&2 || true
    die "dockerd did not answer at $OUR_HOST within 30 s (see $W/dockerd.log)"
}

# ---- 1/2: an engine --------------------------------------------------------------------------------------------
OURS=0
if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
    HOST="$DOCKER_HOST"
    [ "$HOST" = "$OUR_HOST" ] && OURS=1
    log "engine already answers at $HOST"
elif [ -z "${DOCKER_HOST:-}" ] && answers "unix:///var/run/docker.sock"; then
    HOST="unix:///var/run/docker.sock"
    log "engine already answers at $HOST"
elif answers "$OUR_HOST"; then
    HOST="$OUR_HOST"
    OURS=1
    log "engine already answers at $HOST"
else
    start_our_engine
    HOST="$OUR_HOST"
    OURS=1
fi
export DOCKER_HOST="$HOST"

# ---- 3: the base image -----------------------------------------------------------------------------------------
BASE_IMAGE="$(sed -n 's/^ARG BASE_IMAGE=//p' "$REPO/Dockerfile" | head -n 1 | tr -d '"'"'"' ')"
[ -n "$BASE_IMAGE" ] || die "no 'ARG BASE_IMAGE=...' line in $REPO/Dockerfile"
BASE_TAGGED="${BASE_IMAGE%@*}" # name:tag without the digest
BASE_DIGEST=""
[ "$BASE_IMAGE" != "$BASE_TAGGED" ] && BASE_DIGEST="${BASE_IMAGE#*@}"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$BASE_IMAGE"; then
    log "base image present: $BASE_IMAGE"
    echo "export DOCKER_HOST=$HOST"
    exit 0
fi

log "base image missing: $BASE_IMAGE; trying to pull it (fails fast with no registry)"
if timeout 60 docker pull "$BASE_IMAGE" >&2 2>/dev/null; then
    log "pulled $BASE_IMAGE"
    echo "export DOCKER_HOST=$HOST"
    exit 0
fi
log "cannot pull $BASE_IMAGE: building a local stand-in for it"

if ! have_image "$BASE_TAGGED"; then
    if ! have_image "$STANDIN_ROOTFS_TAG"; then
        if [ ! -s "$ROOTFS_TAR" ]; then
            apt_install debootstrap
            MIRROR="${DS_DEBIAN_MIRROR:-}"
            if [ -z "$MIRROR" ]; then
                MIRROR="$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
                    | grep -v security | head -n 1 || true)"
            fi
            [ -n "$MIRROR" ] || MIRROR="http://deb.debian.org/debian"
            ROOTFS="$W/cache/rootfs"
            rm -rf "$ROOTFS" "$ROOTFS_TAR.part"
            mkdir -p "$W/cache"
            log "debootstrap minbase bookworm from $MIRROR (a few minutes, once; cached as $ROOTFS_TAR)"
            debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv \
                bookworm "$ROOTFS" "$MIRROR" >"$W/cache/debootstrap.log" 2>&1 \
                || { tail -n 20 "$W/cache/debootstrap.log" >&2; die "debootstrap failed (see $W/cache/debootstrap.log)"; }
            shopt -s nullglob
            certs=(/usr/local/share/ca-certificates/*.crt)
            shopt -u nullglob
            if [ "${#certs[@]}" -gt 0 ]; then
                log "adding this machine's CA certificates: ${certs[*]}"
                cp "${certs[@]}" "$ROOTFS/usr/local/share/ca-certificates/"
            fi
            chroot "$ROOTFS" update-ca-certificates >/dev/null
            rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
            tar --numeric-owner -C "$ROOTFS" -cf "$ROOTFS_TAR.part" .
            mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
            rm -rf "$ROOTFS"
        else
            log "using the cached rootfs $ROOTFS_TAR"
        fi
        log "docker import -> $STANDIN_ROOTFS_TAG"
        docker import "$ROOTFS_TAR" "$STANDIN_ROOTFS_TAG" >/dev/null
    fi

    CTX="$(mktemp -d)"
    cat >"$CTX/Dockerfile" <<EOF
FROM $STANDIN_ROOTFS_TAG
LABEL org.opencontainers.image.description="CI stand-in for $BASE_IMAGE (Debian python3 in a venv), not the real image"
LABEL io.destination-stripe.standin="true"
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    LANG=C.UTF-8
RUN python3 -m venv /usr/local/python \\
 && groupadd --gid 1000 airbyte \\
 && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/airbyte --shell /bin/bash airbyte \\
 && mkdir -p /airbyte \\
 && chown airbyte:airbyte /airbyte \\
 && rm -rf /root/.cache
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /airbyte
EOF
    log "docker build the stand-in -> $BASE_TAGGED"
    docker build --network host -q -t "$BASE_TAGGED" "$CTX" >&2 || { rm -rf "$CTX"; die "building the stand-in failed"; }
    rm -rf "$CTX"
fi

if [ -n "$BASE_DIGEST" ]; then
    [ "$OURS" -eq 1 ] || die "$BASE_TAGGED exists, but a digest reference ($BASE_DIGEST) can only be added to an engine \
this script started (state in $W); build with --build-arg BASE_IMAGE=$BASE_TAGGED instead"
    IMAGE_ID="$(docker image inspect --format '{{.Id}}' "$BASE_TAGGED")"
    REFS="$W/data/image/overlay2/repositories.json"
    [ -f "$REFS" ] || die "no reference store at $REFS"
    log "adding $BASE_IMAGE -> $IMAGE_ID to the engine's reference store (engine restarts)"
    stop_our_engine
    python3 - "$REFS" "$IMAGE_ID" "$BASE_DIGEST" <<'PY'
import json, os, sys
# The store keys repositories and references in the engine's own spelling (familiar or fully qualified):
# add the digest reference beside the tag that already points at the stand-in.
path, image_id, digest = sys.argv[1:]
with open(path) as f:
    store = json.load(f)
added = False
for repo, refs in store.get("Repositories", {}).items():
    if any(ref.startswith(repo + ":") and target == image_id for ref, target in list(refs.items())):
        refs[f"{repo}@{digest}"] = image_id
        added = True
if not added:
    sys.exit(f"no tag points at {image_id} in {path}")
with open(path + ".new", "w") as f:
    json.dump(store, f)
os.replace(path + ".new", path)
PY
    start_our_engine
    have_image "$BASE_IMAGE" || die "the engine does not resolve $BASE_IMAGE after the reference store edit"
fi
log "base image ready: $BASE_IMAGE"
echo "export DOCKER_HOST=$HOST"
