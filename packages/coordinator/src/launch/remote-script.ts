/**
 * What runs on a host launched over SSH: a one-line bootstrap given to ssh as the remote
 * command, and the launch script it receives on stdin. Both are POSIX sh; the launcher speaks to
 * the script over the connection's stdin and stdout (see {@link LAUNCH_SCRIPT} for the exchange).
 */

/** Version of the exchange between the launcher and {@link LAUNCH_SCRIPT}, in its `hello` line. */
export const LAUNCH_PROTOCOL = 1

/** Prefix of the script's lines on stdout; anything else there (a noisy `.bashrc`) is ignored. */
export const LINE_PREFIX = '@@portcheck '

/**
 * Seconds the script waits without hearing from the coordinator (a heartbeat line, every
 * {@link HEARTBEAT_MS}) before it stops the agent: a coordinator machine that vanished without
 * closing the connection (powered off, cut off) leaves nothing running for long.
 */
export const WATCHDOG_SECONDS = 30

/** How often the launcher sends a heartbeat line on each connection, in ms (default 5000). */
export const HEARTBEAT_MS = 5000

/** Seconds the agent has to stop on SIGTERM (closing its listeners) before it is killed. */
export const STOP_GRACE_SECONDS = 5

/**
 * Exit codes of the bootstrap itself, before the launch script runs: no private directory
 * could be made, or the script did not arrive whole.
 */
export const BOOTSTRAP_EXIT = { mktemp: 97, receive: 98 } as const

/**
 * The remote command: makes a private directory (`mktemp -d` under `$TMPDIR`, else `/tmp`;
 * umask 077, so mode 700), reads the launch script's length and then the script from stdin, and
 * runs it there. One line without single quotes, run by the user's login shell, which must be a
 * POSIX one (sh, bash, dash, ksh, zsh): every SSH server's `command` goes through it.
 */
export const BOOTSTRAP = 'exec /bin/sh -c \'' + [
  'umask 077',
  `d=$(mktemp -d "\${TMPDIR:-/tmp}/portcheck-agent.XXXXXXXXXX") || exit ${BOOTSTRAP_EXIT.mktemp}`,
  'IFS= read -r n && head -c "$n" > "$d/launch.sh" && [ $(wc -c < "$d/launch.sh") -eq "$n" ] && exec /bin/sh "$d/launch.sh" "$d"',
  `rm -rf "$d"; exit ${BOOTSTRAP_EXIT.receive}`
].join('; ') + '\''

/**
 * The launch script, run as the SSH user in the private directory `$1`. The exchange:
 *
 * 1. It says `@@portcheck hello PROTOCOL OS ARCH UID FROM NODE`: `uname -s`, `uname -m`, `id -u`,
 *    the address this connection comes from as the host sees it (`$SSH_CONNECTION`), and the
 *    version of the `node` on the PATH (`-` for none).
 * 2. It reads an order: `abort` (or end of input) ends it; `start` is followed by one line each:
 *    the kind of file (`script`, the agent's single-file bundle, run by that node; or
 *    `executable`, the standalone agent), its size in bytes, `1` to start it with `sudo -n`, the coordinator's URL,
 *    the host's name, the pin (`-` for `--insecure`), the log level and the credential; then
 *    the file's bytes.
 * 3. It checks `sudo -n` if asked, writes the file, and starts the agent: its stdin is
 *    /dev/null, its log (JSON) goes to stderr, its credential to its environment through a file
 *    of the private directory that the first thing to read it removes (never on a command line,
 *    which `ps` shows to everyone), and it says `@@portcheck started PID`.
 * 4. Every line that comes next is a heartbeat. At end of input, or after {@link WATCHDOG_SECONDS}
 *    without one, or on SIGHUP, SIGINT or SIGTERM, it stops the agent (SIGTERM, then SIGKILL
 *    after {@link STOP_GRACE_SECONDS} s), removes the directory and says `@@portcheck stopped`.
 *    If the agent ends by itself, it says `@@portcheck exited CODE` and does the same.
 *
 * Anything that goes wrong is `@@portcheck error MESSAGE`, then the same cleanup.
 */
export const LAUNCH_SCRIPT = launchScript()

/**
 * The launch script with another watchdog (tests use a short one); see {@link LAUNCH_SCRIPT}.
 * @param opts.watchdogSeconds seconds without a heartbeat before the agent is stopped (default {@link WATCHDOG_SECONDS})
 */
