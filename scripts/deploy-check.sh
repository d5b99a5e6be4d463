#!/usr/bin/env bash
# deploy-check: deploy/ checked without a Docker engine or a cluster.
#
#   Dockerfile  BuildKit's parser and checks (the deploy/tools Go tests), then
#               its build stage run on the context .dockerignore lets through;
#               the binary must be static, and serve must start with nothing
#               beside it, as the image's user, and answer /healthz and /readyz.
#   Helm chart  helm lint --strict and helm template for several value sets,
#               the renders validated by kubeconform -strict against the
#               Kubernetes API schemas of one release, and the refusals the
#               chart promises (replicas without Redis, ...).
#
# Every check here can fail, and each shows that it does: the validator is fed
# broken manifests and must reject them. Nothing is skipped, under CI or not.
#
# The three groups (BuildKit's checks, the build stage, the chart) share
# nothing, so they run side by side, each into its own log, printed whole
# when it ends. helm, kubeconform and the schemas are built once per version
# into a cache outside the clone, so a fresh clone reuses them:
# $MESHBOT_TOOLS_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/meshbot-tools, else
# (not writable) .tools/. A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO=${GO:-go}

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes release whose API the chart is validated against: its
# OpenAPI documents come from the k8s.io/kubernetes module on the Go module
# proxy (api/openapi-spec/v3), turned into kubeconform's layout by
# deploy/tools/k8sschema.
K8S_VERSION=1.34.4

