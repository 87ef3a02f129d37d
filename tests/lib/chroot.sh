# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Debian chroots for tests/package/test_deb.sh and tests/matrix.sh, as root:
# cached images (a debootstrap --variant=minbase base per suite, images made
# from a base), throw-away copies, the mounts a chroot needs, commands inside;
# and copy_tree, the source tree without its build output. Source it after
# `set -euo pipefail`.
#
#   copy_tree SRC DEST                  the source tree (see there)
#   base=$(chroot_base bookworm)        cached base, made on first use
#   img=$(chroot_image DIR STAMP MAKE [ARG...])   cached image made by MAKE
#   chroot_copy "$img" "$tmp/root"      pristine copy of an image
#   dir=$(chroot_fresh bookworm "$tmp/root")      pristine copy of the base
#   chroot_mount "$dir"                 /proc, /dev (tmpfs), /dev/pts
#   chroot_apt "$dir" install ./x.deb   apt-get -y, noninteractive, bounded
#   chroot_run "$dir" 'knotd --version' bash -c inside, clean environment
#   chroot_spawn LOG "$dir" knotd -c /etc/x.conf   a server, pid in chroot_spawned_pid
#   chroot_cleanup                      from your EXIT trap (see below)
#   chroot_remove DIR                   delete it, never through a mount
#
# Mounts: every directory given to chroot_mount is remembered; chroot_cleanup
# kills the processes whose root is such a directory (only ones this script
# started can have it) and unmounts everything below it, deepest first; it
# fails if /proc/mounts still lists anything there. chroot_mount installs
# `trap chroot_cleanup EXIT` (and INT/TERM/HUP -> exit) when the script has
# no EXIT trap yet; a script with its own EXIT trap must call chroot_cleanup
# from it (after stopping its own processes), which chroot_mount checks.
# Nothing is ever deleted below a mount (chroot_remove unmounts first and
# uses rm --one-file-system).
#
# Environment:
#   MXTRAP_CHROOT_CACHE   cache directory (/var/cache/knot-mxtrap-chroots)
#   MXTRAP_MIRROR         Debian mirror (default: the host's, from
#                         /etc/apt/sources.list.d/*.sources or sources.list)
#   MXTRAP_DEBOOTSTRAP_TIMEOUT, MXTRAP_APT_TIMEOUT   seconds (600, 300)

# copy_tree SRC DEST: the source tree at SRC into DEST. In a git checkout
# (SRC its top) the files git knows of: tracked and untracked, not ignored,
# not deleted (no build directories; an uncommitted debian/ comes along).
# Without git, or outside a checkout (a release tarball, a CI copy): every
# file but .git and the build directories at the top (build*, builddir).
copy_tree() {
	local src=$1 dest=$2 top
	mkdir -p "$dest"
	top=$(git -C "$src" rev-parse --show-toplevel 2>/dev/null) || top=
	if [ -n "$top" ] && [ "$top" = "$(cd "$src" && pwd -P)" ]; then
		(cd "$src" && git ls-files -z -co --exclude-standard |
			while IFS= read -r -d '' f; do
				if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
			done | tar --null -T - -cf -) | tar -C "$dest" -xf -
	else
		tar -C "$src" --exclude='./build*' --exclude=./builddir --exclude=./.git -cf - . |
			tar -C "$dest" -xf -
	fi
}

chroot_cache_dir() { echo "${MXTRAP_CHROOT_CACHE:-/var/cache/knot-mxtrap-chroots}"; }
# chroot_log MSG: progress on stderr (TAP output stays clean).
chroot_log() { echo "chroot: $*" >&2; }

