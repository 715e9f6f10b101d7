#!/usr/bin/env bash
# The GPU check: builds, then steps AdamW, Lion, C-AdamW and Muon through ILGPU on the first CUDA device against the
# CPU kernels; prints bit-identity, GB/s against a device copy kernel, and launches and waits per step. Extra arguments go to the check:
#   tests/gpu/run.sh                                   # CUDA, 16M elements, 3 steps
#   tests/gpu/run.sh --elements 268435456              # 256M elements (needs ~6 GB on the device, ~3 GB on the host)
#   tests/gpu/run.sh --accelerator cpu --elements 4096 # the same path on ILGPU's CPU emulator (no GPU needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build tests/gpu/Fused.GpuCheck -c Release -v quiet -nologo
dotnet tests/gpu/Fused.GpuCheck/bin/Release/net10.0/Fused.GpuCheck.dll "$@"
