# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Debian chroots for tests/package/test_deb.sh and tests/matrix.sh (as root),
# and copy_tree. Source it after `set -euo pipefail`.
#
#   base=$(chroot_base bookworm)        cached debootstrap --variant=minbase
#   img=$(chroot_image DIR STAMP MAKE [ARG...])   cached image made by MAKE
#   chroot_copy IMAGE DEST; dir=$(chroot_fresh SUITE DEST)   throw-away copies
#   chroot_mount DIR; chroot_cleanup    mounts, and their end (from EXIT)
#   chroot_run [-t SECS] DIR SCRIPT [ARG...]; chroot_apt DIR ARG...; chroot_apt_cache DIR SUITE
#   chroot_spawn LOG DIR CMD...; chroot_remove DIR
#
# chroot_mount remembers DIR and installs `trap chroot_cleanup EXIT` if the
# script has no EXIT trap (else that trap must call chroot_cleanup), which
# kills what runs inside and unmounts. Nothing is deleted through a mount.
# Environment: MXTRAP_CHROOT_CACHE (/var/cache/knot-mxtrap-chroots),
# MXTRAP_MIRROR (default: the host's), MXTRAP_DEBOOTSTRAP_TIMEOUT (600),
# MXTRAP_APT_TIMEOUT (300).

# copy_tree SRC DEST: in a git checkout (SRC its top) the files git knows of,
# not ignored, not deleted; without git (a fresh minimal Debian, a tarball)
# everything but .git and the build directories.
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
chroot_log() { echo "chroot: $*" >&2; }