# chroot_mirror: the host's Debian mirror, the first URI of a deb entry for a
# plain suite (not -security or -updates), e.g. http://deb.debian.org/debian.
chroot_mirror() {
	local m=${MXTRAP_MIRROR:-} files
	shopt -s nullglob
	files=(/etc/apt/sources.list.d/*.sources)
	shopt -u nullglob
	# deb822: one stanza per blank-line separated paragraph.
	[ -n "$m" ] || [ ${#files[@]} = 0 ] || m=$(awk 'function flush() {
			if (deb && plain && uri != "" && out == "") out = uri
			deb = plain = 0; uri = ""
		}
		/^[ \t]*$/ { flush(); next }
		tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
		tolower($1) == "uris:" { uri = $2 }
		tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
		END { flush(); print out }' "${files[@]}")
	[ -n "$m" ] || [ ! -f /etc/apt/sources.list ] ||
		m=$(awk '$1 == "deb" && $0 !~ /\[/ && $3 !~ /-/ { print $2; exit }' /etc/apt/sources.list)
	[ -n "$m" ] || { chroot_log "no Debian mirror found in the host's apt sources"; return 1; }
	echo "${m%/}"
}

# --- mounts ---------------------------------------------------------------------

chroot_dirs=()

# chroot_mounts_under DIR: mount points at or below DIR, deepest first.
# (/proc/mounts escapes blanks as \040; the chroot paths have none.)
chroot_mounts_under() {
	awk -v d="$(realpath -m "$1")" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# chroot_kill_procs DIR: KILL every process whose root directory is DIR.
chroot_kill_procs() {
	local dir pid killed=
	dir=$(realpath -m "$1")
	for pid in /proc/[0-9]*; do
		if [ "$(readlink "$pid/root" 2>/dev/null)" = "$dir" ]; then
			kill -KILL "${pid#/proc/}" 2>/dev/null && killed+=" ${pid#/proc/}"
		fi
	done
	# Give the kernel a moment to release their files (/dev/null, ...).
	[ -z "$killed" ] || { chroot_log "killed processes left in $dir:$killed"; sleep 0.2; }
}

# chroot_umount DIR: unmount everything at or below DIR; 1 if something stays.
chroot_umount() {
	local mp left
	for _ in 1 2 3; do
		left=$(chroot_mounts_under "$1")
		[ -n "$left" ] || return 0
		while read -r mp; do umount "$mp" 2>/dev/null || true; done <<<"$left"
		[ -n "$(chroot_mounts_under "$1")" ] || return 0
		sleep 0.5
	done
	chroot_log "still mounted below $1: $(chroot_mounts_under "$1" | tr '\n' ' ')"
	return 1
}

# _chroot_traps: chroot_cleanup on EXIT, the usual signals -> exit.
_chroot_traps() {
	trap chroot_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
# _chroot_trap_cleans: the EXIT trap calls chroot_cleanup, itself or in a
# function it names (trap cleanup EXIT, cleanup() { ...; chroot_cleanup; }).
_chroot_trap_cleans() {
	local cmd word
	cmd=$(trap -p EXIT)
	for word in ${cmd#trap -- }; do
		word=${word//[\';]/}
		[ "$word" = chroot_cleanup ] && return 0
		declare -F "$word" >/dev/null && declare -f "$word" | grep -q chroot_cleanup && return 0
	done
	return 1
}

# chroot_mount DIR: /proc, a /dev of its own and /dev/pts inside DIR. /dev
# is a small tmpfs with the usual device nodes rather than a bind of the
# host's, and /dev/pts a new devpts instance: a mount left behind by a
# SIGKILLed run (meson's test timeout sends SIGKILL 0.5 s after SIGTERM) then
# holds nothing of the host's, and a later rm -rf cannot delete the host's
# device nodes.
chroot_mount() {
	local dir node
	dir=$(realpath "$1")
	case " ${chroot_dirs[*]} " in *" $dir "*) ;; *) chroot_dirs+=("$dir");; esac
	if [ -z "$(trap -p EXIT)" ]; then
		_chroot_traps
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
		for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
			IFS=: read -r name major minor <<<"$node"
			mknod -m 666 "$name" c "$major" "$minor"
		done
		ln -s /proc/self/fd fd
		ln -s /proc/self/fd/0 stdin
		ln -s /proc/self/fd/1 stdout
		ln -s /proc/self/fd/2 stderr
		ln -s pts/ptmx ptmx
		mkdir -m 1777 shm
		mkdir pts
	) || { chroot_log "making device nodes in $dir/dev failed"; return 1; }
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$dir/dev/pts"
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
	[ -e "$1" ] || return 0
	chroot_kill_procs "$1"
	chroot_umount "$1" || { chroot_log "not removing $1: mounts left"; return 1; }
	rm -rf --one-file-system "$1"
}

# --- commands inside --------------------------------------------------------------

# The clean environment of a command inside DIR: PATH, HOME, LANG,
# DEBIAN_FRONTEND and CHROOT_ENV, an array of extra NAME=VALUE.
CHROOT_ENV=()
_chroot_env() {
	_chroot_cmd=(chroot "$1" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${CHROOT_ENV[@]}")
}

# chroot_run [-t SECS] DIR SCRIPT [ARG...]: bash -c SCRIPT inside DIR, under
# timeout when -t is given. Run in the background (stdin kept) and waited for:
# bash runs a trap (TERM -> exit -> cleanup) at once during `wait`, but only
# after a foreground command has finished.
chroot_run() {
	local t=()
	if [ "$1" = -t ]; then
		t=(timeout --kill-after=10 "$2")
		shift 2
	fi
	_chroot_env "$1"
	"${t[@]}" "${_chroot_cmd[@]}" /bin/bash -c "$2" bash "${@:3}" <&0 &
	wait $!
}

# chroot_spawn LOG DIR CMD...: CMD inside DIR in the background, output
# appended to LOG (a host path); its pid (chroot execs env, env execs CMD:
# the program's own) in chroot_spawned_pid.
chroot_spawn() {
	local log=$1
	_chroot_env "$2"
	"${_chroot_cmd[@]}" "${@:3}" >>"$log" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	chroot_spawned_pid=$!
}

# chroot_apt DIR APT-GET-ARG...: apt-get -y inside DIR, no recommends,
# bounded by MXTRAP_APT_TIMEOUT.
chroot_apt() {
	# shellcheck disable=SC2016 # the chroot's bash expands "$@"
	chroot_run -t "${MXTRAP_APT_TIMEOUT:-300}" "$1" \
		'apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false "$@"' "${@:2}"
}

# --- images ---------------------------------------------------------------------

# _chroot_lock DIR [-s]: DIR's lock (DIR/../.NAME.lock) taken, exclusive or
# shared (-s), fd in chroot_lock_fd; waits up to 15 min for another run.
_chroot_lock() {
	exec {chroot_lock_fd}>"$(dirname "$1")/.$(basename "$1").lock"
	flock -w 900 ${2:+"$2"} "$chroot_lock_fd" && return 0
	exec {chroot_lock_fd}>&-
	chroot_log "timeout waiting for the lock on $1"
	return 1
}

# chroot_image DIR STAMP MAKE [ARG...]: DIR, an image kept between runs, made
# when missing or when DIR.stamp (none: empty) is not STAMP: `MAKE NEW ARG...`
# fills a new directory NEW beside DIR (.NAME.new.*) in a subshell that may
# chroot_mount it (unmounted after), its output in NEW.log; NEW becomes DIR
# (and NEW.log DIR.log) once made, so a killed run leaves only NEW, removed on
# the next try. Under DIR's lock: concurrent runs wait for each other.
chroot_image() {
	local dir=$1 stamp=$2 make=$3 new stale ok=1
	shift 3
	mkdir -p "$(dirname "$dir")"
	_chroot_lock "$dir" || return 1
	if [ ! -d "$dir" ] || [ "$(cat "$dir.stamp" 2>/dev/null)" != "$stamp" ]; then
		for stale in "$(dirname "$dir")/.$(basename "$dir").new."*; do
			[ -d "$stale" ] || { rm -f "$stale"; continue; }
			chroot_remove "$stale" || { exec {chroot_lock_fd}>&-; return 1; }
		done
		new=$(mktemp -d "$(dirname "$dir")/.$(basename "$dir").new.XXXXXX")
		chmod 755 "$new"
		chroot_log "making $dir (log: $new.log)"
		( chroot_dirs=(); _chroot_traps; "$make" "$new" "$@" ) >"$new.log" 2>&1 </dev/null || ok=
		chroot_umount "$new" || ok=
		if [ -n "$ok" ] && chroot_remove "$dir"; then
			mv "$new" "$dir"
			mv "$new.log" "$dir.log"
			echo "$stamp" >"$dir.stamp"
		else
			chroot_log "making $dir failed:"
			tail -n 20 "$new.log" >&2
			chroot_remove "$new" || true
			ok=
		fi
	fi
	exec {chroot_lock_fd}>&-
	[ -n "$ok" ] && echo "$dir"
}

# chroot_copy IMAGE DEST: a copy of IMAGE at DEST (new, or empty), with the
# host's resolver, under IMAGE's lock (shared: no run remakes it meanwhile).
chroot_copy() {
	mkdir -p "$2"
	[ -z "$(ls -A "$2")" ] || { chroot_log "$2 is not empty"; return 1; }
	_chroot_lock "$1" -s || return 1
	cp -a --reflink=auto "$1/." "$2/" || { exec {chroot_lock_fd}>&-; return 1; }
	exec {chroot_lock_fd}>&-
	cp -L /etc/resolv.conf "$2/etc/resolv.conf" 2>/dev/null || true
}

# _chroot_make_base NEW SUITE: debootstrap --variant=minbase, apt set up for
# the tests (the test mirror may be a frozen snapshot whose Release files'
# Valid-Until has passed; no daemon starts from a maintainer script: tests
# start their own), package lists fetched (a copy's apt-get update is quick).
_chroot_make_base() {
	local mirror
	mirror=$(chroot_mirror) || return 1
	command -v debootstrap >/dev/null || { echo "debootstrap not installed"; return 1; }
	echo "debootstrap --variant=minbase $2 from $mirror"
	timeout --kill-after=10 "${MXTRAP_DEBOOTSTRAP_TIMEOUT:-600}" \
		debootstrap --variant=minbase "$2" "$1" "$mirror" || return 1
	printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'Acquire::Languages "none";' \
		'Acquire::Retries "3";' 'APT::Install-Recommends "false";' >"$1/etc/apt/apt.conf.d/99knot-mxtrap"
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 755 "$1/usr/sbin/policy-rc.d"
	cp -L /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
	chroot_mount "$1" && chroot_run -t "${MXTRAP_APT_TIMEOUT:-300}" "$1" 'apt-get -q update && apt-get clean'
}

# chroot_base SUITE: the path of the cached base chroot of SUITE.
chroot_base() { chroot_image "$(chroot_cache_dir)/$1" "" _chroot_make_base "$1"; }

# chroot_fresh SUITE DEST: a pristine copy of SUITE's base at DEST (which must
# not exist), ready for chroot_mount; DEST on stdout.
chroot_fresh() {
	local base
	[ ! -e "$2" ] || { chroot_log "$2 exists"; return 1; }
	base=$(chroot_base "$1") && chroot_copy "$base" "$2" && echo "$2"
}
