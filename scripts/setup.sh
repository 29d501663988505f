#!/usr/bin/env bash
# Installs what tuoyou needs on a fresh Debian machine with Python 3.11, then the project
# into ./.venv. `--test` also installs the test dependencies and Chromium for browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

# System packages: Pango for WeasyPrint, CJK fonts for Chinese notices, poppler for PDF checks,
# Chromium for the browser tests; Ghostscript, MuPDF and qpdf to check that notices print in every reader.
# 楷体 faces (AR PL UKai / GKai) for the （一） headings of notices.
pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-wqy-microhei fontconfig
      fonts-arphic-ukai fonts-arphic-gkai00mp)
if [ "$with_test" = 1 ]; then
  pkgs+=(chromium poppler-utils ghostscript mupdf-tools qpdf)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a virtual environment with the project (and its test extras).
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$with_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
echo "tuoyou installed in .venv"