# chroot_mirror: the first URI of the host's deb sources for a plain suite
# (not -updates or -security), deb822 or sources.list.
chroot_mirror() {
	local m=${MXTRAP_MIRROR:-} files=(/etc/apt/sources.list.d/*.sources)
	[ -n "$m" ] || [ ! -e "${files[0]}" ] || m=$(awk '
		function flush() { if (deb && plain && out == "") out = uri; deb = plain = 0 }
		FNR == 1 || /^[ \t]*$/ { flush() }
		tolower($1) == "types:" && / deb( |$)/ { deb = 1 }
		tolower($1) == "uris:" { uri = $2 }
		tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
		END { flush(); print out }' "${files[@]}")
	[ -n "$m" ] || [ ! -f /etc/apt/sources.list ] ||
		m=$(awk '$1 == "deb" && $0 !~ /\[/ && $3 !~ /-/ { print $2; exit }' /etc/apt/sources.list)
	[ -n "$m" ] || { chroot_log "no Debian mirror in the host's apt sources"; return 1; }
	echo "${m%/}"
}

# --- mounts --------------------------------------------------------------------

chroot_dirs=()
# chroot_mounts_under DIR: mount points at or below DIR, deepest first.
chroot_mounts_under() {
	awk -v d="$(realpath -m "$1")" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}
# chroot_kill_procs DIR: KILL every process whose root is DIR (only ours can be).
chroot_kill_procs() {
	local dir pid killed=
	dir=$(realpath -m "$1")
	for pid in /proc/[0-9]*; do
		# -ef: the same directory, without a readlink process per process.
		if [ "$pid/root" -ef "$dir" ]; then
			kill -KILL "${pid#/proc/}" 2>/dev/null && killed+=" ${pid#/proc/}"
		fi
	done
	# A moment for the kernel to release their files.
	[ -z "$killed" ] || { chroot_log "killed processes left in $dir:$killed"; sleep 0.2; }
}
# chroot_umount DIR: unmount everything at or below DIR; 1 if something stays.
chroot_umount() {
	local mp
	for _ in 1 2 3; do
		while read -r mp; do [ -z "$mp" ] || umount "$mp" 2>/dev/null || true; done <<<"$(chroot_mounts_under "$1")"
		[ -n "$(chroot_mounts_under "$1")" ] || return 0
		sleep 0.5
	done
	chroot_log "still mounted below $1: $(chroot_mounts_under "$1" | tr '\n' ' ')"
	return 1
}
_chroot_traps() {
	trap chroot_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
# chroot_mount DIR: /proc, a small tmpfs /dev with the usual nodes and a new
# devpts instance: a mount left by a SIGKILLed run (meson's timeout) holds
# nothing of the host's, and no rm can reach the host's device nodes.
chroot_mount() {
	local dir node name major minor
	dir=$(realpath "$1")
	[[ " ${chroot_dirs[*]} " == *" $dir "* ]] || chroot_dirs+=("$dir")
	[ -n "$(trap -p EXIT)" ] || _chroot_traps
	[ -z "$(chroot_mounts_under "$dir")" ] || { chroot_log "$dir has mounts already"; return 1; }
	mkdir -p "$dir/proc" "$dir/dev"
	mount -t proc proc "$dir/proc" &&
		mount -t tmpfs -o mode=755,nosuid,size=1m chroot-dev "$dir/dev" || return 1
	for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r name major minor <<<"$node"
		mknod -m 666 "$dir/dev/$name" c "$major" "$minor" || return 1
	done
	ln -s /proc/self/fd "$dir/dev/fd"
	for node in stdin:0 stdout:1 stderr:2; do ln -s "/proc/self/fd/${node#*:}" "$dir/dev/${node%:*}"; done
	ln -s pts/ptmx "$dir/dev/ptmx"
	mkdir -m 1777 "$dir/dev/shm"
	mkdir "$dir/dev/pts"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$dir/dev/pts"
}
# chroot_cleanup: kill and unmount in every DIR of chroot_mount; 1 if a mount is left.
chroot_cleanup() {
	local dir rc=0
	for dir in "${chroot_dirs[@]}"; do
		chroot_kill_procs "$dir"
		chroot_umount "$dir" || rc=1
	done
	return $rc
}
chroot_remove() {
	[ -e "$1" ] || return 0
	chroot_kill_procs "$1"
	chroot_umount "$1" || { chroot_log "not removing $1: mounts left"; return 1; }
	rm -rf --one-file-system "$1"
}

# --- commands inside -------------------------------------------------------------

# A clean environment inside: PATH, HOME, LANG, DEBIAN_FRONTEND, CHROOT_ENV (NAME=VALUE...).
CHROOT_ENV=()
_chroot_env() {
	_chroot_cmd=(chroot "$1" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${CHROOT_ENV[@]}")
}
# chroot_run [-t SECS] DIR SCRIPT [ARG...]: bash -c SCRIPT inside DIR. In the
# background and waited for: bash runs a trap during `wait` at once, but only
# after a foreground command.
chroot_run() {
	local t=()
	[ "$1" != -t ] || { t=(timeout --kill-after=10 "$2"); shift 2; }
	_chroot_env "$1"
	"${t[@]}" "${_chroot_cmd[@]}" /bin/bash -c "$2" bash "${@:3}" <&0 &
	wait $!
}
# chroot_spawn LOG DIR CMD...: CMD in the background; chroot_spawned_pid is CMD's own.
chroot_spawn() {
	_chroot_env "$2"
	"${_chroot_cmd[@]}" "${@:3}" >>"$1" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	chroot_spawned_pid=$!
}
# chroot_apt DIR ARG...: apt-get in DIR; dpkg without fsync (the chroots are
# thrown away or remade whole).
chroot_apt() {
	# shellcheck disable=SC2016 # the chroot's bash expands "$@"
	chroot_run -t "${MXTRAP_APT_TIMEOUT:-300}" "$1" \
		'apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false \
			-o Dpkg::Options::=--force-unsafe-io "$@"' "${@:2}"
}
# chroot_apt_cache DIR SUITE: DIR's downloaded packages kept in the chroot
# cache (a bind mount, gone with DIR's mounts): a fresh chroot's apt-get
# install downloads a package once, then checks it against the archive's
# index as any download.
chroot_apt_cache() {
	local cache
	cache=$(chroot_cache_dir)/apt-archives/$2
	mkdir -p "$cache/partial" && mount --bind "$cache" "$1/var/cache/apt/archives"
}

# --- images ------------------------------------------------------------------------

# _chroot_lock DIR [-s]: DIR's lock file, exclusive or shared, fd in
# chroot_lock_fd; waits up to 15 min for another run.
_chroot_lock() {
	exec {chroot_lock_fd}>"$(dirname "$1")/.$(basename "$1").lock"
	flock -w 900 ${2:+"$2"} "$chroot_lock_fd" && return 0
	exec {chroot_lock_fd}>&-
	chroot_log "timeout waiting for the lock on $1"
	return 1
}
# chroot_image DIR STAMP MAKE [ARG...]: DIR, remade under its lock when missing
# or when DIR.stamp is not STAMP: `MAKE NEW ARG...` fills NEW beside DIR in a
# subshell (it may chroot_mount NEW), output in NEW.log; NEW becomes DIR once
# made, so a killed run leaves only a NEW, removed next time.
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
# chroot_copy IMAGE DEST: a copy of IMAGE (shared lock: not remade meanwhile)
# at DEST (new or empty), with the host's resolver.
chroot_copy() {
	mkdir -p "$2"
	[ -z "$(ls -A "$2")" ] || { chroot_log "$2 is not empty"; return 1; }
	_chroot_lock "$1" -s || return 1
	cp -a --reflink=auto "$1/." "$2/" || { exec {chroot_lock_fd}>&-; return 1; }
	exec {chroot_lock_fd}>&-
	cp -L /etc/resolv.conf "$2/etc/resolv.conf" 2>/dev/null || true
}
# _chroot_make_base NEW SUITE: debootstrap; apt accepts a frozen snapshot's
# expired Release files; no daemon starts from a maintainer script; package
# lists fetched.
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
chroot_base() { chroot_image "$(chroot_cache_dir)/$1" "" _chroot_make_base "$1"; }
# chroot_fresh SUITE DEST: a pristine copy of SUITE's base at DEST (must not exist); DEST on stdout.
chroot_fresh() {
	local base
	[ ! -e "$2" ] || { chroot_log "$2 exists"; return 1; }
	base=$(chroot_base "$1") && chroot_copy "$base" "$2" && echo "$2"
}
