#!/usr/bin/env bash
# Real programs with descriptors that live across a restart of fsmond:
#   restart-workload.sh WORK ROUNDS
# fd 3 (a log) and fd 4 (read line by line: bash's read seeks back on a
# regular file) are opened once and used in every round, by this shell and
# by short-lived children that inherit them; a background shell holds fd 5
# for a few seconds; stdout and stderr (a file the caller opened after it set
# its login uid) are inherited by every program. Each round: a pipeline
# (cat | sort | head), cp, a child that reads fd 4 and appends to fd 3, sleep.
set -eu
w=$1 rounds=$2
cd "$w"
seq 1 5000 >src.txt
exec 3>>"$w/log.txt"
exec 4<"$w/src.txt"
(
        exec 5<"$w/src.txt"
        for ((k = 0; k < 40; k++)); do
                read -r l <&5
                echo "bg $l" >&3
                sleep 0.05
        done
) &
for ((i = 0; i < rounds; i++)); do
        read -r line <&4
        echo "round $i $line" >&3
        cat src.txt | sort -rn | head -n 3 >"out.$i"
        cp src.txt "copy.$i"
        ( read -r x <&4; echo "child $x" >&3 )
        echo "stdout $i"
        sleep 0.03
done
wait
exec 3>&- 4<&-
