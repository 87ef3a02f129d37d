#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# What Postfix does with the trap (on demand, as root; not in .ci/run). Proves,
# with bookworm's knotd and the built module serving MX 10 mail1, MX 20 mail2
# (+ the trap 99 mail1) and smtp-sink as mail1 and mail2: a sending Postfix
# delivers to mail1, to mail2 when mail1 is down, and with both down tries
# mail1, mail2, mail1 and defers (no bounce); a sender that picks the highest
# preference reaches mail1; a Postfix acting as mail2 relays to mail1 and,
# with mail1 down, defers without trying itself or the trap (RFC 5321 5.1).
#
#   tests/mta/postfix.sh [BUILD_DIR]      (TAP output; default ./build)
#
# Runs in a private network namespace (knotd on its 127.0.0.1@53, mail1 and
# mail2 on 127.0.0.11 and .12 port 25) inside a copy of a cached bookworm
# chroot with postfix, knot and knot-dnsutils (the first run makes it, about a
# minute); nothing is installed or started on the host. MTA_KEEP=1 keeps $tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
TAP_NAME=mta
# shellcheck source=tests/lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=tests/lib/chroot.sh
source "$here/../lib/chroot.sh"
test_init "${1:-$here/../../build}"
PACKAGES=(postfix knot knot-dnsutils)

# Outside the namespace (apt needs the network): the image, then this script again.
if [ -z "${MXTRAP_MTA_IMAGE:-}" ]; then
	[ "$(id -u)" = 0 ] || bail "needs root (chroot, mount, unshare)"
	need_tools unshare ip chroot mount flock
	# postfix check: Postfix's queue directories made once (each run starts it with quick-start).
	make_image() { chroot_copy "$2" "$1" && chroot_mount "$1" && chroot_apt "$1" update &&
		chroot_apt "$1" install "${PACKAGES[@]}" && chroot_apt "$1" clean && chroot_run -t 120 "$1" 'postfix check'; }
	base=$(chroot_base bookworm) || bail "no bookworm chroot"
	stamp=$(printf 'base %s\npackages %s\npostfix check\n' "$(stat -c '%i %Y' "$base")" "${PACKAGES[*]}")
	img=$(chroot_image "$(chroot_cache_dir)/mta/bookworm-postfix" "$stamp" make_image "$base") ||
		bail "no bookworm chroot with ${PACKAGES[*]}"
	MXTRAP_MTA_IMAGE=$img exec unshare --net -- bash "$0" "$build_dir"
fi

