#!/usr/bin/env bash
# One entry point for a fresh machine: installs what Fused needs, then runs the demo or the tests.
#   ./build.sh demo [args]   train a real model with generated optimizers (Fashion-MNIST); args are
#                            fused's: options alone are train's (./build.sh demo --epochs 1), or a command
#                            (./build.sh demo memory)
#   ./build.sh test          restore, build and run every test suite
#   ./build.sh bench [args]  run the benchmarks (Release)
#   ./build.sh pack          pack the Fused, Fused.Testing and Fused.Ilgpu NuGet packages into artifacts/packages (a local feed)
#   ./build.sh tool          pack fused as a .NET tool into artifacts/tool (then: dotnet tool install -g fused --add-source artifacts/tool)
#   ./build.sh deps          install the system packages only (the test set, a superset of the demo's)
set -euo pipefail
cd "$(dirname "$0")"

# System packages, installed only when missing. The demo needs OpenBLAS (matrix passes), PoCL + the ICD
# loader (OpenCL on the CPU), the real Fashion-MNIST files and fortunes (the transformer's text corpus);
# the tests also drive Chromium (the report's browser test) and run the sharded optimizer under Open MPI's
# mpirun (openmpi-bin).
demo_packages=(libopenblas0 pocl-opencl-icd ocl-icd-libopencl1 dataset-fashion-mnist fortunes)
test_packages=("${demo_packages[@]}" chromium openmpi-bin)

need_packages() {
  local missing=()
  for p in "$@"; do
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

# Restore and build with MSBuild's per-project lines (dotnet run alone is silent for the first minute).
build_project() {
  echo "restoring NuGet packages for $1 ..."
  dotnet restore "$1" -v minimal
  echo "building $1 (Release) ..."
  dotnet build "$1" -c Release --no-restore -v minimal -clp:NoSummary
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cmd="${1:-test}"
shift || true
case "$cmd" in
  deps)
    need_packages "${test_packages[@]}" ;;
  demo)
    need_packages "${demo_packages[@]}"
    build_project Samples/Fused.Demo/Fused.Demo.csproj
    dotnet run --project Samples/Fused.Demo -c Release --no-build -- "${@:-train}" ;;
  pack)
    dotnet pack Runtime/Fused.Package/Fused.Package.csproj -c Release -o artifacts/packages -v minimal
    dotnet pack Runtime/Fused.Testing/Fused.Testing.csproj -c Release -o artifacts/packages -v minimal
    dotnet pack Runtime/Fused.Ilgpu/Fused.Ilgpu.csproj -c Release -o artifacts/packages -v minimal
    echo "local feed: artifacts/packages (dotnet add package Fused --source artifacts/packages; Fused.Testing for your tests, Fused.Ilgpu for ILGPU)" ;;
  tool)
    build_project Samples/Fused.Demo/Fused.Demo.csproj
    dotnet pack Samples/Fused.Demo/Fused.Demo.csproj -c Release --no-build -v minimal
    echo "install with: dotnet tool install -g fused --add-source artifacts/tool   (then run: fused --help)" ;;
  test)
    need_packages "${test_packages[@]}"
    dotnet restore Fused.sln
    dotnet build Fused.sln -c Release --no-restore
    dotnet test Fused.sln -c Release --no-build --logger "console;verbosity=normal" ;;
  bench)
    need_packages "${demo_packages[@]}"
    dotnet run --project tests/Fused.Benchmarks -c Release -- "$@" ;;
  *)
    echo "usage: ./build.sh demo|test|bench|pack|tool|deps" >&2; exit 2 ;;
esac
