# scripts/bench-lib.sh: what the simple bench scripts share (sourced): their
# flags and the build they measure.
#
#   -n ROUNDS     rounds (default 7; env N)
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured (RelWithDebInfo) if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#
# bench_args HELP_LAST_LINE "$@" sets here, rounds, build and do_build; -h
# prints the calling script's header comment up to HELP_LAST_LINE.
# bench_build TARGET... configures and builds them unless --no-build.

bench_name=$(basename "$0")
here=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "$bench_name: $*" >&2; }

bench_args() {
    local help_last=$1
    shift
    rounds=${N:-7}
    build=${BUILD_DIR:-$here/build-bench}
    do_build=1
    while [ $# -gt 0 ]; do
        case $1 in
        -n) rounds=$2; shift 2 ;;
        -n=*) rounds=${1#-n=}; shift ;;
        -b) build=$2; shift 2 ;;
        --no-build) do_build=0; shift ;;
        -h | --help) sed -n "2,${help_last}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "$bench_name: unknown argument: $1 (try --help)" >&2; exit 2 ;;
        esac
    done
    case $rounds in '' | *[!0-9]* | 0) echo "$bench_name: -n wants a positive integer" >&2; exit 2 ;; esac
}

bench_build() {
    [ "$do_build" = 1 ] || return 0
    if [ ! -f "$build/CMakeCache.txt" ]; then
        log "configuring $build"
        cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    log "building in $build"
    local t targets=()
    for t in "$@"; do targets+=(--target "$t"); done
    cmake --build "$build" -j"$(nproc)" "${targets[@]}" >/dev/null
}