start_time=$SECONDS
# mail1 and mail2's addresses on lo: Postfix listens only on a local interface's address.
ip link set lo up && ip addr add 127.0.0.11/8 dev lo && ip addr add 127.0.0.12/8 dev lo
tmp=$(mktemp -d /tmp/mxtrap-mta.XXXXXX)
root=$tmp/root
cleanup() {
	local rc=$? pid
	postfix_stop
	for pid in "${spawned[@]}"; do stop_pid "$pid"; done
	# Not chroot_remove: it would scan /proc a second time (12 s on a busy host).
	if ! chroot_cleanup; then rc=1; echo "# mounts left below $tmp: not removed"
	elif [ "${MTA_KEEP:-}" = 1 ]; then echo "# kept $tmp"
	else rm -rf --one-file-system "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
chroot_copy "$MXTRAP_MTA_IMAGE" "$root" || bail "no copy of $MXTRAP_MTA_IMAGE"
chroot_mount "$root" || bail "mounting in $root failed"
versions=$(chroot_run -t 30 "$root" "dpkg-query -W -f='\${Package} \${Version}, ' postfix knot")
note "in the chroot: ${versions%, }"
echo 'nameserver 127.0.0.1' >"$root/etc/resolv.conf"
m=$root/tmp/mta
mkdir -p "$m/zones" "$m/run" "$m/db" "$m/sink"
chown nobody "$m/sink"
cp "$module" "$m/mxtrap.so"

# --- knotd with the module ------------------------------------------------------

# shellcheck disable=SC2016 # a zone file's $ORIGIN
printf '%s\n' '$ORIGIN example.com.' '@ 3600 SOA ns1 hostmaster 1 3600 900 1209600 300' '@ 3600 NS ns1' \
	'ns1 3600 A 127.0.0.1' '@ 3600 MX 10 mail1' '@ 3600 MX 20 mail2' 'mail1 3600 A 127.0.0.11' \
	'mail2 3600 A 127.0.0.12' >"$m/zones/example.com.zone"
printf '%s\n' server: '    rundir: /tmp/mta/run' '    listen: 127.0.0.1@53' log: '  - target: stderr' \
	'    any: info' database: '    storage: /tmp/mta/db' module: '  - id: mod-mxtrap' \
	'    file: /tmp/mta/mxtrap.so' template: '  - id: default' '    storage: /tmp/mta/zones' \
	'    file: "%s.zone"' zone: '  - domain: example.com' '    module: mod-mxtrap' >"$m/knot.conf"
chroot_spawn "$tmp/knotd.log" "$root" knotd -c /tmp/mta/knot.conf
spawned+=("$chroot_spawned_pid")
soa_ok() { q "$tmp/soa" 53 example.com. SOA; [ "$(rcode_of "$tmp/soa")" = NOERROR ]; }
wait_for "knotd in the chroot" 30 soa_ok || bail "knotd does not answer: $(tail -n 20 "$tmp/knotd.log")"
q "$tmp/mx" 53 example.com. MX
got=$(mx_of "$tmp/mx" | paste -sd,)
want="10 mail1.example.com.,20 mail2.example.com.,99 mail1.example.com."
check "knotd with the module: example.com MX {$got}" "$([ "$got" = "$want" ] || echo "want {$want}")"

# --- mail1, mail2, the sending Postfix ------------------------------------------------

# listening ADDR PORT: a TCP socket of this namespace listens on ADDR:PORT.
listening() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	awk -v s="$(printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$2")" \
		'$2 == s && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}
declare -A sink_pid=()
# sink N up|down: smtp-sink as mailN (127.0.0.1N:25), each transaction appended to sink/mailN.
sink() {
	if [ "$2" = down ]; then stop_pid "${sink_pid[$1]:-}"; sink_pid[$1]=; return; fi
	[ -z "${sink_pid[$1]:-}" ] || return 0
	chroot_spawn "$tmp/sink$1.log" "$root" smtp-sink -u nobody -D "/tmp/mta/sink/mail$1" "127.0.0.1$1:25" 10
	sink_pid[$1]=$chroot_spawned_pid
	spawned+=("$chroot_spawned_pid")
	wait_for "mail$1" 10 listening "127.0.0.1$1" 25 || bail "smtp-sink as mail$1: $(cat "$tmp/sink$1.log")"
}
# got_mail N RCPT: mailN took a message for RCPT.
got_mail() { grep -qsF "X-Rcpt-Args: <$2>" "$m/sink/mail$1"; }

