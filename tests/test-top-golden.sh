#!/bin/sh
# test-top-golden.sh: `cprof top` on synthetic profiles with known numbers
# (see test-pprof-write.c), compared with the exact text expected: header
# lines, columns, percentages, units, node dropping, -n, -cum,
# -sample_index, merged files. The expected text is also what
# `go tool pprof -top -symbolize=none` 1.19 prints for these files.
. "$(dirname "$0")/test-top-lib.sh"

# The Time: line is in local time, as pprof prints it.
export TZ=UTC

"$WRITE" golden "$tmp/golden.pb.gz" || exit 1
"$WRITE" heap "$tmp/heap.pb.gz" || exit 1

# check NAME ARGS... <<EOF expected EOF
check() {
    name=$1
    shift
    cat >"$tmp/want"
    if ! "$CPROF" top "$@" >"$tmp/got" 2>"$tmp/err"; then
        fail "$name: cprof top $* failed: $(cat "$tmp/err")"
        return
    fi
    if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
        fail "$name: output differs from the expected text:"
        cat "$tmp/diff" >&2
    fi
}

cd "$tmp" || exit 1

check default golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: cpu
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 3s, Total samples = 2500ms (83.33%)
Showing nodes accounting for 2490ms, 99.60% of 2500ms total
Dropped 1 node (cum <= 12.50ms)
      flat  flat%   sum%        cum   cum%
    1500ms 60.00% 60.00%     1500ms 60.00%  hot
     500ms 20.00% 80.00%      500ms 20.00%  helper (inline)
     300ms 12.00% 92.00%      300ms 12.00%  rec
     150ms  6.00% 98.00%      150ms  6.00%  [golden]
      40ms  1.60% 99.60%     2500ms   100%  main
         0     0% 99.60%     2010ms 80.40%  work
END

check cum -cum golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: cpu
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 3s, Total samples = 2500ms (83.33%)
Showing nodes accounting for 2490ms, 99.60% of 2500ms total
Dropped 1 node (cum <= 12.50ms)
      flat  flat%   sum%        cum   cum%
      40ms  1.60%  1.60%     2500ms   100%  main
         0     0%  1.60%     2010ms 80.40%  work
    1500ms 60.00% 61.60%     1500ms 60.00%  hot
     500ms 20.00% 81.60%      500ms 20.00%  helper (inline)
     300ms 12.00% 93.60%      300ms 12.00%  rec
     150ms  6.00% 99.60%      150ms  6.00%  [golden]
END

# Without work shown, helper has no caller left to be inlined into.
check n3 -n 3 golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: cpu
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 3s, Total samples = 2500ms (83.33%)
Showing nodes accounting for 2300ms, 92.00% of 2500ms total
Dropped 1 node (cum <= 12.50ms)
Showing top 3 nodes out of 6
      flat  flat%   sum%        cum   cum%
    1500ms 60.00% 60.00%     1500ms 60.00%  hot
     500ms 20.00% 80.00%      500ms 20.00%  helper
     300ms 12.00% 92.00%      300ms 12.00%  rec
END

# With only values of 1s and more shown, the unit becomes seconds.
check n1 -n 1 golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: cpu
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 3s, Total samples = 2.50s (83.33%)
Showing nodes accounting for 1.50s, 60.00% of 2.50s total
Dropped 1 node (cum <= 0.01s)
Showing top 1 nodes out of 6
      flat  flat%   sum%        cum   cum%
     1.50s 60.00% 60.00%      1.50s 60.00%  hot
END

# Counts have no unit; the ratio to the duration is only for time values,
# and pprof leaves a space where it would be.
check samples --sample_index=samples -nodefraction=0 golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: samples
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 3s, Total samples = 250 
Showing nodes accounting for 250, 100% of 250 total
      flat  flat%   sum%        cum   cum%
       150 60.00% 60.00%        150 60.00%  hot
        50 20.00% 80.00%         50 20.00%  helper (inline)
        30 12.00% 92.00%         30 12.00%  rec
        15  6.00% 98.00%         15  6.00%  [golden]
         4  1.60% 99.60%        250   100%  main
         1   0.4%   100%          1   0.4%  tiny
         0     0%   100%        201 80.40%  work
END

# Two files add up: values double, durations add, the earliest time stays.
check merged -sample_index=1 golden.pb.gz golden.pb.gz <<'END'
File: golden
Build ID: 0123abcd
Type: cpu
Time: Nov 14, 2023 at 10:13pm (UTC)
Duration: 6s, Total samples = 5000ms (83.33%)
Showing nodes accounting for 4980ms, 99.60% of 5000ms total
Dropped 1 node (cum <= 25ms)
      flat  flat%   sum%        cum   cum%
    3000ms 60.00% 60.00%     3000ms 60.00%  hot
    1000ms 20.00% 80.00%     1000ms 20.00%  helper (inline)
     600ms 12.00% 92.00%      600ms 12.00%  rec
     300ms  6.00% 98.00%      300ms  6.00%  [golden]
      80ms  1.60% 99.60%     5000ms   100%  main
         0     0% 99.60%     4020ms 80.40%  work
END

# Bytes use pprof's 1024-based kB/MB; the default is the last type.
check heap heap.pb.gz <<'END'
File: heapy
Type: inuse_space
Showing nodes accounting for 4193.66kB, 100% of 4193.66kB total
      flat  flat%   sum%        cum   cum%
    4096kB 97.67% 97.67%     4096kB 97.67%  alloc_big
   97.66kB  2.33%   100%    97.66kB  2.33%  alloc_small
         0     0%   100%  4193.66kB   100%  main
END

# The unit follows the smallest value shown: kB while alloc_small is there...
check alloc_space -sample_index=alloc_space heap.pb.gz <<'END'
File: heapy
Type: alloc_space
Showing nodes accounting for 10532.97kB, 100% of 10532.97kB total
      flat  flat%   sum%        cum   cum%
   10240kB 97.22% 97.22%    10240kB 97.22%  alloc_big
  292.97kB  2.78%   100%   292.97kB  2.78%  alloc_small
         0     0%   100% 10532.97kB   100%  main
END

# ...MB when it is not.
check alloc_space_n1 -n 1 -sample_index=alloc_space heap.pb.gz <<'END'
File: heapy
Type: alloc_space
Showing nodes accounting for 10MB, 97.22% of 10.29MB total
Showing top 1 nodes out of 3
      flat  flat%   sum%        cum   cum%
      10MB 97.22% 97.22%       10MB 97.22%  alloc_big
END

# alloc_big's 4 objects are under 0.5% of 1004: dropped, as pprof does.
check objects -sample_index=inuse_objects heap.pb.gz <<'END'
File: heapy
Type: inuse_objects
Showing nodes accounting for 1000, 99.60% of 1004 total
Dropped 1 node (cum <= 5)
      flat  flat%   sum%        cum   cum%
      1000 99.60% 99.60%       1000 99.60%  alloc_small
         0     0% 99.60%       1004   100%  main
END

finish
