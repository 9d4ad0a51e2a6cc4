#!/bin/sh
# After a failed `make check`: the whole log of every test that failed, so
# that CI's output shows why (the tail of all the logs rarely does).
for trs in tests/*/*.trs; do
    grep -qE '^:test-result: (FAIL|ERROR)' "$trs" || continue
    log="${trs%.trs}.log"
    echo "=============== $log"
    tail -c 20000 "$log"
done
exit 1