log=$root/var/log/postfix.log
postfix_pid=
# postfix_start ADDR POSTCONF...: Postfix in the foreground, its smtpd on ADDR:25.
postfix_start() {
	chroot_run -t 30 "$root" 'postconf -e "$@" && postconf -F "*/*/chroot = n"' \
		inet_protocols=ipv4 "inet_interfaces=$1" maillog_file=/var/log/postfix.log \
		smtp_tls_security_level=none smtpd_tls_security_level=none "${@:2}" || bail "postconf failed"
	# quick-start: no integrity check of the whole installation (10 s; done in the image).
	touch "$root/var/spool/postfix/quick-start"
	chroot_spawn "$tmp/postfix.log" "$root" postfix start-fg
	postfix_pid=$chroot_spawned_pid
	spawned+=("$postfix_pid")
	wait_for "Postfix on $1:25" 30 listening "$1" 25 || bail "Postfix does not start: $(tail -n 20 "$tmp/postfix.log" "$log")"
}
# postfix_stop: postfix stop (the spawned postfix-script waits for its master).
postfix_stop() {
	[ -n "$postfix_pid" ] || return 0
	chroot_run -t 30 "$root" 'postfix stop' >/dev/null 2>&1 || true
	# shellcheck disable=SC2016 # eval expands it
	wait_for "Postfix to stop" 20 eval '! kill -0 "$postfix_pid" 2>/dev/null' || true
	stop_pid "$postfix_pid"
	postfix_pid=
}
# send RCPT: a message into the sending Postfix (sendmail, pickup).
send() {
	# shellcheck disable=SC2016 # the chroot's bash expands $1
	printf 'Subject: %s\n\ntest\n' "$1" | chroot_run -t 30 "$root" 'sendmail -f sender@sender.test "$1"' "$1"
}
# outcome RCPT FROM: waits for RCPT's status= line in the Postfix log after line FROM;
# "status relay" in $status; the log lines from FROM on as notes.
outcome() {
	local line=
	status_of() { line=$(tail -n +"$(($2 + 1))" "$log" | grep -F "to=<$1>" | grep -m 1 ' status=') || return 1; }
	wait_for "a status for $1" 30 status_of "$@" || true
	status=$(sed -n 's/.* status=\([a-z]*\).*/\1/p' <<<"$line")
	status+=" $(sed -n 's/.* relay=\([^,]*\),.*/\1/p' <<<"$line")"
	tail -n +"$(($2 + 1))" "$log" | grep -E 'postfix/(relay/)?(smtp|qmgr|error|bounce)\[' | sed 's/^[^]]*\]: /#   /'
}
lines() { wc -l <"$log" 2>/dev/null || echo 0; }
# tried FROM: the addresses the smtp client tried since line FROM, in order.
tried() {
	tail -n +"$(($1 + 1))" "$log" | sed -n -e 's/.*]: connect to [^[]*\[\([0-9.]*\)\]:25.*/\1/p' \
		-e 's/.* relay=[^[]*\[\([0-9.]*\)\]:25,.*/\1/p' | paste -sd' '
}

sink 1 up
sink 2 up
postfix_start 127.0.0.1 myhostname=sender.test mydestination=localhost 'relayhost='

# scenario NAME RCPT WANT_STATUS WANT_TRIED: one message through the sender.
scenario() {
	local t0=$SECONDS from errs=
	from=$(lines)
	send "$2"
	note "$1: sent to $2; Postfix logged:"
	outcome "$2" "$from"
	[ "$status" = "$3" ] || errs+="status '$status', want '$3'"$'\n'
	[ "$(tried "$from")" = "$4" ] || errs+="tried '$(tried "$from")', want '$4'"$'\n'
	check "$1: $3, tried $4 ($((SECONDS - t0)) s)" "${errs%$'\n'}"
}
scenario "all up" s1@example.com "sent mail1.example.com[127.0.0.11]:25" 127.0.0.11
check "all up: mail1 has the message, mail2 not" \
	"$(got_mail 1 s1@example.com && ! got_mail 2 s1@example.com || echo "mail1/mail2 dumps disagree")"
sink 1 down
scenario "mail1 down" s2@example.com "sent mail2.example.com[127.0.0.12]:25" "127.0.0.11 127.0.0.12"
check "mail1 down: mail2 has the message" "$(got_mail 2 s2@example.com || echo "not in mail2's dump")"
sink 2 down
scenario "both down" s3@example.com "deferred none" "127.0.0.11 127.0.0.12 127.0.0.11"
# deferred RCPT: RCPT's message is in the deferred queue (showq may refuse while it moves).
deferred() {
	chroot_run -t 30 "$root" 'postqueue -j' 2>/dev/null |
		grep -q "\"queue_name\": *\"deferred\".*\"address\": *\"$1\""
}
check "both down: in the deferred queue, no bounce" "$(grep -E 'postfix/bounce\[|status=bounced' "$log" || true
	wait_for "s3 in the deferred queue" 10 deferred s3@example.com >/dev/null || echo "s3 not in the deferred queue")"

