#!/usr/bin/env bash
# Real programs nobody here wrote (cp, cat, mv, sqlite3, git, python3's
# shutil, truncate, rm, a #! script) under the live fsmond, each also under
# strace -f: strace's view of the same run is the oracle
# (tests/live/strace-oracle.py), not fsmon's own output. Per program it
# prints "actions exact N / expected M"; then the audit events per call of
# the whole run (what the calls beyond the old ten cost).
#   test-real-programs.sh FSMOND FSMONCTL SOURCE_ROOT
set -uo pipefail
fsmond=$1 fsmonctl=$2 src=$3

for p in strace sqlite3 git cp mv /usr/bin/python3; do
        command -v "$p" >/dev/null || { echo "needs $p (tools/deps.sh)"; exit 77; }
done

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
live_begin 3100000 "$fsmond" "$fsmonctl" || exit $?

work=/tmp/fsmon-real-wd.$$
rm -rf "$work"; mkdir -p "$work"
live_tmp+=("$work")
oracle="$src/tests/live/strace-oracle.py"
ps="$src/tests/live/pseudonymize.py"
trace=read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2,open,openat,openat2,creat
trace+=,close,dup,dup2,dup3,fcntl,lseek,copy_file_range,sendfile,splice,mmap,rename,renameat,renameat2
trace+=,unlink,unlinkat,rmdir,mkdir,mkdirat,truncate,ftruncate,execve,execveat,clone,clone3,fork,vfork
trace+=,chdir,fchdir

live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }

programs=(cp cat mv sqlite3 sqlite3-mmap git python3-copyfile truncate rm script)
(
        echo "$auid" >/proc/self/loginuid
        cd "$work" || exit 1
        export GIT_CONFIG_NOSYSTEM=1 HOME="$work" LC_ALL=C
        # run NAME CMD...: CMD under strace, its output in $dir/strace.NAME
        run() {
                local name=$1; shift
                strace -f -qq -y -s 0 -o "$dir/strace.$name" -e trace="$trace" -e signal=none "$@" \
                        || { echo "$name failed"; exit 1; }
        }
        head -c 300000 /dev/urandom >big.bin
        printf 'line one\nline two\n' >small.txt
        run cp cp big.bin copy.bin                      # copy_file_range
        run cat cat small.txt big.bin >cat.out          # copy_file_range to stdout
        mkdir dir1
        run mv mv copy.bin dir1/moved.bin               # rename
        run sqlite3 sqlite3 db.sqlite "PRAGMA journal_mode=delete;
                create table t(a, b); begin; insert into t values (1, randomblob(3000));
                insert into t select a + 1, b from t; insert into t select a + 2, b from t; commit;
                select count(*) from t;" >/dev/null
        run sqlite3-mmap sqlite3 db.sqlite "PRAGMA mmap_size=1048576; select sum(length(b)) from t;
                update t set a = a + 10; delete from t where a > 12;" >/dev/null
        mkdir repo
        (cd repo && run git sh -c 'git init -q && printf "hello\n" >a.txt && mkdir sub &&
                printf "x\n" >sub/b.txt && git add a.txt sub && git -c user.name=t -c user.email=t@t commit -q -m one &&
                git mv a.txt c.txt && git -c user.name=t -c user.email=t@t commit -q -m two && git log --oneline >/dev/null')
        run python3-copyfile /usr/bin/python3 -c 'import shutil; shutil.copyfile("big.bin", "py.bin")'   # sendfile
        run truncate truncate -s 1000 py.bin
        run rm rm -r dir1 repo/sub
        printf '#!/bin/sh\nexit 0\n' >script.sh
        chmod +x script.sh
        run script ./script.sh                          # exec by name, exe is dash
) </dev/null || { echo "FAIL: the programs did not run"; exit 1; }
sleep 2.5                       # auparse completes events without EOE after 2 s
live_stop_fsmond

live_spooled "$dir" >"$dir/actual.jsonl"
echo "spooled: $(wc -l <"$dir/actual.jsonl") records"
pwork=$(python3 "$ps" "$dir/state/key" --path "$work")
for name in "${programs[@]}"; do
        cwd=$work
        [ "$name" = git ] && cwd=$work/repo
        python3 "$oracle" expect "$dir/strace.$name" "$work" "$cwd" >"$dir/expected.$name.jsonl" || fail=1
        python3 "$ps" "$dir/state/key" <"$dir/expected.$name.jsonl" >"$dir/expected-pseudo.$name.jsonl"
        if ! python3 "$oracle" compare "$name" "$dir/expected-pseudo.$name.jsonl" "$dir/actual.jsonl" "$pwork"; then
                echo "FAIL: $name: fsmon's records differ from strace's"; fail=1
        fi
        # A test that cannot fail is a defect: every program must give records.
        [ -s "$dir/expected.$name.jsonl" ] || { echo "FAIL: $name: strace saw nothing to compare"; fail=1; }
done
# ... and the comparison must see a changed byte count and a missing record.
jq -c 'if .op == "write" then .bytes += 1 else . end' "$dir/expected-pseudo.git.jsonl" >"$dir/changed.jsonl"
head -n -1 "$dir/expected-pseudo.git.jsonl" >"$dir/shorter.jsonl"
printf '%s\n' "$(head -n 1 "$dir/expected-pseudo.git.jsonl")" >>"$dir/shorter.jsonl"
for bad in changed shorter; do
        if python3 "$oracle" compare "selftest-$bad" "$dir/$bad.jsonl" "$dir/actual.jsonl" "$pwork" >/dev/null; then
                echo "FAIL: the comparison accepts a $bad expectation"; fail=1
        fi
done
if grep -q '"op":"gap"' "$dir/actual.jsonl"; then
        echo "FAIL: gap records"; fail=1
fi

# What the calls cost: audit events of this run per call (the programs, the
# shell around them and strace; key fsmon).
echo "audit events per call (whole run):"
grep -a '^type=SYSCALL ' "$dir"/log/audit.log* | grep -a 'key="fsmon"' |
        sed -n 's/.* syscall=\([0-9]*\) .*/\1/p' | sort | uniq -c | sort -rn |
        while read -r n nr; do printf '  %-16s %7d\n' "$(ausyscall x86_64 "$nr" 2>/dev/null || echo "$nr")" "$n"; done

exit $fail