CHART=deploy/helm/meshbot
start=$SECONDS
work=$(mktemp -d)
lanes=()
cleanup() {
	local pid
	for pid in "${lanes[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== deploy-check: %s (at %ds)\n' "$*" $((SECONDS - start)); }
fail() {
	echo "deploy-check: FAIL: $*" >&2
	exit 1
}
# expect_fail WHAT PATTERN CMD...: CMD must fail, saying PATTERN.
expect_fail() {
	local what=$1 pattern=$2
	shift 2
	local out
	if out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "$what: accepted, must be refused"
	fi
	if ! grep -qE -- "$pattern" <<<"$out"; then
		printf '%s\n' "$out" >&2
		fail "$what: refused, but not with /$pattern/"
	fi
	echo "ok: refused: $what"
}

# --- tools ------------------------------------------------------------------
# file and curl are not on every Debian; install them as redis-test.sh does.
missing=()
for cmd in file curl; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || fail "needs ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})"
	echo "installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# The cache must be a folder we can write; the clone's .tools/ always is.
CACHE=${MESHBOT_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/meshbot-tools}
if ! mkdir -p "$CACHE" 2>/dev/null || ! [ -w "$CACHE" ]; then
	CACHE=$ROOT/.tools
	mkdir -p "$CACHE"
fi
# publish TMP DEST: a finished entry appears whole or not at all, so a run
# that is interrupted, or two runs at once (several clones share the cache),
# never leave a half-filled entry that later runs would trust.
publish() {
	mv -T "$1" "$2" 2>/dev/null || rm -rf "$1"
	[ -d "$2" ]
}
# Each version gets its own folder, so changing a pin installs the new one.
install() { # NAME PACKAGE VERSION
	local dir=$CACHE/$1-$3 tmp
	if [ ! -x "$dir/$1" ]; then
		echo "installing $2@$3 into $dir (once)"
		tmp=$(mktemp -d "$CACHE/.$1-$3.XXXXXX")
		GOBIN=$tmp $GO install "$2@$3" || {
			rm -rf "$tmp"
			fail "go install $2@$3"
		}
		publish "$tmp" "$dir" || fail "installing $1 into $dir"
	fi
}
HELM=$CACHE/helm-$HELM_VERSION/helm
KUBECONFORM=$CACHE/kubeconform-$KUBECONFORM_VERSION/kubeconform
# Schemas are keyed by the converter's source too: a change to it regenerates.
stamp=$(sha256sum deploy/tools/k8sschema/main.go | cut -c1-12)
SCHEMAS=$CACHE/k8s-schemas-$stamp
schemas() {
	[ -f "$SCHEMAS/v$K8S_VERSION-standalone-strict/deployment-apps-v1.json" ] && return
	echo "fetching the OpenAPI documents of Kubernetes $K8S_VERSION (k8s.io/kubernetes module, once)"
	local spec tmp
	mkdir -p "$work/mod"
	# Outside any module, so this repository's go.mod and go.sum stay as they are.
	spec=$(cd "$work/mod" && GOFLAGS= $GO mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$spec/api/openapi-spec/v3" ] || fail "no api/openapi-spec/v3 in k8s.io/kubernetes@v$K8S_VERSION ($spec)"
	tmp=$(mktemp -d "$CACHE/.k8s-schemas-$stamp.XXXXXX")
	(cd deploy/tools && $GO run ./k8sschema -spec "$spec/api/openapi-spec/v3" -out "$tmp/v$K8S_VERSION-standalone-strict") || {
		rm -rf "$tmp"
		fail "k8sschema"
	}
	publish "$tmp" "$SCHEMAS" || fail "writing the schemas into $SCHEMAS"
}

# --- Dockerfile -------------------------------------------------------------
lane_buildkit() {
	step "Dockerfile: BuildKit's checks and the image's shape (deploy/tools)"
	(cd deploy/tools && $GO vet ./... && $GO test -count=1 ./...)
}

lane_image() {
	# The server must not outlive the lane, whatever ends it. (Not local: the
	# trap runs after this function has returned.)
	server_pid=
	trap '[ -z "${server_pid:-}" ] || kill "$server_pid" 2>/dev/null || true' EXIT

	step "Dockerfile: the build stage, run on the build context"
	version=$(git describe --always --dirty 2>/dev/null || echo dev)
	bin=$(cd deploy/tools && $GO run ./dockerbuild -dockerfile ../Dockerfile -context ../.. \
		-work "$work/build" -build-arg "VERSION=$version" | tail -n 1)
	[ -x "$bin" ] || fail "the build stage produced no binary"
	file "$bin"
	file "$bin" | grep -q 'statically linked' || fail "$bin is not statically linked"
	ldd_out=$(ldd "$bin" 2>&1 || true)
	grep -q 'not a dynamic executable' <<<"$ldd_out" || fail "ldd: $ldd_out"
	got=$("$bin" version)
	[ "$got" = "meshbot $version" ] || fail "meshbot version says '$got', want 'meshbot $version' (the VERSION build arg)"
	echo "ok: static, version $version"

	step "Dockerfile: serve starts with no file beside it"
	# The image holds /meshbot and nothing of ours: run it from an empty folder
	# with an empty environment, as distroless's nonroot user when we can switch.
	run=$(mktemp -d "$work/run.XXXXXX")
	chmod 755 "$work" "$run"
	cp "$bin" "$run/meshbot"
	as_user=()
	uid=$(id -u)
	if [ "$uid" = 0 ]; then as_user=(setpriv --reuid=65532 --regid=65532 --clear-groups) uid=65532; fi
	(cd "$run" && exec env -i MESHBOT_ADDR=127.0.0.1:0 "${as_user[@]}" ./meshbot serve) >"$work/serve.log" 2>&1 &
	server_pid=$!
	addr=
	for _ in $(seq 100); do
		addr=$(sed -n 's/.*msg="meshbot serve: listening" addr=\([0-9.:]*\).*/\1/p' "$work/serve.log")
		[ -n "$addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$addr" ] || {
		cat "$work/serve.log" >&2
		fail "serve did not start"
	}
	curl -fsS "http://$addr/healthz" >/dev/null || fail "GET /healthz"
	curl -fsS "http://$addr/readyz" >/dev/null || fail "GET /readyz (store and bundled policy)"
	kill -TERM "$server_pid"
	code=0
	wait "$server_pid" || code=$?
	server_pid=
	grep -q 'meshbot serve: stopped' "$work/serve.log" && [ "$code" = 0 ] ||
		{
			cat "$work/serve.log" >&2
			fail "serve did not stop cleanly on SIGTERM (exit $code)"
		}
	echo "ok: /healthz and /readyz answered on $addr as uid $uid; SIGTERM: clean stop"
	[ -z "$(ls -A "$run" | grep -vx meshbot)" ] || fail "serve wrote into its working folder: $(ls -A "$run")"
}

# --- Helm chart -------------------------------------------------------------
lane_chart() {
	step "tools"
	install helm helm.sh/helm/v3/cmd/helm $HELM_VERSION
	install kubeconform github.com/yannh/kubeconform/cmd/kubeconform $KUBECONFORM_VERSION
	schemas
	echo "helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, schemas of Kubernetes $K8S_VERSION in $SCHEMAS"

	step "Helm chart: lint and render"
	rendered=$work/rendered
	mkdir -p "$rendered"
	sets=(default "$CHART"/ci/*-values.yaml)
	for values in "${sets[@]}"; do
		name=$(basename "$values" -values.yaml)
		args=(--kube-version "$K8S_VERSION")
		[ "$values" = default ] || args+=(-f "$values")
		"$HELM" lint --strict "${args[@]}" "$CHART" >"$work/lint.log" 2>&1 || {
			cat "$work/lint.log" >&2
			fail "helm lint --strict ($name)"
		}
		"$HELM" template meshbot "$CHART" --namespace meshbot "${args[@]}" >"$rendered/$name.yaml" ||
			fail "helm template ($name)"
		for kind in Deployment Service; do
			grep -q "^kind: $kind\$" "$rendered/$name.yaml" || fail "$name: no $kind rendered"
		done
		echo "ok: $name: $(grep -c '^kind:' "$rendered/$name.yaml") resources"
	done
	# What the value sets are for, checked in their renders.
	grep -q '^kind: PodDisruptionBudget$' "$rendered/ha-redis.yaml" || fail "ha-redis: 3 replicas and no PodDisruptionBudget"
	! grep -q '^kind: PodDisruptionBudget$' "$rendered/default.yaml" || fail "default: a PodDisruptionBudget for one replica"
	grep -q '^kind: Ingress$' "$rendered/ingress.yaml" || fail "ingress: no Ingress"
	! grep -q '^kind: Secret$' "$rendered/existing-secrets.yaml" || fail "existing-secrets: the chart created a Secret anyway"
	for s in acme-meshbot-github acme-meshbot-redis acme-meshbot-backstage; do
		grep -q "name: $s\$" "$rendered/existing-secrets.yaml" || fail "existing-secrets: $s is not used"
	done

	step "Helm chart: refusals"
	expect_fail "replicaCount=3 without Redis" 'more than one replica needs Redis' \
		"$HELM" template meshbot "$CHART" --kube-version "$K8S_VERSION" --set replicaCount=3 --set github.webhookSecret=s
	expect_fail "github.appId without the App's private key" 'needs its private key' \
		"$HELM" template meshbot "$CHART" --kube-version "$K8S_VERSION" --set github.appId=12345 --set github.webhookSecret=s
	expect_fail "github.appId without a webhook secret" 'deliveries must be verified' \
		"$HELM" template meshbot "$CHART" --kube-version "$K8S_VERSION" --set github.appId=12345 --set github.privateKey=k

	step "Helm chart: kubeconform -strict against the Kubernetes $K8S_VERSION API"
	kubeconform() {
		"$KUBECONFORM" -strict -summary -kubernetes-version "$K8S_VERSION" -schema-location "$SCHEMAS" "$@"
	}
	kubeconform "$rendered"/*.yaml || fail "kubeconform rejects the chart's manifests"

	# The validator must be able to say no: broken copies of the default render.
	broken=$work/broken
	mkdir -p "$broken"
	sed 's/readinessProbe:/readinesProbe:/' "$rendered/default.yaml" >"$broken/misspelt-field.yaml"
	sed 's/^  replicas: 1$/  replicas: "1"/' "$rendered/default.yaml" >"$broken/wrong-type.yaml"
	sed 's/^  ports:$/  ports: []\n  portz:/' "$rendered/default.yaml" >"$broken/unknown-service-field.yaml"
	sed 's#^apiVersion: apps/v1$#apiVersion: extensions/v1beta1#' "$rendered/default.yaml" >"$broken/removed-api.yaml"
	for f in "$broken"/*.yaml; do cmp -s "$f" "$rendered/default.yaml" && fail "$(basename "$f"): the edit did not apply"; done
	expect_fail "a misspelt field (readinesProbe)" "additional properties 'readinesProbe' not allowed" kubeconform "$broken/misspelt-field.yaml"
	expect_fail "a string where an integer goes (replicas)" '/spec/replicas.*want integer' kubeconform "$broken/wrong-type.yaml"
	expect_fail "an unknown field of a Service" "additional properties 'portz' not allowed" kubeconform "$broken/unknown-service-field.yaml"
	expect_fail "an API removed from Kubernetes (extensions/v1beta1 Deployment)" 'could not find schema' kubeconform "$broken/removed-api.yaml"
}

# --- the lanes --------------------------------------------------------------
# Job control gives each lane a process group of its own, so cleanup stops a
# lane with everything it started.
set -m
declare -A lane_of=()
for lane in buildkit image chart; do
	(
		set -e
		"lane_$lane"
	) >"$work/$lane.log" 2>&1 &
	lanes+=($!)
	lane_of[$!]=$lane
done
failed=()
running=("${lanes[@]}")
while [ ${#running[@]} -gt 0 ]; do
	code=0
	done_pid=
	wait -n -p done_pid "${running[@]}" || code=$?
	[ -n "$done_pid" ] || fail "waiting for the lanes (exit $code)"
	lane=${lane_of[$done_pid]}
	printf '\n######## deploy-check: %s (ended at %ds, exit %d)\n' "$lane" $((SECONDS - start)) "$code"
	cat "$work/$lane.log"
	[ "$code" = 0 ] || failed+=("$lane")
	left=()
	for pid in "${running[@]}"; do [ "$pid" = "$done_pid" ] || left+=("$pid"); done
	running=("${left[@]}")
done
lanes=()
[ ${#failed[@]} = 0 ] || fail "${failed[*]}"

echo
echo "deploy-check: all passed in $((SECONDS - start))s"
