# shellcheck shell=bash
# Debian chroots for the package tests (tests/package/*.sh), as root: a
# debootstrap --variant=minbase base per suite kept in a cache, fresh
# throw-away copies of it, the /proc, /dev and /dev/pts mounts a chroot needs, and
# commands and apt-get run inside. Source it after `set -euo pipefail` (and
# after tests/lib/common.sh when you want its `note`).
#
#   base=$(chroot_base bookworm)        cached base, made on first use
#   dir=$(chroot_fresh bookworm "$tmp/root")  pristine copy (cp -a)
#   chroot_mount "$dir"                 /proc, /dev (tmpfs), /dev/pts
#   chroot_apt "$dir" install ./x.deb   apt-get -y, noninteractive, bounded
#   chroot_run "$dir" 'knotd --version' bash -c inside, clean environment
#   chroot_spawn LOG "$dir" knotd -c /etc/x.conf   a server, pid in chroot_spawned_pid
#   chroot_cleanup                      from your EXIT trap (see below)
#
# Mounts: every directory given to chroot_mount is remembered; chroot_cleanup
# kills the processes whose root is such a directory (only ones this script
# started can have it), unmounts everything below it, deepest first, and
# fails if /proc/mounts still lists anything there. chroot_mount installs
# `trap chroot_cleanup EXIT` (and INT/TERM/HUP -> exit) when the script has
# no EXIT trap yet; a script with its own EXIT trap must call chroot_cleanup
# from it (after stopping its own processes), which chroot_mount checks.
# Nothing is ever deleted below a mount: chroot_remove unmounts first and
# uses rm --one-file-system.
#
# Environment:
#   MXTRAP_CHROOT_CACHE   cache directory (/var/cache/knot-mxtrap-chroots)
#   MXTRAP_MIRROR         Debian mirror (default: the host's, from
#                         /etc/apt/sources.list.d/*.sources or sources.list)
#   MXTRAP_DEBOOTSTRAP_TIMEOUT, MXTRAP_APT_TIMEOUT   seconds (600, 300)

chroot_cache_dir() { echo "${MXTRAP_CHROOT_CACHE:-/var/cache/knot-mxtrap-chroots}"; }

# chroot_log MSG: progress on stderr (TAP output stays clean).
chroot_log() { echo "chroot: $*" >&2; }