export function launchScript (opts: { watchdogSeconds?: number } = {}): string {
  const watchdog = opts.watchdogSeconds ?? WATCHDOG_SECONDS
  if (!Number.isInteger(watchdog) || watchdog < 1) throw new RangeError(`watchdogSeconds must be a whole number of seconds, at least 1 (got ${watchdog})`)
  return `d=$1
front= reader= watchdog= timer= why= sudo=0
say() { printf '@@portcheck %s\\n' "$*"; }
# Waits until process $1, a child, is gone and reaped. \`wait\` also returns when a trapped signal
# comes, and a child that died is a zombie that \`kill -0\` still finds until it is waited for.
reap() { while kill -0 "$1" 2>/dev/null; do wait "$1"; done; }
# Children are started while this shell leaves SIGTERM alone (\`trap - TERM\`): a child forked
# while a trap is set runs that trap's handler until it is reset, and a SIGTERM sent to it in
# that moment would be lost.
fork_plain() { trap - TERM; }
fork_done() { trap 'why=term' TERM; }
# Stops the heartbeat reader and the watchdog, then the agent (SIGTERM, SIGKILL after the grace
# time), and removes the directory. Run in the main flow, never from a trap: dash returns from
# \`wait\` at once inside a trap.
cleanup() {
  for p in $reader $watchdog; do kill -TERM "$p" 2>/dev/null; reap "$p"; done
  if [ -n "$front" ]; then
    kill -TERM "$front" 2>/dev/null
    fork_plain
    /bin/sh -c 'trap "kill \\$s 2>/dev/null; exit 0" TERM; sleep ${STOP_GRACE_SECONDS} & s=$!; wait $s; kill -ALRM $1' grace-timer $$ >/dev/null 2>&1 &
    timer=$!
    fork_done
    reap "$front"
    kill -TERM "$timer" 2>/dev/null
    reap "$timer"
    front=
  fi
  rm -rf "$d"
  say stopped 2>/dev/null
}
finish() { trap - EXIT; cleanup; exit "$1"; }
fail() { say error "$*"; finish 1; }
kill_agent() {
  if [ "$sudo" = 1 ] && [ -s "$d/agent.pid" ]; then sudo -n kill -KILL "$(cat "$d/agent.pid")" 2>/dev/null; fi
  kill -KILL "$front" 2>/dev/null
}
# Signals only say why to stop: the main flow, back from \`wait\`, does the stopping. The
# heartbeat reader sends USR1 at end of input, the watchdog USR2 (and again every period), the
# grace timer ALRM.
trap 'finish 0' EXIT
# A connection that died must not kill this shell mid-cleanup when it says something.
trap '' PIPE
trap 'why=hup' HUP
trap 'why=int' INT
fork_done
trap 'why=eof' USR1
trap 'why=silent' USR2
trap 'kill_agent' ALRM

node=$(command -v node 2>/dev/null) || node=
nv=-
if [ -n "$node" ]; then nv=$("$node" -v 2>/dev/null) || nv=-; fi
set -- \${SSH_CONNECTION:--}
say hello ${LAUNCH_PROTOCOL} "$(uname -s)" "$(uname -m)" "$(id -u)" "$1" "\${nv:--}"

IFS= read -r order || finish 0
[ "$order" = start ] || finish 0
IFS= read -r kind && IFS= read -r size && IFS= read -r sudo && IFS= read -r url &&
  IFS= read -r name && IFS= read -r pin && IFS= read -r level && IFS= read -r credential || finish 0
case $size in ''|*[!0-9]*) fail "invalid size: $size" ;; esac
case $kind in
  script) f=$d/portcheck-agent.mjs ;;
  executable) f=$d/portcheck-agent ;;
  *) fail "unknown kind of agent file: $kind" ;;
esac
if [ "$sudo" = 1 ]; then
  out=$(sudo -n true 2>&1 </dev/null) || fail "\${out:-sudo -n true failed}"
fi
head -c "$size" > "$f" || fail "cannot write the agent file in $d"
got=$(wc -c < "$f")
[ $got -eq "$size" ] || fail "the agent file arrived incomplete ($got of $size bytes)"
printf '%s' "$credential" > "$d/credential" || fail "cannot write in $d"
if [ "$kind" = script ]; then
  [ -n "$node" ] || fail "node is not on the PATH"
  set -- "$node" "$f"
else
  chmod 700 "$f" || fail "cannot make $f executable"
  set -- "$f"
fi
set -- "$@" --coordinator "$url" --name "$name" --log-format json --log-level "$level"
if [ "$pin" = - ]; then set -- "$@" --insecure; else set -- "$@" --pin "$pin"; fi
runner='umask 022; echo $$ > "$1"; PORTCHECK_TOKEN=$(cat "$2") || exit 1; rm -f "$2"; export PORTCHECK_TOKEN; shift 2; exec "$@"'
exec 3<&0
fork_plain
if [ "$sudo" = 1 ]; then
  sudo -n /bin/sh -c "$runner" portcheck-agent "$d/agent.pid" "$d/credential" "$@" </dev/null >&2 &
else
  /bin/sh -c "$runner" portcheck-agent "$d/agent.pid" "$d/credential" "$@" </dev/null >&2 &
fi
front=$!
{ while IFS= read -r line; do : > "$d/beat"; done; kill -USR1 $$; } <&3 >/dev/null 2>&1 &
reader=$!
( trap 'kill "$s" 2>/dev/null; exit 0' TERM
  while :; do
    sleep ${watchdog} & s=$!; wait "$s"
    if [ -e "$d/beat" ]; then rm -f "$d/beat"; else kill -USR2 $$; fi
  done ) >/dev/null 2>&1 &
watchdog=$!
fork_done
say started "$front"
while [ -z "$why" ]; do
  wait "$front"
  code=$?
  [ -z "$why" ] || break
  kill -0 "$front" 2>/dev/null && continue
  front=
  say exited "$code"
  break
done
finish 0
`
}