# --- a sender that picks the highest preference ------------------------------------

# smtp HOST RCPT (in the chroot): one message over bash's /dev/tcp, the dialogue on stdout.
SMTP=$(cat <<'EOF'
smtp() {
	local line
	exec 3<>"/dev/tcp/$1/25" || return 1
	expect() {
		while IFS= read -r -t 10 line <&3; do
			line=${line%$'\r'}; echo "S: $line"
			[[ $line == [0-9][0-9][0-9]-* ]] || break
		done
		[[ $line == "$1 "* ]]
	}
	say() { printf '%s\r\n' "$1" >&3; [ -z "$1" ] || echo "C: $1"; }
	expect 220 && say "HELO spam.test" && expect 250 && say "MAIL FROM:<bulk@spam.test>" && expect 250 &&
		say "RCPT TO:<$2>" && expect 250 && say DATA && expect 354 && say "Subject: $2" && say "" &&
		say test && say . && expect 250 && say QUIT && expect 221
}
EOF
)
sink 1 up
sink 2 up
t0=$SECONDS
# shellcheck disable=SC2016 # the chroot's bash expands these
chroot_run -t 30 "$root" "$SMTP"'
	best=$(kdig +short example.com MX | sort -n | tail -n 1)
	addr=$(kdig +short "${best#* }" A)
	echo "highest preference: $best ($addr)"
	smtp "$addr" s4@example.com' >"$tmp/s4.out" 2>&1 || true
indent "$tmp/s4.out"
check "highest preference: mail1 has the message, mail2 not ($((SECONDS - t0)) s)" \
	"$(got_mail 1 s4@example.com && ! got_mail 2 s4@example.com || echo "mail1/mail2 dumps disagree")"

# --- Postfix as mail2 ---------------------------------------------------------------

# The same Postfix, now mail2.example.com on 127.0.0.12, backup MX for example.com: it
# finds itself at 20 and must drop 20 and every higher number, the trap too (RFC 5321 5.1).
postfix_stop
chroot_run -t 30 "$root" 'postsuper -d ALL' >/dev/null 2>&1 || true
sink 2 down
postfix_start 127.0.0.12 myhostname=mail2.example.com relay_domains=example.com
# relayed DESC RCPT WANT_STATUS WANT_TRIED: RCPT sent to mail2 over SMTP, then relayed.
relayed() {
	local t0=$SECONDS from errs=
	from=$(lines)
	# shellcheck disable=SC2016 # the chroot's bash expands $1
	chroot_run -t 30 "$root" "$SMTP"'; smtp 127.0.0.12 "$1"' "$2" >"$tmp/relay.out" 2>&1 ||
		errs+="mail2 did not take the message:"$'\n'"$(cat "$tmp/relay.out")"$'\n'
	note "$1: sent to $2; Postfix logged:"
	outcome "$2" "$from"
	[ "$status" = "$3" ] || errs+="status '$status', want '$3'"$'\n'
	[ "$(tried "$from")" = "$4" ] || errs+="tried '$(tried "$from")', want '$4'"$'\n'
	errs+=$(grep 'loops back to myself' "$log" || true)
	check "$1: $3, tried $4 ($((SECONDS - t0)) s)" "${errs%$'\n'}"
}
relayed "as mail2, mail1 up" s5@example.com "sent mail1.example.com[127.0.0.11]:25" 127.0.0.11
sink 1 down
relayed "as mail2, mail1 down" s6@example.com "deferred none" 127.0.0.11
postfix_stop

note "runtime $((SECONDS - start_time)) s (in the namespace)"
finish_tap
[ "$failed" = 0 ]