# chroot_mirror: the host's Debian mirror, the first URI of a deb entry for a
# plain suite (not -security or -updates), e.g. http://deb.debian.org/debian.
chroot_mirror() {
	if [ -n "${MXTRAP_MIRROR:-}" ]; then
		echo "$MXTRAP_MIRROR"
		return 0
	fi
	local m=
	shopt -s nullglob
	local files=(/etc/apt/sources.list.d/*.sources)
	shopt -u nullglob
	if [ ${#files[@]} -gt 0 ]; then
		# deb822: one stanza per blank-line separated paragraph.
		m=$(awk 'function flush() {
				if (deb && plain && uri != "" && out == "") out = uri
				deb = plain = 0; uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
			END { flush(); print out }' "${files[@]}")
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /\[/ && $3 !~ /-/ { print $2; exit }' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || { chroot_log "no Debian mirror found in the host's apt sources"; return 1; }
	echo "${m%/}"
}

chroot_dirs=()
chroot_std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# chroot_mounts_under DIR: mount points at or below DIR, deepest first.
chroot_mounts_under() {
	local dir
	dir=$(realpath -m "$1")
	# /proc/mounts escapes blanks as \040; the chroot paths have none.
	awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# chroot_kill_procs DIR: KILL every process whose root directory is DIR.
chroot_kill_procs() {
	local dir pid root killed=
	dir=$(realpath -m "$1")
	for pid in /proc/[0-9]*; do
		root=$(readlink "$pid/root" 2>/dev/null) || continue
		if [ "$root" = "$dir" ]; then
			kill -KILL "${pid#/proc/}" 2>/dev/null && killed+=" ${pid#/proc/}"
		fi
	done
	[ -z "$killed" ] || chroot_log "killed processes left in $dir:$killed"
	# Give the kernel a moment to release their files (/dev/null, ...).
	[ -z "$killed" ] || sleep 0.2
}

# chroot_umount DIR: unmount everything at or below DIR; 1 if something stays.
chroot_umount() {
	local dir=$1 mp left
	[ -d "$dir" ] || return 0
	for _ in 1 2 3; do
		left=$(chroot_mounts_under "$dir")
		[ -n "$left" ] || return 0
		while read -r mp; do
			umount "$mp" 2>/dev/null || true
		done <<<"$left"
		[ -z "$(chroot_mounts_under "$dir")" ] && return 0
		sleep 0.5
	done
	left=$(chroot_mounts_under "$dir")
	chroot_log "still mounted below $dir: $(tr '\n' ' ' <<<"$left")"
	return 1
}

# _chroot_trap_cleans: the EXIT trap calls chroot_cleanup, itself or in a
# function it names (trap cleanup EXIT, cleanup() { ...; chroot_cleanup; }).
_chroot_trap_cleans() {
	local cmd word
	cmd=$(trap -p EXIT)
	case $cmd in *chroot_cleanup*) return 0 ;; esac
	cmd=${cmd#trap -- }
	for word in $cmd; do
		word=${word//[\';]/}
		declare -F "$word" >/dev/null && declare -f "$word" | grep -q chroot_cleanup && return 0
	done
	return 1
}

# chroot_mount DIR: /proc, a /dev of its own and /dev/pts inside DIR. /dev
# is a small tmpfs with the usual device nodes rather than a bind of the
# host's: a mount left behind by a SIGKILLed run (meson's test timeout sends
# SIGKILL 0.5 s after SIGTERM) then holds nothing of the host's, and a later
# rm -rf of the directory cannot delete the host's device nodes. /dev/pts is
# a new devpts instance for the same reason.
chroot_mount() {
	local dir
	dir=$(realpath "$1")
	case " ${chroot_dirs[*]} " in *" $dir "*) ;; *) chroot_dirs+=("$dir");; esac
	if [ -z "$(trap -p EXIT)" ]; then
		trap chroot_cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap 'exit 129' HUP
	elif ! _chroot_trap_cleans; then
		chroot_log "the EXIT trap does not call chroot_cleanup: not mounting"
		return 1
	fi
	[ -z "$(chroot_mounts_under "$dir")" ] || { chroot_log "$dir has mounts already"; return 1; }
	mkdir -p "$dir/proc" "$dir/dev"
	mount -t proc proc "$dir/proc" || return 1
	mount -t tmpfs -o mode=755,nosuid,size=1m chroot-dev "$dir/dev" || return 1
	(
		set -e
		cd "$dir/dev"
		mknod -m 666 null c 1 3
		mknod -m 666 zero c 1 5
		mknod -m 666 full c 1 7
		mknod -m 666 random c 1 8
		mknod -m 666 urandom c 1 9
		mknod -m 666 tty c 5 0
		ln -s /proc/self/fd fd
		ln -s /proc/self/fd/0 stdin
		ln -s /proc/self/fd/1 stdout
		ln -s /proc/self/fd/2 stderr
		ln -s pts/ptmx ptmx
		mkdir -m 1777 shm
		mkdir pts
	) || { chroot_log "making device nodes in $dir/dev failed"; return 1; }
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$dir/dev/pts" || return 1
}

# chroot_cleanup: for every DIR given to chroot_mount: kill what runs in it,
# unmount. Returns 1 (and says so) if a mount is left.
chroot_cleanup() {
	local dir rc=0
	for dir in "${chroot_dirs[@]}"; do
		chroot_kill_procs "$dir"
		chroot_umount "$dir" || rc=1
	done
	return $rc
}

# chroot_remove DIR: delete a chroot directory, never through a mount.
chroot_remove() {
	local dir=$1
	[ -e "$dir" ] || return 0
	chroot_kill_procs "$dir"
	chroot_umount "$dir" || { chroot_log "not removing $dir: mounts left"; return 1; }
	rm -rf --one-file-system "$dir"
}

# chroot_run [-t SECS] DIR SCRIPT [ARG...]: bash -c SCRIPT inside DIR with a
# clean environment (PATH, HOME, LANG, DEBIAN_FRONTEND and CHROOT_ENV, an
# array of extra NAME=VALUE), under timeout when -t is given. Run in the
# background (stdin kept) and waited for: bash runs a trap (TERM -> exit ->
# cleanup) at once during `wait`, but only after a foreground command has
# finished.
CHROOT_ENV=()
chroot_run() {
	local t=()
	if [ "$1" = -t ]; then
		t=(timeout --kill-after=10 "$2")
		shift 2
	fi
	local dir=$1 script=$2
	shift 2
	"${t[@]}" chroot "$dir" /usr/bin/env -i PATH="$chroot_std_path" HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "${CHROOT_ENV[@]}" /bin/bash -c "$script" bash "$@" <&0 &
	wait $!
}

# chroot_spawn LOG DIR CMD...: CMD inside DIR in the background, same clean
# environment as chroot_run, output appended to LOG (a host path); its pid
# (chroot execs env, env execs CMD: the program's own) in chroot_spawned_pid.
chroot_spawn() {
	local log=$1 dir=$2
	shift 2
	chroot "$dir" /usr/bin/env -i PATH="$chroot_std_path" HOME=/root LANG=C.UTF-8 \
		"${CHROOT_ENV[@]}" "$@" >>"$log" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	chroot_spawned_pid=$!
}

# chroot_apt DIR APT-GET-ARG...: apt-get -y inside DIR, no recommends,
# bounded by MXTRAP_APT_TIMEOUT.
chroot_apt() {
	local dir=$1
	shift
	chroot_run -t "${MXTRAP_APT_TIMEOUT:-300}" "$dir" \
		'apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false "$@"' "$@"
}

# chroot_prepare DIR: what every chroot gets before apt runs in it (the
# host's resolver).
chroot_prepare() {
	cp -L /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}

# chroot_base SUITE: the path of the cached base chroot of SUITE, made first
# if missing. A base is complete once it is renamed into place, so a killed
# debootstrap leaves only a .SUITE.new.* directory, removed on the next try.
# Concurrent callers wait for each other (flock).
chroot_base() {
	local suite=$1 cache base mirror lock_fd new
	cache=$(chroot_cache_dir)
	base=$cache/$suite
	mkdir -p "$cache"
	exec {lock_fd}>"$cache/.$suite.lock"
	if ! flock -w 900 "$lock_fd"; then
		exec {lock_fd}>&-
		chroot_log "timeout waiting for the lock on $base"
		return 1
	fi
	if [ -x "$base/usr/bin/apt-get" ]; then
		exec {lock_fd}>&-
		echo "$base"
		return 0
	fi
	local stale
	for stale in "$cache/.$suite.new."*; do
		[ -e "$stale" ] || continue
		chroot_remove "$stale" || { exec {lock_fd}>&-; return 1; }
	done
	if ! mirror=$(chroot_mirror); then
		exec {lock_fd}>&-
		return 1
	fi
	command -v debootstrap >/dev/null || { exec {lock_fd}>&-; chroot_log "debootstrap not installed"; return 1; }
	new=$(mktemp -d "$cache/.$suite.new.XXXXXX")
	chmod 755 "$new"
	chroot_log "debootstrap --variant=minbase $suite from $mirror (log: $new.log)"
	if ! timeout --kill-after=10 "${MXTRAP_DEBOOTSTRAP_TIMEOUT:-600}" \
		debootstrap --variant=minbase "$suite" "$new" "$mirror" >"$new.log" 2>&1; then
		chroot_log "debootstrap failed:"
		tail -n 15 "$new.log" >&2
		chroot_remove "$new" || true
		exec {lock_fd}>&-
		return 1
	fi
	# The test mirror may be a frozen snapshot: its Release files' Valid-Until
	# has passed (sid and -security have one). No daemon starts from a
	# maintainer script (policy-rc.d): tests start their own.
	cat >"$new/etc/apt/apt.conf.d/99knot-mxtrap" <<-'EOF'
		Acquire::Check-Valid-Until "false";
		Acquire::Languages "none";
		Acquire::Retries "3";
		APT::Install-Recommends "false";
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
	chmod 755 "$new/usr/sbin/policy-rc.d"
	# Package lists in the base: a fresh copy's apt-get update is then quick.
	chroot_prepare "$new"
	local ok=1
	_chroot_update_base "$new" >>"$new.log" 2>&1 || ok=
	chroot_umount "$new" || ok=
	if [ -z "$ok" ] || [ -e "$base" ]; then
		chroot_log "setting up $new failed (or $base appeared):"
		tail -n 15 "$new.log" >&2
		chroot_remove "$new" || true
		exec {lock_fd}>&-
		return 1
	fi
	mv "$new" "$base"
	mv "$new.log" "$cache/$suite.log"
	exec {lock_fd}>&-
	echo "$base"
}

# _chroot_update_base DIR: apt-get update in a new base, in a subshell with
# its own EXIT trap: chroot_base usually runs in a command substitution,
# whose mounts the caller's trap would not know about.
_chroot_update_base() (
	chroot_dirs=()
	trap chroot_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	# Explicit exits: set -e does not apply in the caller's `|| ok=`.
	chroot_mount "$1" || exit 1
	chroot_run -t "${MXTRAP_APT_TIMEOUT:-300}" "$1" 'apt-get -q update' || exit 1
	chroot_run -t 60 "$1" 'apt-get clean' || exit 1
	chroot_cleanup
)

# chroot_fresh SUITE DEST: a pristine copy of SUITE's base at DEST (which
# must not exist), ready for chroot_mount.
chroot_fresh() {
	local suite=$1 dest=$2 base
	base=$(chroot_base "$suite") || return 1
	[ ! -e "$dest" ] || { chroot_log "$dest exists"; return 1; }
	mkdir -p "$dest"
	cp -a "$base/." "$dest/"
	chroot_prepare "$dest"
	echo "$dest"
}
