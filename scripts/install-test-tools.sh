#!/usr/bin/env bash
# Install the Debian packages the tests and benchmarks generate and transcode audio with
# (espeak-ng and flite speak, sox and ffmpeg convert, fpcalc is the Chromaprint baseline),
# if missing. The product itself needs none of them: PyAV ships FFmpeg.
set -euo pipefail
missing=()
for tool in espeak-ng:espeak-ng flite:flite sox:sox ffmpeg:ffmpeg fpcalc:libchromaprint-tools; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-test-tools: installing ${missing[*]} from Debian packages" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
