#!/usr/bin/env bash
# crashpoints.sh - entry of the crash-point suite (see run.sh and crashpoints.py).
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" crashpoints "$@"
