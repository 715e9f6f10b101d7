#!/usr/bin/env bash
# One entry point for a fresh machine: installs what Fused needs, then runs the demo or the tests.
#   ./build.sh demo [args]   train a real model with generated optimizers (Fashion-MNIST)
#   ./build.sh test          restore, build and run every test suite
#   ./build.sh bench [args]  run the benchmarks (Release)
#   ./build.sh deps          install the system packages only
set -euo pipefail
cd "$(dirname "$0")"

# System packages: OpenBLAS (matrix passes), PoCL + ICD loader (OpenCL on the CPU), the real
# Fashion-MNIST files. Installed only when missing.
need_packages() {
  local missing=()
  for p in libopenblas0 pocl-opencl-icd ocl-icd-libopencl1 dataset-fashion-mnist chromium openmpi-bin; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cmd="${1:-test}"
shift || true
case "$cmd" in
  deps)
    need_packages ;;
  demo)
    need_packages
    dotnet run --project Samples/Fused.Demo -c Release -- "${@:-train}" ;;
  test)
    need_packages
    dotnet restore Fused.sln
    dotnet build Fused.sln -c Release --no-restore
    dotnet test Fused.sln -c Release --no-build --logger "console;verbosity=normal" ;;
  bench)
    need_packages
    dotnet run --project tests/Fused.Benchmarks -c Release -- "$@" ;;
  *)
    echo "usage: ./build.sh demo|test|bench|deps" >&2; exit 2 ;;
esac
